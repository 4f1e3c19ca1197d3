package dev.cutover.torture;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cutover.flags.Target;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One torture run, top to bottom: start the servers and the fleet, then round after round let the
 * nemesis play the schedule around a flip, let the instances settle, act as the operator (turn
 * replication around after the service moved, put the flag back where traffic is), wait for
 * replication, and check every invariant on both databases. The first violation stops the run and
 * leaves a record from which {@code --replay} plays the same schedule again.
 *
 * <p>Notes. The harness's own clock ({@link System#nanoTime()}) only paces the schedule and dates
 * the record; no check compares it with another process's. Journals are read before the
 * databases, so every acknowledgement read is already committed when the check looks for it.
 */
final class TortureRun {
  private static final Duration SETTLE = Duration.ofSeconds(30);
  private static final Duration CATCH_UP = Duration.ofSeconds(20);
  private static final Duration WARM_UP = Duration.ofSeconds(120);
  private static final int LOG_TAIL = 200;
  /** Faults that can fail or fence out a live instance's transactions, which I5 then excuses. */
  private static final Set<Schedule.FaultKind> DISRUPTIVE = EnumSet.of(Schedule.FaultKind.KILL_SERVER,
      Schedule.FaultKind.CRASH_BACKEND, Schedule.FaultKind.KILL_APP, Schedule.FaultKind.LINK_DELAY,
      Schedule.FaultKind.LINK_STALL, Schedule.FaultKind.LINK_CUT);

  /** What a run leaves: its figures and where its files are. */
  record Result(Summary summary, Attempts attempts, Path directory, Path record) {
    boolean clean() {
      return summary.violations.isEmpty();
    }
  }

  private final RunOptions options;
  private final List<Schedule.Round> replay;
  private final Path out;
  private final PrintStream console;
  private final long began = System.nanoTime();
  private final Summary summary;
  private final Attempts attempts = new Attempts();
  private final List<RunRecord.RoundLog> rounds = new ArrayList<>();
  private Path directory;

  /**
   * @param replay the rounds to play instead of generating them from the seed, or null
   */
  TortureRun(RunOptions options, List<Schedule.Round> replay, Path out, PrintStream console) {
    this.options = options;
    this.replay = replay;
    this.out = out;
    this.console = console;
    this.summary = new Summary(options);
  }

