package dev.cutover.replicator.check;

import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.ddl.SchemaChanges;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * {@code check --app-role}: whether each application role can do on new what it does on old, and
 * what the driver's switch does as that role, before a switch can fail on it. On new: the role
 * exists and may log in; USAGE on the application's schemas; on each table and view the
 * privileges it holds on old (SELECT, INSERT, UPDATE, DELETE where it does not exist on old);
 * on each sequence what it holds on old plus UPDATE, with which the switch moves sequences
 * ({@code setval}). On old: SELECT on every sequence (from 10 USAGE shows a called sequence's
 * value, a warning), without which the switch reads no value and refuses to start. Objects it owns on old but not on new are a warning (its migrations would fail).
 * Every finding's remedy is the exact statement, run on the side named; on new after {@link
 * SchemaChanges#BY_HAND}, so that where new's schema changes are captured, {@code status} does not
 * report it as a change made on new alone, to be made on old too or undone.
 *
 * <p>Privileges count as PostgreSQL counts them ({@code has_table_privilege} and friends):
 * through ownership, membership and grants to PUBLIC.
 */
final class AppRolePrivileges {
  private static final List<String> TABLE_PRIVILEGES = List.of("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER");
  private static final Set<String> TABLE_DEFAULT = new LinkedHashSet<>(List.of("SELECT", "INSERT", "UPDATE", "DELETE"));
  private static final List<String> SEQUENCE_PRIVILEGES = List.of("USAGE", "SELECT", "UPDATE");

  private final Connection old;
  private final Connection nw;
  private final List<Finding> findings = new ArrayList<>();

  private AppRolePrivileges(Connection old, Connection nw) {
    this.old = old;
    this.nw = nw;
  }

  static List<Finding> check(Connection old, Connection nw, List<String> roles) throws SQLException {
    AppRolePrivileges p = new AppRolePrivileges(old, nw);
    for (String role : roles) {
      p.role(role);
    }
    return p.findings;
  }

  private void add(Severity s, String side, String code, String message, String remedy) {
    findings.add(new Finding(s, side, code, message, remedy));
  }

  private void role(String role) throws SQLException {
    String q = Sql.ident(role);
    Boolean loginOnNew = login(nw, role);
    Boolean loginOnOld = login(old, role);
    if (loginOnNew == null) {
      add(Severity.ERROR, "new", "app-role-missing", "application role " + role + " does not exist on new: after the switch"
          + " the application cannot log in there", "CREATE ROLE " + q + " LOGIN PASSWORD '...' (the password the application uses)");
      return;
    }
    if (!loginOnNew && Boolean.TRUE.equals(loginOnOld)) {
      add(Severity.ERROR, "new", "app-role-login", "application role " + role + " may log in on old but not on new",
          "ALTER ROLE " + q + " LOGIN");
    }
    boolean onOld = loginOnOld != null;
    schemas(role, onOld);
    tables(role, onOld);
    sequences(role, onOld);
    if (onOld) {
      ownership(role);
    }
  }

  /**
   * Statements to run on new, after turning capture off: made to match old, they are no schema
   * change to carry (role statements fire no event trigger and need none).
   */
  private static String onNew(String statements) {
    return SchemaChanges.BY_HAND + "; " + statements;
  }

