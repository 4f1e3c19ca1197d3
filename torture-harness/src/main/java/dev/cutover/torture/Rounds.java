package dev.cutover.torture;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cutover.common.Poll;
import dev.cutover.flags.Target;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.nio.file.Path;

/**
 * The rounds of one run and the operator's work between them: the nemesis plays a round, the
 * instances settle, the operator turns replication around and puts the flag back where traffic is,
 * replication catches up, and {@link RoundChecks} checks. The first violation ends the run.
 */
final class Rounds {
  private static final Duration SETTLE = Duration.ofSeconds(30);
  private static final Duration CATCH_UP = Duration.ofSeconds(20);
  private static final Duration WARM_UP = Duration.ofSeconds(120);
  /** How long a fence check is retried while a killed server recovers. */
  private static final Duration FENCED_RETRY = Duration.ofSeconds(20);

  private final TortureRun run;
  private final Cluster cluster;
  private final Operator operator;
  private final Fleet fleet;
  private final Nemesis nemesis;
  private final JournalReader externalJournal;
  private final RoundChecks checks;
  private final Schedule.Generator generator;
  private Target serving = Target.OLD;
  private boolean newServed;
  private final Map<Target, ServerLog> serverLogs = new LinkedHashMap<>();
  private final Set<String> replicationErrorsSeen = new HashSet<>();

  Rounds(TortureRun run, Cluster cluster, Operator operator, Fleet fleet, Nemesis nemesis, JournalReader externalJournal) {
    this.run = run;
    this.cluster = cluster;
    this.operator = operator;
    this.fleet = fleet;
    this.nemesis = nemesis;
    this.externalJournal = externalJournal;
    this.checks = new RoundChecks(run, cluster);
    this.generator = new Schedule.Generator(run.options.seed(), fleet.slots(), fleet.processSlots(), run.options.faults());
    for (Target side : Target.values()) {
      serverLogs.put(side, new ServerLog(cluster.process(side).log()));
    }
  }

  void run() throws Exception {
    fleet.startAll();
    JournalReader.Batch pending = warmUp();
    long deadline = run.began + (long) (run.options.minutes() * 60e9);
    for (int number = 1; ; number++) {
      if (run.replay != null && number > run.replay.size()) {
        run.summary.stopReason = "replayed every round of the record";
        break;
      }
      if (run.replay == null && System.nanoTime() - deadline > 0) {
        run.summary.stopReason = "--minutes reached";
        break;
      }
      if (run.options.maxAttempts() > 0 && run.attempts.all().size() >= run.options.maxAttempts()) {
        run.summary.stopReason = "--max-attempts reached";
        break;
      }
      Schedule.Round plan = run.replay != null ? run.replay.get(number - 1) : generator.round(number);
      List<String> violations = round(plan, pending);
      pending = JournalReader.Batch.empty();
      if (!violations.isEmpty()) {
        run.summary.stopReason = "invariant violated in round " + number;
        Path state = run.directory.resolve("state");
        List<String> missed = StateDump.write(cluster, state);
        run.progress("both databases' tables dumped into %s%s", state, missed.isEmpty() ? "" : " (not read: " + missed + ")");
        return;
      }
    }
    // At the end: the load stops, and everything acknowledged in the whole run is looked up once more.
    fleet.close();
    JournalReader.Batch last = readJournals();
    List<String> notes = new ArrayList<>();
    List<Invariants.Violation> found = new ArrayList<>();
    Target now = servingSide(notes, found);
    found.addAll(checks.atEnd(now, last, notes));
    run.record(found);
    run.progress("final check on %s: %s", now.value(), found.isEmpty() ? "every invariant holds" : found);
  }

