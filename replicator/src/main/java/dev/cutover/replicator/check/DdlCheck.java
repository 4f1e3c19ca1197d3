package dev.cutover.replicator.check;

import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.sql.Catalog;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Whether schema changes made on old during the window can be captured and carried to new. */
final class DdlCheck {
  private DdlCheck() {}

  static List<Finding> findings(Connection old) throws SQLException {
    List<Finding> out = new ArrayList<>();
    if (Capabilities.mayCreateEventTriggers(old)) {
      out.add(new Finding(Severity.INFO, "old", "ddl-capture", "schema changes on old during the migration (CREATE, ALTER, DROP, ...)"
          + " are captured and made on new at the same point of the change stream", ""));
    } else {
      String user = Catalog.currentUser(old);
      out.add(new Finding(Severity.WARNING, "old", "ddl-capture", "role " + user + " cannot create event triggers, so schema changes on"
          + " old during the migration are not captured: the first row written after one stops replication until the same change"
          + " is made on new (`cutover-replicator status` compares both schemas and prints the statements to run)",
          "connect to old as a superuser (RDS: a member of rds_superuser) for start, or make every schema change on both sides"));
    }
    return out;
  }
}