  /** Whether the role may log in, or null when it does not exist. */
  private static Boolean login(Connection c, String role) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT rolcanlogin FROM pg_roles WHERE rolname = ?")) {
      ps.setString(1, role);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getBoolean(1) : null;
      }
    }
  }

  private void schemas(String role, boolean onOld) throws SQLException {
    String sql = "SELECT quote_ident(n.nspname), p.priv FROM pg_namespace n, unnest(array['USAGE', 'CREATE']) p(priv)"
        + " WHERE " + Catalog.SYSTEM_SCHEMA_FILTER + " AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid"
        + " AND c.relkind IN ('r', 'p', 'v', 'm', 'S')) AND has_schema_privilege(?, n.oid, p.priv)";
    Map<String, Set<String>> held = privileges(nw, sql, role);
    Map<String, Set<String>> before = onOld ? privileges(old, sql, role) : Map.of();
    Set<String> noUsage = new LinkedHashSet<>();
    Set<String> noCreate = new LinkedHashSet<>();
    for (String schema : Sql.strings(nw, "SELECT quote_ident(n.nspname) FROM pg_namespace n WHERE " + Catalog.SYSTEM_SCHEMA_FILTER
        + " AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S')) ORDER BY 1")) {
      Set<String> has = held.getOrDefault(schema, Set.of());
      Set<String> had = before.get(schema);
      if (!has.contains("USAGE") && (had == null || had.contains("USAGE"))) {
        noUsage.add(schema);
      }
      if (had != null && had.contains("CREATE") && !has.contains("CREATE")) {
        noCreate.add(schema);
      }
    }
    if (!noUsage.isEmpty()) {
      add(Severity.ERROR, "new", "app-role-schema", "application role " + role + " has no USAGE on schema(s) " + String.join(", ", noUsage)
          + " on new: every statement of the application there fails with permission denied",
          onNew("GRANT USAGE ON SCHEMA " + String.join(", ", noUsage) + " TO " + Sql.ident(role)));
    }
    if (!noCreate.isEmpty()) {
      add(Severity.WARNING, "new", "app-role-schema-create", "application role " + role + " may create objects in schema(s) "
          + String.join(", ", noCreate) + " on old but not on new: migrations that create objects there would fail",
          onNew("GRANT CREATE ON SCHEMA " + String.join(", ", noCreate) + " TO " + Sql.ident(role)));
    }
  }

  private void tables(String role, boolean onOld) throws SQLException {
    String relations = "c.relkind IN ('r', 'p', 'v', 'm', 'f')";
    String sql = "SELECT format('%I.%I', n.nspname, c.relname), p.priv FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,"
        + " unnest(array[" + TABLE_PRIVILEGES.stream().map(Sql::literal).collect(Collectors.joining(", ")) + "]) p(priv)"
        + " WHERE " + relations + " AND " + Catalog.SYSTEM_SCHEMA_FILTER + " AND has_table_privilege(?, c.oid, p.priv)";
    Map<String, Set<String>> held = privileges(nw, sql, role);
    Map<String, Set<String>> before = onOld ? privileges(old, sql, role) : Map.of();
    Set<String> onOldTables = new LinkedHashSet<>();
    if (onOld) {
      objects(old, relations).forEach(t -> onOldTables.add(t[0]));
    }
    Map<Set<String>, List<String>> missing = new LinkedHashMap<>();
    // Partitions are reached through their parent, whose privileges count.
    for (String[] t : objects(nw, relations + (Sql.majorVersion(nw) >= 10 ? " AND NOT c.relispartition" : ""))) {
      Set<String> needed = onOldTables.contains(t[0]) ? before.getOrDefault(t[0], Set.of())
          : "rpf".contains(t[1]) ? TABLE_DEFAULT : Set.of("SELECT");
      Set<String> lacking = ordered(needed, held.getOrDefault(t[0], Set.of()), TABLE_PRIVILEGES);
      if (!lacking.isEmpty()) {
        missing.computeIfAbsent(lacking, k -> new ArrayList<>()).add(t[0]);
      }
    }
    missing.forEach((privs, tables) -> add(Severity.ERROR, "new", "app-role-tables", "application role " + role + " lacks "
        + String.join(", ", privs) + " on " + tables.size() + " table(s) or view(s) on new (" + abbreviate(tables) + ")"
        + (onOld ? ", which it has on old" : ""), onNew("GRANT " + String.join(", ", privs) + " ON TABLE " + String.join(", ", tables)
        + " TO " + Sql.ident(role))));
  }

  private void sequences(String role, boolean onOld) throws SQLException {
    String sql = "SELECT format('%I.%I', n.nspname, c.relname), p.priv FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,"
        + " unnest(array['USAGE', 'SELECT', 'UPDATE']) p(priv) WHERE c.relkind = 'S' AND " + Catalog.SYSTEM_SCHEMA_FILTER
        + " AND has_sequence_privilege(?, c.oid, p.priv)";
    Map<String, Set<String>> held = privileges(nw, sql, role);
    Map<String, Set<String>> before = onOld ? privileges(old, sql, role) : Map.of();
    Map<Set<String>, List<String>> missing = new LinkedHashMap<>();
    for (String[] s : objects(nw, "c.relkind = 'S'")) {
      Set<String> needed = new LinkedHashSet<>(onOld ? before.getOrDefault(s[0], Set.of()) : Set.copyOf(SEQUENCE_PRIVILEGES));
      needed.add("UPDATE");
      Set<String> lacking = ordered(needed, held.getOrDefault(s[0], Set.of()), SEQUENCE_PRIVILEGES);
      if (!lacking.isEmpty()) {
        missing.computeIfAbsent(lacking, k -> new ArrayList<>()).add(s[0]);
      }
    }
    missing.forEach((privs, seqs) -> add(Severity.ERROR, "new", "app-role-sequences", "application role " + role + " lacks "
        + String.join(", ", privs) + " on " + seqs.size() + " sequence(s) on new (" + abbreviate(seqs) + ")"
        + (privs.contains("UPDATE") ? "; the switch moves sequences as this role, with setval, which needs UPDATE" : ""),
        onNew("GRANT " + String.join(", ", privs) + " ON SEQUENCE " + String.join(", ", seqs) + " TO " + Sql.ident(role))));
    if (!onOld) {
      return;
    }
    List<String> unreadable = new ArrayList<>();
    List<String> usageOnly = new ArrayList<>();
    List<String> unmovable = new ArrayList<>();
    // before 10 a sequence's value is read from its relation, which takes SELECT; from 10 USAGE shows it once called
    boolean selectNeeded = old.getMetaData().getDatabaseMajorVersion() < 10;
    for (String[] s : objects(old, "c.relkind = 'S'")) {
      Set<String> had = before.getOrDefault(s[0], Set.of());
      if (!had.contains("SELECT") && (selectNeeded || !had.contains("USAGE"))) {
        unreadable.add(s[0]);
      } else if (!had.contains("SELECT")) {
        usageOnly.add(s[0]);
      }
      if (!had.contains("UPDATE")) {
        unmovable.add(s[0]);
      }
    }
    if (!unreadable.isEmpty()) {
      add(Severity.ERROR, "old", "app-role-sequences", "application role " + role + " has " + (selectNeeded ? "no SELECT"
          : "neither USAGE nor SELECT") + " on " + unreadable.size() + " sequence(s) on old (" + abbreviate(unreadable) + "): the"
          + " switch reads their values as this role" + (selectNeeded ? " (before PostgreSQL 10 from each sequence's relation,"
          + " which USAGE does not open)" : "") + ", sees none, and refuses to start", "GRANT SELECT ON SEQUENCE "
          + String.join(", ", unreadable) + " TO " + Sql.ident(role));
    }
    if (!usageOnly.isEmpty()) {
      add(Severity.WARNING, "old", "app-role-sequences", "application role " + role + " has USAGE but not SELECT on "
          + usageOnly.size() + " sequence(s) on old (" + abbreviate(usageOnly) + "): USAGE shows a sequence's value only once it"
          + " has been called, so the switch refuses to start while one is restarted or set with setval(s, n, false)",
          "GRANT SELECT ON SEQUENCE " + String.join(", ", usageOnly) + " TO " + Sql.ident(role));
    }
    if (!unmovable.isEmpty()) {
      add(Severity.WARNING, "old", "app-role-sequences", "application role " + role + " lacks UPDATE on " + unmovable.size()
          + " sequence(s) on old (" + abbreviate(unmovable) + "): a flip back could not move them", "GRANT UPDATE ON SEQUENCE "
          + String.join(", ", unmovable) + " TO " + Sql.ident(role));
    }
  }

  /** Tables, sequences and schemas the role acts as owner of on old but not on new: its migrations would fail there. */
  private void ownership(String role) throws SQLException {
    // Sequences that belong to a column (serial, identity) go with their table.
    String sql = "SELECT kind || ' ' || name, pg_has_role(?, owner, 'USAGE') FROM ("
        + " SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END"
        + "   AS kind, format('%I.%I', n.nspname, c.relname) AS name, c.relowner AS owner"
        + "   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + "   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND " + Catalog.SYSTEM_SCHEMA_FILTER
        + "   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
        + "     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))"
        + " UNION ALL SELECT 'SCHEMA', quote_ident(n.nspname), n.nspowner FROM pg_namespace n WHERE " + Catalog.SYSTEM_SCHEMA_FILTER
        + "   AND n.nspname <> 'public') o ORDER BY 1";
    Map<String, Boolean> onOld = owners(old, sql, role);
    Map<String, Boolean> ownedOnNew = owners(nw, sql, role);
    List<String> lost = onOld.entrySet().stream().filter(e -> e.getValue() && Boolean.FALSE.equals(ownedOnNew.get(e.getKey())))
        .map(Map.Entry::getKey).collect(Collectors.toList());
    if (lost.isEmpty()) {
      return;
    }
    add(Severity.WARNING, "new", "app-role-ownership", "application role " + role + " owns " + lost.size()
        + " object(s) on old that it does not own on new (" + abbreviate(lost) + "): its schema migrations (ALTER, CREATE INDEX,"
        + " DROP) would fail there", onNew(lost.stream().map(o -> "ALTER " + o + " OWNER TO " + Sql.ident(role))
        .collect(Collectors.joining("; "))) + " (as their owner, a member of " + Sql.ident(role) + ")");
  }

  private static Map<String, Boolean> owners(Connection c, String sql, String role) throws SQLException {
    Map<String, Boolean> out = new LinkedHashMap<>();
    try (PreparedStatement ps = Sql.prepare(c, sql, role); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getBoolean(2));
      }
    }
    return out;
  }

  /** Object → privileges from a query of (object, privilege) rows. */
  private static Map<String, Set<String>> privileges(Connection c, String sql, String role) throws SQLException {
    Map<String, Set<String>> out = new TreeMap<>();
    try (PreparedStatement ps = Sql.prepare(c, sql, role); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.computeIfAbsent(rs.getString(1), k -> new LinkedHashSet<>()).add(rs.getString(2));
      }
    }
    return out;
  }

  /** (quoted name, relkind) of application relations matching {@code where}. */
  private static List<String[]> objects(Connection c, String where) throws SQLException {
    List<String[]> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text FROM pg_class c"
        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " + where + " AND " + Catalog.SYSTEM_SCHEMA_FILTER + " ORDER BY 1");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(new String[] {rs.getString(1), rs.getString(2)});
      }
    }
    return out;
  }

  /** The privileges in {@code needed} but not in {@code held}, in {@code order}. */
  private static Set<String> ordered(Set<String> needed, Set<String> held, List<String> order) {
    Set<String> out = new LinkedHashSet<>();
    for (String p : order) {
      if (needed.contains(p) && !held.contains(p)) {
        out.add(p);
      }
    }
    return out;
  }

  private static String abbreviate(List<String> names) {
    return names.stream().limit(5).collect(Collectors.joining(", ")) + (names.size() > 5 ? ", ..." : "");
  }
}
