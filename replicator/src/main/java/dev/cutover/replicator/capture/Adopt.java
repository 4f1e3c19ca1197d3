package dev.cutover.replicator.capture;

import dev.cutover.common.Transactions;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.LostConnection;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.apply.ApplyToken;
import dev.cutover.replicator.copy.TriggersOff;
import dev.cutover.replicator.ddl.SchemaChanges;
import dev.cutover.replicator.schema.CatalogDdl;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOperation;
import org.postgresql.copy.CopyOut;

/**
 * Brings a table of old's that trigger capture does not carry into replication without a new
 * start: one created on old after start by a role that may not create the event trigger that would
 * have given it capture triggers, and written since. Its rows written before it has capture
 * triggers are in no change log, so capture triggers alone would leave new without them.
 *
 * <p>In one transaction on old, the table is locked against writes ({@code SHARE ROW EXCLUSIVE}:
 * readers go on, writers wait), given its capture triggers, and its rows, all committed ones since
 * no writer is left, are copied into new, where the table is made if missing and emptied of what
 * it held (nothing replicates into a table old does not capture). New commits first, then old: a
 * write that waited for the lock runs after old commits, is captured, and its batch is applied
 * after the copy committed, so nothing is missed and nothing arrives twice. If old's commit fails,
 * the table is still not captured and adopting it again replaces new's copy. Writers of the table
 * wait for as long as its copy takes: meant for tables created during the window, which are small.
 */
public final class Adopt {
  private static final String LOCK_NOT_AVAILABLE = "55P03";

  /** What adopting one table did: whether it was made on new, how many rows new held and how many it copied. */
  public record Result(TableName table, boolean created, long replaced, long copied) {}

  private Adopt() {}

  /**
   * Adopts {@code table} (as old names it, e.g. {@code public.late}), waiting at most {@code
   * lockTimeout} for writers of it on old; both connections are left in autocommit.
   */
  public static Result table(Connection old, Connection nw, String table, Duration lockTimeout) throws SQLException, ReplicatorException {
    if (!Sql.relationExists(old, "cutover.capture_state")) {
      throw new ReplicatorException(Failure.PRECONDITION, "old: trigger capture is not installed, and adopt brings tables into it",
          "with logical replication, add the table to the replicator's publication (ALTER PUBLICATION … ADD TABLE) and refresh the"
              + " subscription, as `cutover-replicator status` says");
    }
    TableName name = resolve(old, table);
    if (Sql.bool(old, "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = ?::regclass AND tgname LIKE 'cutover\\_capture%')",
        name.regclass())) {
      throw new ReplicatorException(Failure.PRECONDITION, "old: " + name + " has capture triggers already",
          "nothing to adopt; where `cutover-replicator status` says they are disabled, it names what to run");
    }
    old.setAutoCommit(false);
    nw.setAutoCommit(false);
    try {
      lock(old, name, lockTimeout);
      Result result = inTransactions(old, nw, name);
      nw.commit();
      old.commit();
      nw.setAutoCommit(true);
      old.setAutoCommit(true);
      return result;
    } catch (SQLException | RuntimeException | ReplicatorException e) {
      Transactions.afterRollback(nw, true, e);
      Transactions.afterRollback(old, true, e);
      throw e;
    }
  }

