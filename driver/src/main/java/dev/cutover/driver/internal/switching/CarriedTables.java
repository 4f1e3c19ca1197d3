package dev.cutover.driver.internal.switching;

import dev.cutover.driver.internal.control.ControlSql;
import dev.cutover.flags.Target;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether the replicator's replication carries every application table of a switch's source to
 * its target. A table it does not carry has writes that never reach the target, and no barrier
 * shows it: the barrier travels through a table that is carried. The switch would lose those
 * writes (I1), so it is refused: for the source's capture and publications before its gate and
 * again under the fence, for the target's subscriptions once the barrier arrived. Each way the
 * replicator carries tables is asked where its objects are:
 *
 * <ul>
 *   <li>Trigger capture ({@code cutover.capture_state} on the source): each table has the capture
 *       triggers of the replicator's {@code capture-tables.sql} (insert, update, delete, truncate;
 *       one more for key changes where there is a key), all enabled. A table created after start
 *       by a role that may not create the event trigger that captures new tables has none; an
 *       owner may disable them.
 *   <li>Publications the replicator made that list their tables ({@code cutover_*}, not {@code FOR
 *       ALL TABLES}, as for a role that is no superuser): each table is in each of them. One created
 *       after start where no event trigger added it is not.
 *   <li>The replicator's subscriptions into the target's database ({@code cutover_*}): each table
 *       their publications carry on the source is one of the subscription's, and its copy is done
 *       (ready, or synchronised up to the main worker). A table added to a publication is
 *       replicated only after {@code ALTER SUBSCRIPTION ... REFRESH PUBLICATION}; while its copy
 *       runs, the barrier, which the subscription's main worker applies, does not prove its rows
 *       arrived. Any role may ask: before PostgreSQL 14 only a superuser may read a subscription's
 *       oid in {@code pg_subscription}, so it is read from {@code pg_stat_subscription}, which shows
 *       it to every role ({@code pg_subscription_rel}, which it keys, belongs to the database).
 * </ul>
 *
 * <p>Application tables are those the fence guards, less partitioned parents (their partitions
 * hold the rows) and unlogged tables (logical replication never carries them; the replicator's
 * {@code check} names them). Catalog reads only, which any role may make.
 */
final class CarriedTables {
  /** How many tables a refusal names. */
  private static final int NAMED = 5;
  private static final String FROM_TABLES = " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace";
  /** The application tables that hold rows ({@code c}, {@code ns}). */
  private static final String HOLDING_ROWS = ControlSql.APPLICATION_TABLES + " AND c.relkind = 'r' AND c.relpersistence = 'p'";
  private static final String TABLES = FROM_TABLES + " WHERE " + HOLDING_ROWS;

  private CarriedTables() {}

  /**
   * Why trigger capture or a publication on {@code source} does not carry every table, naming
   * them, or {@code null}: asked before the gate and under the fence, before the barrier.
   */
  static String fromSource(Connection source, Target from, Target to) throws SQLException {
    List<String> found = uncaptured(source);
    if (source.getMetaData().getDatabaseMajorVersion() >= 10) {
      found.addAll(unpublished(source, from));
    }
    return refusal(found, from, to);
  }

  /**
   * Why a subscription into {@code target} does not replicate every table its publications carry on
   * {@code source}, or {@code null}: asked once the barrier arrived, since a table created on the
   * source just before joins the subscription as its schema change is replayed on the target, at
   * the same point of the stream (where the subscription's owner is a superuser).
   */
  static String intoTarget(Connection source, Connection target, Target from, Target to) throws SQLException {
    boolean both = source.getMetaData().getDatabaseMajorVersion() >= 10 && target.getMetaData().getDatabaseMajorVersion() >= 10;
    return refusal(both ? unsubscribed(source, target, to) : List.of(), from, to);
  }

  private static String refusal(List<String> found, Target from, Target to) {
    if (found.isEmpty()) {
      return null;
    }
    return "replication does not carry " + found.size() + " table(s) of the " + from.value() + " database to the " + to.value()
        + " database: " + String.join(", ", found.subList(0, Math.min(NAMED, found.size())))
        + (found.size() > NAMED ? " and " + (found.size() - NAMED) + " more" : "") + "; their writes would be lost after the switch"
        + " (I1), and no barrier can show it. `cutover-replicator status` names each table and what carries it again (then"
        + " `cutover-replicator verify` for what was written meanwhile), or set cutover.switch.force=true to switch without this guarantee";
  }

