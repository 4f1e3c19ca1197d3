package dev.cutover.torture;

import dev.cutover.driver.control.CatchUp;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.sql.Sql;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What a careful operator does around each flip, as the replicator's docs say: the flag (a file
 * every separate JVM watches and the in-JVM manual flag, moved together), {@code reverse --prepare}
 * before a flip and {@code reverse} after the service moved (servers older than 16), replication
 * resumed after an outage, and a look at the fences.
 */
final class Operator {
  private static final Duration REVERSE_DRAIN = Duration.ofSeconds(30);
  private static final Duration FENCE_WAIT = Duration.ofSeconds(10);

  private final Cluster cluster;
  private final Path flagFile;
  private volatile Target flag = Target.OLD;

  Operator(Cluster cluster, Path flagFile) {
    this.cluster = cluster;
    this.flagFile = flagFile;
    write(Target.OLD);
    ManualFlag.named(InstanceSpec.MANUAL_FLAG).set(Target.OLD);
  }

  Path flagFile() {
    return flagFile;
  }

  Target flag() {
    return flag;
  }

  /** Moves the flag: the file (atomically replaced) and the manual flag, one right after the other. */
  synchronized void setFlag(Target target) {
    flag = target;
    write(target);
    ManualFlag.named(InstanceSpec.MANUAL_FLAG).set(target);
  }

  private void write(Target target) {
    try {
      Path next = flagFile.resolveSibling(flagFile.getFileName() + ".next");
      Files.writeString(next, target.value() + "\n");
      Files.move(next, flagFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the flag file " + flagFile, e);
    }
  }

  /** Whether {@code side} is fenced (its writes refused for every role). */
  boolean fenced(Target side) throws SQLException {
    try (Connection c = cluster.direct(side)) {
      return OperatorControl.fenceRaised(c);
    }
  }

  /**
   * Whether the service's latest switch recorded on {@code side} is still under way (begun, no
   * decision yet): instances that aborted their part rejoin it through their heartbeat. A side
   * that does not answer (killed) counts as none.
   */
  boolean switchUnderWay(Target side) {
    try (Connection c = cluster.direct(side); java.sql.PreparedStatement ps = c.prepareStatement(
        "SELECT switch_state FROM cutover.switch_state(?)")) {
      ps.setString(1, InstanceSpec.SERVICE);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && "draining".equals(rs.getString(1));
      }
    } catch (SQLException e) {
      return false;
    }
  }

  private static final java.util.regex.Pattern LOOPED_MARKER =
      java.util.regex.Pattern.compile("Key \\(marker\\)=\\(([0-9a-f-]{36})\\) already exists");

  /**
   * The remedy for a barrier marker that replication carried back to the side it was written on
   * (the apply worker then fails on it for ever): delete it there, so that the copy arriving applies.
   * Markers are control data; nothing of the application's is touched.
   *
   * @param errors apply-worker errors from {@code side}'s log
   * @return the markers deleted
   */
  List<String> removeLoopedMarkers(Target side, List<String> errors) throws SQLException {
    List<String> removed = new ArrayList<>();
    for (String error : errors) {
      java.util.regex.Matcher m = LOOPED_MARKER.matcher(error);
      if (m.find() && !removed.contains(m.group(1))) {
        try (Connection c = cluster.direct(side);
            java.sql.PreparedStatement ps = c.prepareStatement("DELETE FROM cutover.barrier WHERE marker = ?")) {
          ps.setString(1, m.group(1));
          if (ps.executeUpdate() > 0) {
            removed.add(m.group(1));
          }
        }
      }
    }
    return removed;
  }

  /** Lowers the fence on {@code side}: the remedy the driver's log names when an aborting leader could not. */
  void lowerFence(Target side) throws SQLException {
    try (Connection c = cluster.direct(side)) {
      OperatorControl.lowerFence(c);
    }
  }

