package dev.cutover.replicator.schema;

import dev.cutover.replicator.sql.NameList;
import dev.cutover.replicator.sql.Sql;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The defaults a database gives every session, its own ({@code ALTER DATABASE … SET}) and those of
 * a role in it ({@code ALTER ROLE … IN DATABASE … SET}), as {@code pg_db_role_setting} holds them.
 * pg_dump without {@code --create} leaves them out, and replication carries rows only: a database
 * whose default {@code search_path} or {@code timezone} new lacks would, after the switch, have the
 * application's unqualified names find other tables there and its timestamps without an offset
 * read as other instants. {@link #differences} compares the sides and makes the statements that
 * give new old's; {@code schema} runs them, {@code check} prints them. A role's settings for every
 * database ({@code ALTER ROLE … SET}) belong to the cluster's roles, which neither command copies.
 */
public final class DatabaseSettings {
  /**
   * Settings whose value is a list of names, each quoted as an identifier in the catalog; set again
   * element by element, as pg_dump does (its {@code GUC_LIST_QUOTE} list).
   */
  private static final Set<String> LISTS_OF_NAMES = Set.of("search_path", "temp_tablespaces", "local_preload_libraries",
      "session_preload_libraries", "shared_preload_libraries", "unix_socket_directories");

  private DatabaseSettings() {}

  /**
   * A setting that differs.
   *
   * @param role the role whose setting in the database it is, or null for the database's own
   * @param name the setting
   * @param oldValue old's value as the catalog holds it, null where old has none
   * @param newValue new's, null where new has none
   * @param statement what gives new old's: {@code ALTER DATABASE … SET} or {@code … RESET}, or the same {@code ALTER ROLE … IN DATABASE}
   */
  public record Difference(String role, String name, String oldValue, String newValue, String statement) {
    /** One sentence: which setting, each side's value, and what it changes after a switch. */
    public String describe() {
      return describe("old", "new") + " (an unqualified name may find another object, a time another zone)";
    }

    /** The same, {@code source} holding {@link #oldValue} and {@code target} {@link #newValue}, without the examples. */
    public String describe(String source, String target) {
      String whose = role == null ? "database default " : "default of role " + role + " in the database, ";
      String value = whose + name + (oldValue == null ? "" : " = " + oldValue);
      String sides = oldValue == null ? " is set on " + target + " (" + newValue + ") but not on " + source
          : newValue == null ? " is set on " + source + " but not on " + target : " on " + source + ", but " + newValue + " on " + target;
      return value + sides + ": after the switch, the application's sessions on " + target + (role == null ? "" : " as " + role)
          + " run with other settings than on " + source;
    }
  }

  /** {@code old}'s settings in its database that {@code nw}'s database lacks or holds otherwise; new's database by its own name. */
  public static List<Difference> differences(Connection old, Connection nw) throws SQLException {
    Map<List<String>, String> theirs = read(nw);
    Map<List<String>, String> ours = read(old);
    String database = Sql.string(nw, "SELECT pg_catalog.current_database()");
    List<Difference> out = new ArrayList<>();
    for (Map.Entry<List<String>, String> e : ours.entrySet()) {
      String role = e.getKey().get(0);
      String name = e.getKey().get(1);
      String other = theirs.get(e.getKey());
      if (!e.getValue().equals(other)) {
        out.add(new Difference(role, name, e.getValue(), other, alter(database, role) + " SET " + Sql.ident(name) + " TO "
            + value(name, e.getValue())));
      }
    }
    for (Map.Entry<List<String>, String> e : theirs.entrySet()) {
      if (!ours.containsKey(e.getKey())) {
        String role = e.getKey().get(0);
        String name = e.getKey().get(1);
        out.add(new Difference(role, name, null, e.getValue(), alter(database, role) + " RESET " + Sql.ident(name)));
      }
    }
    return out;
  }

  private static String alter(String database, String role) {
    return role == null ? "ALTER DATABASE " + Sql.ident(database) : "ALTER ROLE " + Sql.ident(role) + " IN DATABASE " + Sql.ident(database);
  }

  /**
   * The settings of {@code c}'s database, keyed by role (null: the database's own) and name (lower
   * case: the catalog keeps a built-in setting's own spelling, {@code TimeZone}, and names are
   * compared ignoring case), in the catalog's order.
   */
  static Map<List<String>, String> read(Connection c) throws SQLException {
    Map<List<String>, String> out = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT r.rolname, s.setconfig FROM pg_catalog.pg_db_role_setting s"
        + " LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) s.setrole WHERE s.setdatabase OPERATOR(pg_catalog.=)"
        + " (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())"
        + " ORDER BY s.setrole OPERATOR(pg_catalog.<>) 0, r.rolname");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        putEntries(out, rs.getString(1), rs.getArray(2));
      }
    }
    return out;
  }

  /**
   * Puts each {@code name=value} of a {@code setconfig} array (null: none) into {@code out}, keyed
   * by {@code role} and the name in lower case (a setting's name is case-insensitive).
   */
  static void putEntries(Map<List<String>, String> out, String role, Array config) throws SQLException {
    if (config == null) {
      return;
    }
    for (Object item : (Object[]) config.getArray()) {
      String entry = (String) item;
      int eq = entry.indexOf('=');
      if (eq > 0) {
        out.put(java.util.Arrays.asList(role, entry.substring(0, eq).toLowerCase(Locale.ROOT)), entry.substring(eq + 1));
      }
    }
  }

  /**
   * The value as SQL: a string literal, or for a list of names each name a literal of its own
   * ({@code 'app', 'public'}; one literal would be one name, {@code "app, public"}).
   */
  public static String value(String name, String stored) {
    if (!LISTS_OF_NAMES.contains(name.toLowerCase(Locale.ROOT))) {
      return Sql.literal(stored);
    }
    List<String> names = NameList.split(stored);
    if (names.isEmpty()) {
      return "''";
    }
    List<String> literals = new ArrayList<>();
    for (String n : names) {
      literals.add(Sql.literal(n));
    }
    return String.join(", ", literals);
  }
}
