package dev.cutover.replicator.operator;

import dev.cutover.driver.control.OperatorControl;
import dev.cutover.driver.control.SwitchState;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;

/**
 * Which of two databases' records of a service's switch is the later, without comparing the two
 * servers' clocks: a switch is recorded on the side it leaves, so its {@code updated_at} comes
 * from that server's clock, and an hour of skew between old and new once made a release an hour
 * old look newer than a switch back still draining (r18). In order:
 *
 * <ol>
 *   <li>a record in progress (draining) is the current one whatever the clocks say;
 *   <li>a released switch noted the fence epoch of its target as it was released ({@code
 *       target_epoch}), and a switch from that target raises the target's fence at a higher epoch
 *       only after that (the epochs of one database only grow): the record whose fence epoch on
 *       the other side's sequence is above the released one's target epoch is the later;
 *   <li>where a record lacks those (a switch refused or aborted before its fence, a role that may
 *       not read {@code cutover.switch}, rows from installs before {@code target_epoch}), the later
 *       is the one younger on its own server, each age measured against that server's clock when
 *       it was read ({@link Clock}): that survives any constant skew, not a clock stepped between a
 *       record's write and its read.
 * </ol>
 */
public final class SwitchOrder {
  private SwitchOrder() {}

  /**
   * One side's record of a service's switch, as far as ordering goes.
   *
   * @param epochs its fence epochs, where recorded and readable
   * @param clock its server's clock, read with it
   */
  public record Record(boolean inProgress, boolean released, Instant updatedAt, Epochs epochs, Clock clock) {}

  /**
   * A switch's fence epochs.
   *
   * @param fence the fence epoch it raised on its own side, null where it raised none (or unreadable)
   * @param target for a released switch, its target's fence epoch at the release, null where unknown
   */
  public record Epochs(Long fence, Long target) {
    public static final Epochs NONE = new Epochs(null, null);
  }

  /**
   * One server's clock as read once, and this process's monotonic clock ({@link System#nanoTime})
   * at the read: together they put that server's times on a clock common to both sides.
   */
  public record Clock(Instant serverNow, long localNanos) {
    /** Reads the connected server's clock ({@code clock_timestamp()}). */
    public static Clock read(Connection c) throws SQLException {
      long before = System.nanoTime();
      Instant now;
      try (PreparedStatement ps = c.prepareStatement("SELECT (extract(epoch FROM pg_catalog.clock_timestamp()) * 1000000)::bigint");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        long micros = rs.getLong(1);
        now = Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
      }
      long after = System.nanoTime();
      return new Clock(now, before + (after - before) / 2);
    }

    /** When {@code serverTime} (of this server's clock) was on this process's monotonic clock. */
    Duration local(Instant serverTime) {
      return Duration.ofNanos(localNanos).minus(Duration.between(serverTime, serverNow));
    }
  }

  /**
   * The fence epoch and target epoch of switch {@code id} of {@code service} as the connected
   * database records them; both null where the role may not read {@code cutover.switch} or the
   * control schema predates the columns.
   */
  public static Epochs epochs(Connection c, String service, String id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class t"
        + " JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'cutover' AND t.relname = 'switch'"
        + " AND pg_catalog.has_schema_privilege(n.oid, 'USAGE') AND pg_catalog.has_table_privilege(t.oid, 'SELECT')"
        + " AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.oid AND NOT a.attisdropped"
        + " AND a.attname IN ('fence_epoch', 'target_epoch')) = 2)");
        ResultSet rs = ps.executeQuery()) {
      if (!rs.next() || !rs.getBoolean(1)) {
        return Epochs.NONE;
      }
    }
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT fence_epoch, target_epoch FROM cutover.switch WHERE service = ? AND id = ?")) {
      ps.setString(1, service);
      ps.setString(2, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Epochs(rs.getObject(1, Long.class), rs.getObject(2, Long.class)) : Epochs.NONE;
      }
    }
  }

  /** What orders switch {@code s} of {@code service}, recorded on {@code c} (whose clock is {@code clock}), against the other side's. */
  public static Record record(Connection c, String service, OperatorControl.SwitchView s, Clock clock) throws SQLException {
    return new Record(s.state() == SwitchState.DRAINING, s.state() == SwitchState.RELEASED, s.updatedAt(),
        epochs(c, service, s.id()), clock);
  }

  /** Whether {@code a}, recorded on one side, is later than {@code b}, recorded on the other. */
  public static boolean later(Record a, Record b) {
    if (a.inProgress() != b.inProgress()) {
      return a.inProgress();
    }
    if (!a.inProgress() && a.released() && a.epochs().target() != null && b.epochs().fence() != null) {
      return b.epochs().fence() <= a.epochs().target();
    }
    if (!b.inProgress() && b.released() && b.epochs().target() != null && a.epochs().fence() != null) {
      return a.epochs().fence() > b.epochs().target();
    }
    if (a.updatedAt() == null || b.updatedAt() == null) {
      return b.updatedAt() == null && a.updatedAt() != null;
    }
    return a.clock().local(a.updatedAt()).compareTo(b.clock().local(b.updatedAt())) > 0;
  }
}
