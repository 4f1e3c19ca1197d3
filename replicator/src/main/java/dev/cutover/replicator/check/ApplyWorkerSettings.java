package dev.cutover.replicator.check;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * The settings a subscription's apply worker takes from its database and role, where the
 * replicator's own sessions override them but the worker, which PostgreSQL starts, cannot be told
 * otherwise. With {@code array_nulls = off} the worker reads an array's unquoted {@code NULL}
 * element, as pgoutput prints it, as the text NULL: a {@code text[]} arrives changed without a
 * word, an {@code int[]} stops the apply. Read from {@code pg_settings.reset_val}, what a session of
 * the replicator's role (the subscription's owner, as whom the worker runs) starts with.
 */
public final class ApplyWorkerSettings {
  private ApplyWorkerSettings() {}

  /**
   * What stands in the way of a subscription that applies on {@code c}, side {@code side}
   * ({@code old} or {@code new}); {@code severity} as the caller weighs that direction.
   */
  static Optional<Finding> finding(Connection c, String side, Severity severity, String direction) throws SQLException {
    if (!"off".equals(Sql.string(c, "SELECT reset_val FROM pg_settings WHERE name = 'array_nulls'"))) {
      return Optional.empty();
    }
    String role = Catalog.currentUser(c);
    String db = Sql.string(c, "SELECT current_database()");
    return Optional.of(new Finding(severity, side, "array-nulls", "array_nulls is off for role " + role + " in database " + db
        + ": the apply worker of " + direction + " would read an array's NULL element as the text NULL (text[] values changed"
        + " without a word, other arrays stopping the apply)",
        "ALTER ROLE " + Sql.ident(role) + " IN DATABASE " + Sql.ident(db) + " SET array_nulls = on (as that role; it changes"
            + " only the replicator's sessions, the application keeps its setting), or ALTER DATABASE " + Sql.ident(db)
            + " RESET array_nulls"));
  }

  /** Fails with {@link Failure#PRECONDITION} naming the setting and its remedy, before {@code step} changes anything. */
  public static void require(Connection c, String side, String direction, String step) throws SQLException, ReplicatorException {
    Optional<Finding> f = finding(c, side, Severity.ERROR, direction);
    if (f.isPresent()) {
      throw new ReplicatorException(Failure.PRECONDITION, side + ": " + f.get().message() + " (" + step + " changed nothing)",
          f.get().remedy());
    }
  }
}
