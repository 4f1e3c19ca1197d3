package dev.cutover.replicator.replication;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.capture.CaptureWays;
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

  /**
   * Fails with {@link Failure#PRECONDITION}, before anything is written, when {@code c} (given as
   * {@code source}) is the target of the direction that starts from {@code source}: it holds
   * forward's subscription, relay or apply position (for old), or the way back's (for new), so it
   * is the other database. A row of {@code source} written there collides with the source's own
   * beat when replication carries it, and stops that direction's apply.
   */
  public static void requireSource(Connection c, Side source, Names names, String step) throws SQLException, ReplicatorException {
    boolean target = source == Side.OLD
        ? ReplicationObjects.subscriptionExists(c, names.forward()) || RelayProgress.armed(c) || CaptureWays.forwardArmed(c)
        : ReplicationObjects.subscriptionExists(c, names.reverse()) || CaptureWays.reverseArmed(c);
    if (!target) {
      return;
    }
    String direction = source == Side.OLD ? "forward replication (old -> new)" : "reverse replication (new -> old)";
    throw new ReplicatorException(Failure.PRECONDITION, "the database given as --" + source.label() + "-url is the target of "
        + direction + ", not its source: a beat of " + source.label() + " written there would collide with the one "
        + direction + " carries into it and stop its apply (" + step + " changed nothing)",
        "give old's URL as --old-url and new's as --new-url, as start was given them, and beat on a running direction's source"
            + " (--source old for forward, --source new for the way back)");
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
