package dev.cutover.replicator.capture;

import dev.cutover.common.Quoting;
import dev.cutover.common.Transactions;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.FirstLine;
import dev.cutover.replicator.LostConnection;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.ApplyToken;
import dev.cutover.replicator.copy.CopyStreams;
import dev.cutover.replicator.copy.TriggersOff;
import dev.cutover.replicator.ddl.SchemaChanges;
import dev.cutover.replicator.schema.CatalogDdl;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.QualifiedNames;
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
import org.postgresql.copy.CopyOut;

/**
 * Brings a table that trigger capture does not carry into replication without a new start: one
 * created on old after start by a role that may not create the event trigger that would have given
 * it capture triggers, and written since (or, the way back, one created on new after the switch).
 * Its rows written before it has capture triggers are in no change log, so capture triggers alone
 * would leave the other side without them.
 *
 * <p>In one transaction on the source, the table is locked against writes ({@code SHARE ROW
 * EXCLUSIVE}: readers go on, writers wait), given its capture triggers, and its rows, all committed
 * ones since no writer is left, are copied into the target, where the table is made if missing and
 * emptied of what it held (nothing replicates into a table the source does not capture). The target
 * commits first, then the source: a write that waited for the lock runs after the source commits,
 * is captured, and its batch is applied after the copy committed, so nothing is missed and nothing
 * arrives twice. If the source's commit fails, the table is still not captured and adopting it again
 * replaces the target's copy. Writers of the table wait for as long as its copy takes: meant for
 * tables created during the window, which are small.
 */
public final class Adopt {
  private static final String LOCK_NOT_AVAILABLE = "55P03";

  /** What adopting one table did: whether it was made on new, how many rows new held and how many it copied. */
  public record Result(TableName table, boolean created, long replaced, long copied) {}

  private Adopt() {}

  /**
   * Adopts {@code table} (as the source names it, e.g. {@code public.late}) from {@code source}
   * into {@code target}, waiting at most {@code lockTimeout} for writers of it on the source; both
   * connections are left in autocommit. Forward, the source is old; the way back, new.
   */
  public static Result table(Connection source, Connection target, Side from, String table, Duration lockTimeout)
      throws SQLException, ReplicatorException {
    String label = from.label();
    if (!Sql.relationExists(source, "cutover.capture_state")) {
      throw new ReplicatorException(Failure.PRECONDITION, label + ": trigger capture is not installed, and adopt brings tables into it",
          from == Side.OLD ? "with logical replication, add the table to the replicator's publication (ALTER PUBLICATION … ADD TABLE)"
              + " and refresh the subscription, as `cutover-replicator status` says" : "`cutover-replicator reverse` arms the way back");
    }
    TableName name = resolve(source, label, table);
    if (Sql.bool(source, "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = ?::regclass AND tgname LIKE '"
        + CaptureSchema.TRIGGER_PATTERN + "')", name.regclass())) {
      throw new ReplicatorException(Failure.PRECONDITION, label + ": " + name + " has capture triggers already",
          "nothing to adopt; where `cutover-replicator status` says they are disabled, it names what to run");
    }
    CaptureSchema.requireCaptureFiresFirst(source, label, List.of(name), "adopting " + name);
    source.setAutoCommit(false);
    target.setAutoCommit(false);
    try {
      lock(source, label, name, lockTimeout);
      Result result = inTransactions(source, target, from, name);
      target.commit();
      source.commit();
      target.setAutoCommit(true);
      source.setAutoCommit(true);
      return result;
    } catch (SQLException | RuntimeException | ReplicatorException e) {
      Transactions.afterRollback(target, true, e);
      Transactions.afterRollback(source, true, e);
      throw e;
    }
  }

  /**
   * Captures, makes, empties and copies, in the open transactions, with the source's table locked. A
   * statement new refuses (a column its table lacks, a foreign key to a row still on its way) is
   * said with what to do, both transactions being rolled back after.
   */
  private static Result inTransactions(Connection source, Connection target, Side from, TableName name)
      throws SQLException, ReplicatorException {
    boolean created = false;
    try {
      Sql.execute(source, "SELECT cutover.capture_table(" + Sql.literal(name.quoted()) + "::regclass)");
      TableInfo info = Catalog.require(source, name, from.label());
      created = !Sql.relationExists(target, name.quoted());
      long replaced = 0;
      // The target's own capture leaves this session out by its token, as it does the apply's.
      ApplyToken.carry(target);
      TriggersOff triggers = TriggersOff.detect(target);
      triggers.session(target);
      if (created) {
        Sql.execute(target, "SET LOCAL " + SchemaChanges.BY_HAND.substring("SET ".length()));
        for (String statement : CatalogDdl.createMissingWithSequences(source, target, name)) {
          Sql.execute(target, statement);
        }
      }
      List<String> disabled = triggers.disable(target, name);
      if (!created) {
        replaced = Sql.withoutReadLimit(target, () -> update(target, "DELETE FROM " + name.quoted()));
      }
      long copied = Sql.answeringWithin(Duration.ZERO, () -> copy(source, target, info), source, target);
      triggers.enable(target, name, disabled);
      return new Result(name, created, replaced, copied);
    } catch (SQLException e) {
      if (LostConnection.is(e)) {
        throw e;
      }
      String first = FirstLine.of(e);
      String to = from.other().label();
      throw new ReplicatorException(Failure.PRECONDITION, "adopting " + name + " failed, and nothing changed on either side: " + first,
          (created ? to + " has no " + name + ", and making it there from " + from.label() + "'s definition failed: make on " + to
              + " what the error names (a type or function " + from.label() + " has, a privilege the role lacks there), then run"
              + " adopt again"
              : "where " + to + "'s " + name + " differs from " + from.label() + "'s, make it the same (`cutover-replicator status` prints"
              + " the statements) or drop it on " + to + " for adopt to make it")
              + "; for a foreign key to a row still on its way, run adopt again once `cutover-replicator catch-up` returns", e);
    }
  }

