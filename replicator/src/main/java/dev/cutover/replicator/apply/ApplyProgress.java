package dev.cutover.replicator.apply;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.capture.ChangeLog;
import dev.cutover.replicator.capture.TxidSnapshot;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;

/**
 * Where a direction's apply stands, kept on its target in {@code cutover.apply_progress}: the last
 * tick of the source whose batch is applied. The row is updated in the same transaction as the
 * batch, so after a crash, a kill or a lost connection the target holds either the batch and the
 * new position or neither, and the next apply starts exactly after what is there.
 */
public final class ApplyProgress {
  /**
   * One direction's position.
   *
   * @param direction {@code forward} or {@code reverse}
   * @param snapshot the source's tick up to which everything is applied
   * @param sourceTime the source's clock when that tick was taken
   * @param appliedAt the target's clock when it was applied
   * @param batches batches applied (empty ones are not all written)
   * @param changes changes applied
   * @param missing UPDATEs and DELETEs that found no row on the target
   */
  public record Position(String direction, TxidSnapshot snapshot, Instant sourceTime, Instant appliedAt, long batches,
      long changes, long missing) {}

  /** The table, for lock refusals and publications. */
  public static final TableName NAME = new TableName("cutover", "apply_progress");
  public static final String TABLE = NAME.toString();

  private ApplyProgress() {}

  /** Creates the table on a target if it is missing (the control schema must exist). */
  public static void install(Connection target) throws SQLException {
    try (Statement s = target.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS " + TABLE + " ("
          + " direction text PRIMARY KEY CHECK (direction IN ('forward', 'reverse')),"
          + " snapshot text NOT NULL, source_time timestamptz NOT NULL,"
          + " applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
          + " batches bigint NOT NULL DEFAULT 0, changes bigint NOT NULL DEFAULT 0, missing bigint NOT NULL DEFAULT 0)");
    }
    ControlSchema.seal(target);
  }

  /** Arms {@code direction}: applying starts after {@code start}, a snapshot of the source. */
  public static void arm(Connection target, String direction, ChangeLog.Tick start) throws SQLException {
    install(target);
    try (PreparedStatement ps = target.prepareStatement("INSERT INTO " + TABLE + " (direction, snapshot, source_time) VALUES (?, ?, ?)")) {
      ps.setString(1, direction);
      ps.setString(2, start.snapshot().text());
      ps.setTimestamp(3, Timestamp.from(start.sourceTime()));
      ps.executeUpdate();
    }
  }

  /** The position of {@code direction} on {@code target}, if it is armed there. */
  public static Optional<Position> read(Connection target, String direction) throws SQLException {
    if (!Sql.relationExists(target, TABLE)) {
      return Optional.empty();
    }
    try (PreparedStatement ps = target.prepareStatement("SELECT snapshot, source_time, applied_at, batches, changes, missing FROM "
        + TABLE + " WHERE direction = ?")) {
      ps.setString(1, direction);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(new Position(direction, TxidSnapshot.parse(rs.getString(1)), rs.getTimestamp(2).toInstant(),
            rs.getTimestamp(3).toInstant(), rs.getLong(4), rs.getLong(5), rs.getLong(6)));
      }
    }
  }

  /** Whether {@code direction} is armed on {@code target}. */
  public static boolean armed(Connection target, String direction) throws SQLException {
    return read(target, direction).isPresent();
  }

  /**
   * The statement a reverse batch runs first where forward is relayed: old's slot decodes what the
   * batch writes into old, and a transaction whose first change is this row is the way back's own,
   * which the relay leaves out ({@link #isMark}) rather than bring it back to new.
   */
  static String markSql() {
    return "UPDATE " + TABLE + " SET applied_at = clock_timestamp() WHERE direction = 'reverse'";
  }

  /** Whether {@code c}, a transaction's first change, marks it as written by the way back ({@link #markSql}). */
  static boolean isMark(ChangeLog.Change c) {
    return c.schema().equals("cutover") && c.table().equals("apply_progress");
  }

  /** The statement that moves {@code direction} to {@code tick}, run as the batch's last. */
  static String advanceSql(String direction, ChangeLog.Tick tick, long changes, long missing) {
    return "UPDATE " + TABLE + " SET snapshot = " + Sql.literal(tick.snapshot().text())
        + ", source_time = " + Sql.literal(tick.sourceTime().toString()) + "::timestamptz"
        + ", applied_at = clock_timestamp(), batches = batches + 1, changes = changes + " + changes
        + ", missing = missing + " + missing + " WHERE direction = " + Sql.literal(direction);
  }
}
