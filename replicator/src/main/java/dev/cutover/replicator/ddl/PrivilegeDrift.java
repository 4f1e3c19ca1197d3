package dev.cutover.replicator.ddl;

import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Privileges on the application's tables, views and sequences that one side grants and the other
 * does not: a GRANT or REVOKE run on the source during the window where nothing captures it (no
 * superuser). Replication carries rows, not privileges; once the application is switched to the
 * target, a role is refused there what the source allowed (a reporting role granted SELECT on a
 * new table), or, silently, allowed what the source refused (a privilege revoked from PUBLIC).
 * Grants to a relation's owner are left out: {@code schema --no-owner} maps owners, so they
 * differ by design. Schemas' privileges are left out too: 15 grants less on schema public than
 * earlier versions did, and {@code schema} keeps it so on purpose.
 */
final class PrivilegeDrift {
  /** The application's tables, views and sequences ({@code c}, in schema {@code n}). */
  private static final String RELATIONS = " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace";
  private static final String APPLICATION = " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND " + Catalog.SYSTEM_SCHEMA_FILTER;

  private PrivilegeDrift() {}

  /** One sentence per role and relation whose privileges differ, with the GRANT or REVOKE for the target. */
  static List<String> between(Connection source, Connection target, SchemaChanges.Wording w) throws SQLException {
    Map<String, Map<String, Map<String, Boolean>>> ours = grants(source);
    Map<String, Map<String, Map<String, Boolean>>> theirs = grants(target);
    Map<String, String> ourOwners = owners(source);
    Map<String, String> theirOwners = owners(target);
    Set<String> roles = new HashSet<>(Sql.strings(target, "SELECT rolname FROM pg_roles"));
    List<String> out = new ArrayList<>();
    for (String relation : ourOwners.keySet()) {
      if (!theirOwners.containsKey(relation)) {
        continue;
      }
      Map<String, Map<String, Boolean>> mine = ours.getOrDefault(relation, Map.of());
      Map<String, Map<String, Boolean>> other = theirs.getOrDefault(relation, Map.of());
      String[] at = relation.split("\u0001");
      String name = at[0] + "." + at[1];
      String object = ("S".equals(at[2]) ? "SEQUENCE " : "TABLE ") + Sql.qualified(at[0], at[1]);
      Set<String> grantees = new TreeSet<>(mine.keySet());
      grantees.addAll(other.keySet());
      // Owners have every privilege, and may be mapped to another role on the other side.
      grantees.remove(ourOwners.get(relation));
      grantees.remove(theirOwners.get(relation));
      for (String grantee : grantees) {
        Map<String, Boolean> o = mine.getOrDefault(grantee, Map.of());
        Map<String, Boolean> t = other.getOrDefault(grantee, Map.of());
        String to = grantee.equals("PUBLIC") ? "PUBLIC" : Sql.ident(grantee);
        String create = grantee.equals("PUBLIC") || roles.contains(grantee) ? "" : "create the role on " + w.target() + ", then ";
        for (boolean option : new boolean[] {false, true}) {
          Set<String> grant = new TreeSet<>();
          o.forEach((privilege, grantable) -> {
            if (grantable == option && (!t.containsKey(privilege) || option && !t.get(privilege))) {
              grant.add(privilege);
            }
          });
          if (!grant.isEmpty()) {
            out.add(role(grantee) + " has " + String.join(", ", grant) + (option ? " with grant option" : "") + " on " + name + " on "
                + w.source() + " but not on " + w.target() + ": after a switch to " + w.target() + ", it is refused there" + w.pending()
                + ". If " + w.source() + "'s is the one meant, " + create + w.run() + "GRANT " + String.join(", ", grant) + " ON " + object
                + " TO " + to + (option ? " WITH GRANT OPTION" : "") + "; if " + w.target() + "'s is (revoked there first), make the"
                + " same change on " + w.source());
          }
          Set<String> revoke = new TreeSet<>();
          t.forEach((privilege, grantable) -> {
            if (option ? grantable && Boolean.FALSE.equals(o.get(privilege)) : !o.containsKey(privilege)) {
              revoke.add(privilege);
            }
          });
          if (!revoke.isEmpty()) {
            out.add(role(grantee) + " has " + String.join(", ", revoke) + (option ? " with grant option" : "") + " on " + name + " on "
                + w.target() + " but not on " + w.source() + ": after a switch to " + w.target() + ", it is allowed there what "
                + w.source() + " refuses" + w.pending() + ". If " + w.source() + "'s is the one meant, " + w.run() + "REVOKE "
                + (option ? "GRANT OPTION FOR " : "") + String.join(", ", revoke) + " ON " + object + " FROM " + to + "; if "
                + w.target() + "'s is (granted there first), make the same change on " + w.source());
          }
        }
      }
    }
    return out;
  }

  private static String role(String grantee) {
    return grantee.equals("PUBLIC") ? "every role (PUBLIC)" : "role " + grantee;
  }

  /** The owner of every table, view and sequence, by relation (schema, name and relkind joined by U+0001). */
  private static Map<String, String> owners(Connection c) throws SQLException {
    Map<String, String> out = new LinkedHashMap<>();
    for (String[] row : Sql.rows(c, "SELECT n.nspname || E'\\x01' || c.relname || E'\\x01' || c.relkind::text,"
        + " pg_get_userbyid(c.relowner)" + RELATIONS + APPLICATION)) {
      out.put(row[0], row[1]);
    }
    return out;
  }

  /**
   * Every grant on tables, views and sequences to a role other than the owner, by relation
   * (schema, name and relkind joined by U+0001) and grantee (PUBLIC for all): privilege to whether
   * it is grantable.
   */
  private static Map<String, Map<String, Map<String, Boolean>>> grants(Connection c) throws SQLException {
    Map<String, Map<String, Map<String, Boolean>>> out = new LinkedHashMap<>();
    for (String[] row : Sql.rows(c, "SELECT n.nspname || E'\\x01' || c.relname || E'\\x01' || c.relkind::text,"
        + " coalesce(r.rolname, 'PUBLIC'), a.privilege_type, a.is_grantable::text"
        + RELATIONS + " CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee" + APPLICATION
        + " AND a.grantee <> c.relowner ORDER BY 1, 2, 3")) {
      out.computeIfAbsent(row[0], k -> new LinkedHashMap<>()).computeIfAbsent(row[1], k -> new LinkedHashMap<>())
          .put(row[2], Boolean.parseBoolean(row[3]));
    }
    return out;
  }
}
