package dev.cutover.sample;

import java.util.List;
import java.util.Map;

/**
 * Everything a rehearsal found, in the shape the table, the JSON and the HTML page show it.
 *
 * @param environment when, with what and on what it ran, with the caveats that limit what it shows
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
record Report(Environment environment, Setup setup, List<Check> invariants, ReplicationSummary replication, List<FlipResult> flips, LoadTotals load, FailureKinds failures,
    Map<String, Long> errorsBySqlState, List<String> errorSamples, List<String> failedAfterFlip,
    List<Timeline.Second> seconds,
    List<String> switchSummaries, Verification verification, List<String> problems, Timings timings) {

  /**
   * When, with what and on what the rehearsal ran: a go/no-go record names its conditions.
   *
   * @param runAt when it started (UTC, ISO-8601)
   * @param machine processors, memory, operating system and Java of the machine that ran it
   * @param oldSettings the old server's version and the settings that bear on the figures
   * @param caveats what limits the figures (servers on the same host, fsync off, ...)
   */
  record Environment(String runAt, String cutoverVersion, String machine, Map<String, String> oldSettings,
      Map<String, String> newSettings, List<String> caveats) {}

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
  record FlipResult(int number, String to, double atSecond, String atTime, int switchesCompleted, int switchesExpected,
      double gateClosedMinMillis, double gateClosedMaxMillis, long gateWaits, double gateWaitMaxMillis, double gateWaitP99Millis, double drainMaxMillis,
      double barrierMaxMillis, double totalMaxMillis, int rolledBack, double transactionMaxMillis, long armMillis,
      List<String> abortReasons, List<InstanceSwitch> instances, List<Timeline.TxPoint> transactions) {}

  /**
   * One instance's switch in a flip, in milliseconds; {@code gateClosedMillis} counts from the
   * moment the flag changed, the phases follow one another from there (fence, barrier and
   * sequences on the leader only; a follower's check of the barrier is part of its coordinate).
   */
  record InstanceSwitch(String instance, String outcome, boolean leader, double gateClosedMillis, double drainMillis,
      double coordinateMillis, double fenceMillis, double barrierMillis, double sequencesMillis, double totalMillis,
      long gateWaits, double gateWaitMaxMillis, double gateWaitP99Millis, int rolledBack, int prewarmed, String reason) {}

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

  /** The verdict in words: go only when every invariant held and at least one flip was rehearsed. */
  String verdict() {
    if (flips.isEmpty() && problems.isEmpty()) {
      return "No go: no flip was rehearsed (--flips 0), so nothing was shown";
    }
    return passed() ? "Go: every invariant held" : "No go: an invariant broke";
  }
}
