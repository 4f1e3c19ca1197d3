package dev.cutover.replicator.apply;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Side;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * One direction of trigger-capture replication: changes captured on {@code source} are applied on
 * {@code target}, whose {@code cutover.apply_progress} row named {@code name} says how far.
 *
 * @param name {@code forward} (old → new) or {@code reverse} (new → old)
 * @param source where the change log is
 * @param target where the changes go
 */
public record Way(String name, Endpoint source, Endpoint target) {
  public static final String FORWARD = "forward";
  public static final String REVERSE = "reverse";

  public static Way forward(Endpoint old, Endpoint nw) {
    return new Way(FORWARD, old, nw);
  }

  public static Way reverse(Endpoint old, Endpoint nw) {
    return new Way(REVERSE, nw, old);
  }

  /** {@code old -> new} or {@code new -> old}. */
  public String label() {
    return source.side().label() + " -> " + target.side().label();
  }

  /** Which of two open connections (to old and new) is this way's source. */
  public Connection sourceOf(Connection old, Connection nw) {
    return source.side() == Side.OLD ? old : nw;
  }

  /** Which of two open connections (to old and new) is this way's target. */
  public Connection targetOf(Connection old, Connection nw) {
    return target.side() == Side.OLD ? old : nw;
  }

  /** The key of the session advisory lock an applier of this way holds on its target. */
  int lockKey() {
    return lockKey(name);
  }

  private static int lockKey(String name) {
    return FORWARD.equals(name) ? 1 : 2;
  }

  /**
   * FROM and WHERE of the sessions holding way {@code ?}'s lock in the database, {@code l} in
   * pg_locks and {@code a} in pg_stat_activity. An advisory lock's key is open to every role that
   * may connect; {@link #OURS} tells an apply process from another role holding it.
   */
  static final String HOLDERS = " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
      + " AND l.classid = " + Applier.LOCK_CLASS + " AND l.objid = ? AND l.objsubid = 2 AND l.granted"
      + " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";
  /**
   * Whether holder {@code a} may be an apply process: a member of the control schema's owner, as the
   * replicator's role on the target is (it installed it). Unknown counts as one.
   */
  static final String OURS = "coalesce(pg_has_role(a.usesysid, (SELECT n.nspowner FROM pg_namespace n WHERE n.nspname = 'cutover'),"
      + " 'USAGE'), true)";

  /**
   * Why a barrier written on way {@code name}'s source cannot reach {@code target} (named
   * {@code targetLabel}) now: no apply process holds the way's lock there. Empty while one does.
   * An apply whose batches fail holds no lock between its tries; where it noted a failure on the
   * target within {@link ApplyFailures#RECENT}, that failure is what is said (it runs: starting
   * another would not help), and an older one is named beside "no apply runs". One that stopped for
   * good ({@link ApplyFailures.Failed#stopped}) is said whatever its age: starting an apply meets the
   * same refusal.
   */
  public static Optional<String> noApply(Connection target, String name, String targetLabel) throws SQLException {
    if (applying(target, name)) {
      return Optional.empty();
    }
    Optional<ApplyFailures.Failed> failed = ApplyFailures.read(target, name);
    if (failed.isPresent() && failed.get().stopped()) {
      return Optional.of(failed.get().describe(targetLabel));
    }
    if (failed.isPresent() && failed.get().recent()) {
      return Optional.of(failed.get().describe(targetLabel) + "; until its cause is fixed it carries no barrier");
    }
    return Optional.of("no `cutover-replicator apply` runs into " + targetLabel + " to carry the barrier" + failed.map(f -> " (the"
        + " last one noted a failure at " + f.last() + ": " + f.message() + ")").orElse(""));
  }

  /**
   * Why a barrier did not reach {@code target} while an apply process held the way's lock: the
   * failure it noted within {@link ApplyFailures#RECENT}, or empty.
   */
  public static Optional<String> failing(Connection target, String name, String targetLabel) throws SQLException {
    return ApplyFailures.read(target, name).filter(ApplyFailures.Failed::recent).map(f -> f.describe(targetLabel));
  }

  /** Whether an apply process holds this way's lock on {@code target} now (not another role holding its key). */
  public static boolean applying(Connection target, String name) throws SQLException {
    return dev.cutover.replicator.sql.Sql.bool(target, "SELECT EXISTS (SELECT 1" + HOLDERS + " AND " + OURS + ")",
        lockKey(name));
  }
}