  /** Whether replication from {@code source} into the other side exists (it may be disabled). */
  boolean replicatesFrom(Target source) throws SQLException {
    Target subscriber = source.other();
    try (Connection c = cluster.direct(subscriber)) {
      Names names = cluster.replicator().names();
      return ReplicationObjects.subscriptionExists(c, source == Target.OLD ? names.forward() : names.reverse());
    }
  }

  /** Before a flip, where one direction runs at a time: the switch will create the way back's slot (reverse --prepare). */
  List<String> prepareFlip() throws Exception {
    return cluster.mode() == Cluster.Mode.TURNAROUND ? cluster.replicator().prepareReverse() : List.of();
  }

  /**
   * What turning replication around did: whether the switch had created the slot it streams from,
   * and, where it had not, whether {@code reverse} refused as documented (exit 5) before the
   * operator armed it with {@code --accept-missing-writes}.
   */
  record Turn(boolean prepared, boolean refused, List<String> steps) {}

  /**
   * After the service moved to {@code serving}: replication from {@code serving} into the other
   * side (reverse). Nothing to do with both directions running already, or when it runs. Where the
   * switch made no slot for the way back, {@code reverse} refuses; the operator then does what the
   * refusal's remedy says, {@code reverse --accept-missing-writes}, and the run reports it.
   */
  Turn turnAround(Target serving) throws Exception {
    if (cluster.mode() == Cluster.Mode.TWO_WAY || replicatesFrom(serving)) {
      return new Turn(true, false, List.of());
    }
    Names names = cluster.replicator().names();
    String slot = serving == Target.NEW ? names.reverseSlot() : names.forwardSlot();
    boolean prepared;
    try (Connection c = cluster.direct(serving)) {
      prepared = ReplicationObjects.slotExists(c, slot);
    }
    Reverse.Report report;
    try {
      report = cluster.replicator().reverse(new Reverse.Options(FENCE_WAIT, REVERSE_DRAIN));
    } catch (ReplicatorException e) {
      if (prepared || !refusedForMissingSlot(e, slot)) {
        throw e;
      }
      report = cluster.replicator().reverse(new Reverse.Options(FENCE_WAIT, REVERSE_DRAIN, true));
      return new Turn(false, true, report.steps());
    }
    return new Turn(prepared, false, report.steps());
  }

  /** Whether {@code reverse} refused because the switch made no slot for the way back (exit 5, docs/faults.md B2). */
  static boolean refusedForMissingSlot(ReplicatorException e, String slot) {
    return e.failure() == Failure.PRECONDITION && e.getMessage().startsWith("no slot " + slot + " ");
  }

  /**
   * Waits until replication from {@code source} has applied everything committed there before this
   * call: a barrier marker written on {@code source} arrives on the other side.
   */
  boolean catchUp(Target source, Duration timeout) throws SQLException {
    try (Connection from = cluster.direct(source); Connection to = cluster.direct(source.other())) {
      return CatchUp.await(from, to, timeout);
    }
  }

  /** Disables every subscription of ours on both sides (the nemesis's replication pause); returns what it disabled. */
  List<String> pauseReplication() throws SQLException {
    return alterSubscriptions(false);
  }

  /** Enables every subscription of ours that is disabled, on both sides; returns what it enabled. */
  List<String> resumeReplication() throws SQLException {
    return alterSubscriptions(true);
  }

  private List<String> alterSubscriptions(boolean enable) throws SQLException {
    List<String> changed = new ArrayList<>();
    for (Target side : Target.values()) {
      try (Connection c = cluster.direct(side); Statement s = c.createStatement()) {
        List<String> names = new ArrayList<>();
        try (ResultSet rs = s.executeQuery("SELECT subname FROM pg_subscription WHERE subname LIKE 'cutover\\_%' AND subenabled <> "
            + enable + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())")) {
          while (rs.next()) {
            names.add(rs.getString(1));
          }
        }
        for (String name : names) {
          s.execute("ALTER SUBSCRIPTION " + Sql.ident(name) + " " + (enable ? "ENABLE" : "DISABLE"));
          changed.add(name + " on " + side.value());
        }
      }
    }
    return changed;
  }
}
