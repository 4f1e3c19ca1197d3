package dev.cutover.replicator.copy;

import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.ShortLocks;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
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

  /** Materialized views populated on {@code old}, in creation order. */
  public static List<TableName> populated(Connection old) throws SQLException {
    List<TableName> views = new ArrayList<>();
    for (String[] row : Sql.rows(old, "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE c.relkind = 'm' AND c.relispopulated AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover')"
        + " ORDER BY c.oid")) {
      views.add(new TableName(row[0], row[1]));
    }
    return views;
  }

  /** How a REFRESH runs on new: as any statement, or watched where new's other statements have a read limit ({@code refresh}). */
  @FunctionalInterface
  public interface Refresh {
    void execute(String statement) throws SQLException;
  }

  /**
   * Refreshes on {@code nw} every materialized view populated on {@code old} (those new lacks are
   * left out). One may read another, so those that fail because another is not populated yet are
   * tried again after the rest. A refresh locks its view exclusively, and a request that waits
   * queues every later reader of the view behind it (the application's, once it reads new): each
   * is tried under a 200 ms lock timeout for up to two minutes ({@link ShortLocks}).
   *
   * @return the views refreshed, in order
   * @throws SQLException the first failure that retrying does not cure
   * @throws ReplicatorException a view's lock stayed held by others through every try
   */
  public static List<String> refreshAsOnOld(Connection old, Connection nw) throws SQLException, ReplicatorException {
    return refreshAsOnOld(old, nw, ShortLocks.TRYING);
  }

  /**
   * {@link #refreshAsOnOld(Connection, Connection)}, each REFRESH run by {@code refresh}; a failure
   * that gave {@code nw} up (no answer) ends it at once.
   */
  public static List<String> refreshAsOnOld(Connection old, Connection nw, Refresh refresh) throws SQLException, ReplicatorException {
    return refreshAsOnOld(old, nw, ShortLocks.TRYING, refresh);
  }

  /** {@link #refreshAsOnOld(Connection, Connection)}, each view's lock tried for {@code trying}. */
  static List<String> refreshAsOnOld(Connection old, Connection nw, Duration trying) throws SQLException, ReplicatorException {
    return refreshAsOnOld(old, nw, trying, sql -> Sql.execute(nw, sql));
  }

  private static List<String> refreshAsOnOld(Connection old, Connection nw, Duration trying, Refresh refresh)
      throws SQLException, ReplicatorException {
    List<TableName> pending = new ArrayList<>();
    for (TableName view : populated(old)) {
      if (Sql.bool(nw, "SELECT to_regclass(?) IS NOT NULL", view.regclass())) {
        pending.add(view);
      }
    }
    List<String> done = new ArrayList<>();
    while (!pending.isEmpty()) {
      SQLException first = null;
      List<TableName> left = new ArrayList<>();
      for (TableName view : pending) {
        try {
          ShortLocks.run(nw, "new", List.of(view), "to refresh it", trying, () -> {
            refresh.execute("REFRESH MATERIALIZED VIEW " + view.quoted());
            return null;
          });
          done.add(view.toString());
        } catch (SQLException e) {
          if (Sql.givenUp(nw)) {
            throw e;
          }
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