  /** Tables trigger capture on {@code source} misses, with why; none where it is not installed. */
  private static List<String> uncaptured(Connection source) throws SQLException {
    List<String> found = new ArrayList<>();
    try (Statement s = source.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_catalog.format('%I.%I', ns.nspname, c.relname),"
        + " EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname LIKE '#cutover\\_capture%')" + TABLES
        + " AND pg_catalog.to_regclass('cutover.capture_state') IS NOT NULL"
        + " AND ((SELECT count(*) FROM pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname IN ('#cutover_capture',"
        + " '#cutover_capture_update', '#cutover_capture_delete', '#cutover_capture_truncate') AND g.tgenabled IN ('A', 'O')) < 4"
        + " OR EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname LIKE '#cutover\\_capture%'"
        + " AND g.tgenabled NOT IN ('A', 'O')))"
        + " ORDER BY 1")) {
      while (rs.next()) {
        found.add(rs.getString(1) + (rs.getBoolean(2) ? " (its capture triggers are disabled or incomplete)" : " (no capture triggers)"));
      }
    }
    return found;
  }

  /**
   * SQL: whether publication {@code p} carries application table {@code c} (of namespace
   * {@code ns}) on a server of major version {@code major}, as {@code pg_publication_tables} would
   * say, through index lookups rather than that view, which computes every table's columns: the
   * table itself, a partitioned table it belongs to (12+) or its schema (15+) is in the publication.
   */
  private static String covered(int major) {
    return "(p.puballtables OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = c.oid)"
        + (major >= 12 ? " OR c.relispartition AND EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel r WHERE r.prpubid = p.oid"
            + " AND r.prrelid IN (SELECT pg_catalog.pg_partition_ancestors(c.oid)))" : "")
        + (major >= 15 ? " OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_namespace pn WHERE pn.pnpubid = p.oid"
            + " AND pn.pnnspid = c.relnamespace)" : "")
        + ")";
  }

  /** Tables missing from a publication of the replicator's on {@code source} that lists its tables. */
  private static List<String> unpublished(Connection source, Target from) throws SQLException {
    List<String> found = new ArrayList<>();
    int major = source.getMetaData().getDatabaseMajorVersion();
    try (Statement s = source.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_catalog.format('%I.%I', ns.nspname, c.relname),"
        + " pg_catalog.quote_ident(p.pubname)" + FROM_TABLES + ", pg_catalog.pg_publication p WHERE " + HOLDING_ROWS
        + " AND p.pubname LIKE 'cutover\\_%' AND NOT " + covered(major) + " ORDER BY 1, 2")) {
      while (rs.next()) {
        found.add(rs.getString(1) + " (not in publication " + rs.getString(2) + ": ALTER PUBLICATION " + rs.getString(2)
            + " ADD TABLE " + rs.getString(1) + " on the " + from.value() + " database, as its owner)");
      }
    }
    return found;
  }

  /**
   * Tables the publications of a subscription of the replicator's into {@code target} carry on
   * {@code source} that the subscription does not replicate yet, or still copies.
   */
  private static List<String> unsubscribed(Connection source, Connection target, Target to) throws SQLException {
    List<String> found = new ArrayList<>();
    int major = source.getMetaData().getDatabaseMajorVersion();
    for (Subscription sub : subscriptions(target)) {
      Map<String, String> states = new HashMap<>();
      // Every database's subscriptions are in pg_stat_subscription; only this one's have tables in its pg_subscription_rel.
      try (PreparedStatement ps = target.prepareStatement("SELECT pg_catalog.format('%I.%I', ns.nspname, c.relname), r.srsubstate"
          + " FROM pg_catalog.pg_subscription_rel r JOIN pg_catalog.pg_class c ON c.oid = r.srrelid"
          + " JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace"
          + " WHERE r.srsubid IN (SELECT st.subid FROM pg_catalog.pg_stat_subscription st WHERE st.subname = ?)")) {
        ps.setString(1, sub.name());
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            states.put(rs.getString(1), rs.getString(2));
          }
        }
      }
      String quoted = sub.quoted();
      try (PreparedStatement ps = source.prepareStatement("SELECT pg_catalog.format('%I.%I', ns.nspname, c.relname)" + TABLES
          + " AND EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE p.pubname = ANY (?) AND " + covered(major) + ") ORDER BY 1")) {
        Array pubs = source.createArrayOf("text", sub.publications());
        ps.setArray(1, pubs);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            String table = rs.getString(1);
            String state = states.get(table);
            if (state == null) {
              found.add(table + " (not replicated by subscription " + quoted + " yet: ALTER SUBSCRIPTION " + quoted
                  + " REFRESH PUBLICATION WITH (copy_data = true) on the " + to.value() + " database)");
            } else if (!state.equals("r") && !state.equals("s")) {
              found.add(table + " (subscription " + quoted + " is still copying it, state '" + state + "')");
            }
          }
        }
      }
    }
    return found;
  }

  /** A subscription: its name, as an identifier, and its publications. */
  private record Subscription(String name, String quoted, String[] publications) {}

  /** The replicator's subscriptions into {@code target}'s database, from the columns of them every role may read. */
  private static List<Subscription> subscriptions(Connection target) throws SQLException {
    List<Subscription> out = new ArrayList<>();
    try (Statement s = target.createStatement(); ResultSet rs = s.executeQuery("SELECT s.subname, pg_catalog.quote_ident(s.subname),"
        + " s.subpublications FROM pg_catalog.pg_subscription s WHERE s.subdbid = " + ControlSql.THIS_DATABASE
        + " AND s.subname LIKE 'cutover\\_%' ORDER BY 1")) {
      while (rs.next()) {
        out.add(new Subscription(rs.getString(1), rs.getString(2), (String[]) rs.getArray(3).getArray()));
      }
    }
    return out;
  }
}
