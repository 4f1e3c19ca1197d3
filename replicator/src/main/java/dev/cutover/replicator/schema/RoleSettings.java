package dev.cutover.replicator.schema;

import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The defaults a role gives its sessions in every database ({@code ALTER ROLE … SET}, rows of
 * {@code pg_db_role_setting} with {@code setdatabase = 0}). They apply to the application's
 * sessions as much as the database's own ({@link DatabaseSettings}) do, and a role created afresh
 * on a managed target lacks them: a role-wide {@code search_path} or {@code timezone} new lacks
 * has the application's unqualified names find other tables there, its timestamps read as other
 * instants. {@link #differences} compares the named roles (those on both sides) and makes the
 * statements that give new old's; {@code check} prints them, {@code status} names them. {@code
 * schema} does not run them: a role's settings for every database reach the other databases on
 * new's server too, which is for the operator to decide.
 */
public final class RoleSettings {
  private RoleSettings() {}

  /**
   * A role-wide setting that differs.
   *
   * @param role the role
   * @param name the setting
   * @param oldValue old's value as the catalog holds it, null where old has none
   * @param newValue new's, null where new has none
   * @param statement what gives new old's: {@code ALTER ROLE … SET} or {@code … RESET}
   */
  public record Difference(String role, String name, String oldValue, String newValue, String statement) {
    /** One sentence: which setting, each side's value, and what it changes after a switch. */
    public String describe() {
      return describe("old", "new") + " (an unqualified name may find another object, a time another zone)";
    }

    /** The same, {@code source} holding {@link #oldValue} and {@code target} {@link #newValue}, without the examples. */
    public String describe(String source, String target) {
      String value = "default of role " + role + " in every database, " + name + (oldValue == null ? "" : " = " + oldValue);
      String sides = oldValue == null ? " is set on " + target + " (" + newValue + ") but not on " + source
          : newValue == null ? " is set on " + source + " but not on " + target : " on " + source + ", but " + newValue + " on " + target;
      return value + sides + ": after the switch, the application's sessions on " + target + " as " + role
          + " run with other settings than on " + source;
    }
  }

  /** The role-wide settings of {@code roles} (those on both sides) that {@code nw} lacks or holds otherwise, or has and old lacks. */
  public static List<Difference> differences(Connection old, Connection nw, Collection<String> roles) throws SQLException {
    Set<String> both = new LinkedHashSet<>(existing(old, roles));
    both.retainAll(existing(nw, roles));
    List<Difference> out = new ArrayList<>();
    if (both.isEmpty()) {
      return out;
    }
    Map<List<String>, String> ours = read(old, both);
    Map<List<String>, String> theirs = read(nw, both);
    for (Map.Entry<List<String>, String> e : ours.entrySet()) {
      String other = theirs.get(e.getKey());
      if (!e.getValue().equals(other)) {
        String role = e.getKey().get(0);
        String name = e.getKey().get(1);
        out.add(new Difference(role, name, e.getValue(), other, "ALTER ROLE " + Sql.ident(role) + " SET " + Sql.ident(name) + " TO "
            + DatabaseSettings.value(name, e.getValue())));
      }
    }
    for (Map.Entry<List<String>, String> e : theirs.entrySet()) {
      if (!ours.containsKey(e.getKey())) {
        String role = e.getKey().get(0);
        String name = e.getKey().get(1);
        out.add(new Difference(role, name, null, e.getValue(), "ALTER ROLE " + Sql.ident(role) + " RESET " + Sql.ident(name)));
      }
    }
    return out;
  }

  private static List<String> existing(Connection c, Collection<String> roles) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.rolname::pg_catalog.text OPERATOR(pg_catalog.=)"
        + " ANY (?) ORDER BY 1")) {
      ps.setArray(1, c.createArrayOf("text", roles.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }

  /** The role-wide settings of {@code roles}, keyed by role and name (lower case, as {@link DatabaseSettings} keys them). */
  private static Map<List<String>, String> read(Connection c, Collection<String> roles) throws SQLException {
    Map<List<String>, String> out = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT r.rolname, s.setconfig FROM pg_catalog.pg_db_role_setting s"
        + " JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) s.setrole WHERE s.setdatabase OPERATOR(pg_catalog.=) 0"
        + " AND r.rolname::pg_catalog.text OPERATOR(pg_catalog.=) ANY (?) ORDER BY 1")) {
      ps.setArray(1, c.createArrayOf("text", roles.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          DatabaseSettings.putEntries(out, rs.getString(1), rs.getArray(2));
        }
      }
    }
    return out;
  }
}
