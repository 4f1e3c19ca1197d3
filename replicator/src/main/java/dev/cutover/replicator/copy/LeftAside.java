package dev.cutover.replicator.copy;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.common.Transactions;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a start that did not finish left set aside on new, put back from its record
 * ({@link StartState}): its own definitions of the indexes, constraints and foreign keys it
 * dropped before the copy. A start killed mid-copy, or whose undo could not reach new, leaves new
 * without them; {@code cleanup} removes the control schema that holds the record, and the next
 * {@code start} plans from new's catalog, so without this new would keep tables without their
 * keys for good, unnoticed.
 *
 * <p>What belonged to a table dropped since is gone with it. A foreign key the rows copied so far
 * do not satisfy (its referenced table was not copied yet) cannot be added back; it stays recorded,
 * named as {@link Result#unsatisfied}, until new's tables are emptied.
 */
public final class LeftAside {
  private static final String INTEGRITY_VIOLATION_CLASS = "23";
  private static final String UNDEFINED_TABLE = "42P01";

  /**
   * @param restored what was put back, e.g. {@code index public.t1_pkey}
   * @param unsatisfied foreign keys the rows on new do not satisfy, e.g. {@code public.t1.t1_t4}, still recorded
   */
  public record Result(List<String> restored, List<String> unsatisfied) {}

  private LeftAside() {}

  /**
   * Puts back on {@code nw} whatever is recorded as set aside and missing: indexes first (a foreign
   * key needs the key it references), each foreign key in a transaction of its own. Forgets the
   * record unless a foreign key could not be added.
   */
  public static Result putBack(Connection nw) throws SQLException {
    return asRecorder(nw, () -> putBackHere(nw));
  }

  private static Result putBackHere(Connection nw) throws SQLException {
    IndexSetAside aside = StartState.aside(nw);
    List<ForeignKeySetAside.Key> keys = StartState.keys(nw);
    List<String> restored = new ArrayList<>();
    List<String> unsatisfied = new ArrayList<>();
    for (IndexSetAside.Definition d : aside.restore(nw)) {
      restored.add((d.constraint() ? "constraint " : "index ") + new TableName(d.table().schema(), d.name()));
    }
    Sql.withCatalogPath(nw, () -> {
      for (ForeignKeySetAside.Key k : keys) {
        try {
          if (inTransaction(nw, () -> ForeignKeySetAside.addIfMissing(nw, k))) {
            restored.add("foreign key " + k.name() + " on " + k.table());
          }
        } catch (SQLException e) {
          if (UNDEFINED_TABLE.equals(e.getSQLState())) {
            continue; // its table, or the one it references, was dropped since: nothing to put back
          }
          if (e.getSQLState() == null || !e.getSQLState().startsWith(INTEGRITY_VIOLATION_CLASS)) {
            throw e;
          }
          unsatisfied.add(k.name() + " on " + k.table());
        }
      }
      return null;
    });
    if (unsatisfied.isEmpty()) {
      StartState.forgetAside(nw);
    }
    return new Result(List.copyOf(restored), List.copyOf(unsatisfied));
  }

  /**
   * Runs {@code work} as the role that wrote the record (the owner of its tables), whose statements
   * it runs: a superuser's cleanup must not run SQL that a role with less written there, with a
   * superuser's rights. That role owned the tables it set aside, so it may build them again.
   */
  private static <T> T asRecorder(Connection nw, Transactions.Work<T> work) throws SQLException {
    Optional<String> recorder = StartState.recordedByAnother(nw);
    if (recorder.isEmpty()) {
      return work.run();
    }
    try {
      Sql.execute(nw, "SET ROLE " + Sql.ident(recorder.get()));
    } catch (SQLException e) {
      String user = Sql.string(nw, "SELECT current_user");
      throw new SQLException("new: what an interrupted start set aside is recorded by role " + recorder.get() + ", as which role "
          + user + " may not act: run this as " + recorder.get() + ", or GRANT " + Sql.ident(recorder.get()) + " TO "
          + Sql.ident(user), e.getSQLState(), e);
    }
    try {
      return work.run();
    } finally {
      if (!nw.isClosed()) {
        Sql.execute(nw, "RESET ROLE");
      }
    }
  }

  /**
   * For a start whose preconditions found new's tables empty: puts back what an earlier one left
   * set aside, before it plans from new's catalog (and forgets that record).
   *
   * @return a warning naming what was put back, if anything was
   */
  public static Optional<String> beforeStart(Connection nw) throws SQLException, ReplicatorException {
    Result r = putBack(nw);
    if (!r.unsatisfied().isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, "new: foreign key(s) " + String.join(", ", r.unsatisfied())
          + " that an interrupted start set aside do not hold for new's rows", "empty new's tables, then start again");
    }
    return r.restored().isEmpty() ? Optional.empty() : Optional.of("put back on new what an interrupted start had set aside: "
        + String.join(", ", r.restored()));
  }
}
