package dev.cutover.torture;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * What the nemesis does, round by round: each round moves the flag away from the serving side
 * (and sometimes back and away again: a flap) and injects zero to three faults at random moments
 * around the flip. Times are milliseconds from the start of the round, so that a round replays the
 * same way whenever it starts.
 *
 * <p>A round depends only on the seed and its number, never on what earlier rounds did, so a seed
 * names one schedule; {@code --replay} reads the rounds from a record instead.
 */
final class Schedule {

  /**
   * One round.
   *
   * @param number from 1
   * @param flag the flag's moves, in time order
   * @param faults the faults, each with its start and duration
   */
  record Round(int number, List<FlagStep> flag, List<Fault> faults) {
    /** When the round's last step ends (the last fault healed or the last flag move). */
    long endsAt() {
      long end = 0;
      for (FlagStep s : flag) {
        end = Math.max(end, s.at());
      }
      for (Fault f : faults) {
        end = Math.max(end, f.at() + f.duration());
      }
      return end;
    }
  }

  /**
   * A move of the flag.
   *
   * @param at when, from the start of the round
   * @param away true: to the side that did not serve when the round began; false: back to it
   */
  record FlagStep(long at, boolean away) {}

  /**
   * One fault.
   *
   * @param kind what
   * @param target whom: a side ({@code old}, {@code new}), a side and a scope ({@code old:all},
   *     {@code new:p1}), an instance slot ({@code p0}), or for the external writer
   *     {@code serving} or {@code other}
   * @param at when it starts, from the start of the round
   * @param duration how long it lasts (a kill: the downtime before the restart)
   * @param param the kind's setting: a link delay in ms; otherwise 0
   */
  record Fault(FaultKind kind, String target, long at, long duration, long param) {
    @Override
    public String toString() {
      return kind.name().toLowerCase(java.util.Locale.ROOT) + "(" + target + ", at " + at + " ms, for " + duration + " ms"
          + (param > 0 ? ", " + param + " ms" : "") + ")";
    }
  }

  /** The kinds of fault, with the weight by which the generator picks each. */
  enum FaultKind {
    /** kill -9 of a server's postmaster and all its processes; restarted after {@code duration}. */
    KILL_SERVER(9),
    /** kill -9 of one application backend: the postmaster resets every session and recovers. */
    CRASH_BACKEND(6),
    /** kill -9 of an application JVM; a new instance starts in its slot after {@code duration}. */
    KILL_APP(8),
    /** The links from instances to a side hold every chunk {@code param} ms. */
    LINK_DELAY(9),
    /** The links from instances to a side pass nothing, without closing (no FIN, no RST). */
    LINK_STALL(9),
    /** The links from instances to a side are reset (RST). */
    LINK_CUT(7),
    /** The running subscription is disabled ({@code ALTER SUBSCRIPTION ... DISABLE}), then enabled. */
    REPLICATION_PAUSE(8),
    /** The replication connection from a side stalls silently. */
    REPLICATION_LINK_STALL(6),
    /** The replication connection from a side is reset. */
    REPLICATION_LINK_CUT(5),
    /** An instance holds a transaction open for {@code duration} after its first write. */
    STRAGGLER(12),
    /** An instance keeps a read-only cursor open for {@code duration}. */
    LONG_CURSOR(8),
    /** A client with its own role writes directly (not through the driver) for {@code duration}. */
    EXTERNAL_WRITER(9);

    final int weight;

    FaultKind(int weight) {
      this.weight = weight;
    }
  }

  private Schedule() {}

  /** Generates rounds from a seed for a fleet of in-JVM and separate-JVM instance slots. */
  static final class Generator {
    private final long seed;
    private final List<String> slots;
    private final List<String> processSlots;
    private final Set<FaultKind> kinds;

    Generator(long seed, List<String> slots, List<String> processSlots) {
      this(seed, slots, processSlots, EnumSet.allOf(FaultKind.class));
    }

