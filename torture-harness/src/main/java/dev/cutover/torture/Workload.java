package dev.cutover.torture;

import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import javax.sql.DataSource;

/**
 * The transactions of one application instance, each journalled: operations recorded in the ledger
 * in four shapes (a transfer between accounts, an autocommit insert, a JDBC batch read back inside
 * its transaction, {@code BEGIN}/{@code COMMIT} sent as SQL), the straggler and the long cursor the
 * nemesis asks for, and the reads that check what only the instance can see: I3 (every statement of
 * a transaction ran in the same backend and transaction on the same side), I4 (each acknowledged
 * operation read back in the next transaction) and the conserved total.
 *
 * <p>Thread-safe: the instance's workers share it; each call borrows its own connections.
 */
final class Workload {

  /** Shapes of write transactions, as they appear in the ledger's {@code kind}. */
  enum Kind { TRANSFER, NOTE, BATCH, SQL, STRAGGLER, EXTERNAL }

  private final String instance;
  private final DataSource pool;
  private final Journal journal;
  private final Supplier<String> lastSwitch;
  private final AtomicLong ops = new AtomicLong(1);
  private final java.util.concurrent.atomic.AtomicBoolean carriedSettingSeen = new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * @param lastSwitch the instance's latest switch event ("id:COMPLETED", "id:ABORTED", "none"),
   *     journalled with each failure
   */
  Workload(String instance, DataSource pool, Journal journal, Supplier<String> lastSwitch) {
    this.instance = instance;
    this.pool = pool;
    this.journal = journal;
    this.lastSwitch = lastSwitch;
  }

  /** Where a statement ran: side, backend, transaction; and the session's {@code torture.side}, which need not agree. */
  private record Where(String side, int pid, long xid, String setting) {
    /** Equal for I3: the same side, backend and transaction. */
    boolean samePlace(Where o) {
      return side.equals(o.side) && pid == o.pid && xid == o.xid;
    }
  }

  /** A ledger row as the statement that wrote it returned it. */
  private record Recorded(long op, String kind, long id, long tick, long ticket, String origin, Where where) {}

  void write(SplittableRandom r) {
    int dice = r.nextInt(100);
    if (dice < 40) {
      transfer(r);
    } else if (dice < 65) {
      note();
    } else if (dice < 80) {
      batch();
    } else {
      sqlBoundaries();
    }
  }

  private void transfer(SplittableRandom r) {
    int a = 1 + r.nextInt(TortureSchema.ACCOUNTS);
    int b = 1 + (a + r.nextInt(TortureSchema.ACCOUNTS - 1)) % TortureSchema.ACCOUNTS;
    long amount = 1 + r.nextInt(1000);
    long op = ops.getAndIncrement();
    transaction(Kind.TRANSFER, op, 1, c -> {
      // Lower account first, so that two transfers never wait for each other in a cycle.
      Where w1 = move(c, a < b ? -amount : amount, Math.min(a, b));
      Where w2 = move(c, a < b ? amount : -amount, Math.max(a, b));
      Recorded rec = record(c, op, Kind.TRANSFER, a, b, amount);
      sameTransaction(Kind.TRANSFER, op, w1, w2, rec.where());
      return List.of(rec);
    });
  }

  /** The statements of one explicit transaction; returns the rows it recorded, acknowledged once it commits. */
  @FunctionalInterface
  private interface Statements {
    List<Recorded> run(Connection c) throws SQLException;
  }

