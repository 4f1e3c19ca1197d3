package dev.cutover.replicator.copy;

import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * How writes into a target (the initial copy, the trigger-capture apply) keep the tables' own
 * triggers from firing: an application's audit trigger would write a second row for a row that
 * arrives anyway, the fence would refuse writes into a fenced side, and capture triggers there
 * would send the change straight back.
 *
 * <p>Design notes. {@link #REPLICA_ROLE} is what PostgreSQL's own apply does. A role that owns
 * the tables but may not set {@code session_replication_role} (no superuser, and before 15 there
 * is no {@code GRANT SET ON PARAMETER}) gets {@link #IN_TRANSACTION}: inside the writing
 * transaction, each table's enabled ordinary triggers (and, for the apply, rules) are disabled by name
 * ({@code ALTER TABLE ... DISABLE TRIGGER}, which an owner may do) and enabled again before
 * commit. DDL is transactional, so no other session ever sees them disabled, and a crash or a
 * rollback leaves them as they were. Triggers set {@code ENABLE ALWAYS} (the DDL capture's) keep
 * firing in both modes, as under replication; {@code ENABLE REPLICA} ones fire under
 * {@link #REPLICA_ROLE} only, except in the apply, whose {@code TriggerSwitch} sets them
 * {@code ENABLE ALWAYS} for each batch. Foreign keys are
 * internal triggers that only a superuser may disable, so with {@link #IN_TRANSACTION} they stay
 * checked: the copy sets them aside and adds them back afterwards, and the apply relies on
 * changes arriving in an order they accept (see docs/design-decisions.md). The ALTER TABLE
 * holds SHARE ROW EXCLUSIVE on the table until commit, so two such writers of one table take
 * turns.
 */
public enum TriggersOff {
  /** {@code session_replication_role = replica} for the whole session. */
  REPLICA_ROLE,
  /** Ordinary triggers disabled inside each writing transaction, by a table owner. */
  IN_TRANSACTION;

  private static final String PERMISSION_DENIED = "42501";

  /**
   * The mode this connection's role can have: {@link #REPLICA_ROLE} when it may set
   * {@code session_replication_role} (tried, then reset), else {@link #IN_TRANSACTION}.
   */
  public static TriggersOff detect(Connection target) throws SQLException {
    try {
      Sql.execute(target, "SET session_replication_role = replica");
      Sql.execute(target, "RESET session_replication_role");
      return REPLICA_ROLE;
    } catch (SQLException e) {
      if (PERMISSION_DENIED.equals(e.getSQLState())) {
        if (!target.getAutoCommit()) {
          target.rollback();
        }
        return IN_TRANSACTION;
      }
      throw e;
    }
  }

  /** Prepares a writing session. */
  public void session(Connection c) throws SQLException {
    if (this == REPLICA_ROLE) {
      Sql.execute(c, "SET session_replication_role = replica");
    }
  }

  /**
   * Inside a writing transaction, before its first write to {@code table}: disables the triggers
   * that would fire for it, and returns their names, to {@link #enable} before commit.
   */
  public List<String> disable(Connection c, TableName table) throws SQLException {
    List<String> names = firing(c, table);
    if (!names.isEmpty()) {
      Sql.execute(c, alter(table, names, false));
    }
    return names;
  }

  /** Enables again, in the same transaction, what {@link #disable} disabled. */
  public void enable(Connection c, TableName table, List<String> names) throws SQLException {
    if (!names.isEmpty()) {
      Sql.execute(c, alter(table, names, true));
    }
  }

  /** The triggers of {@code table} that this mode must turn off: none under the replica role, else the enabled ordinary ones. */
  public List<String> firing(Connection c, TableName table) throws SQLException {
    if (this == REPLICA_ROLE) {
      return List.of();
    }
    return Sql.strings(c, "SELECT tgname FROM pg_trigger WHERE tgrelid = ?::regclass AND NOT tgisinternal"
        + " AND tgenabled = 'O' ORDER BY 1", table.regclass());
  }

  /** {@code ALTER TABLE ... DISABLE TRIGGER a, DISABLE TRIGGER b} (or ENABLE); {@code names} must not be empty. */
  public static String alter(TableName table, List<String> names, boolean enable) {
    String verb = enable ? "ENABLE TRIGGER " : "DISABLE TRIGGER ";
    return "ALTER TABLE " + table.quoted() + " " + String.join(", ", names.stream().map(n -> verb + Sql.ident(n)).toList());
  }
}
