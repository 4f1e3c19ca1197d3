package dev.cutover.replicator.apply;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Where relayed logical replication stands, kept on the target in {@code cutover.relay_progress}:
 * the slot and publication it reads on the source, and the source's WAL position up to which every
 * transaction is applied. The row moves in the same transaction as each batch, and the slot is
 * told only after that commit, so after a crash, a kill or a lost connection the target holds
 * either the batch and the new position or neither, and the slot still holds what follows it.
 */
public final class RelayProgress {
  /**
   * The forward direction's position.
   *
   * @param slot the logical replication slot on the source
   * @param publication the publication the slot decodes with
   * @param lsn everything committed on the source before it is applied
   * @param sourceTime the commit time of the last applied transaction, or the source's clock when
   *     the feed was last found caught up; null before the first batch
   * @param appliedAt the target's clock when the position last moved
   */
  public record Position(String slot, String publication, LogSequenceNumber lsn, Instant sourceTime, Instant appliedAt, long batches,
      long changes, long missing) {}

  static final String TABLE = "cutover.relay_progress";
  /**
   * The tables a resumed start copied again under a later snapshot than the slot's, and that
   * snapshot's point: their changes in transactions committed before it are in the copy already.
   */
  static final String COPIED_AGAIN = "cutover.relay_copied_again";

  private RelayProgress() {}

  /** Arms forward relaying on {@code target}: applying starts at {@code start}, where the copy's snapshot ends. */
  public static void arm(Connection target, String slot, String publication, LogSequenceNumber start) throws SQLException {
    try (Statement s = target.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS " + TABLE + " ("
          + " direction text PRIMARY KEY CHECK (direction = 'forward'), slot text NOT NULL, publication text NOT NULL,"
          + " lsn pg_lsn NOT NULL, source_time timestamptz, applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
          + " batches bigint NOT NULL DEFAULT 0, changes bigint NOT NULL DEFAULT 0, missing bigint NOT NULL DEFAULT 0)");
    }
    ControlSchema.seal(target);
    try (PreparedStatement ps = target.prepareStatement("INSERT INTO " + TABLE + " (direction, slot, publication, lsn)"
        + " VALUES ('forward', ?, ?, ?::pg_lsn)")) {
      ps.setString(1, slot);
      ps.setString(2, publication);
      ps.setString(3, start.asString());
      ps.executeUpdate();
    }
  }

  /**
   * Records, with {@link #arm} in the caller's transaction, that {@code tables} (the source's
   * names) were copied again under a snapshot ending at {@code point}: the feed skips their changes
   * in transactions committed before it, as a table-sync worker's {@code srsublsn} makes a
   * subscription do.
   */
  public static void copiedAgain(Connection target, List<TableName> tables, LogSequenceNumber point) throws SQLException {
    Sql.execute(target, "CREATE TABLE IF NOT EXISTS " + COPIED_AGAIN + " (table_schema name, table_name name, lsn pg_lsn NOT NULL,"
        + " PRIMARY KEY (table_schema, table_name))");
    ControlSchema.seal(target);
    try (PreparedStatement ps = target.prepareStatement("INSERT INTO " + COPIED_AGAIN + " VALUES (?, ?, ?::pg_lsn)")) {
      for (TableName t : tables) {
        ps.setString(1, t.schema());
        ps.setString(2, t.name());
        ps.setString(3, point.asString());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** The tables copied again ({@link #copiedAgain}) and their points; empty after an uninterrupted start. */
  static Map<TableName, LogSequenceNumber> copiedAgain(Connection target) throws SQLException {
    Map<TableName, LogSequenceNumber> points = new HashMap<>();
    if (Sql.relationExists(target, COPIED_AGAIN)) {
      try (Statement s = target.createStatement();
          ResultSet rs = s.executeQuery("SELECT table_schema, table_name, lsn::text FROM " + COPIED_AGAIN)) {
        while (rs.next()) {
          points.put(new TableName(rs.getString(1), rs.getString(2)), LogSequenceNumber.valueOf(rs.getString(3)));
        }
      }
    }
    return points;
  }

  /** The position on {@code target}, if relaying is armed there. */
  public static Optional<Position> read(Connection target) throws SQLException {
    if (!Sql.relationExists(target, TABLE)) {
      return Optional.empty();
    }
    try (Statement s = target.createStatement();
        ResultSet rs = s.executeQuery("SELECT slot, publication, lsn::text, source_time, applied_at, batches, changes, missing FROM "
            + TABLE + " WHERE direction = 'forward'")) {
      if (!rs.next()) {
        return Optional.empty();
      }
      Timestamp sourceTime = rs.getTimestamp(4);
      return Optional.of(new Position(rs.getString(1), rs.getString(2), LogSequenceNumber.valueOf(rs.getString(3)),
          sourceTime == null ? null : sourceTime.toInstant(), rs.getTimestamp(5).toInstant(), rs.getLong(6), rs.getLong(7),
          rs.getLong(8)));
    }
  }

  /** Whether forward relaying is armed on {@code target}. */
  public static boolean armed(Connection target) throws SQLException {
    return read(target).isPresent();
  }

  /** The statement that moves the position to {@code lsn}, run as the batch's last. */
  static String advanceSql(LogSequenceNumber lsn, Instant sourceTime, long changes, long missing) {
    return "UPDATE " + TABLE + " SET lsn = " + Sql.literal(lsn.asString()) + "::pg_lsn"
        + ", source_time = " + Sql.literal(sourceTime.toString()) + "::timestamptz"
        + ", applied_at = clock_timestamp(), batches = batches + 1, changes = changes + " + changes
        + ", missing = missing + " + missing + " WHERE direction = 'forward'";
  }
}
