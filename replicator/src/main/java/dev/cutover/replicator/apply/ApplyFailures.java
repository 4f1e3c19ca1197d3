package dev.cutover.replicator.apply;

import dev.cutover.common.Transactions;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.internal.control.WayIn;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Why a way's apply fails, kept on its target in {@code cutover.apply_failure} while it does, so
 * that {@code status} and {@code catch-up}, which run in other processes, can say so: an apply
 * that retries a failing batch holds its lock only while it tries, and between tries looked like
 * no apply at all ("start it"). Written by the apply after a batch failed on a target that still
 * answers (a silent one cannot take it), and removed after the next batch an apply commits; or,
 * for good, when it stopped on a refusal ({@link #recordStop}), which no apply gets past until
 * cleanup drops the table.
 */
public final class ApplyFailures {
  private static final Logger LOG = LoggerFactory.getLogger(ApplyFailures.class);
  static final String TABLE = "cutover.apply_failure";
  /** A failure tried again within this long ago means an apply process still runs and retries. */
  public static final Duration RECENT = Duration.ofMinutes(1);
  /**
   * What the message of a failure says when trying the batch again cannot succeed while nothing
   * changes (a logged row the target's types cannot read); {@link Failed#describe} then promises no
   * retry.
   */
  static final String HOPELESS = "retrying cannot help";
  /** How {@link #describeUnreached} begins. */
  public static final String UNREACHED = "an apply into ";

  /**
   * One way's failure.
   *
   * @param message what the last try said
   * @param since when the first try of this run of failures failed (the target's clock)
   * @param last when the last one did
   * @param recent whether the last one is within {@link #RECENT} of the target's clock now
   */
  public record Failed(String message, Instant since, Instant last, boolean recent) {
    /** Whether the apply stopped for good on this ({@link #recordStop}) rather than retrying it: nothing applies the way since. */
    public boolean stopped() {
      return message.startsWith(WayIn.STOPPED);
    }

    /** The problem to report, for the target {@code targetLabel}. */
    public String describe(String targetLabel) {
      if (stopped()) {
        return "the apply into " + targetLabel + " stopped for good at " + last + " and cannot resume (`cutover-replicator apply`"
            + " refuses it until cleanup): " + message.substring(WayIn.STOPPED.length());
      }
      return "the apply into " + targetLabel + " fails (since " + since + ", last tried " + last + "): " + message
          + (message.contains(HOPELESS) ? "" : "; it retries the batch and loses nothing");
    }
  }

  private ApplyFailures() {}

  /**
   * Notes that {@code way}'s last batch failed with {@code message}, on a target connection that
   * still answers; a failure to note it is only logged (the apply retries either way).
   *
   * @return whether it is noted
   */
  static boolean record(Connection target, String way, String message) {
    return record(target, way, message, false);
  }

  /**
   * Notes that {@code way}'s apply stopped for good on {@code refusal} (its position cannot resume:
   * the source lost what the target holds, its slot is gone), in place of a retried failure noted
   * before, which promised a retry. The one note of a stop: every later apply refuses on it ({@link
   * Applier}), also where the refusal itself would pass again (old's transaction ids past the
   * position), and status, catch-up and the driver's probe ({@code cutover.way_in}) read it, until
   * cleanup. A failure to note it is only logged.
   */
  static void recordStop(Connection target, String way, String refusal) {
    record(target, way, WayIn.STOPPED + refusal, true);
  }

  /**
   * {@link #record}; {@code restart}: a row already there takes a new {@code since}, else it keeps its own (one run of failures)
   * and a stop noted there stays: an apply started again that fails before it holds the way must not turn it into a retried failure.
   */
  private static boolean record(Connection target, String way, String message, boolean restart) {
    try {
      if (!target.getAutoCommit()) {
        target.rollback(); // the failed batch's
      }
      Transactions.inTransaction(target, () -> {
        Sql.execute(target, "CREATE TABLE IF NOT EXISTS " + TABLE + " (way text PRIMARY KEY, message text NOT NULL,"
            + " since timestamptz NOT NULL DEFAULT clock_timestamp(), last timestamptz NOT NULL DEFAULT clock_timestamp())");
        ControlSchema.seal(target);
        try (PreparedStatement ps = target.prepareStatement("INSERT INTO " + TABLE + " AS f (way, message) VALUES (?, ?)"
            + " ON CONFLICT (way) DO UPDATE SET message = EXCLUDED.message" + (restart ? ", since = clock_timestamp()" : "") + ", last = clock_timestamp()"
            + (restart ? "" : " WHERE position(" + Sql.literal(WayIn.STOPPED) + " IN f.message) <> 1"))) {
          ps.setString(1, way);
          ps.setString(2, message);
          return ps.executeUpdate();
        }
      });
      return true;
    } catch (SQLException e) {
      LOG.debug("could not note the apply's failure on its target: {}", e.getMessage());
      return false;
    }
  }

  /**
   * Notes on {@code way}'s source that the apply cannot reach its target (a login refused, as after a
   * password changed there, or no answer): the target, where {@link #record} keeps a failure, cannot
   * take it, and status said no apply ran ("start it") while one retried. Kept under its own key
   * ({@link #unreachedKey}), so that it is never taken for a failure of the way the other way round,
   * whose target this side is; removed once the apply holds the way on its target again.
   *
   * @return whether it is noted
   */
  static boolean recordUnreached(Connection source, String way, String message) {
    return record(source, unreachedKey(way), message);
  }

  /** Removes the note of {@link #recordUnreached}, on a source connection in autocommit. */
  static void clearUnreached(Connection source, String way) throws SQLException {
    if (source.getAutoCommit() && Sql.bool(source, "SELECT to_regclass(?) IS NOT NULL", TABLE)) {
      Sql.execute(source, "DELETE FROM " + TABLE + " WHERE way = " + Sql.literal(unreachedKey(way)));
    }
  }

  /** That an apply of {@code way} could not reach its target within {@link #RECENT}, as noted on the way's source. */
  public static Optional<Failed> unreached(Connection source, String way) throws SQLException {
    return read(source, unreachedKey(way)).filter(Failed::recent);
  }

  /** The problem to report for {@link #unreached}: an apply runs, and another would not help. */
  public static String describeUnreached(Failed f, String targetLabel) {
    return UNREACHED + targetLabel + " runs but cannot reach " + targetLabel + " (since " + f.since() + ", last tried " + f.last()
        + "): " + f.message() + "; it retries, so do not start another: where " + targetLabel + "'s password changed, restart it with"
        + " the new one (CUTOVER_REPLICATOR_" + targetLabel.toUpperCase(Locale.ROOT) + "_PASSWORD), else make " + targetLabel
        + " reachable; it resumes from its last applied position and loses nothing";
  }

  private static String unreachedKey(String way) {
    return way + ":target-unreached";
  }

  /** Removes {@code way}'s note, in a transaction of its own, right after a batch committed. */
  static void clear(Connection target, String way) throws SQLException {
    Sql.execute(target, "DELETE FROM " + TABLE + " WHERE way = " + Sql.literal(way) + "; COMMIT");
  }

  /** {@code way}'s failure noted on {@code target}, if any and readable by this role. */
  public static Optional<Failed> read(Connection target, String way) throws SQLException {
    if (!Sql.bool(target, "SELECT to_regclass(?) IS NOT NULL AND has_table_privilege(to_regclass(?), 'SELECT')", TABLE, TABLE)) {
      return Optional.empty();
    }
    try (PreparedStatement ps = target.prepareStatement("SELECT message, since, last, last > clock_timestamp() - ?::interval FROM "
        + TABLE + " WHERE way = ?")) {
      ps.setString(1, RECENT.toSeconds() + " seconds");
      ps.setString(2, way);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(new Failed(rs.getString(1), rs.getTimestamp(2).toInstant(), rs.getTimestamp(3).toInstant(), rs.getBoolean(4)));
      }
    }
  }
}
