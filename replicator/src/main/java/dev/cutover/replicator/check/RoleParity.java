package dev.cutover.replicator.check;

import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code check}: roles that own or hold privileges on old's application schemas, tables and
 * sequences but do not exist on new. {@code schema} gives objects of owners it cannot become to the
 * role it connects as, but it cannot copy a GRANT to a role that does not exist: it stops before
 * changing anything and names these roles, as this finding does.
 */
final class RoleParity {
  /** The names of the roles that own old's application schemas and relations (a UNION member, column {@code rolname}). */
  static final String OWNERS = "SELECT pg_get_userbyid(c.relowner) AS rolname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      + "   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND " + Catalog.SYSTEM_SCHEMA_FILTER
      + " UNION SELECT pg_get_userbyid(n.nspowner) FROM pg_namespace n WHERE " + Catalog.SYSTEM_SCHEMA_FILTER;
  private static final String REFERENCED = "SELECT DISTINCT rolname FROM (" + OWNERS
      + " UNION SELECT pg_get_userbyid(a.grantee) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,"
      + "   aclexplode(c.relacl) a WHERE a.grantee <> 0 AND " + Catalog.SYSTEM_SCHEMA_FILTER
      + " UNION SELECT pg_get_userbyid(a.grantee) FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee <> 0 AND "
      + Catalog.SYSTEM_SCHEMA_FILTER + ") r ORDER BY 1";

  private RoleParity() {}

  static List<Finding> check(Connection old, Connection nw) throws SQLException {
    Set<String> onNew = new HashSet<>(Sql.strings(nw, "SELECT rolname FROM pg_roles"));
    List<String> missing = Sql.strings(old, REFERENCED).stream().filter(r -> !onNew.contains(r)).collect(Collectors.toList());
    if (missing.isEmpty()) {
      return List.of();
    }
    return List.of(new Finding(Severity.WARNING, "new", "missing-role", "role(s) " + String.join(", ", missing)
        + " own or hold privileges on application objects on old but do not exist on new: `schema` cannot copy their GRANTs"
        + " (it stops and names them) and gives the objects they own to the role it connects as",
        missing.stream().map(r -> "CREATE ROLE " + Sql.ident(r)).collect(Collectors.joining("; "))
            + " (with LOGIN and a password for roles that log in), or `schema --no-privileges`"));
  }
}
