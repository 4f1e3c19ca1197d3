package dev.cutover.replicator.check;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

  /** The direction whose subscription applies on new. */
  public static final String FORWARD = "the subscription old -> new";
  /** The direction whose subscription applies on old. */
  public static final String WAY_BACK = "the way back (reverse)";

  /**
   * What stands in the way of a subscription that applies on {@code c}, side {@code side}
   * ({@code old} or {@code new}), for {@code direction} ({@link #FORWARD}, {@link #WAY_BACK});
   * {@code severity} as the caller weighs that direction.
   */
  static List<Finding> findings(Connection c, String side, Severity severity, String direction) throws SQLException {
    Map<String, String[]> values = new HashMap<>();
    for (String[] row : Sql.rows(c, "SELECT name, reset_val, reset_val || coalesce(unit, ''), current_user, current_database()"
        + " FROM pg_settings WHERE name = ANY (?)", (Object) RISKS.stream().map(Risk::setting).toArray(String[]::new))) {
      values.put(row[0], row);
    }
    List<Finding> out = new ArrayList<>();
    for (Risk risk : RISKS) {
      String[] row = values.get(risk.setting());
      if (row == null || row[1].equals(risk.good())) {
        continue;
      }
      String role = row[3];
      String db = row[4];
      out.add(new Finding(severity, side, risk.code(), risk.setting() + " is " + row[2] + " for role " + role + " in database " + db
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