  /**
   * Runs {@code statements} in one transaction ({@code setAutoCommit(false)}, {@code commit()}),
   * journals the failure with where it stood (before commit nothing can have committed), and
   * acknowledges the rows after the commit returned.
   */
  private void transaction(Kind kind, long firstOp, int count, Statements statements) {
    String last = lastSwitch.get();
    Journal.Phase phase = Journal.Phase.BEFORE_COMMIT;
    List<Recorded> committed = null;
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        List<Recorded> rows = statements.run(c);
        phase = Journal.Phase.AT_COMMIT;
        c.commit();
        committed = rows;
      } catch (SQLException e) {
        failed(firstOp, count, kind, e, phase, last);
        rollbackQuietly(c);
      }
    } catch (SQLException e) {
      failed(firstOp, count, kind, e, phase, last);
    }
    acknowledged(committed);
  }

  /** Autocommit: the statement is the commit. */
  private void note() {
    long op = ops.getAndIncrement();
    String last = lastSwitch.get();
    List<Recorded> committed = null;
    try (Connection c = pool.getConnection()) {
      committed = List.of(record(c, op, Kind.NOTE, null, null, 0));
    } catch (SQLException e) {
      failed(op, 1, Kind.NOTE, e, Journal.Phase.AT_COMMIT, last);
    }
    acknowledged(committed);
  }

  /** Three operations in one JDBC batch, read back inside the transaction. */
  private void batch() {
    long first = ops.getAndAdd(3);
    transaction(Kind.BATCH, first, 3, c -> {
      Where before = whereAmI(c);
      try (PreparedStatement ps = c.prepareStatement(TortureSchema.RECORD_QUIETLY)) {
        for (long op = first; op < first + 3; op++) {
          bindRecord(ps, op, Kind.BATCH, null, null, 0);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      Map<Long, Recorded> rows = ownRows(c, new long[] {first, first + 1, first + 2}, whereAmI(c));
      sameTransaction(Kind.BATCH, first, before, rows.isEmpty() ? before : rows.values().iterator().next().where());
      if (rows.size() != 3) {
        journal.violation("I4", "batch ops " + first + ".." + (first + 2) + " not all visible in their own transaction: "
            + rows.keySet());
      }
      return new ArrayList<>(rows.values());
    });
  }

  /** Transaction boundaries sent as SQL text: the driver must see them from the server's state. */
  private void sqlBoundaries() {
    long first = ops.getAndAdd(2);
    String last = lastSwitch.get();
    Journal.Phase phase = Journal.Phase.BEFORE_COMMIT;
    List<Recorded> committed = null;
    try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
      try {
        s.execute("BEGIN");
        List<Recorded> rows = new ArrayList<>();
        for (long op = first; op < first + 2; op++) {
          try (ResultSet rs = s.executeQuery(TortureSchema.RECORD.replaceFirst("\\?", Matcher.quoteReplacement(Sql.literal(instance)))
              .replaceFirst("\\?", Long.toString(op)).replaceFirst("\\?", Sql.literal(Kind.SQL.name()))
              .replaceFirst("\\?", "NULL").replaceFirst("\\?", "NULL").replaceFirst("\\?", "0"))) {
            rows.add(recorded(rs, op, Kind.SQL));
          }
        }
        sameTransaction(Kind.SQL, first, rows.get(0).where(), rows.get(1).where());
        phase = Journal.Phase.AT_COMMIT;
        s.execute("COMMIT");
        committed = rows;
      } catch (SQLException e) {
        failed(first, 2, Kind.SQL, e, phase, last);
        try {
          s.execute("ROLLBACK");
        } catch (SQLException ignored) {
          // the connection is broken or the transaction gone; the pool sorts it out
        }
      }
    } catch (SQLException e) {
      failed(first, 2, Kind.SQL, e, phase, last);
    }
    acknowledged(committed);
  }

  /** A transaction held open for {@code millis} after its first write: a straggler for the drain. */
  void straggler(long millis) {
    long op = ops.getAndIncrement();
    transaction(Kind.STRAGGLER, op, 1, c -> {
      Where w1;
      try (PreparedStatement ps = c.prepareStatement(TortureSchema.HOLD)) {
        ps.setString(1, instance);
        ps.setLong(2, op);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          w1 = where(rs, 1);
        }
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(millis)); // the straggler's own work, by design
      Recorded rec = record(c, op, Kind.STRAGGLER, null, null, 0);
      sameTransaction(Kind.STRAGGLER, op, w1, rec.where());
      return List.of(rec);
    });
  }

  /** A read-only transaction that keeps a cursor open for {@code millis}, fetching slowly. */
  void cursor(long millis) {
    String last = lastSwitch.get();
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM ledger ORDER BY id")) {
        ps.setFetchSize(20);
        try (ResultSet rs = ps.executeQuery()) {
          int n = 0;
          while (System.nanoTime() - end < 0 && rs.next()) {
            if (++n % 20 == 0) {
              LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
          }
        }
        c.commit();
      } catch (SQLException e) {
        failed(0, 0, "CURSOR", e, Journal.Phase.BEFORE_COMMIT, last);
        rollbackQuietly(c);
      }
    } catch (SQLException e) {
      failed(0, 0, "CURSOR", e, Journal.Phase.BEFORE_COMMIT, last);
    }
  }

  private Where move(Connection c, long amount, int account) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(TortureSchema.MOVE)) {
      ps.setLong(1, amount);
      ps.setInt(2, account);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return where(rs, 1);
      }
    }
  }

  /** A {@link Where} from four columns starting at {@code first}: side, backend, transaction, the session's setting. */
  private static Where where(ResultSet rs, int first) throws SQLException {
    return new Where(rs.getString(first), rs.getInt(first + 1), rs.getLong(first + 2), rs.getString(first + 3));
  }

  private Recorded record(Connection c, long op, Kind kind, Integer from, Integer to, long amount) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(TortureSchema.RECORD)) {
      bindRecord(ps, op, kind, from, to, amount);
      try (ResultSet rs = ps.executeQuery()) {
        return recorded(rs, op, kind);
      }
    }
  }

  private void bindRecord(PreparedStatement ps, long op, Kind kind, Integer from, Integer to, long amount) throws SQLException {
    ps.setString(1, instance);
    ps.setLong(2, op);
    ps.setString(3, kind.name());
    ps.setObject(4, from, java.sql.Types.INTEGER);
    ps.setObject(5, to, java.sql.Types.INTEGER);
    ps.setLong(6, amount);
  }

  private static Recorded recorded(ResultSet rs, long op, Kind kind) throws SQLException {
    if (!rs.next()) {
      throw new SQLException("torture: the ledger insert returned no row: is the clock row missing?", "P0002");
    }
    return new Recorded(op, kind.name(), rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getString(4), where(rs, 4));
  }

  private static Where whereAmI(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(TortureSchema.WHERE_AM_I)) {
      rs.next();
      return where(rs, 1);
    }
  }

  /** The rows of {@code ops} this instance can see through {@code c}. */
  private Map<Long, Recorded> ownRows(Connection c, long[] wanted, Where where) throws SQLException {
    Map<Long, Recorded> rows = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement(TortureSchema.OWN_ROWS)) {
      ps.setString(1, instance);
      ps.setArray(2, c.createArrayOf("bigint", java.util.Arrays.stream(wanted).boxed().toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.put(rs.getLong(1), new Recorded(rs.getLong(1), rs.getString(6), rs.getLong(2), rs.getLong(3), rs.getLong(4),
              rs.getString(5), where));
        }
      }
    }
    return rows;
  }

  /**
   * I3: every statement of one transaction ran on the same side, backend and transaction. And,
   * journalled once as a finding, whether the session reports another side in its database-level
   * setting than the database it runs on: a setting carried over from the other database.
   */
  private void sameTransaction(Kind kind, long op, Where... wheres) {
    for (Where w : wheres) {
      if (!w.samePlace(wheres[0])) {
        journal.violation("I3", kind + " op " + op + " ran its statements in different places: " + List.of(wheres));
        return;
      }
      if (w.setting() != null && !w.setting().equals(w.side()) && carriedSettingSeen.compareAndSet(false, true)) {
        journal.finding("a session on " + w.side() + " has " + TortureSchema.SIDE_SETTING + " = '" + w.setting()
            + "', the database-level setting of " + w.setting() + ": the driver carried it across a switch (docs/faults.md B6)");
      }
    }
  }

  /**
   * Journals the acknowledgements of a committed transaction ({@code rows}; null when it failed),
   * then reads them back in a new transaction on another pooled connection (I4).
   */
  private void acknowledged(List<Recorded> rows) {
    if (rows == null) {
      return;
    }
    for (Recorded r : rows) {
      journal.ack(r.op(), r.kind(), r.id(), r.tick(), r.ticket(), r.origin());
    }
    long[] wanted = rows.stream().mapToLong(Recorded::op).toArray();
    String last = lastSwitch.get();
    try (Connection c = pool.getConnection()) {
      Map<Long, Recorded> seen = ownRows(c, wanted, null);
      for (Recorded r : rows) {
        Recorded s = seen.get(r.op());
        if (s == null || s.id() != r.id() || s.tick() != r.tick() || s.ticket() != r.ticket() || !s.origin().equals(r.origin())) {
          journal.violation("I4", "op " + r.op() + " acknowledged as id " + r.id() + " tick " + r.tick() + " on "
              + r.origin() + ", read back in the next transaction as " + (s == null ? "nothing" : "id " + s.id()
                  + " tick " + s.tick() + " on " + s.origin()) + " (last switch " + last + ")");
        }
      }
    } catch (SQLException e) {
      failed(0, 0, "READ", e, Journal.Phase.BEFORE_COMMIT, last);
    }
  }

  /** The conserved total, read in one statement: every snapshot of either side must hold it. */
  void readTotal() {
    String last = lastSwitch.get();
    try (Connection c = pool.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(TortureSchema.SUM)) {
      rs.next();
      if (rs.getLong(1) != TortureSchema.TOTAL || rs.getInt(2) != TortureSchema.ACCOUNTS) {
        journal.violation("TOTAL", "accounts on " + rs.getString(3) + " sum to " + rs.getLong(1) + " over " + rs.getInt(2)
            + " accounts, not " + TortureSchema.TOTAL + " over " + TortureSchema.ACCOUNTS);
      }
    } catch (SQLException e) {
      failed(0, 0, "READ", e, Journal.Phase.BEFORE_COMMIT, last);
    }
  }

  private void failed(long firstOp, int count, Object kind, SQLException e, Journal.Phase phase, String last) {
    journal.failure(firstOp, count, String.valueOf(kind), e.getSQLState() == null ? "none" : e.getSQLState(), phase, last,
        e.getClass().getSimpleName() + ": " + e.getMessage());
  }

  private static void rollbackQuietly(Connection c) {
    try {
      c.rollback();
    } catch (SQLException e) {
      // broken connection: the pool evicts it
    }
  }
}
