package dev.cutover.replicator.check;

import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.schema.DatabaseSettings;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.ArrayList;

/**
 * Settings of the server (its configuration file, {@code ALTER SYSTEM}, a managed service's
 * parameter group) that change what the application's statements read or mean, where new's differ
 * from old's. Neither replication nor {@code schema} carries them, and the comparison of
 * {@code pg_db_role_setting} ({@link DatabaseSettings}, role settings) does not see them:
 * {@code ALTER SYSTEM SET IntervalStyle = 'sql_standard'} on new alone had the application read
 * {@code interval '-1 day -2 hours'} otherwise after the switch, PgJDBC's {@code PGInterval} as 0
 * days, and check said nothing.
 *
 * <p>The list leaves out what PgJDBC pins at login, whatever the server says: {@code DateStyle}
 * (ISO), {@code TimeZone} (the JVM's), {@code client_encoding} (UTF8) and {@code
 * extra_float_digits}; and the timeouts ({@code statement_timeout}, {@code lock_timeout}, {@code
 * idle_*}), which change when a statement fails, loudly, not what it reads, and are often sized for
 * new's server on purpose. Values are {@code pg_settings.reset_val}: what a fresh session of the
 * checking role starts with. A setting that either side's database, or the checking role, sets in
 * {@code pg_db_role_setting} is left to the database- and role-setting warnings: it hides the
 * server's value from the sessions it reaches.
 */
final class ServerSettings {
  private ServerSettings() {}

  /** Each setting, as PostgreSQL spells it, with what a difference changes for the application. */
  private static final Map<String, String> EFFECTS = new LinkedHashMap<>();

  static {
    EFFECTS.put("IntervalStyle", "intervals print in another form as text (PgJDBC's PGInterval reads sql_standard's"
        + " '-1 2:00:00' for interval '-1 day -2 hours' as 0 days, 0 hours)");
    EFFECTS.put("bytea_output", "bytea read as text (getString, ::text) comes in another form (hex or escape)");
    EFFECTS.put("standard_conforming_strings", "a backslash in a string literal of the application's SQL means another thing");
    EFFECTS.put("search_path", "an unqualified name may find another object");
    EFFECTS.put("default_transaction_isolation", "transactions run at another isolation level: they see other snapshots,"
        + " and serializable ones may fail to commit");
    EFFECTS.put("transform_null_equals", "expr = NULL is true for nulls on one side, never on the other");
    EFFECTS.put("array_nulls", "NULL in an array literal reads as a null on one side, as the text NULL on the other");
    EFFECTS.put("xmloption", "xml values parse and cast as a document on one side, as content on the other");
    EFFECTS.put("xmlbinary", "bytea in XML functions is encoded as base64 on one side, as hex on the other");
    EFFECTS.put("default_text_search_config", "to_tsvector and to_tsquery without a configuration parse text otherwise");
    EFFECTS.put("lc_monetary", "money prints with another currency symbol and separators");
    EFFECTS.put("lc_numeric", "to_char's decimal point and group separator (D, G) print otherwise");
    EFFECTS.put("lc_time", "to_char's localized day and month names (TM) print in another language");
  }

  /** The settings compared, as PostgreSQL spells them. */
  static List<String> names() {
    return List.copyOf(EFFECTS.keySet());
  }

  /** A warning for each setting of {@link #names} whose server value differs between old and new. */
  static List<Finding> findings(Connection old, Connection nw) throws SQLException {
    Map<String, String> ours = values(old);
    Map<String, String> theirs = values(nw);
    Set<String> shadowed = new HashSet<>(shadowed(old));
    shadowed.addAll(shadowed(nw));
    String database = Sql.string(nw, "SELECT pg_catalog.current_database()");
    List<Finding> out = new ArrayList<>();
    for (Map.Entry<String, String> e : EFFECTS.entrySet()) {
      String name = e.getKey();
      String key = name.toLowerCase(Locale.ROOT);
      String o = ours.get(key);
      String n = theirs.get(key);
      if (o == null || n == null || o.equals(n) || shadowed.contains(key)) {
        continue;
      }
      String value = DatabaseSettings.value(name, o);
      out.add(new Finding(Severity.WARNING, "new", "server-setting", name + " is " + n + " on new but " + o + " on old, from"
          + " the server's configuration (not the database's or a role's defaults, which schema copies and check compares):"
          + " PgJDBC does not set it at login, so after the switch, " + e.getValue(),
          "unless new's differs on purpose, give new's server old's value: ALTER SYSTEM SET " + name + " = " + value
              + "; SELECT pg_reload_conf(); as a superuser on new (or in postgresql.conf, or a managed service's parameter group);"
              + " or give the database the same default on both sides, which holds over the server's: ALTER DATABASE "
              + Sql.ident(database) + " SET " + Sql.ident(name) + " TO " + value + " on new and on old"));
    }
    return out;
  }

  /** The settings' values a fresh session of the checking role starts with, keyed by lower-case name. */
  private static Map<String, String> values(Connection c) throws SQLException {
    Map<String, String> out = new HashMap<>();
    String[] lower = EFFECTS.keySet().stream().map(n -> n.toLowerCase(Locale.ROOT)).toArray(String[]::new);
    for (String[] row : Sql.rows(c, "SELECT pg_catalog.lower(name), reset_val FROM pg_catalog.pg_settings"
        + " WHERE pg_catalog.lower(name) OPERATOR(pg_catalog.=) ANY (?)", (Object) lower)) {
      out.put(row[0], row[1]);
    }
    return out;
  }

  /**
   * The settings (lower case) that {@code c}'s database, the checking role in it, or the checking
   * role in every database sets: these, not the server's, are what its sessions start with.
   */
  private static Set<String> shadowed(Connection c) throws SQLException {
    Set<String> out = new HashSet<>();
    for (String[] row : Sql.rows(c, "SELECT pg_catalog.lower(pg_catalog.split_part(e, '=', 1))"
        + " FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) e"
        + " WHERE (s.setdatabase OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d"
        + " WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()) OR s.setdatabase OPERATOR(pg_catalog.=) 0)"
        + " AND (s.setrole OPERATOR(pg_catalog.=) 0 AND s.setdatabase OPERATOR(pg_catalog.<>) 0"
        + " OR s.setrole OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r"
        + " WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER))")) {
      out.add(row[0]);
    }
    return out;
  }
}
