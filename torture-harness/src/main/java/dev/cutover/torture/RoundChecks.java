package dev.cutover.torture;

import dev.cutover.flags.Target;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The checks after each round: what the journals say (the instances' own I3, I4 and totals, an
 * id handed out twice), the databases' invariants ({@link Invariants}), and what only the round's
 * story can tell: I5 (in rounds where nothing could fail a live instance's transactions) and I7.
 * Counts what the journals said into the summary.
 */
final class RoundChecks {
  /** Faults that can fail or fence out a live instance's transactions, which I5 then excuses. */
  static final Set<Schedule.FaultKind> DISRUPTIVE = EnumSet.of(Schedule.FaultKind.KILL_SERVER,
      Schedule.FaultKind.CRASH_BACKEND, Schedule.FaultKind.KILL_APP, Schedule.FaultKind.LINK_DELAY,
      Schedule.FaultKind.LINK_STALL, Schedule.FaultKind.LINK_CUT);

  private final TortureRun run;
  private final Cluster cluster;
  private final Invariants invariants;
  private final List<JournalReader.Ack> allAcks = new ArrayList<>();
  /** Whether the previous round could fail transactions (the warm-up counts as such: pools are filling). */
  private boolean previousDisruptive = true;
  private boolean previousSettled = true;
  /** Instances left on the fenced side at the end of the previous round. */
  private Set<String> stranded = Set.of();

  RoundChecks(TortureRun run, Cluster cluster) {
    this.run = run;
    this.cluster = cluster;
    this.invariants = new Invariants(cluster);
  }

  /**
   * After a round.
   *
   * @param before the side that served when the round began
   * @param serving the side that serves now (the unfenced one)
   * @param settled whether every instance settled (else events may still be on their way)
   * @param left live instances serving the fenced side now
   */
  List<Invariants.Violation> afterRound(Schedule.Round plan, Target before, Target serving, JournalReader.Batch batch,
      List<Attempts.Attempt> attempts, boolean settled, Set<String> left, List<String> notes) throws SQLException {
    List<Invariants.Violation> found = new ArrayList<>(check(serving, batch, notes));
    boolean disruptive = plan.faults().stream().anyMatch(f -> DISRUPTIVE.contains(f.kind()));
    if (settled && previousSettled && !disruptive && !previousDisruptive) {
      run.summary.i5Checked++;
      found.addAll(i5(batch, left));
    }
    if (settled) {
      found.addAll(i7(before, serving, attempts));
    }
    previousDisruptive = disruptive;
    previousSettled = settled;
    stranded = left;
    return found;
  }

  /** At the end, the load stopped: the last journal lines, and every acknowledgement of the run once more. */
  List<Invariants.Violation> atEnd(Target serving, JournalReader.Batch last, List<String> notes) throws SQLException {
    List<Invariants.Violation> found = new ArrayList<>(check(serving, last, notes));
    found.addAll(invariants.recheckAll(serving, allAcks));
    return found;
  }

  /**
   * I5 in a round where nothing could fail a live instance's transaction (no kill, no link fault,
   * in this round or the one before): no transaction of an instance failed, except stragglers the
   * drain rolled back (they began before the flip) and the long cursor the nemesis asked for; and
   * no instance was left behind on the fenced side.
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
          && !f.kind().equals(Workload.Kind.STRAGGLER.name())) {
        failed.add(f.instance() + " " + f.kind() + " " + f.sqlState() + " (" + f.message() + ")");
      }
    }
    if (!failed.isEmpty()) {
      found.add(new Invariants.Violation("I5", failed.size() + " transaction(s) failed in a round without faults that"
          + " could fail them: " + String.join("; ", failed.subList(0, Math.min(5, failed.size())))));
    }
    Set<String> newlyLeft = new TreeSet<>(left);
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
  private static List<Invariants.Violation> i7(Target before, Target serving, List<Attempts.Attempt> attempts) {
    boolean anyMoved = attempts.stream().anyMatch(a -> a.outcome() != Attempts.Outcome.ABORTED);
    if (serving != before && !anyMoved) {
      return List.of(new Invariants.Violation("I7", "the service moved from " + before.value() + " to " + serving.value()
          + " (the unfenced side) although every switch attempt of the round aborted: " + TortureRun.describe(attempts)));
    }
    return List.of();
  }

  /** What the journals say, the databases' invariants, and the summary's counts. */
  private List<Invariants.Violation> check(Target serving, JournalReader.Batch batch, List<String> notes) throws SQLException {
    Summary summary = run.summary;
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
    batch.findings().forEach(f -> run.finding(notes, f));
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
    boolean otherUp = cluster.process(serving.other()).isRunning();
    if (!otherUp) {
      notes.add(serving.other().value() + " is down: checked " + serving.value() + " alone");
    }
    found.addAll(invariants.check(new Invariants.Input(serving, otherUp, run.attempts.moved(), batch.acks(), batch.failures())));
    return found;
  }
}
