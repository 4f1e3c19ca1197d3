package dev.cutover.sample;

import dev.cutover.driver.control.CatchUp;
import dev.cutover.flags.Target;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.cleanup.Cleanup;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.HeartbeatWriter;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.replicator.verify.VerifyReport;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

/**
 * Replication between the rehearsal's databases, through the Cutover replicator: preflight, the
 * snapshot-consistent initial copy, catch-up, the way back after each flip, lag, verify, cleanup.
 *
 * <p>The way back depends on the engine and the servers. With trigger capture (the replicator's
 * {@code start} chooses it for sources before 12, or when asked) or relayed replication (when
 * asked), the replicator's apply process runs in the rehearsal's JVM and {@code reverse()} arms new → old beside old → new before the
 * first flip: both directions run at once and nothing is left to do at a flip. With logical
 * replication where both servers are 16 or newer, the same holds ({@code origin = none}). Older
 * servers replicate one direction at a time and turn around at each switch, as the replicator does
 * it: {@code prepareReverse()} before the flip (the switch creates the way back's slot at its
 * fence), {@code reverse()} after it (the running direction is dropped and the way back streams
 * from that slot).
 */
final class Replication {
  private static final Duration HEARTBEAT = Duration.ofMillis(100);

  /** How the way back is armed. */
  enum Mode {
    /** Both servers 16+: forward and reverse run together, armed before the first flip. */
    TWO_WAY,
    /** Older servers: one direction at a time, turned around after each switch. */
    TURNAROUND
  }

  /**
   * What arming the way back did.
   *
   * @param millis how long it took
   * @param steps what was done, in order
   */
  record Armed(long millis, List<String> steps) {}

  /** Replication lag into the side that does not serve: WAL not confirmed, and heartbeat age; null when unknown. */
  record Lag(Long bytes, Long millis) {}

  private final RehearsalDatabases databases;
  private final Replicator replicator;
  private final Capture capture;
  /** The way back; with trigger capture known only once start has chosen the engine. */
  private Mode mode;
  /** With trigger capture: the replicator's apply process, until cleanup. */
  private ApplyProcess apply;
  /** The side replication writes into; read by the lag probe's thread. */
  private volatile Target into = Target.NEW;

  Replication(RehearsalDatabases databases, Capture capture) throws Exception {
    this.databases = databases;
    this.capture = capture;
    this.replicator = Replicator.builder().old(databases.endpoint(Target.OLD)).nw(databases.endpoint(Target.NEW)).build();
    int lowest;
    try (Connection old = databases.direct(Target.OLD); Connection nw = databases.direct(Target.NEW)) {
      lowest = Math.min(Sql.majorVersion(old), Sql.majorVersion(nw));
    }
    this.mode = lowest >= 16 ? Mode.TWO_WAY : Mode.TURNAROUND;
  }

  /** The replicator's preflight; changes nothing. */
  CheckReport check() throws Exception {
    return replicator.check(java.util.List.of(), capture);
  }

  /**
   * Control schema, snapshot-consistent copy of old into new with deferred indexes, and replication
   * from there: a subscription, or capture triggers or a relayed slot and the apply process, started here.
   */
  StartReport start() throws Exception {
    StartReport report = replicator.start(StartOptions.defaults().withCapture(capture), new CopyProgress(), CopyListener.NONE);
    if (report.engine() != Capture.LOGICAL) {
      apply = replicator.apply(Applier.Options.defaults());
      mode = Mode.TWO_WAY;
    }
    return report;
  }

  /** Heartbeat writers on both sides, so that either direction's lag is measured in time; close to stop them. */
  AutoCloseable heartbeats() throws Exception {
    HeartbeatWriter old = replicator.heartbeat(Side.OLD, HEARTBEAT);
    HeartbeatWriter nw;
    try {
      nw = replicator.heartbeat(Side.NEW, HEARTBEAT);
    } catch (Exception e) {
      old.close();
      throw e;
    }
    return () -> {
      old.close();
      nw.close();
    };
  }