    /**
     * @param kinds the faults to pick from (all by default; fewer to look past a known open bug)
     */
    Generator(long seed, List<String> slots, List<String> processSlots, Set<FaultKind> kinds) {
      if (kinds.isEmpty()) {
        throw new IllegalArgumentException("at least one kind of fault is needed");
      }
      this.seed = seed;
      this.slots = List.copyOf(slots);
      this.processSlots = List.copyOf(processSlots);
      this.kinds = EnumSet.copyOf(kinds);
      if (processSlots.isEmpty()) {
        this.kinds.remove(FaultKind.KILL_APP);
      }
      if (this.kinds.isEmpty()) {
        throw new IllegalArgumentException("kill_app needs instances in JVMs of their own (--processes)");
      }
    }

    Round round(int number) {
      SplittableRandom r = new SplittableRandom(mix(seed, number));
      List<FlagStep> flag = new ArrayList<>();
      long flip = between(r, 300, 1500);
      flag.add(new FlagStep(flip, true));
      if (r.nextInt(100) < 20) {
        long back = flip + between(r, 20, 800);
        flag.add(new FlagStep(back, false));
        if (r.nextBoolean()) {
          flag.add(new FlagStep(back + between(r, 20, 800), true));
        }
      }
      int dice = r.nextInt(100);
      int count = dice < 15 ? 0 : dice < 55 ? 1 : dice < 85 ? 2 : 3;
      List<Fault> faults = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        faults.add(fault(r, flip));
      }
      faults.sort(java.util.Comparator.comparingLong(Fault::at));
      return new Round(number, List.copyOf(flag), List.copyOf(faults));
    }

    private Fault fault(SplittableRandom r, long flip) {
      FaultKind kind = pick(r);
      long at = between(r, 0, flip + 2500);
      String side = r.nextBoolean() ? "old" : "new";
      return switch (kind) {
        case KILL_SERVER -> new Fault(kind, side, at, between(r, 200, 3000), 0);
        case CRASH_BACKEND, REPLICATION_LINK_CUT, LINK_CUT -> new Fault(kind,
            kind == FaultKind.LINK_CUT ? side + ":" + scope(r) : side, at, 0, 0);
        case KILL_APP -> new Fault(kind, processSlots.get(r.nextInt(processSlots.size())), at, between(r, 0, 3000), 0);
        case LINK_DELAY -> new Fault(kind, side + ":" + scope(r), at, between(r, 500, 4000), between(r, 5, 300));
        case LINK_STALL -> new Fault(kind, side + ":" + scope(r), at, between(r, 200, 4000), 0);
        case REPLICATION_PAUSE -> new Fault(kind, "running", at, between(r, 500, 5000), 0);
        case REPLICATION_LINK_STALL -> new Fault(kind, side, at, between(r, 300, 4000), 0);
        case STRAGGLER, LONG_CURSOR -> new Fault(kind, slots.get(r.nextInt(slots.size())), at, between(r, 500, 4000), 0);
        case EXTERNAL_WRITER -> new Fault(kind, r.nextBoolean() ? "serving" : "other", at, between(r, 500, 4000), 0);
      };
    }

    private String scope(SplittableRandom r) {
      return r.nextBoolean() ? "all" : slots.get(r.nextInt(slots.size()));
    }

    private FaultKind pick(SplittableRandom r) {
      int total = 0;
      for (FaultKind k : kinds) {
        total += k.weight;
      }
      int x = r.nextInt(total);
      for (FaultKind k : kinds) {
        x -= k.weight;
        if (x < 0) {
          return k;
        }
      }
      throw new AssertionError();
    }

    private static long between(SplittableRandom r, long from, long to) {
      return from + r.nextLong(to - from + 1);
    }

    /** A seed per round that depends on nothing but the run's seed and the round's number. */
    static long mix(long seed, int number) {
      long z = seed + 0x9E3779B97F4A7C15L * (number + 1);
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      return z ^ (z >>> 31);
    }
  }
}
