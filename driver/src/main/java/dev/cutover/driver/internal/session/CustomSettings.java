package dev.cutover.driver.internal.session;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.TreeSet;

/**
 * Finds the custom settings (placeholders such as {@code app.tenant_id}) a session may carry.
 * PostgreSQL shows them nowhere, neither in {@code pg_settings} nor in {@code SHOW ALL}, on any
 * version, so a session's move can only read them by name. The names come from where the
 * database itself reads them with {@code current_setting('…')}: row-level-security policies,
 * function bodies (as written, or {@code BEGIN ATOMIC}), views and rules, column defaults (generated columns included), CHECK and
 * domain constraints, triggers' WHEN clauses; and from {@code ALTER DATABASE/ROLE … SET}; plus
 * those an operator lists in {@code cutover.session.custom-settings} for names only the
 * application's own SQL reads.
 *
 * <p>Only a literal name is found: a name built by concatenation, passed in a variable or
 * dollar-quoted cannot be. Index expressions and predicates are not read: they may only call
 * immutable functions, which {@code current_setting} is not (one that hides it in a function of
 * its own is found in that function's body). Expressions are deparsed only when their stored
 * tree calls {@code current_setting}, so the cost grows with what reads settings, not with the
 * size of the schema. Every catalog and function used here is open to every role.
 */
public final class CustomSettings {
  /**
   * A call of current_setting with a literal name, as expressions are deparsed and functions
   * written. No backslash, so the pattern reads the same whatever standard_conforming_strings is.
   */
  private static final String CALL = "'current_setting[[:space:]]*[(][[:space:]]*''([^'']+)'''";

  /** Outside the schemas PostgreSQL ships. */
  private static final String USER_SCHEMA = " NOT IN ('pg_catalog', 'information_schema')";

  /** The stored expression trees (pg_node_tree) that call current_setting, either form. */
  private static final String CALLS_IT = "WITH cs(tree) AS (SELECT ':funcid ('"
      + " || pg_catalog.string_agg(p.oid::text, '|') || ') ' FROM pg_catalog.pg_proc p"
      + " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
      + " WHERE p.proname = 'current_setting' AND n.nspname = 'pg_catalog')";

  private static final String DISCOVER = CALLS_IT + " SELECT DISTINCT lower(m[1]) FROM ("
      + " SELECT pg_catalog.regexp_matches(coalesce(p.qual, '') || ' ' || coalesce(p.with_check, ''), " + CALL
      + ", 'gi') FROM pg_catalog.pg_policies p"
      + " UNION ALL SELECT pg_catalog.regexp_matches(f.prosrc, " + CALL + ", 'gi') FROM pg_catalog.pg_proc f"
      + " JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace WHERE n.nspname" + USER_SCHEMA
      // views, materialized views and rules
      + " UNION ALL SELECT pg_catalog.regexp_matches(pg_catalog.pg_get_ruledef(r.oid), " + CALL + ", 'gi')"
      + " FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class"
      + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, cs"
      + " WHERE n.nspname" + USER_SCHEMA + " AND r.ev_action::text ~ cs.tree"
      // column defaults and generated columns
      + " UNION ALL SELECT pg_catalog.regexp_matches(pg_catalog.pg_get_expr(d.adbin, d.adrelid), " + CALL + ", 'gi')"
      + " FROM pg_catalog.pg_attrdef d, cs WHERE d.adbin::text ~ cs.tree"
      // CHECK constraints of tables and domains
      + " UNION ALL SELECT pg_catalog.regexp_matches(pg_catalog.pg_get_constraintdef(k.oid), " + CALL + ", 'gi')"
      + " FROM pg_catalog.pg_constraint k, cs WHERE k.conbin::text ~ cs.tree"
      // triggers' WHEN clauses
      + " UNION ALL SELECT pg_catalog.regexp_matches(pg_catalog.pg_get_triggerdef(t.oid), " + CALL + ", 'gi')"
      + " FROM pg_catalog.pg_trigger t, cs WHERE t.tgqual::text ~ cs.tree"
      + " UNION ALL SELECT pg_catalog.regexp_matches(c, '^([^=]+)=') FROM pg_catalog.pg_db_role_setting s,"
      + " pg_catalog.unnest(s.setconfig) c";
  private static final String END = ") x(m) WHERE m[1] LIKE '%.%' ORDER BY 1";

  /** SQL-standard function bodies ({@code BEGIN ATOMIC}, PostgreSQL 14 on), which have no {@code prosrc}. */
  private static final String ATOMIC_BODIES = " UNION ALL SELECT pg_catalog.regexp_matches("
      + "pg_catalog.pg_get_function_sqlbody(f.oid), " + CALL + ", 'gi') FROM pg_catalog.pg_proc f, cs"
      + " WHERE f.prosqlbody::text ~ cs.tree";

  private CustomSettings() {}

  /** The configured names and those the database behind {@code c} reads, sorted, without duplicates. */
  public static List<String> discover(Connection c, List<String> configured) throws SQLException {
    TreeSet<String> names = new TreeSet<>(configured);
    String sql = DISCOVER + (c.getMetaData().getDatabaseMajorVersion() >= 14 ? ATOMIC_BODIES : "") + END;
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        names.add(rs.getString(1));
      }
    }
    return List.copyOf(names);
  }
}
