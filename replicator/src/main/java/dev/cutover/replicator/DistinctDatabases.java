package dev.cutover.replicator;

import dev.cutover.driver.control.SameDatabase;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * Refuses a pair whose old and new are one database (a copied URL, a host name not moved yet), before
 * a command acts on it: start and reverse would capture it and apply it into itself, catch-up and
 * verify would report it caught up and equal to itself, and schema would blame new for holding old's
 * tables.
 */
public final class DistinctDatabases {
  private DistinctDatabases() {}

  /** Throws unless {@code old} and {@code nw} are in two databases ({@link SameDatabase}). */
  public static void require(Connection old, Connection nw) throws SQLException, ReplicatorException {
    if (SameDatabase.of(old, nw)) {
      throw new ReplicatorException(Failure.PRECONDITION, "old and new are one and the same database: --old-url and --new-url reach"
          + " the same database of one server (a lock taken on old was refused on new)", "point --new-url at the new database");
    }
  }
}
