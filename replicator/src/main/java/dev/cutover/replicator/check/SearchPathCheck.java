package dev.cutover.replicator.check;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Schemas the replicator's sessions left out of their search path on either side, since roles that
 * are neither superusers nor members of the replicator's role may create objects there: a function
 * or operator planted there with argument types that match more exactly than a built-in's would
 * run with the replicator's role ({@link Endpoint#LEFT_OUT}). Said, since application code that
 * runs in those sessions (an ENABLE ALWAYS trigger on the target, a function in a constraint or a
 * default) no longer finds its unqualified names there.
 */
final class SearchPathCheck {
  private SearchPathCheck() {}

  static List<Finding> findings(Connection old, Connection nw) throws SQLException {
    List<Finding> out = new ArrayList<>();
    for (Object[] side : new Object[][] {{old, "old"}, {nw, "new"}}) {
      Connection c = (Connection) side[0];
      String leftOut = Sql.string(c, "SELECT current_setting('" + Endpoint.LEFT_OUT + "', true)");
      if (leftOut == null || leftOut.isEmpty()) {
        continue;
      }
      String role = Catalog.currentUser(c);
      out.add(new Finding(Severity.WARNING, (String) side[1], "search-path-left-out", "the replicator's sessions leave " + leftOut
          + " out of their search_path, since roles that are neither superusers nor members of " + role + " may create objects"
          + " there, which could otherwise run as " + role + "; application code that runs in the replicator's sessions (an ENABLE"
          + " ALWAYS trigger, a function in a constraint or a default) must name what it uses there with its schema",
          "to keep it in the path, let only trusted roles create there: REVOKE CREATE ON SCHEMA " + leftOut + " FROM PUBLIC"
          + " (PostgreSQL 15's default for public), and from other such roles"));
    }
    return out;
  }
}
