package dev.cutover.replicator.ddl;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.schema.CatalogDdl;
import dev.cutover.replicator.schema.DatabaseSettings;
import dev.cutover.replicator.schema.GivenPrerequisites;
import dev.cutover.replicator.schema.RoleSettings;
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
 * lacks: functions (or a function whose body was replaced on one side), triggers and rules on the
 * tables both have, views, sequences of their own (not a column's: those come with the column), and row level
 * security (turned on or forced, a policy missing or changed). Replication carries rows, not these,
 * and where nothing captures schema changes (no superuser) a migration that creates or replaces one
 * on the source during the window leaves the target without it: once the application is switched
 * there, a trigger does not fire (an audit row, an {@code updated_at}, silently missing), a policy
 * does not restrict rows, a view, function or sequence is not found. Functions are compared by
 * their body text ({@code prosrc}, kept as written, so both servers hold it alike); a body in
 * SQL-standard form (PostgreSQL 14's {@code BEGIN ATOMIC}) has none, and is compared by name only;
 * policies by the statement that makes them, as printed under {@code search_path = pg_catalog}. The
 * others are compared by name. Objects of extensions and of the control schema (the capture's and
 * the fence's triggers call functions there) are left out. Also the defaults of the database and of
 * roles in it ({@link DatabaseSettings}) the source has and the target lacks or holds otherwise: a
 * migration's {@code ALTER DATABASE … SET search_path} on the source alone; and the defaults for
 * every database ({@link RoleSettings}) of the roles granted the control plane (the application's)
 * and of the role the source's URL connects as.
 */
final class ObjectDrift {
  private ObjectDrift() {}

  /**
   * What {@code source} has and {@code target} lacks, one sentence each with what makes it there.
   *
   * @param given what the statements printed already for tables and columns the target lacks
   *     create: a sequence one creates (a default draws from it) is named as made by them, not
   *     created twice
   */
  static List<String> lacking(Connection source, Connection target, SchemaChanges.Wording w, GivenPrerequisites given)
      throws SQLException {
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
    List<String> theirRules = rules(target);
    for (String key : rules(source)) {
      if (!theirRules.contains(key)) {
        String[] at = key.split("\u0001");
        // Printed over several lines, its actions separated by semicolons, so it is named, not printed.
        out.add("rule " + at[2] + " on " + at[0] + "." + at[1] + " is on " + w.source() + " but not on " + w.target() + after
            + "it does not rewrite statements there" + w.pending() + ". Run on " + w.target() + ", after " + SchemaChanges.BY_HAND
            + ", what SELECT pg_get_ruledef(oid) FROM pg_rewrite WHERE ev_class = " + Sql.literal(Sql.qualified(at[0], at[1]))
            + "::regclass AND rulename = " + Sql.literal(at[2]) + " returns on " + w.source());
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
    Map<String, String> theirSecurity = rowSecurity(target);
    for (Map.Entry<String, String> e : rowSecurity(source).entrySet()) {
      String theirs = theirSecurity.get(e.getKey());
      String[] at = e.getKey().split("\u0001");
      String table = Sql.qualified(at[0], at[1]);
      if (theirs != null && e.getValue().contains("e") && !theirs.contains("e")) {
        out.add("row level security is on for " + at[0] + "." + at[1] + " on " + w.source() + " but not on " + w.target() + after
            + "its policies do not hold there" + w.pending() + ". " + capitalized(w.run()) + "ALTER TABLE " + table
            + " ENABLE ROW LEVEL SECURITY");
      }
      // Forced, the policies would hold for the apply too, which writes as the table's owner, and hide rows from it.
      if (theirs != null && e.getValue().contains("f") && !theirs.contains("f")) {
        out.add("row level security is forced for " + at[0] + "." + at[1] + " on " + w.source() + " but not on " + w.target() + after
            + "its policies do not hold there for the table's owner" + w.pending() + ". Force it on " + w.target() + " (ALTER TABLE "
            + table + " FORCE ROW LEVEL SECURITY) once nothing replicates into it: forced while the apply writes there as the owner,"
            + " the policies would hide rows from it");
      }
    }
    Map<String, String> theirPolicies = policies(target);
    for (Map.Entry<String, String> e : policies(source).entrySet()) {
      String theirs = theirPolicies.get(e.getKey());
      if (theirs == null || !ConstraintDrift.comparable(e.getValue()).equals(ConstraintDrift.comparable(theirs))) {
        String[] at = e.getKey().split("\u0001");
        String drop = "DROP POLICY " + Sql.ident(at[2]) + " ON " + Sql.qualified(at[0], at[1]) + "; ";
        out.add("policy " + at[2] + " on " + at[0] + "." + at[1] + (theirs == null ? " is on " + w.source() + " but not on " + w.target()
            + after + "it does not restrict rows there" + w.pending() + ". " + capitalized(w.run()) + e.getValue()
            : " differs on " + w.source() + " and " + w.target() + after + w.target() + "'s holds there" + w.pending() + ". If "
            + w.source() + "'s is the one meant, " + w.run() + drop + e.getValue() + "; if " + w.target() + "'s is, make the same change on "
            + w.source()));
      }
    }
    for (DatabaseSettings.Difference d : DatabaseSettings.differences(source, target)) {
      // One the target alone has is the other way's (check names it). No schema change carries these: no event trigger fires for them.
      if (d.oldValue() != null) {
        out.add(d.describe(w.source(), w.target()) + ". " + capitalized(w.run()) + d.statement());
      }
    }
    // The roles the control plane is granted to (the application's) and the one the source's URL connects as.
    java.util.Set<String> roles = new java.util.LinkedHashSet<>(ControlSchema.grantedRoles(source));
    roles.add(Sql.string(source, "SELECT session_user::text"));
    for (RoleSettings.Difference d : RoleSettings.differences(source, target, roles)) {
      if (d.oldValue() != null) {
        out.add(d.describe(w.source(), w.target()) + " (a default for every database: it holds in the role's other databases on "
            + w.target() + "'s server too). " + capitalized(w.run()) + d.statement());
      }
    }
    List<String> theirSequences = sequences(target);
    for (String key : sequences(source)) {
      if (!theirSequences.contains(key)) {
        String[] at = key.split("\u0001");
        String create = CatalogDdl.createSequence(source, at[0], at[1], Sql.majorVersionOf(target));
        String with = given.givenBy(create);
        out.add("sequence " + at[0] + "." + at[1] + " is on " + w.source() + " but not on " + w.target() + after + "what draws from it"
            + " there fails, and the switch cannot move it" + w.pending() + ". " + (with == null
                ? capitalized(SchemaChanges.runOrSay(w, given, "sequence " + at[0] + "." + at[1],
                    () -> CatalogDdl.createMissingSequence(source, target, at[0], at[1], create)))
                : "The statements for " + with + " above create it"));
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

  /**
   * Triggers on tables, by schema, table and name joined by U+0001: their definition. A partition's
   * copy of its parent's trigger is left out (internal on 11 and 12, a parent named from 13 on);
   * one made on the partition itself is not.
   */
  private static Map<String, String> triggers(Connection c) throws SQLException {
    Map<String, String> out = new LinkedHashMap<>();
    for (String[] row : Sql.withCatalogPath(c, () -> Sql.rows(c, "SELECT n.nspname || E'\\x01' || c.relname || E'\\x01' || t.tgname,"
        + " pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace"
        + " WHERE NOT t.tgisinternal AND pn.nspname <> 'cutover' AND c.relkind IN ('r', 'p') AND " + Catalog.SYSTEM_SCHEMA_FILTER
        + (Sql.majorVersionOf(c) >= 13 ? " AND t.tgparentid = 0" : "") + " ORDER BY 1"))) {
      out.put(row[0], row[1]);
    }
    return out;
  }

  /** Rules on tables, by schema, table and name joined by U+0001. */
  private static List<String> rules(Connection c) throws SQLException {
    return Sql.strings(c, "SELECT n.nspname || E'\\x01' || c.relname || E'\\x01' || r.rulename FROM pg_rewrite r"
        + " JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE r.rulename <> '_RETURN' AND c.relkind IN ('r', 'p') AND " + Catalog.SYSTEM_SCHEMA_FILTER + " ORDER BY 1");
  }

  /** Views by schema and name joined by U+0001. */
  private static List<String> views(Connection c) throws SQLException {
    return Sql.strings(c, "SELECT n.nspname || E'\\x01' || c.relname"
        + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v' AND " + Catalog.SYSTEM_SCHEMA_FILTER
        + " AND " + notOfExtension("pg_class", "c") + " ORDER BY 1");
  }

  /** Tables with row level security on, by schema and name joined by U+0001: {@code e}, and {@code f} where forced. */
  private static Map<String, String> rowSecurity(Connection c) throws SQLException {
    Map<String, String> out = new LinkedHashMap<>();
    for (String[] row : Sql.rows(c, "SELECT n.nspname || E'\\x01' || c.relname, CASE WHEN c.relrowsecurity THEN 'e' ELSE '' END"
        + " || CASE WHEN c.relforcerowsecurity THEN 'f' ELSE '' END FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE c.relkind IN ('r', 'p') AND " + Catalog.SYSTEM_SCHEMA_FILTER + " ORDER BY 1")) {
      out.put(row[0], row[1]);
    }
    return out;
  }

  /** Row level security policies by schema, table and name joined by U+0001: the statement that creates each. */
  private static Map<String, String> policies(Connection c) throws SQLException {
    // Permissive is the default, and the only kind before PostgreSQL 10, whose pg_policies has no column for it.
    String restrictive = Sql.majorVersionOf(c) >= 10 ? " || CASE WHEN p.permissive = 'RESTRICTIVE' THEN ' AS RESTRICTIVE' ELSE '' END" : "";
    Map<String, String> out = new LinkedHashMap<>();
    for (String[] row : Sql.withCatalogPath(c, () -> Sql.rows(c, "SELECT p.schemaname || E'\\x01' || p.tablename || E'\\x01'"
        + " || p.policyname, 'CREATE POLICY ' || quote_ident(p.policyname) || ' ON ' || quote_ident(p.schemaname) || '.'"
        + " || quote_ident(p.tablename)" + restrictive + " || ' FOR ' || p.cmd || ' TO ' || (SELECT string_agg(CASE WHEN r = 'public'"
        + " THEN 'PUBLIC' ELSE quote_ident(r) END, ', ') FROM unnest(p.roles) r) || coalesce(' USING (' || p.qual || ')', '')"
        + " || coalesce(' WITH CHECK (' || p.with_check || ')', '') FROM pg_policies p JOIN pg_namespace n ON n.nspname = p.schemaname"
        + " WHERE " + Catalog.SYSTEM_SCHEMA_FILTER + " ORDER BY 1"))) {
      out.put(row[0], row[1]);
    }
    return out;
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
