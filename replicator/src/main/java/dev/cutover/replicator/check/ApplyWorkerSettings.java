package dev.cutover.replicator.check;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The settings a subscription's apply worker takes from its database and role, where the
 * replicator's own sessions override them but the worker, which PostgreSQL starts, cannot be told
 * otherwise. Read from {@code pg_settings.reset_val}: what a session of the replicator's role (the
 * subscription's owner, as whom the worker runs) starts with.
 */
public final class ApplyWorkerSettings {
  private ApplyWorkerSettings() {}

  /** A setting whose every value but {@code good} changes or stops what the worker applies. */
  private record Risk(String setting, String good, String code, String effect) {}

  private static final List<Risk> RISKS = List.of(
      new Risk("array_nulls", "on", "array-nulls", "read an array's NULL element, as pgoutput prints it, as the text NULL"
          + " (text[] values changed without a word, other arrays stopping the apply)"),
      new Risk("xmloption", "content", "xmloption", "refuse an xml value that is a fragment rather than a whole document, and stop"
          + " the apply there"),
      // 17+. statement_timeout does not reach the worker (ReplicationFlowTest), this does.
      new Risk("transaction_timeout", "0", "transaction-timeout", "cancel every transaction of old's that takes longer to apply,"
          + " at every retry, and stop the apply there"));

  /**
   * What stands in the way of a subscription that applies on {@code c}, side {@code side}
   * ({@code old} or {@code new}); {@code severity} as the caller weighs that direction.
   */
  static List<Finding> findings(Connection c, String side, Severity severity, String direction) throws SQLException {
    List<Finding> out = new ArrayList<>();
    String role = null;
    String db = null;
    for (Risk risk : RISKS) {
      String value = Sql.string(c, "SELECT reset_val FROM pg_settings WHERE name = ?", risk.setting());
      if (value == null || value.equals(risk.good())) {
        continue;
      }
      role = role == null ? Catalog.currentUser(c) : role;
      db = db == null ? Sql.string(c, "SELECT current_database()") : db;
      String shown = Sql.string(c, "SELECT reset_val || coalesce(unit, '') FROM pg_settings WHERE name = ?", risk.setting());
      out.add(new Finding(severity, side, risk.code(), risk.setting() + " is " + shown + " for role " + role + " in database " + db
          + ": the apply worker of " + direction + " would " + risk.effect(),
          "ALTER ROLE " + Sql.ident(role) + " IN DATABASE " + Sql.ident(db) + " SET " + risk.setting() + " = " + risk.good()
              + " (as that role; it changes only the replicator's sessions, the application keeps its setting), or ALTER DATABASE "
              + Sql.ident(db) + " RESET " + risk.setting()));
    }
    return out;
  }

  /** Fails with {@link Failure#PRECONDITION} naming each such setting and its remedy, before {@code step} changes anything. */
  public static void require(Connection c, String side, String direction, String step) throws SQLException, ReplicatorException {
    List<Finding> found = findings(c, side, Severity.ERROR, direction);
    if (!found.isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, found.stream().map(f -> side + ": " + f.message())
          .collect(Collectors.joining("; ")) + " (" + step + " changed nothing)",
          found.stream().map(Finding::remedy).collect(Collectors.joining("; ")));
    }
  }
}
