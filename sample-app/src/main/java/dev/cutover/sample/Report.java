package dev.cutover.sample;

import java.util.List;
import java.util.Map;

/**
 * Everything a rehearsal found, in the shape the table, the JSON and the HTML page show it.
 *
 * @param setup what ran
 * @param invariants the checks that decide the exit code
 * @param replication what the replicator found and did: check, initial copy, the way back, cleanup
 * @param flips each flip of the flag and the switches it caused
 * @param load totals of the load
 * @param failures failed transactions by when they happened relative to the flips
 * @param errorsBySqlState every failure, counted by SQLState
 * @param errorSamples one message per SQLState and operation
 * @param failedAfterFlip the first failures that began after a flip (I5), each with its timing
 * @param seconds the load second by second
 * @param switchSummaries every switch event's one-line summary, in order
 * @param verification what the databases held afterwards
 * @param problems anything that went wrong in the rehearsal itself (also breaks it)
 * @param timings how long each stage took
 */
record Report(Setup setup, List<Check> invariants, ReplicationSummary replication, List<FlipResult> flips, LoadTotals load, FailureKinds failures,
    Map<String, Long> errorsBySqlState, List<String> errorSamples, List<String> failedAfterFlip,
    List<Timeline.Second> seconds,
    List<String> switchSummaries, Verification verification, List<String> problems, Timings timings) {

  /**
   * What ran.
   *
   * @param databases {@code embedded} (created by the rehearsal) or {@code given} (--old-url/--new-url)
   * @param flag the flag source and who flips it
   */
  record Setup(String oldServer, String newServer, String databases, String flag, int instances, int poolSize, int rate,
      int flips, double phaseSeconds, int houses, int users, int seededBookings, String replication) {}

  /**
   * The replicator's part, as lines for people.
   *
   * @param check every finding of the preflight, errors first
   * @param initialCopy what {@code start} copied and built
   * @param caughtUpMillis how long new took to catch up after {@code start}
   * @param wayBack how the way back was armed, before the flips or after each one
   * @param cleanup what was removed at the end, per side
   */
  record ReplicationSummary(List<String> check, String initialCopy, long caughtUpMillis, List<String> wayBack,
      List<String> cleanup) {}

  /** One invariant: its name, the value found, whether it holds. */
  record Check(String name, String value, boolean ok) {}

  /**
   * One flip and the switches it caused, one per instance. Times in milliseconds; the maxima are
   * over instances. {@code gateClosed*} say how long after the flag file changed the instances'
   * gates closed (each router notices the flag, then opens its connections, then closes its gate); {@code armMillis} is how long arming the way back took afterwards (-1: not done).
   */
  record FlipResult(int number, String to, double atSecond, int switchesCompleted, int switchesExpected,
      double gateClosedMinMillis, double gateClosedMaxMillis, long gateWaits, double gateWaitMaxMillis, double gateWaitP99Millis, double drainMaxMillis,
      double barrierMaxMillis, double totalMaxMillis, int rolledBack, double transactionMaxMillis, long armMillis,
      List<String> abortReasons) {}

  /** Totals over the whole load. */
  record LoadTotals(double seconds, long committed, double perSecond, long bookingsAcknowledged, long contendedWins,
      long conflicts, long reads, long failed, double p50Millis, double p99Millis, double maxMillis) {}

  /**
   * Failed transactions by when they began: before any flip, in flight while a flip happened (a
   * straggler the drain rolled back with 40001, say), or after a flip with none during them (I5).
   */
  record FailureKinds(long beforeAnyFlip, long inFlightAtFlip, long beganAfterFlip) {}

  /**
   * Seconds spent in each stage.
   *
   * @param serversSeconds starting embedded servers, or connecting to given databases
   * @param setupSeconds creating the tables and seeding old
   * @param replicationSeconds the replicator's check, start and catch-up (and arming two-way replication)
   * @param loadSeconds the load with its flips
   * @param verifySeconds catch-up, the application's checks and the replicator's verify
   * @param cleanupSeconds the replicator's cleanup and dropping what the rehearsal created
   * @param totalSeconds all of it
   */
  record Timings(double serversSeconds, double setupSeconds, double replicationSeconds, double loadSeconds,
      double verifySeconds, double cleanupSeconds, double totalSeconds) {}

  boolean passed() {
    return problems.isEmpty() && invariants.stream().allMatch(Check::ok);
  }
}