  /**
   * Captures, makes, empties and copies, in the open transactions, with old's table locked. A
   * statement new refuses (a column its table lacks, a foreign key to a row still on its way) is
   * said with what to do, both transactions being rolled back after.
   */
  private static Result inTransactions(Connection old, Connection nw, TableName name) throws SQLException, ReplicatorException {
    try {
      Sql.execute(old, "SELECT cutover.capture_table(" + Sql.literal(name.quoted()) + "::regclass)");
      TableInfo info = Catalog.require(old, name, "old");
      boolean created = !Sql.relationExists(nw, name.quoted());
      long replaced = 0;
      // The target's capture (the way back) leaves this session out by its token, as it does the apply's.
      ApplyToken.carry(nw);
      TriggersOff triggers = TriggersOff.detect(nw);
      triggers.session(nw);
      if (created) {
        Sql.execute(nw, "SET LOCAL " + SchemaChanges.BY_HAND.substring("SET ".length()));
        for (String statement : CatalogDdl.createMissing(old, nw, name)) {
          Sql.execute(nw, statement);
        }
      }
      List<String> disabled = triggers.disable(nw, name);
      if (!created) {
        replaced = Sql.withoutReadLimit(nw, () -> update(nw, "DELETE FROM " + name.quoted()));
      }
      long copied = Sql.answeringWithin(Duration.ZERO, () -> copy(old, nw, info), old, nw);
      triggers.enable(nw, name, disabled);
      return new Result(name, created, replaced, copied);
    } catch (SQLException e) {
      if (LostConnection.is(e)) {
        throw e;
      }
      String first = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
      throw new ReplicatorException(Failure.PRECONDITION, "adopting " + name + " failed, and nothing changed on either side: " + first,
          "where new's " + name + " differs from old's, make it the same (`cutover-replicator status` prints the statements) or drop it"
              + " on new for adopt to make it; for a foreign key to a row still on its way, run adopt again once `cutover-replicator"
              + " catch-up` returns", e);
    }
  }

  /** The table {@code table} names on old, with schema, or a refusal naming it. */
  private static TableName resolve(Connection old, String table) throws SQLException, ReplicatorException {
    try (PreparedStatement ps = old.prepareStatement("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n"
        + " ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass(?) AND c.relkind = 'r'")) {
      ps.setString(1, table);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new ReplicatorException(Failure.PRECONDITION, "old: no table " + table + " that holds rows",
              "name it as `cutover-replicator status` does, with its schema (public.orders); a partitioned table's partitions are"
                  + " adopted one by one");
        }
        return new TableName(rs.getString(1), rs.getString(2));
      }
    }
  }

  private static void lock(Connection old, TableName name, Duration timeout) throws SQLException, ReplicatorException {
    Sql.execute(old, "SET LOCAL lock_timeout = " + Math.max(1, timeout.toMillis()));
    try {
      // lock_timeout bounds the wait, which may rightly be longer than the read limit.
      Sql.withoutReadLimit(old, () -> {
        Sql.execute(old, "LOCK TABLE " + name.quoted() + " IN SHARE ROW EXCLUSIVE MODE");
        return null;
      });
    } catch (SQLException e) {
      if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
        throw new ReplicatorException(Failure.TIMEOUT, "old: could not lock " + name + " against writes within " + timeout.toMillis()
            + " ms to adopt it: transactions writing it held it", "try again when they are done, or give a longer --lock-timeout", e);
      }
      throw e;
    }
  }

  private static long update(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      return s.executeUpdate(sql);
    }
  }

  /** Old's rows of the table piped into new's, in COPY's text form; returns how many new took. */
  private static long copy(Connection old, Connection nw, TableInfo info) throws SQLException {
    String columns = info.copiedColumnList();
    if (columns.isEmpty()) {
      long rows = Sql.number(old, "SELECT count(*) FROM ONLY " + info.name().quoted());
      return update(nw, "INSERT INTO " + info.name().quoted() + " SELECT FROM generate_series(1, " + rows + ")");
    }
    CopyOut out = old.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT " + columns + " FROM ONLY " + info.name().quoted()
        + ") TO STDOUT");
    CopyIn in = null;
    try {
      in = nw.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY " + info.name().quoted() + " (" + columns + ") FROM STDIN");
      byte[] row;
      while ((row = out.readFromCopy()) != null) {
        in.writeToCopy(row, 0, row.length);
      }
      return in.endCopy();
    } catch (SQLException | RuntimeException e) {
      for (CopyOperation going : new CopyOperation[] {in, out}) {
        try {
          if (going != null && going.isActive()) {
            going.cancelCopy();
          }
        } catch (SQLException refused) {
          e.addSuppressed(refused); // a lost connection refuses; the copy's own failure is the one to report
        }
      }
      throw e;
    }
  }
}
