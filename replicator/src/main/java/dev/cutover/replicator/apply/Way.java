package dev.cutover.replicator.apply;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Side;
import java.sql.Connection;
import java.sql.SQLException;

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
    return FORWARD.equals(name) ? 1 : 2;
  }

  /** Whether an apply process holds this way's lock on {@code target} now. */
  public static boolean applying(Connection target, String name) throws SQLException {
    return dev.cutover.replicator.sql.Sql.bool(target, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
        + " AND classid = " + Applier.LOCK_CLASS + " AND objid = ? AND objsubid = 2 AND granted"
        + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))", FORWARD.equals(name) ? 1 : 2);
  }
}