  /** Waits until every instance has acknowledged something, so the first flip meets a warm fleet. */
  private JournalReader.Batch warmUp() {
    JournalReader.Batch pending = JournalReader.Batch.empty();
    Map<String, Integer> acks = new HashMap<>();
    boolean warm = Poll.every(Duration.ofMillis(200)).within(WARM_UP, () -> {
      JournalReader.Batch b = readJournals();
      b.acks().forEach(a -> acks.merge(a.instance(), 1, Integer::sum));
      pending.addAll(b);
      return fleet.live().stream().allMatch(m -> acks.getOrDefault(m.name, 0) > 0);
    });
    if (warm) {
      run.progress("warm: every instance has committed (%d operations so far)", pending.acks().size());
      return pending;
    }
    throw new IllegalStateException("instances " + fleet.live().stream().filter(m -> !acks.containsKey(m.name)).toList()
        + " committed nothing within " + WARM_UP.toSeconds() + " s; see their folders under " + run.directory);
  }

  private List<String> round(Schedule.Round plan, JournalReader.Batch pending) throws Exception {
    long startedAt = run.runMillis();
    run.summary.rounds++;
    Target before = serving;
    List<String> notes = new ArrayList<>();
    beforeFlip(notes);
    Map<String, Long> counters = switchCounters();
    run.progress("round %d on %s: flag %s; faults: %s", plan.number(), before.value(), plan.flag().stream()
        .map(s -> (s.away() ? before.other() : before).value() + " at " + s.at() + " ms").toList(),
        plan.faults().isEmpty() ? "none" : plan.faults());
    List<Nemesis.Applied> applied = nemesis.play(plan, before, newServed);
    run.summary.flipsNotPrepared += applied.stream().filter(a -> a.what().startsWith(Nemesis.NOT_MOVED)).count();
    plan.faults().forEach(f -> run.summary.fault(f.kind().name().toLowerCase(Locale.ROOT)));
    List<String> unsettled = settle(operator.flag(), counters);
    boolean settled = unsettled.isEmpty();
    if (!settled) {
      run.finding(notes, "round " + plan.number() + ": instances " + unsettled + " had not settled " + SETTLE.toSeconds()
          + " s after the round's last fault");
    }

    JournalReader.Batch batch = readJournals();
    batch.addAll(pending);
    Map<String, Attempts.Attempt> roundAttempts = new LinkedHashMap<>();
    run.attempts.add(plan.number(), batch.events()).forEach(a -> roundAttempts.put(a.id() + a.from(), a));
    List<Invariants.Violation> found = new ArrayList<>();
    serving = servingSide(notes, found);
    if (serving == Target.NEW) {
      newServed = true;
    }
    if (serving != before) {
      turnAround(notes);
    }
    if (operator.flag() != serving) {
      Map<String, Long> again = switchCounters();
      operator.setFlag(serving);
      List<String> late = settle(serving, again);
      if (!late.isEmpty()) {
        run.finding(notes, "round " + plan.number() + ": instances " + late + " had not settled after the flag went back to "
            + serving.value());
        settled = false;
      }
    }
    Set<String> left = strandedInstances();
    if (!left.isEmpty()) {
      notes.add("instances serving the fenced side: " + left);
    }
    boolean caughtUp = catchUp(notes);
    JournalReader.Batch more = readJournals();
    batch.addAll(more);
    run.attempts.add(plan.number(), more.events()).forEach(a -> roundAttempts.put(a.id() + a.from(), a));

    long checking = System.nanoTime();
    found.addAll(checks.afterRound(plan, before, serving, batch, List.copyOf(roundAttempts.values()), settled, left, notes));
    long checkMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - checking);
    run.summary.longestCheckMillis = Math.max(run.summary.longestCheckMillis, checkMillis);
    run.record(found);
    List<String> texts = found.stream().map(Invariants.Violation::toString).toList();
    run.rounds.add(new RunRecord.RoundLog(plan.number(), startedAt, run.runMillis(), checkMillis, before.value(), serving.value(),
        plan, applied, List.copyOf(roundAttempts.values()), notes, texts));
    run.progress("round %d: %s; serving %s%s; %s", plan.number(), TortureRun.describe(List.copyOf(roundAttempts.values())), serving.value(),
        caughtUp ? "" : " (replication not caught up)", texts.isEmpty() ? "invariants hold" : "VIOLATED: " + texts);
    return texts;
  }

  /**
   * The operator before a round: replication from the serving side exists and has caught up (the
   * way back is prepared right before each flag move, by the nemesis).
   */
  private void beforeFlip(List<String> notes) {
    try {
      if (cluster.mode() == Cluster.Mode.TURNAROUND && !operator.replicatesFrom(serving)) {
        turnAround(notes);
      }
      if (operator.replicatesFrom(serving) && !operator.catchUp(serving, Duration.ofSeconds(5))) {
        notes.add("before the flip: replication from " + serving.value() + " had not caught up within 5 s");
      }
    } catch (Exception e) {
      notes.add("before the flip: " + e.getMessage());
    }
  }

  /** Replication from the side that serves now into the other (reverse), retried while a server recovers. */
  private void turnAround(List<String> notes) {
    for (int attempt = 1; attempt <= 5; attempt++) {
      try {
        Operator.Turn turn = operator.turnAround(serving);
        if (!turn.steps().isEmpty()) {
          notes.add("reverse: " + String.join("; ", turn.steps()));
        }
        if (turn.refused()) {
          run.summary.reverseRefused++;
          notes.add("reverse refused (exit 5): the switch made no slot for the way back from " + serving.value()
              + "; the operator ran reverse --accept-missing-writes");
        }
        if (!turn.prepared()) {
          run.finding(notes, "the way back from " + serving.value() + " was armed without the slot the switch should have"
              + " created (reverse --prepare ran before the flip)" + (turn.refused() ? ", after reverse refused" : ", and reverse did not refuse")
              + ": writes made on " + serving.value() + " between the switch and now will not reach " + serving.other().value());
        }
        return;
      } catch (Exception e) {
        notes.add("reverse attempt " + attempt + " failed: " + e.getMessage());
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
      }
    }
    run.finding(notes, "replication from " + serving.value() + " could not be armed after 5 attempts");
  }

  /** Replication from the serving side has applied what was committed before now. */
  private boolean catchUp(List<String> notes) {
    try {
      if (!operator.replicatesFrom(serving)) {
        notes.add("no replication from " + serving.value());
        return false;
      }
      boolean caughtUp = operator.catchUp(serving, CATCH_UP);
      List<String> errors = serverLogs.get(serving.other()).applyErrors();
      if (!caughtUp) {
        for (String error : errors) {
          if (replicationErrorsSeen.add(error.replaceAll("[0-9a-f]{8}-[0-9a-f-]{27}", "<marker>"))) {
            run.finding(notes, "replication from " + serving.value() + " into " + serving.other().value() + " stopped: its apply"
                + " worker on " + serving.other().value() + " logs " + error);
          }
        }
        List<String> removed = operator.removeLoopedMarkers(serving.other(), errors);
        if (!removed.isEmpty()) {
          run.finding(notes, "the operator removed barrier marker(s) " + removed + " on " + serving.other().value()
              + " that replication had carried back to where they were written (docs/faults.md B5), so that it applies again");
          caughtUp = operator.catchUp(serving, CATCH_UP);
        }
      }
      return caughtUp;
    } catch (SQLException e) {
      notes.add("catch-up: " + e.getMessage());
      return false;
    }
  }

  /**
   * The side that serves: the one unfenced. Both unfenced is only right before new ever served;
   * both fenced is an outage, which the operator ends by lowering the fence where the live
   * instances are.
   */
  private Target servingSide(List<String> notes, List<Invariants.Violation> found) throws SQLException {
    boolean oldFenced = fenced(Target.OLD);
    boolean newFenced = fenced(Target.NEW);
    if (oldFenced != newFenced) {
      return oldFenced ? Target.NEW : Target.OLD;
    }
    if (!oldFenced) {
      if (newServed) {
        found.add(new Invariants.Violation("I2", "neither old nor new is fenced after the service had moved:"
            + " both accept writes"));
      }
      return Target.OLD;
    }
    Map<String, Integer> votes = new HashMap<>();
    for (Fleet.Member m : fleet.live()) {
      JsonNode s = m.status();
      if (s != null && s.has("serving")) {
        votes.merge(s.get("serving").asText(), 1, Integer::sum);
      }
    }
    Target where = votes.getOrDefault("new", 0) > votes.getOrDefault("old", 0) ? Target.NEW : Target.OLD;
    operator.lowerFence(where);
    run.finding(notes, "both sides were fenced (an abort could not lower its fence); the operator lowered it on "
        + where.value() + ", where the instances are");
    return where;
  }

  private boolean fenced(Target side) throws SQLException {
    SQLException[] last = {null};
    Optional<Boolean> fenced = Poll.every(Duration.ofMillis(200)).answer(FENCED_RETRY, () -> {
      try {
        return operator.fenced(side);
      } catch (SQLException e) {
        last[0] = e; // restarting after a kill: recovery takes a moment
        return null;
      }
    });
    if (fenced.isPresent()) {
      return fenced.get();
    }
    throw last[0];
  }

  /** Live instances not serving the serving side. */
  private Set<String> strandedInstances() {
    Set<String> left = new TreeSet<>();
    for (Fleet.Member m : fleet.live()) {
      JsonNode s = m.status();
      if (s != null && s.has("serving") && !s.get("serving").asText().equals(serving.value())) {
        left.add(m.name);
      }
    }
    return left;
  }

  private JournalReader.Batch readJournals() {
    JournalReader.Batch batch = JournalReader.Batch.empty();
    for (Fleet.Member m : fleet.all()) {
      batch.addAll(m.journal.readNew());
    }
    batch.addAll(externalJournal.readNew());
    return batch;
  }

  /** Each live instance's switches so far (completed + aborted + refused), to see which tried since. */
  private Map<String, Long> switchCounters() {
    Map<String, Long> counters = new HashMap<>();
    for (Fleet.Member m : fleet.live()) {
      counters.put(m.name, switches(m.status()));
    }
    return counters;
  }

  private static long switches(JsonNode s) {
    return s == null || !s.has("completed") ? 0 : s.get("completed").asLong() + s.get("aborted").asLong()
        + s.get("refused").asLong();
  }

  /**
   * Waits until every live instance follows {@code flag}: its router has seen it, runs no switch,
   * and serves it or has tried to since {@code before} (a refused or aborted switch leaves it where
   * it was); the same for two status periods running, since a router sees the flag a moment before
   * its switch thread starts; and no switch is recorded under way on either side, since an
   * instance that aborted its part rejoins such a switch at its next heartbeat. Returns what was
   * still moving after {@link #SETTLE}.
   */
  private List<String> settle(Target flag, Map<String, Long> before) {
    Map<String, Long> quietSince = new HashMap<>();
    List<String> waiting = new ArrayList<>();
    Poll.every(Duration.ofMillis(50)).within(SETTLE, () -> {
      waiting.clear();
      for (Fleet.Member m : fleet.live()) {
        JsonNode s = m.status();
        boolean done = s != null && s.has("serving") && s.get("flag").asText().equals(flag.value())
            && !s.get("holding").asBoolean() && !s.get("switching").asBoolean()
            && (s.get("serving").asText().equals(flag.value()) || switches(s) > before.getOrDefault(m.name, 0L));
        long seq = s == null ? -1 : s.get("seq").asLong();
        if (!done) {
          quietSince.remove(m.name);
          waiting.add(m.name);
        } else if (seq - quietSince.computeIfAbsent(m.name, k -> seq) < 2) {
          waiting.add(m.name);
        }
      }
      for (Target side : Target.values()) {
        if (operator.switchUnderWay(side)) {
          waiting.add("a switch recorded on " + side.value() + " without a decision");
          quietSince.clear();
        }
      }
      return waiting.isEmpty();
    });
    return waiting;
  }
}
