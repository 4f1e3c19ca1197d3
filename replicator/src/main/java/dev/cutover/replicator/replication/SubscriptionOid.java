package dev.cutover.replicator.replication;

import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * The oid of a subscription of the current database, read as any role may read it. From 15 on,
 * {@code pg_subscription.oid} is readable by everyone; before, only by superusers, while
 * {@code pg_stat_subscription} shows it (as {@code subid}) to every role, for the subscriptions
 * of every database: the name tells ours apart when it is unique on the server, else
 * {@code pg_subscription_rel}, which belongs to the current database, does.
 */
public final class SubscriptionOid {
  private SubscriptionOid() {}

  /** The oid, or null when this role cannot tell it (then per-table states stay unknown). */
  public static Long of(Connection c, String name) throws SQLException {
    if (Sql.bool(c, "SELECT has_column_privilege('pg_subscription', 'oid', 'SELECT')")) {
      String oid = Sql.string(c, "SELECT oid::text FROM pg_subscription WHERE subname = ?"
          + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())", name);
      return oid == null ? null : Long.valueOf(oid);
    }
    List<String> ids = Sql.strings(c, "SELECT DISTINCT subid::text FROM pg_stat_subscription WHERE subname = ?", name);
    if (ids.size() == 1 && Sql.number(c, "SELECT count(subname) FROM pg_subscription WHERE subname = ?", name) == 1) {
      return Long.valueOf(ids.get(0));
    }
    List<String> here = Sql.strings(c, "SELECT DISTINCT subid::text FROM pg_stat_subscription WHERE subname = ?"
        + " AND subid IN (SELECT srsubid FROM pg_subscription_rel)", name);
    return here.size() == 1 ? Long.valueOf(here.get(0)) : null;
  }
}
