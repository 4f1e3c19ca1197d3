package dev.cutover.driver.internal.switching;

import dev.cutover.driver.internal.control.ControlSql;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether a switch's target lacks, on a table both databases have, what the source enforces or runs
 * there. Replication carries rows; it carries schema changes only where the replicator captures them
 * (event triggers, a superuser's). A migration run on the source alone during the window (a unique
 * index, a CHECK, a trigger, a policy) stops no replication and verify finds no row differing, so
 * a switch would leave it behind, silently: the target would take rows the source refuses, fire no
 * trigger the source fires, show every role rows the source hides. The switch is refused, unless
 * forced, naming each table and what its target lacks.
 *
 * <p>Counted per table and kind, never compared by definition: two major versions print one
 * definition differently, and a switch must not be refused for that. So a definition changed under
 * the same count (a CHECK widened) is not seen here; {@code cutover-replicator status} compares
 * definitions, and names each difference with the statement that ends it. What counts: NOT NULL
 * columns, valid unique indexes (primary keys and unique constraints among them), CHECK, foreign key
 * and exclusion constraints, triggers and rules, row level security and its policies. Not counted:
 * the replicator's and the fence's own triggers ({@code cutover_*}), copies a partition holds of its
 * parent's foreign keys and triggers (made internal on some versions, not on others), plain
 * indexes (a missing one costs speed, not correctness) and whether row level security is forced
 * (forced on the target while the replicator applies there, it would hide rows from the apply).
 *
 * <p>Asked before the gate, with the other checks: a migration committed on the source while the
 * instances drain is not seen. Where schema changes are captured, one still on its way is reported
 * as lacking; it arrives with replication, and the next switch passes. Catalog reads only, which any
 * role may make.
 */
final class SchemaGaps {
  /** How many tables a refusal names. */
  private static final int NAMED = 5;
  /** What each counted column of {@link #query} is, singular; "row level security" is a flag. */
  private static final String[] KINDS = {"NOT NULL column", "unique index", "CHECK constraint", "foreign key",
      "exclusion constraint", "trigger", "rule", "row level security", "policy"};
  private static final int ROW_SECURITY = 7;

  private SchemaGaps() {}

  /** Why the switch is refused, naming the tables and what {@code target} lacks on each, or {@code null}. */
  static String refusal(Connection source, Connection target, Target from, Target to) throws SQLException {
    Map<String, int[]> has = counts(source);
    Map<String, int[]> lacks = counts(target);
    List<String> found = new ArrayList<>();
    for (Map.Entry<String, int[]> table : has.entrySet()) {
      int[] theirs = lacks.get(table.getKey());
      if (theirs != null) {
        String missing = missing(table.getValue(), theirs);
        if (!missing.isEmpty()) {
          found.add(table.getKey() + " (" + missing + ")");
        }
      }
    }
    if (found.isEmpty()) {
      return null;
    }
    return "the " + to.value() + " database lacks, on " + found.size() + " table(s), what the " + from.value()
        + " database enforces or runs there: " + String.join(", ", found.subList(0, Math.min(NAMED, found.size())))
        + (found.size() > NAMED ? " and " + (found.size() - NAMED) + " more" : "") + "; after the switch " + to.value()
        + " would take rows " + from.value() + " refuses, skip triggers it runs or show rows it hides. A schema change made on "
        + from.value() + " alone (nothing replicates schema changes there), or one still on its way: `cutover-replicator status`"
        + " names each difference with the statement that makes it on " + to.value()
        + ", or set cutover.switch.force=true to switch without this guarantee";
  }

  /** "1 unique index, row level security": what {@code theirs} has fewer of than {@code ours}. */
  private static String missing(int[] ours, int[] theirs) {
    List<String> out = new ArrayList<>();
    for (int k = 0; k < KINDS.length; k++) {
      int fewer = ours[k] - theirs[k];
      if (fewer > 0) {
        out.add(k == ROW_SECURITY ? KINDS[k] : fewer + " " + KINDS[k] + (fewer > 1 ? "s" : ""));
      }
    }
    return String.join(", ", out);
  }

  /** Per application table (schema-qualified, quoted as needed), the count of each of {@link #KINDS}. */
  private static Map<String, int[]> counts(Connection c) throws SQLException {
    Map<String, int[]> out = new LinkedHashMap<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query(c.getMetaData().getDatabaseMajorVersion()))) {
      while (rs.next()) {
        int[] n = new int[KINDS.length];
        for (int k = 0; k < n.length; k++) {
          n[k] = rs.getInt(k + 2);
        }
        out.put(rs.getString(1), n);
      }
    }
    return out;
  }

  private static String query(int major) {
    String count = "(SELECT pg_catalog.count(*)::int FROM ";
    return "SELECT pg_catalog.format('%I.%I', ns.nspname, c.relname),"
        + count + "pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull),"
        + count + "pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid),"
        + count + "pg_catalog.pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c'),"
        // A foreign key referencing a partitioned table has a copy per partition there (12+), a
        // partitioned table's foreign key one on each of its partitions (11+): conparentid tells them.
        + count + "pg_catalog.pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f'" + (major >= 11 ? " AND k.conparentid = 0" : "") + "),"
        + count + "pg_catalog.pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'x'),"
        // A partitioned table's trigger has a copy on each partition: internal on 11 and 12, not from 13 on.
        + count + "pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal AND g.tgname NOT LIKE 'cutover\\_%'"
        // Trigger capture's (CaptureSchema.ROW_TRIGGER and friends), named to fire before the application's.
        + " AND g.tgname NOT LIKE '#cutover\\_%'"
        + (major >= 13 ? " AND g.tgparentid = 0" : "") + "),"
        + count + "pg_catalog.pg_rewrite w WHERE w.ev_class = c.oid AND w.rulename <> '_RETURN'),"
        + " c.relrowsecurity::int,"
        + count + "pg_catalog.pg_policy p WHERE p.polrelid = c.oid)"
        + " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace WHERE " + ControlSql.APPLICATION_TABLES
        // Named in the refusal in this order, whatever order the catalog holds them in.
        + " ORDER BY 1";
  }
}