  /**
   * Refuses, before anything is adopted, a name in {@code tables} that names no table, or one that
   * may mean another than the operator meant ({@link #resolve}).
   */
  public static void requireNames(Connection source, Side from, List<String> tables) throws SQLException, ReplicatorException {
    for (String table : tables) {
      resolve(source, from.label(), table);
    }
  }

  /**
   * The table {@code table} names on the source, with schema, or a refusal naming it. The name is
   * read as SQL reads it ({@code public."Orders"} exactly, {@code public.Orders} folded to
   * public.orders); an unquoted name with upper case whose table has a twin differing only in case,
   * or a name that finds no table but such twins, is refused naming each quoted, as status prints
   * them: before, {@code public.Orders} adopted public.orders, replacing its rows on the target,
   * where the operator had pasted a remedy meant for "Orders".
   */
  private static TableName resolve(Connection source, String label, String table) throws SQLException, ReplicatorException {
    TableName found = null;
    try (PreparedStatement ps = source.prepareStatement("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n"
        + " ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass(?) AND c.relkind = 'r'")) {
      ps.setString(1, table);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          found = new TableName(rs.getString(1), rs.getString(2));
        }
      }
    }
    QualifiedNames.Written written;
    try {
      written = QualifiedNames.one(table);
    } catch (IllegalArgumentException e) {
      written = null;
    }
    if (written != null && (found == null || written.unquotedUpperCase())) {
      List<TableName> twins = new java.util.ArrayList<>(caseTwins(source, written));
      twins.remove(found);
      if (!twins.isEmpty()) {
        String quoted = twins.stream().map(t -> Quoting.shellWord(t.sqlName())).collect(java.util.stream.Collectors.joining(", "));
        throw new ReplicatorException(Failure.PRECONDITION, label + ": " + table + (found == null ? " names no table"
            : ", unquoted, means " + found.sqlName() + " in SQL (upper case folds to lower)") + ", and " + quoted
            + " differ(s) from it only in case", "name each table as `cutover-replicator status` prints it, double-quoted where"
            + " its case matters and in single quotes for the shell: " + quoted + (found == null ? "" : "; " + found.sqlName()
            + " for the lower-case one"));
      }
    }
    if (found == null) {
      throw new ReplicatorException(Failure.PRECONDITION, label + ": no table " + table + " that holds rows",
          "name it as `cutover-replicator status` does, with its schema (public.orders, or 'public.\"Orders\"' where case matters);"
              + " a partitioned table's partitions are adopted one by one");
    }
    return found;
  }

  /** Tables whose schema (when given, else those on the search path) and name equal {@code written}'s but for case. */
  private static List<TableName> caseTwins(Connection source, QualifiedNames.Written written) throws SQLException {
    List<String> parts = written.parts();
    String sql = "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'"
        + " AND lower(c.relname) = lower(?) AND " + (written.qualified() ? "lower(n.nspname) = lower(?)" : "pg_catalog.pg_table_is_visible(c.oid)")
        + " ORDER BY 1, 2";
    List<TableName> out = new java.util.ArrayList<>();
    try (PreparedStatement ps = source.prepareStatement(sql)) {
      ps.setString(1, parts.get(parts.size() - 1));
      if (written.qualified()) {
        ps.setString(2, parts.get(0));
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new TableName(rs.getString(1), rs.getString(2)));
        }
      }
    }
    return out;
  }

  private static void lock(Connection source, String label, TableName name, Duration timeout) throws SQLException, ReplicatorException {
    Sql.execute(source, "SET LOCAL lock_timeout = " + Math.max(1, timeout.toMillis()));
    try {
      // lock_timeout bounds the wait, which may rightly be longer than the read limit.
      Sql.withoutReadLimit(source, () -> {
        Sql.execute(source, "LOCK TABLE " + name.quoted() + " IN SHARE ROW EXCLUSIVE MODE");
        return null;
      });
    } catch (SQLException e) {
      if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
        throw new ReplicatorException(Failure.TIMEOUT, label + ": could not lock " + name + " against writes within " + timeout.toMillis()
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

  /** The source's rows of the table piped into the target's, in COPY's text form; returns how many the target took. */
  private static long copy(Connection source, Connection target, TableInfo info) throws SQLException {
    String columns = info.copiedColumnList();
    if (columns.isEmpty()) {
      long rows = Sql.number(source, "SELECT count(*) FROM ONLY " + info.name().quoted());
      return update(target, "INSERT INTO " + info.name().quoted() + " SELECT FROM generate_series(1, " + rows + ")");
    }
    // Values of the oid alias types (regclass, ...) print as names, schema-qualified with only
    // pg_catalog on the path (until this transaction ends), which the target reads as the same objects whatever its own path.
    Sql.execute(source, "SET LOCAL search_path = pg_catalog");
    CopyOut out = source.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT " + columns + " FROM ONLY " + info.name().quoted()
        + ") TO STDOUT");
    CopyIn in = null;
    try {
      in = target.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY " + info.name().quoted() + " (" + columns + ") FROM STDIN");
      byte[] row;
      while ((row = out.readFromCopy()) != null) {
        in.writeToCopy(row, 0, row.length);
      }
      return in.endCopy();
    } catch (SQLException | RuntimeException e) {
      CopyStreams.cancelAfter(in, e);
      CopyStreams.cancelAfter(out, e);
      throw e;
    }
  }
}