  long runMillis() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
  }

  Result run() throws Exception {
    directory = Files.createDirectories(out.resolve("run-" + options.seed() + "-"
        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))));
    DriverLog.into(directory.resolve("driver.log"));
    progress("seed %d; files in %s", options.seed(), directory);
    progress("starting embedded PostgreSQL %d (old) and %d (new), copying and replicating", options.oldVersion(), options.newVersion());
    Path record = directory.resolve("record.json");
    try (Cluster cluster = Cluster.start(options.oldVersion(), options.newVersion(), directory)) {
      summary.servers = cluster.describe();
      progress("%s", summary.servers);
      Operator operator = new Operator(cluster, directory.resolve("routing.flag"));
      Path instances = Files.createDirectories(directory.resolve("instances"));
      try (ExternalWriter external = new ExternalWriter(cluster, instances.resolve(ExternalWriter.NAME));
          Fleet fleet = new Fleet(cluster, instances, operator.flagFile(), options.fleet(), options.seed());
          Nemesis nemesis = new Nemesis(cluster, fleet, operator, external, this::runMillis)) {
        Rounds loop = new Rounds(cluster, operator, fleet, nemesis, new JournalReader(ExternalWriter.NAME,
            instances.resolve(ExternalWriter.NAME)));
        loop.run();
      } finally {
        summary.seconds = (System.nanoTime() - began) / 1e9;
        writeRecord(record, cluster);
      }
    }
    summary.write(directory.resolve("summary.json"), attempts);
    summary.write(out.resolve("summary.json"), attempts);
    console.println();
    console.print(summary.table(attempts));
    console.println("record: " + record + (summary.violations.isEmpty() ? "" : "  (replay: ./torture --replay " + record + ")"));
    return new Result(summary, attempts, directory, record);
  }

  /** The rounds and the operator's work between them; one per run. */
  private final class Rounds {
    private final Cluster cluster;
    private final Operator operator;
    private final Fleet fleet;
    private final Nemesis nemesis;
    private final JournalReader externalJournal;
    private final Invariants invariants;
    private final Schedule.Generator generator;
    private Target serving = Target.OLD;
    private boolean newServed;
    /** Whether the previous round's faults could fail transactions (the warm-up counts as such: pools are filling). */
    private boolean previousDisruptive = true;
    private boolean previousSettled = true;
    private Set<String> stranded = Set.of();
    private final Map<Target, ServerLog> serverLogs = new LinkedHashMap<>();
    private final Set<String> replicationErrorsSeen = new java.util.HashSet<>();

    Rounds(Cluster cluster, Operator operator, Fleet fleet, Nemesis nemesis, JournalReader externalJournal) {
      this.cluster = cluster;
      this.operator = operator;
      this.fleet = fleet;
      this.nemesis = nemesis;
      this.externalJournal = externalJournal;
      this.invariants = new Invariants(cluster);
      this.generator = new Schedule.Generator(options.seed(), fleet.slots(), fleet.processSlots());
      for (Target side : Target.values()) {
        serverLogs.put(side, new ServerLog(cluster.process(side).log()));
      }
    }

    void run() throws Exception {
      fleet.startAll();
      JournalReader.Batch pending = warmUp();
      long deadline = began + (long) (options.minutes() * 60e9);
      for (int number = 1; ; number++) {
        if (replay != null && number > replay.size()) {
          summary.stopReason = "replayed every round of the record";
          break;
        }
        if (replay == null && System.nanoTime() - deadline > 0) {
          summary.stopReason = "--minutes reached";
          break;
        }
        if (options.maxAttempts() > 0 && attempts.all().size() >= options.maxAttempts()) {
          summary.stopReason = "--max-attempts reached";
          break;
        }
        Schedule.Round plan = replay != null ? replay.get(number - 1) : generator.round(number);
        List<String> violations = round(plan, pending);
        pending = JournalReader.Batch.empty();
        if (!violations.isEmpty()) {
          summary.stopReason = "invariant violated in round " + number;
          Path state = directory.resolve("state");
          List<String> missed = StateDump.write(cluster, state);
          progress("both databases' tables dumped into %s%s", state, missed.isEmpty() ? "" : " (not read: " + missed + ")");
          return;
        }
      }
      // At the end: the load stops, and everything acknowledged in the whole run is looked up once more.
      fleet.close();
      JournalReader.Batch last = readJournals();
      List<String> notes = new ArrayList<>();
      List<Invariants.Violation> found = new ArrayList<>();
      Target now = servingSide(notes, found);
      found.addAll(check(now, last, notes));
      found.addAll(invariants.recheckAll(now, everyAck()));
      record(found);
      progress("final check on %s: %s", now.value(), found.isEmpty() ? "every invariant holds" : found);
    }

    /** Waits until every instance has acknowledged something, so the first flip meets a warm fleet. */
    private JournalReader.Batch warmUp() {
      JournalReader.Batch pending = JournalReader.Batch.empty();
      Map<String, Integer> acks = new HashMap<>();
      long deadline = System.nanoTime() + WARM_UP.toNanos();
      while (System.nanoTime() - deadline < 0) {
        JournalReader.Batch b = readJournals();
        b.acks().forEach(a -> acks.merge(a.instance(), 1, Integer::sum));
        pending.addAll(b);
        if (fleet.live().stream().allMatch(m -> acks.getOrDefault(m.name, 0) > 0)) {
          progress("warm: every instance has committed (%d operations so far)", pending.acks().size());
          return pending;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
      }
      throw new IllegalStateException("instances " + fleet.live().stream().filter(m -> !acks.containsKey(m.name)).toList()
          + " committed nothing within " + WARM_UP.toSeconds() + " s; see their folders under " + directory);
    }

    private List<String> round(Schedule.Round plan, JournalReader.Batch pending) throws Exception {
      long startedAt = runMillis();
      summary.rounds++;
      Target before = serving;
      List<String> notes = new ArrayList<>();
      beforeFlip(notes);
      Map<String, Long> counters = switchCounters();
      progress("round %d on %s: flag %s; faults: %s", plan.number(), before.value(), plan.flag().stream()
          .map(s -> (s.away() ? before.other() : before).value() + " at " + s.at() + " ms").toList(),
          plan.faults().isEmpty() ? "none" : plan.faults());
      List<Nemesis.Applied> applied = nemesis.play(plan, before, newServed);
      plan.faults().forEach(f -> summary.fault(f.kind().name().toLowerCase(Locale.ROOT)));
      List<String> unsettled = settle(operator.flag(), counters);
      boolean settled = unsettled.isEmpty();
      if (!settled) {
        finding(notes, "round " + plan.number() + ": instances " + unsettled + " had not settled " + SETTLE.toSeconds()
            + " s after the round's last fault");
      }

      JournalReader.Batch batch = readJournals();
      batch.addAll(pending);
      Map<String, Attempts.Attempt> roundAttempts = new LinkedHashMap<>();
      attempts.add(plan.number(), batch.events()).forEach(a -> roundAttempts.put(a.id() + a.from(), a));
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
          finding(notes, "round " + plan.number() + ": instances " + late + " had not settled after the flag went back to "
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
      attempts.add(plan.number(), more.events()).forEach(a -> roundAttempts.put(a.id() + a.from(), a));

      boolean disruptive = plan.faults().stream().anyMatch(f -> DISRUPTIVE.contains(f.kind()));
      found.addAll(check(serving, batch, notes));
      if (settled && previousSettled && !disruptive && !previousDisruptive) {
        summary.i5Checked++;
        found.addAll(i5(batch, left));
      }
      found.addAll(i7(before, List.copyOf(roundAttempts.values()), settled));
      previousDisruptive = disruptive;
      previousSettled = settled;
      stranded = left;
      record(found);
      List<String> texts = found.stream().map(Invariants.Violation::toString).toList();
      rounds.add(new RunRecord.RoundLog(plan.number(), startedAt, runMillis(), before.value(), serving.value(), plan, applied,
          List.copyOf(roundAttempts.values()), notes, texts));
      progress("round %d: %s; serving %s%s; %s", plan.number(), describe(List.copyOf(roundAttempts.values())), serving.value(),
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
          if (!turn.prepared()) {
            finding(notes, "the way back from " + serving.value() + " was armed without the slot the switch should have"
                + " created (reverse --prepare ran before the flip): writes made on " + serving.value()
                + " between the switch and now will not reach " + serving.other().value());
          }
          return;
        } catch (Exception e) {
          notes.add("reverse attempt " + attempt + " failed: " + e.getMessage());
          LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
        }
      }
      finding(notes, "replication from " + serving.value() + " could not be armed after 5 attempts");
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
              finding(notes, "replication from " + serving.value() + " into " + serving.other().value() + " stopped: its apply"
                  + " worker on " + serving.other().value() + " logs " + error);
            }
          }
          List<String> removed = operator.removeLoopedMarkers(serving.other(), errors);
          if (!removed.isEmpty()) {
            finding(notes, "the operator removed barrier marker(s) " + removed + " on " + serving.other().value()
                + " that replication had carried back to where they were written (BUGS.md B5), so that it applies again");
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
      finding(notes, "both sides were fenced (an abort could not lower its fence); the operator lowered it on "
          + where.value() + ", where the instances are");
      return where;
    }

    private boolean fenced(Target side) throws SQLException {
      SQLException last = null;
      for (int attempt = 0; attempt < 100; attempt++) {
        try {
          return operator.fenced(side);
        } catch (SQLException e) {
          last = e; // restarting after a kill: recovery takes a moment
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
        }
      }
      throw last;
    }

    /** Live instances not serving the serving side. */
    private Set<String> strandedInstances() {
      Set<String> left = new java.util.TreeSet<>();
      for (Fleet.Member m : fleet.live()) {
        JsonNode s = m.status();
        if (s != null && s.has("serving") && !s.get("serving").asText().equals(serving.value())) {
          left.add(m.name);
        }
      }
      return left;
    }

    /**
     * I5 in a round where nothing could fail a live instance's transaction (no kill, no link fault,
     * in this round or the one before): no transaction of an instance failed, except stragglers
     * the drain rolled back (they began before the flip) and the long cursor the nemesis asked for;
     * and no instance was left behind on the fenced side.
     */
    private List<Invariants.Violation> i5(JournalReader.Batch batch, Set<String> left) {
      List<Invariants.Violation> found = new ArrayList<>();
      List<String> failed = new ArrayList<>();
      for (JournalReader.Failure f : batch.failures()) {
        boolean straggler = f.sqlState().equals("40001") && f.message().contains("was still open");
        // An instance already left on the fenced side by an earlier, disruptive round fails until the
        // service comes to it; it is counted in the round that left it there.
        boolean leftBefore = stranded.contains(f.instance()) && left.contains(f.instance());
        if (!f.instance().equals(ExternalWriter.NAME) && !straggler && !leftBefore && !f.kind().equals("CURSOR")
            && !f.kind().equals(AppInstance.Kind.STRAGGLER.name())) {
          failed.add(f.instance() + " " + f.kind() + " " + f.sqlState() + " (" + f.message() + ")");
        }
      }
      if (!failed.isEmpty()) {
        found.add(new Invariants.Violation("I5", failed.size() + " transaction(s) failed in a round without faults that"
            + " could fail them: " + String.join("; ", failed.subList(0, Math.min(5, failed.size())))));
      }
      Set<String> newlyLeft = new java.util.TreeSet<>(left);
      newlyLeft.removeAll(stranded);
      if (!newlyLeft.isEmpty()) {
        found.add(new Invariants.Violation("I5", "instances " + newlyLeft + " stayed on the fenced side after a round"
            + " without faults that could fence them out: their transactions fail"));
      }
      return found;
    }

    /**
     * I7: when every switch attempt of a round aborted, the service still serves where it did; and it
     * never moves without an attempt that completed (for some instances at least).
     */
    private List<Invariants.Violation> i7(Target before, List<Attempts.Attempt> roundAttempts, boolean settled) {
      if (!settled) {
        return List.of(); // events may still be on their way
      }
      boolean anyMoved = roundAttempts.stream().anyMatch(a -> a.outcome() != Attempts.Outcome.ABORTED);
      if (serving != before && !anyMoved) {
        return List.of(new Invariants.Violation("I7", "the service moved from " + before.value() + " to " + serving.value()
            + " (the unfenced side) although every switch attempt of the round aborted: " + describe(roundAttempts)));
      }
      return List.of();
    }

    /** Every check after a round, and the summary's counts of what the journals said. */
    private List<Invariants.Violation> check(Target now, JournalReader.Batch batch, List<String> notes) throws SQLException {
      summary.acknowledged += batch.acks().size();
      batch.failures().forEach(summary::failure);
      for (JournalReader.Ack a : batch.acks()) {
        if (a.instance().equals(ExternalWriter.NAME)) {
          summary.externalCommitted++;
        }
      }
      for (JournalReader.Failure f : batch.failures()) {
        if (f.instance().equals(ExternalWriter.NAME) && f.sqlState().equals("25006")) {
          summary.externalRefused++;
        }
      }
      allAcks.addAll(batch.acks());
      List<Invariants.Violation> found = new ArrayList<>();
      for (JournalReader.Violation v : batch.violations()) {
        found.add(new Invariants.Violation(v.invariant(), v.instance() + ": " + v.detail()));
      }
      for (JournalReader.Failure f : batch.failures()) {
        if (f.sqlState().equals("23505") && f.message().contains("ledger_pkey")) {
          found.add(new Invariants.Violation("I6", f.instance() + " op " + f.firstOp() + ": a ledger id was handed out twice: "
              + f.message()));
        }
      }
      boolean otherUp = cluster.process(now.other()).isRunning();
      if (!otherUp) {
        notes.add(now.other().value() + " is down: checked " + now.value() + " alone");
      }
      found.addAll(invariants.check(new Invariants.Input(now, otherUp, attempts.moved(), batch.acks(), batch.failures())));
      return found;
    }

    private final List<JournalReader.Ack> allAcks = new ArrayList<>();

    private List<JournalReader.Ack> everyAck() {
      return allAcks;
    }

    private JournalReader.Batch readJournals() {
      JournalReader.Batch batch = JournalReader.Batch.empty();
      for (Fleet.Member m : fleet.all()) {
        batch.addAll(m.journal.readNew());
      }
      batch.addAll(externalJournal.readNew());
      return batch;
    }

    /** Each live instance's switches so far (completed + aborted), to see which tried since. */
    private Map<String, Long> switchCounters() {
      Map<String, Long> counters = new HashMap<>();
      for (Fleet.Member m : fleet.live()) {
        counters.put(m.name, switches(m.status()));
      }
      return counters;
    }

    private static long switches(JsonNode s) {
      return s == null || !s.has("completed") ? 0 : s.get("completed").asLong() + s.get("aborted").asLong();
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
      long deadline = System.nanoTime() + SETTLE.toNanos();
      Map<String, Long> quietSince = new HashMap<>();
      List<String> waiting;
      do {
        waiting = new ArrayList<>();
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
        if (waiting.isEmpty()) {
          return waiting;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      } while (System.nanoTime() - deadline < 0);
      return waiting;
    }
  }

  private void record(List<Invariants.Violation> found) {
    summary.violations.addAll(found);
  }

  private void finding(List<String> notes, String finding) {
    notes.add(finding);
    summary.findings.add(finding);
  }

  private static String describe(List<Attempts.Attempt> attempts) {
    if (attempts.isEmpty()) {
      return "no switch attempt";
    }
    List<String> parts = new ArrayList<>();
    for (Attempts.Attempt a : attempts) {
      parts.add(a.from() + "->" + a.to() + " " + a.outcome().name().toLowerCase(Locale.ROOT)
          + (a.reason().isEmpty() ? "" : " (" + a.reason() + ")"));
    }
    return String.join(", ", parts);
  }

  private void writeRecord(Path file, Cluster cluster) {
    Map<String, String> files = new LinkedHashMap<>();
    Map<String, List<String>> tails = new LinkedHashMap<>();
    for (Target side : Target.values()) {
      Path log = cluster.process(side).log();
      files.put(side.value() + " server log", log.toString());
      tails.put(side.value(), tail(log));
    }
    files.put("instances' journals", directory.resolve("instances").toString());
    files.put("driver log (harness JVM)", directory.resolve("driver.log").toString());
    files.put("both databases' tables after a violation", directory.resolve("state").toString());
    RunRecord r = new RunRecord(RunRecord.TOOL, options, summary.machine(), summary.servers, rounds,
        summary.violations.stream().map(Invariants.Violation::toString).toList(), files, tails);
    try {
      r.write(file);
    } catch (IOException e) {
      console.println("torture: could not write the record " + file + ": " + e.getMessage());
    }
  }

  private static List<String> tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return lines.subList(Math.max(0, lines.size() - LOG_TAIL), lines.size());
    } catch (IOException e) {
      return List.of("(no log: " + e.getMessage() + ")");
    }
  }

  private void progress(String format, Object... args) {
    console.printf(Locale.ROOT, "[%7.1fs] %s%n", (System.nanoTime() - began) / 1e9, String.format(Locale.ROOT, format, args));
    console.flush();
  }
}
