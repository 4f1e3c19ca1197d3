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
 * database itself reads them: row-level-security policies and functions that call {@code
 * current_setting('…')}, and {@code ALTER DATABASE/ROLE … SET}; plus those an operator lists in
 * {@code cutover.session.custom-settings} for names only the application's own SQL reads.
 */
public final class CustomSettings {
  /** A call of current_setting with a literal name, as policies are deparsed and functions written. */
  private static final String CALL = "'current_setting\\s*\\(\\s*''([^'']+)'''";

  private static final String DISCOVER = "SELECT DISTINCT lower(m[1]) FROM ("
      + " SELECT pg_catalog.regexp_matches(coalesce(p.qual, '') || ' ' || coalesce(p.with_check, ''), " + CALL
      + ", 'gi') FROM pg_catalog.pg_policies p"
      + " UNION ALL SELECT pg_catalog.regexp_matches(f.prosrc, " + CALL + ", 'gi') FROM pg_catalog.pg_proc f"
      + " JOIN pg_catalog.pg_namespace n ON n.oid = f.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
      + " UNION ALL SELECT pg_catalog.regexp_matches(c, '^([^=]+)=') FROM pg_catalog.pg_db_role_setting s,"
      + " pg_catalog.unnest(s.setconfig) c) x(m) WHERE m[1] LIKE '%.%' ORDER BY 1";

  private CustomSettings() {}

  /** The configured names and those the database behind {@code c} reads, sorted, without duplicates. */
  public static List<String> discover(Connection c, List<String> configured) throws SQLException {
    TreeSet<String> names = new TreeSet<>(configured);
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(DISCOVER)) {
      while (rs.next()) {
        names.add(rs.getString(1));
      }
    }
    return List.copyOf(names);
  }
}
