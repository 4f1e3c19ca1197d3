package dev.cutover.replicator.copy;

import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Materialized views, which logical replication does not carry: {@code schema} creates them on new
 * empty ({@code WITH NO DATA}), and a query on one fails until it is refreshed. {@code start}
 * refreshes on new every one that is populated on old, right after the copy (so from the same
 * rows); {@code refresh} does it again before the switch. With DDL capture installed, a REFRESH on
 * old is repeated on new at the same point of the change stream anyway.
 */
public final class MaterializedViews {
  private MaterializedViews() {}

  /** Materialized views populated on {@code old}, as {@code "schema"."name"}, in creation order. */
  public static List<String> populated(Connection old) throws SQLException {
    return Sql.strings(old, "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c"
        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' AND c.relispopulated"
        + " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover') ORDER BY c.oid");
  }

  /**
   * Refreshes on {@code nw} every materialized view populated on {@code old} (those new lacks are
   * left out). One may read another, so those that fail because another is not populated yet are
   * tried again after the rest.
   *
   * @return the views refreshed, in order
   * @throws SQLException the first failure that retrying does not cure
   */
  public static List<String> refreshAsOnOld(Connection old, Connection nw) throws SQLException {
    List<String> pending = new ArrayList<>();
    for (String view : populated(old)) {
      if (Sql.bool(nw, "SELECT to_regclass(?) IS NOT NULL", view)) {
        pending.add(view);
      }
    }
    List<String> done = new ArrayList<>();
    while (!pending.isEmpty()) {
      SQLException first = null;
      List<String> left = new ArrayList<>();
      for (String view : pending) {
        try {
          Sql.execute(nw, "REFRESH MATERIALIZED VIEW " + view);
          done.add(view);
        } catch (SQLException e) {
          if (first == null) {
            first = e;
          }
          left.add(view);
        }
      }
      if (left.size() == pending.size()) {
        throw first;
      }
      pending = left;
    }
    return done;
  }
}
