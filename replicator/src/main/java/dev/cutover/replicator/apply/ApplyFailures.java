package dev.cutover.replicator.apply;

import dev.cutover.common.Transactions;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.internal.control.WayIn;
import dev.cutover.replicator.Side;
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
 * answers (a silent one cannot take it), or after its source refused its login ({@link
 * #recordSourceUnreached}), and removed after the next batch an apply commits; or,
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
  /** How {@link #describeUnreached}, and {@link Failed#describe} of {@link #recordSourceUnreached}'s note, begin. */
  public static final String UNREACHED = "an apply into ";
  /** What the message of {@link #recordSourceUnreached} begins with, kept on the way's own row. */
  static final String SOURCE_UNREACHED = "cannot reach its source: ";

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

    /** Whether the apply could not reach its source ({@link #recordSourceUnreached}): it runs, and another would not help. */
    public boolean sourceUnreached() {
      return message.startsWith(SOURCE_UNREACHED);
    }

    /** The problem to report, for the target {@code targetLabel}. */
    public String describe(String targetLabel) {
      if (sourceUnreached()) {
        return unreached(this, message.substring(SOURCE_UNREACHED.length()), targetLabel,
            Side.valueOf(targetLabel.toUpperCase(Locale.ROOT)).other().label());
      }
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

  /**
   * Notes on {@code way}'s target that the apply cannot reach its source (a login refused, as after
   * a password changed there, or no answer), on the way's own row as {@link #record} does, which
   * status, catch-up, cleanup and the driver's probe read: the apply connected the source first and
   * then had no connection to note it on, and status said no apply ran ("start it") beside an
   * earlier, unrelated failure while one retried. Removed as {@link #record}'s is.
   *
   * @return whether it is noted
   */
  static boolean recordSourceUnreached(Connection target, String way, String message) {
    return record(target, way, SOURCE_UNREACHED + message);
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
    return unreached(f, f.message(), targetLabel, targetLabel);
  }

  /** How an apply into {@code targetLabel} that cannot reach {@code side} (its target's or its source's label) is described first. */
  public static String unreachedLead(String targetLabel, String side) {
    return UNREACHED + targetLabel + " runs but cannot reach " + side;
  }

  /** That an apply into {@code targetLabel} runs but cannot reach {@code side}, for {@code message}, and the remedy. */
  private static String unreached(Failed f, String message, String targetLabel, String side) {
    return unreachedLead(targetLabel, side) + " (since " + f.since() + ", last tried " + f.last() + "): " + message
        + "; it retries, so do not start another: where " + side + "'s password changed, restart it with the new one"
        + " (CUTOVER_REPLICATOR_" + side.toUpperCase(Locale.ROOT) + "_PASSWORD), else make " + side + " reachable; it resumes from"
        + " its last applied position and loses nothing";
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
