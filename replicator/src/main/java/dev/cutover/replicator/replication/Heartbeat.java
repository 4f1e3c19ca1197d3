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
 * thing: liveness of driver instances, kept in unlogged tables that are never replicated.) On the
 * target of a native subscription the beats also detect lost transactions: one beat per
 * transaction, counted, so a beat that does not follow the target's copy stops the apply
 * ({@link #installGapCheck}).
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

  /** The trigger on the heartbeat table that stops a native subscription's apply at a lost beat. */
  public static final String GAP_TRIGGER = "cutover_heartbeat_gap";
  /** Unlogged, so never published and empty on a promoted standby: origins whose next beat is taken as it comes. */
  public static final String ANCHOR = "cutover.heartbeat_anchor";

  /**
   * Installs, on the target of a native subscription, the check that a lost beat stops its apply.
   * The source's writer adds one to its row's {@code beats} per beat, one transaction each, so a
   * direction's beats arrive one after another; a beat that arrives more than one ahead of the
   * target's copy (or not ahead) means the target lost transactions it had applied and confirmed
   * to the source's slot: a failover of the target to a standby that was behind, a restore. The
   * subscription then resumes from its replication origin's position while the slot streams from
   * its confirmed point, and PostgreSQL skips what lies between without a word. The trigger makes
   * the apply fail at that beat instead, with an error that says what happened; the apply retries
   * and never passes it, so catch-up's barrier and the switch's probe behind it never arrive, and
   * {@code status} counts apply errors (15+).
   *
   * <p>It is ENABLE REPLICA (it fires only in sessions with {@code session_replication_role =
   * replica}) and checks further that it runs in a logical replication worker: the relay and
   * trigger engines also apply as replica, but detect a target that went back on their own (and
   * may carry beats in batches). The initial copy (COPY, inserts) and the writer's own updates on
   * the source never fire it. SECURITY DEFINER: the apply worker runs as the subscription's owner
   * (or, 16+, as the table's), and the anchor table, like the rest of the control schema, is
   * sealed to its owner. Where the subscription starts without a copy of the heartbeat table
   * ({@code reverse}, which arms a way from a slot), the target's copy of the source's row can be
   * stale: {@link #anchor} has the next beat taken as it comes.
   *
   * <p>The trigger knows which side {@code c} is ({@code target}, its argument) and checks only the
   * other side's row. A way back armed after the switch below 16 (no origin filter) streams from a
   * slot the switch made while forward still ran, so it carries back the beats forward applied to
   * the serving side's copy of the target's own row in between: an echo, older than the target's
   * own count, which the check would take for a side that went back and stop the way back forever
   * (the sample app's rehearsal, 12 to 17). The apply skips such an echo: only the target's own
   * writer moves its row. Idempotent; a trigger installed for another side (or none) is replaced.
   */
  public static void installGapCheck(Connection c, Side target) throws SQLException {
    install(c);
    try (Statement s = c.createStatement()) {
      s.execute("CREATE UNLOGGED TABLE IF NOT EXISTS " + ANCHOR + " (origin text PRIMARY KEY)");
      s.execute("CREATE OR REPLACE FUNCTION cutover.heartbeat_gap() RETURNS trigger LANGUAGE plpgsql"
          + " SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$\n"
          // search_path is pg_catalog's alone: plain operators resolve there.
          + "DECLARE target text := TG_ARGV[0];\n"
          + "BEGIN\n"
          // The relay's and the trigger engine's apply run as replica too: they check on their own.
          + "  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_get_activity(pg_catalog.pg_backend_pid()) a"
          + " WHERE a.backend_type LIKE 'logical replication%') THEN\n"
          + "    RETURN NEW;\n"
          + "  END IF;\n"
          // This database's own row, carried back by a way without an origin filter: an echo, never newer than the row here.
          + "  IF OLD.origin = target OR NEW.origin = target THEN\n"
          + "    RETURN NULL;\n"
          + "  END IF;\n"
          + "  DELETE FROM cutover.heartbeat_anchor WHERE origin = NEW.origin;\n"
          + "  IF FOUND OR NEW.origin IS DISTINCT FROM OLD.origin"
          + " OR NEW.beats = OLD.beats + 1 THEN\n"
          + "    RETURN NEW;\n"
          + "  END IF;\n"
          + "  IF NEW.beats > OLD.beats THEN\n"
          + "    RAISE EXCEPTION USING ERRCODE = 'XX001', MESSAGE = pg_catalog.format('cutover: %s lost transactions replicated from %s:"
          + " its copy of %s''s heartbeat is at beat %s and the next beat to arrive is %s, so %s beat(s), and every change"
          + " committed on %s between them, are missing on %s though it had confirmed them to %s''s slot (a failover of %s to a"
          + " standby that was behind, or a restore); the slot has moved past them and the subscription would skip them without"
          + " a word, so its apply stops here', target, NEW.origin, NEW.origin, OLD.beats, NEW.beats,"
          + " NEW.beats - OLD.beats - 1, NEW.origin, target, NEW.origin, target),"
          + " HINT = pg_catalog.format('do not switch to %s: the lost changes are still on %s, but no replication will bring"
          + " them; compare the two sides (cutover-replicator verify) and copy the tables that differ again from %s, or start"
          + " again (cutover-replicator cleanup, then start)', target, NEW.origin, NEW.origin);\n"
          + "  END IF;\n"
          + "  RAISE EXCEPTION USING ERRCODE = 'XX001', MESSAGE = pg_catalog.format('cutover: the heartbeat of %s went back: %s holds"
          + " beat %s of it and the next beat to arrive is %s, so %s lost transactions that %s had already applied (a failover"
          + " of %s to a standby that was behind, or a restore), and the two sides differ; the apply into %s stops here',"
          + " NEW.origin, target, OLD.beats, NEW.beats, NEW.origin, target, NEW.origin, target),"
          + " HINT = pg_catalog.format('compare the two sides (cutover-replicator verify): changes %s holds from %s may be"
          + " missing on %s; reconcile them, or start again (cutover-replicator cleanup, then start)', target, NEW.origin,"
          + " NEW.origin);\n"
          + "END $$");
      s.execute("DO $$BEGIN\n"
          // Its argument names this database's side; one made for another side (or none) is replaced.
          + "  IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = 'cutover.replication_heartbeat'::pg_catalog.regclass"
          + " AND tgname = '" + GAP_TRIGGER + "' AND pg_catalog.encode(tgargs, 'escape') IS DISTINCT FROM '" + target.label()
          + "\\000') THEN\n"
          + "    DROP TRIGGER " + GAP_TRIGGER + " ON cutover.replication_heartbeat;\n"
          + "  END IF;\n"
          + "  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = 'cutover.replication_heartbeat'::pg_catalog.regclass"
          + " AND tgname = '" + GAP_TRIGGER + "') THEN\n"
          + "    CREATE TRIGGER " + GAP_TRIGGER + " BEFORE UPDATE ON cutover.replication_heartbeat FOR EACH ROW"
          + " EXECUTE PROCEDURE cutover.heartbeat_gap('" + target.label() + "');\n"
          + "  END IF;\n"
          + "  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = 'cutover.replication_heartbeat'::pg_catalog.regclass"
          + " AND tgname = '" + GAP_TRIGGER + "' AND tgenabled = 'R') THEN\n"
          + "    ALTER TABLE cutover.replication_heartbeat ENABLE REPLICA TRIGGER " + GAP_TRIGGER + ";\n"
          + "  END IF;\n"
          + "END $$");
    }
    ControlSchema.seal(c);
  }

  /**
   * Has the next beat of {@code source} to reach {@code target} taken as it comes, whatever its
   * count: for a subscription that starts without copying the heartbeat table, where the
   * target's copy of the source's row may be from long ago. The mark is consumed by that beat;
   * being unlogged, it is gone after a crash or on a promoted standby, where the check is strict
   * again.
   */
  public static void anchor(Connection target, Side source) throws SQLException {
    try (PreparedStatement ps = target.prepareStatement("INSERT INTO " + ANCHOR + " (origin) VALUES (?) ON CONFLICT DO NOTHING")) {
      ps.setString(1, source.label());
      ps.executeUpdate();
    }
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

  /**
   * The sources of the directions armed between old ({@code o}) and new ({@code n}): old where
   * forward runs (a subscription, relay or trigger capture into new), new where the way back does
   * (into old); both where both run, and old where neither does. A heartbeat writer with no side
   * given beats there: after the switch below 16 only the way back runs, and old's beats, which
   * nothing carries, gave it no time lag (r22).
   */
  public static java.util.List<Side> armedSources(Connection o, Connection n, Names names) throws SQLException {
    boolean forward = ReplicationObjects.subscriptionExists(n, names.forward()) || RelayProgress.armed(n) || CaptureWays.forwardArmed(n);
    boolean reverse = ReplicationObjects.subscriptionExists(o, names.reverse()) || CaptureWays.reverseArmed(o);
    return reverse && !forward ? java.util.List.of(Side.NEW) : reverse ? java.util.List.of(Side.OLD, Side.NEW) : java.util.List.of(Side.OLD);
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
