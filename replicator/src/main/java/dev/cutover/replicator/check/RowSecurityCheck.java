package dev.cutover.replicator.check;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Tables whose row-level security applies to the replicator's role, on either side (policies
 * enabled, and the role neither a superuser nor BYPASSRLS, nor the owner of a table that does not
 * FORCE them). The copy, the apply and verify would each see only the rows the policies show, and
 * verify, seeing the same, would find nothing missing. The replicator's sessions set
 * {@code row_security = off}, so such a query fails rather than filters; this names the tables
 * before anything starts.
 */
public final class RowSecurityCheck {
  private RowSecurityCheck() {}

  /** Fails with {@link Failure#PRIVILEGE} naming every such table and its remedy, before {@code step} changes anything. */
  public static void require(Connection old, Connection nw, String step) throws SQLException, ReplicatorException {
    List<Finding> found = findings(old, nw);
    if (!found.isEmpty()) {
      throw new ReplicatorException(Failure.PRIVILEGE, found.stream().map(f -> f.side() + ": " + f.message())
          .collect(Collectors.joining("; ")) + " (" + step + " changed nothing)",
          found.stream().map(Finding::remedy).distinct().collect(Collectors.joining("; ")));
    }
  }

  static List<Finding> findings(Connection old, Connection nw) throws SQLException {
    List<Finding> out = new ArrayList<>();
    for (Object[] side : new Object[][] {{old, "old"}, {nw, "new"}}) {
      Connection c = (Connection) side[0];
      String role = Catalog.currentUser(c);
      for (String[] row : Sql.rows(c, "SELECT n.nspname, c.relname, c.relforcerowsecurity AND pg_has_role(c.relowner, 'USAGE')"
          + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity"
          + " AND row_security_active(c.oid) AND " + Catalog.SYSTEM_SCHEMA_FILTER + " ORDER BY 1, 2")) {
        TableName t = new TableName(row[0], row[1]);
        String unforce = "t".equals(row[2]) ? ", or as its owner ALTER TABLE " + t.quoted() + " NO FORCE ROW LEVEL SECURITY until the"
            + " migration is over" : "";
        out.add(new Finding(Severity.ERROR, (String) side[1], "row-level-security", "table " + t + " has row-level security that"
            + " applies to role " + role + ": the copy, the apply and verify would see only the rows its policies show, and verify"
            + " would miss the others", "connect as a role that bypasses it (as a superuser: ALTER ROLE " + Sql.ident(role)
            + " BYPASSRLS)" + unforce));
      }
    }
    return out;
  }
}
