package dev.cutover.replicator.check;

import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Where schema changes on old are captured: the roles that may make them (owners of old's
 * application schemas and relations, and roles that may create in those schemas) that the
 * replicator's role on new may not become. A captured change is made on new as the role that made
 * it on old ({@code cutover.ddl_apply}), so one of theirs stops replication there with
 * "permission denied to set role"; said before anything starts.
 */
final class DdlReplayRoles {
  private static final String MAY_CHANGE = "SELECT DISTINCT rolname FROM (" + RoleParity.OWNERS
      + " UNION SELECT pg_get_userbyid(a.grantee) FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee <> 0"
      + "   AND a.privilege_type = 'CREATE' AND " + Catalog.SYSTEM_SCHEMA_FILTER + ") x ORDER BY 1";

  private DdlReplayRoles() {}

  static List<Finding> findings(Connection old, Connection nw) throws SQLException {
    if (!Capabilities.mayCreateEventTriggers(old)) {
      return List.of();
    }
    List<String> roles = Sql.strings(old, MAY_CHANGE);
    List<String> refused = Sql.strings(nw, "SELECT u.r FROM unnest(?::text[]) WITH ORDINALITY u(r, o) WHERE NOT EXISTS (SELECT 1"
        + " FROM pg_roles g WHERE g.rolname = u.r AND pg_has_role(current_user, g.oid, 'MEMBER')) ORDER BY u.o",
        nw.createArrayOf("text", roles.toArray()));
    if (refused.isEmpty()) {
      return List.of();
    }
    String role = Catalog.currentUser(nw);
    String named = String.join(", ", refused);
    return List.of(new Finding(Severity.WARNING, "new", "ddl-replay-role", "schema changes on old are captured and made on new as the"
        + " role that made them, and role " + role + " on new may not become " + named + " (owner(s) of old's application schemas or"
        + " tables, or allowed to create in them): a schema change one of them makes on old stops replication on new (permission"
        + " denied to set role) until it is made there by hand and marked done",
        "on new, " + refused.stream().map(r -> "GRANT " + Sql.ident(r) + " TO " + Sql.ident(role)).collect(Collectors.joining("; "))
            + " (CREATE ROLE first where one is missing); for a superuser, make schema changes on old as another role instead, or"
            + " make them on new by hand and run `cutover-replicator ddl-done`"));
  }
}
