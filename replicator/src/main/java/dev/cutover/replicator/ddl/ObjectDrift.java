package dev.cutover.replicator.ddl;

import dev.cutover.replicator.schema.CatalogDdl;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The application's objects in the database beyond its tables that the source has and the target
 * lacks: functions (or a function whose body was replaced on one side), triggers on the tables
 * both have, views, and sequences of their own (not a column's: those come with the column).
 * Replication carries rows, not these, and where nothing captures schema changes (no superuser)
 * a migration that creates or replaces one on the source during the window leaves the target
 * without it: once the application is switched there, a trigger does not fire (an audit row, an
 * {@code updated_at}, silently missing), a view, function or sequence is not found. Functions are
 * compared by their body text ({@code prosrc}, kept as written, so both servers hold it alike);
 * a body in SQL-standard form (PostgreSQL 14's {@code BEGIN ATOMIC}) has none, and is compared by
 * name only. The others are compared by name. Objects of extensions and of the control schema
 * (the capture's and the fence's triggers call functions there) are left out.
 */
final class ObjectDrift {
  private ObjectDrift() {}

  /** What {@code source} has and {@code target} lacks, one sentence each with what makes it there. */
  static List<String> lacking(Connection source, Connection target, SchemaChanges.Wording w) throws SQLException {
    List<String> out = new ArrayList<>();
    String after = ": after a switch to " + w.target() + ", ";
    Map<String, String> theirFunctions = functions(target);
    for (Map.Entry<String, String> e : functions(source).entrySet()) {
      String theirs = theirFunctions.get(e.getKey());
      if (theirs == null || !theirs.equals(e.getValue())) {
        // Its definition spans lines (and may hold comments), so it is named, not printed.
        String make = "run on " + w.target() + ", after " + SchemaChanges.BY_HAND + ", what SELECT pg_get_functiondef("
            + Sql.literal(e.getKey()) + "::regprocedure) returns on " + w.source();
        out.add("function " + e.getKey() + (theirs == null ? " is on " + w.source() + " but not on " + w.target() + after + "what calls it"
            + " there fails" + w.pending() + ". " + capitalized(make) : " differs on " + w.source() + " and " + w.target() + " (replaced on one side)" + after
            + w.target() + " runs its own" + w.pending() + ". If " + w.source() + "'s is the one meant, " + make + "; if " + w.target() + "'s is, replace it on "
            + w.source() + " too"));
      }
    }
    Map<String, String> theirTriggers = triggers(target);
    for (Map.Entry<String, String> e : triggers(source).entrySet()) {
      if (!theirTriggers.containsKey(e.getKey())) {
        String[] at = e.getKey().split("\u0001");
        out.add("trigger " + at[2] + " on " + at[0] + "." + at[1] + " is on " + w.source() + " but not on " + w.target() + after
            + "it does not fire there" + w.pending() + ". " + capitalized(w.run()) + e.getValue());
      }
    }
    List<String> theirViews = views(target);
    for (String key : views(source)) {
      if (!theirViews.contains(key)) {
        String[] at = key.split("\u0001");
        String view = Sql.qualified(at[0], at[1]);
        out.add("view " + at[0] + "." + at[1] + " is on " + w.source() + " but not on " + w.target() + after + "what reads it there fails" + w.pending() + ". "
            + capitalized(w.run()) + "CREATE VIEW " + view + " AS, followed by what SELECT pg_get_viewdef(" + Sql.literal(view)
            + "::regclass) returns on " + w.source());
      }
    }
    List<String> theirSequences = sequences(target);
    for (String key : sequences(source)) {
      if (!theirSequences.contains(key)) {
        String[] at = key.split("\u0001");
        out.add("sequence " + at[0] + "." + at[1] + " is on " + w.source() + " but not on " + w.target() + after + "what draws from it"
            + " there fails, and the switch cannot move it" + w.pending() + ". " + capitalized(w.run()) + CatalogDdl.createSequence(source, at[0], at[1]));
      }
    }
    return out;
  }

  private static String capitalized(String s) {
    return Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }

  /** Functions by {@code schema.name(argument types)} (as regprocedure prints them with every schema named): the md5 of their body. */
  private static Map<String, String> functions(Connection c) throws SQLException {
    String plain = Sql.majorVersionOf(c) >= 11 ? "p.prokind IN ('f', 'p')" : "NOT p.proisagg AND NOT p.proiswindow";
    Map<String, String> out = new LinkedHashMap<>();
    for (String[] row : Sql.withCatalogPath(c, () -> Sql.rows(c, "SELECT p.oid::regprocedure::text, md5(p.prosrc) FROM pg_proc p"
        + " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE " + plain + " AND " + Catalog.SYSTEM_SCHEMA_FILTER + " AND " + notOfExtension("pg_proc", "p")
        + " ORDER BY 1"))) {
      out.put(row[0], row[1]);
    }
    return out;
  }

  /** Triggers on tables (not partitions, whose triggers are their parent's), by schema, table and name joined by U+0001: their definition. */
  private static Map<String, String> triggers(Connection c) throws SQLException {
    Map<String, String> out = new LinkedHashMap<>();
    for (String[] row : Sql.withCatalogPath(c, () -> Sql.rows(c, "SELECT n.nspname || E'\\x01' || c.relname || E'\\x01' || t.tgname,"
        + " pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace"
        + " WHERE NOT t.tgisinternal AND pn.nspname <> 'cutover' AND c.relkind IN ('r', 'p') AND " + Catalog.SYSTEM_SCHEMA_FILTER
        + (Sql.majorVersionOf(c) >= 10 ? " AND NOT c.relispartition" : "") + " ORDER BY 1"))) {
      out.put(row[0], row[1]);
    }
    return out;
  }

  /** Views by schema and name joined by U+0001. */
  private static List<String> views(Connection c) throws SQLException {
    return Sql.strings(c, "SELECT n.nspname || E'\\x01' || c.relname"
        + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v' AND " + Catalog.SYSTEM_SCHEMA_FILTER
        + " AND " + notOfExtension("pg_class", "c") + " ORDER BY 1");
  }

  /** Sequences no column owns (serial's and identity's come with their column), by schema and name joined by U+0001. */
  private static List<String> sequences(Connection c) throws SQLException {
    return Sql.strings(c, "SELECT n.nspname || E'\\x01' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE c.relkind = 'S' AND " + Catalog.SYSTEM_SCHEMA_FILTER + " AND " + notOfExtension("pg_class", "c")
        + " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
        + " AND d.deptype IN ('a', 'i')) ORDER BY 1");
  }

  /** A WHERE clause: the object {@code alias} of catalog {@code catalog} is not a member of an extension. */
  private static String notOfExtension(String catalog, String alias) {
    return "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '" + catalog + "'::regclass AND d.objid = " + alias + ".oid"
        + " AND d.deptype = 'e')";
  }
}
