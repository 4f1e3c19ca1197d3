package dev.cutover.replicator.replication;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The heartbeat table {@code cutover.replication_heartbeat}: one row per source database, keyed by its side
 * ({@code old} or {@code new}). A writer on the source updates its row every second; replication
 * carries it to the other side, where its age measures lag in time.
 *
 * <p>Design notes. Only the source of a direction writes its own row, so the two directions never
 * write the same row and a {@code FOR ALL TABLES} publication never carries a row that collides
 * with the other side's. Lag is the difference between the newest beat on the source and the
 * newest beat that reached the target: both timestamps come from the source's clock, so clock
 * skew between the servers does not enter it. Its resolution is the beat interval. The table is
 * created in the control schema after {@code ControlSchema.install}, so {@code uninstall} removes
 * it with the schema; the fence does not guard the control schema, so beats continue while a
 * side is fenced. (The driver's {@code cutover.heartbeat(service, instance)} function is another
 * thing: liveness of driver instances, kept in unlogged tables that are never replicated.)
 */
public final class Heartbeat {
  public static final String TABLE = "cutover.replication_heartbeat";

  private Heartbeat() {}

  /** Creates the table if it is missing; needs the control schema. Idempotent. */
  public static void install(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS cutover.replication_heartbeat ("
          + " origin text PRIMARY KEY,"
          + " beat_at timestamptz NOT NULL,"
          + " beats bigint NOT NULL)");
    }
    ControlSchema.seal(c);
  }

  /** Writes one beat of {@code source} on its own database. */
  public static void beat(Connection c, Side source) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO cutover.replication_heartbeat AS h (origin, beat_at, beats)"
        + " VALUES (?, clock_timestamp(), 1) ON CONFLICT (origin)"
        + " DO UPDATE SET beat_at = excluded.beat_at, beats = h.beats + 1")) {
      ps.setString(1, source.label());
      ps.executeUpdate();
    }
  }

  /** The newest beat of {@code source} visible on {@code c}, if the table and the row exist. */
  public static Optional<Beat> read(Connection c, Side source) throws SQLException {
    if (!Sql.relationExists(c, TABLE)) {
      return Optional.empty();
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT beat_at, beats,"
        + " extract(epoch FROM clock_timestamp() - beat_at) * 1000 FROM cutover.replication_heartbeat WHERE origin = ?")) {
      ps.setString(1, source.label());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(new Beat(rs.getTimestamp(1).toInstant(), rs.getLong(2),
            Duration.ofMillis(Math.round(rs.getDouble(3)))));
      }
    }
  }

  /**
   * One beat as a database sees it.
   *
   * @param at when the source wrote it (source clock)
   * @param beats how many beats the source had written
   * @param age how long ago, by the reading server's clock
   */
  public record Beat(Instant at, long beats, Duration age) {}
}