  /**
   * Waits until the side replication writes into has applied everything the other side committed
   * before this call, and returns how long that took.
   */
  Duration awaitCaughtUp(Duration timeout) throws Exception {
    if (mode == Mode.TURNAROUND) {
      return replicator.awaitCaughtUp(timeout); // one direction exists, and the replicator finds it
    }
    // Both directions exist; the replicator's catch-up always takes the forward one.
    long began = System.nanoTime();
    try (Connection source = databases.direct(into.other()); Connection target = databases.direct(into)) {
      if (!CatchUp.await(source, target, timeout)) {
        throw new TimeoutException(into.other().value() + " -> " + into.value() + " replication did not catch up within "
            + timeout.toMillis() + " ms");
      }
    }
    return Duration.ofNanos(System.nanoTime() - began);
  }

  /**
   * Arms the way back before the first flip where both servers allow two directions at once;
   * returns null where the way back can only be armed after each switch.
   */
  Armed armBeforeFlips() throws Exception {
    if (mode != Mode.TWO_WAY) {
      return null;
    }
    long began = System.nanoTime();
    Reverse.Report report = replicator.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(30)));
    return new Armed((System.nanoTime() - began) / 1_000_000, report.steps());
  }

  /**
   * Right before a flip, where one direction runs at a time: asks the switch to create the way
   * back's slot at its fence, so that {@link #armWayBack} misses nothing; returns what was done.
   */
  List<String> prepareFlip() throws Exception {
    return mode == Mode.TWO_WAY ? List.of() : replicator.prepareReverse();
  }

  /**
   * Makes replication run from {@code serving} into the other side, right after a switch to
   * {@code serving} completed (which fenced the other side).
   */
  Armed armWayBack(Target serving, Duration timeout) throws Exception {
    long began = System.nanoTime();
    List<String> steps;
    if (mode == Mode.TWO_WAY) {
      steps = List.of("nothing to do: " + serving.value() + " -> " + serving.other().value() + " runs already");
    } else {
      into = null; // no direction while turning around
      steps = replicator.reverse(new Reverse.Options(Duration.ZERO, timeout)).steps();
    }
    into = serving.other();
    return new Armed((System.nanoTime() - began) / 1_000_000, steps);
  }

  /** The lag into the side that does not serve, from the replicator's status; empty while turning around. */
  Optional<Lag> lag() {
    Target target = into;
    if (target == null) {
      return Optional.empty();
    }
    try {
      StatusReport status = replicator.status();
      StatusReport.Direction d = target == Target.NEW ? status.forward() : status.reverse();
      return d == null ? Optional.empty() : Optional.of(new Lag(d.lagBytes(), d.heartbeatLagMillis()));
    } catch (Exception e) {
      return Optional.empty(); // the next sample will tell
    }
  }

  /** The replicator's verify: every replicated table compared, differences rechecked after replication passed them. */
  VerifyReport verify() throws Exception {
    return replicator.verify(dev.cutover.replicator.verify.Verifier.Options.defaults()); // not the sample's own Verifier
  }

  /**
   * The replicator's cleanup (after stopping its apply process): everything of ours, on both sides.
   * The rehearsal is over, so a way back that new's last writes never reached is given up.
   */
  Cleanup.Report cleanup() throws Exception {
    if (apply != null) {
      apply.close();
      apply = null;
    }
    return replicator.cleanup(Replicator.READ_TIMEOUT, Cleanup.Unapplied.GIVE_UP_WAY_BACK);
  }

  /** One line for the report. */
  String describe() {
    if (apply != null || capture == Capture.TRIGGERS || capture == Capture.RELAY) {
      return "Cutover replicator (snapshot-consistent initial copy, " + (capture == Capture.RELAY ? "old's slot relayed"
          : "trigger capture") + " with the replicator's apply process); way back: reverse capture armed before the first flip,"
          + " both directions at once";
    }
    return "Cutover replicator (snapshot-consistent initial copy, PostgreSQL logical replication); way back: "
        + (mode == Mode.TWO_WAY ? "reverse armed before the first flip, both directions at once (origin = none)"
            : "turned around at each switch from a slot the switch creates at its fence, one direction at a time");
  }
}
