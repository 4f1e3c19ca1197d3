package dev.cutover.replicator.capture;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writers on old of every kind trigger capture must carry, each on its own connection and thread
 * until closed: multi-row transactions (an account, its entries, an update of it), updates of the
 * same rows by concurrent transactions (two writers on the same counters), deletes that cascade,
 * key changes, updates and deletes of rows without a key, and (once {@link #truncateToo} is called)
 * TRUNCATE followed by new rows in one transaction. Deadlocks are retried (they are the
 * application's business); every other failure is kept for the test to fail on.
 *
 * <p>TRUNCATE waits until the copy is over: TRUNCATE is not MVCC-safe, so a copy under an older
 * snapshot that reaches a table truncated since sees it empty. The replayed TRUNCATE makes the end
 * result right anyway, but changes logged between the snapshot and the TRUNCATE then find no row
 * during the catch-up, and this test counts those as failures (docs/replicator.md).
 */
final class MixedWrites implements AutoCloseable {
  /**
   * At most one transaction per writer this often. Flat out, the writers on two cores wrote far
   * more than the apply, which shares those cores, could take before the test's end, and each flow
   * test spent most of its time waiting for that backlog; what the writes are made to show (the
   * kinds, and concurrent transactions on the same rows) does not need their volume.
   */
  private static final long PACE_NANOS = 4_000_000L;
  final AtomicLong commits = new AtomicLong();
  final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
  private final Loops loops = new Loops();
  private volatile boolean truncating;
  private final OwnedDatabase db;

  MixedWrites(OwnedDatabase db) {
    this.db = db;
    start("multi-row", this::multiRow);
    start("counter-a", this::counters);
    start("counter-b", this::counters);
    start("churn", this::churn);
    start("truncate", this::truncate);
  }

  private interface Step {
    void run(Connection c, int i) throws SQLException;
  }

  private void start(String name, Step step) {
    loops.start("writes-" + name, () -> loop(step));
  }

  private void loop(Step step) {
    try (Connection c = db.old()) {
      c.setAutoCommit(false);
      long next = System.nanoTime();
      for (int i = 0; loops.running(); i++) {
        next += PACE_NANOS;
        java.util.concurrent.locks.LockSupport.parkNanos(next - System.nanoTime());
        try {
          step.run(c, i);
          c.commit();
          commits.incrementAndGet();
        } catch (SQLException e) {
          c.rollback();
          if (!"40P01".equals(e.getSQLState())) {
            failures.add(Thread.currentThread().getName() + ": " + e.getSQLState() + " " + e.getMessage());
          }
        }
      }
    } catch (SQLException e) {
      failures.add(Thread.currentThread().getName() + ": " + e.getMessage());
    }
  }

  /** One account with three entries, then an update of it, in one transaction. */
  private void multiRow(Connection c, int i) throws SQLException {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    int id;
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO account (email, balance, ratio, small, photo, tags, doc, meta, mood,"
        + " price, span, during, nums) VALUES (?, ?, ?, ?, ?, ?, ?::json, ?::jsonb, ?::mood, ROW(?, 'USD')::price, ?::interval,"
        + " tstzrange(now(), now() + interval '1 day'), ARRAY[?::numeric, NULL]) RETURNING id")) {
      ps.setString(1, "m" + i + "-" + r.nextLong() + "@example.com");
      ps.setBigDecimal(2, new java.math.BigDecimal(r.nextInt(1_000_000)).movePointLeft(4));
      ps.setDouble(3, r.nextDouble() * Math.pow(10, r.nextInt(-20, 20)));
      ps.setFloat(4, r.nextFloat());
      byte[] photo = new byte[r.nextInt(0, 64)];
      r.nextBytes(photo);
      ps.setBytes(5, photo);
      ps.setArray(6, c.createArrayOf("text", new String[] {"a\"b", null, "c,d", "{x}"}));
      ps.setString(7, i % 7 == 0 ? "null" : "{\"spaced\" :  [1,   2], \"i\": " + i + "}");
      ps.setString(8, i % 5 == 0 ? "null" : "{\"i\": " + i + ", \"nested\": {\"n\": null}}");
      ps.setString(9, i % 2 == 0 ? "happy" : "sad");
      ps.setBigDecimal(10, new java.math.BigDecimal(i).movePointLeft(2));
      ps.setString(11, i + " days " + r.nextInt(86400) + " seconds");
      ps.setString(12, "1e-" + (i % 30));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        id = rs.getInt(1);
      }
    }
    try (Statement s = c.createStatement()) {
      s.executeUpdate("INSERT INTO entry (account_id, n, amount, note) SELECT " + id + ", k, k * 1.5, 'w' || k FROM generate_series(1, 3) k");
      s.executeUpdate("UPDATE account SET balance = balance + 1, active = NOT coalesce(active, false), birthday = NULL,"
          + " prefs = CASE WHEN prefs = 'null' THEN '{\"seen\": true}' ELSE 'null' END::jsonb WHERE id = " + id);
    }
  }

  /** The same two counters from two writers at once: each waits for the other's row locks. */
  private void counters(Connection c, int i) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.executeUpdate("UPDATE counter SET value = value + 1 WHERE name = 'c1'");
      s.executeUpdate("UPDATE counter SET value = value * 2 % 1000003 WHERE name = 'c2'");
    }
  }

  /** Deletes that cascade, key changes, and rows without a key. */
  private void churn(Connection c, int i) throws SQLException {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    try (Statement s = c.createStatement()) {
      s.executeUpdate("DELETE FROM account WHERE id = " + r.nextInt(1, 400));
      s.executeUpdate("UPDATE entry SET n = n + 1000, note = NULL WHERE account_id = " + r.nextInt(1, 400) + " AND n < 1000");
      s.executeUpdate("UPDATE keyless SET b = b || 'x', j = CASE WHEN j IS NULL THEN 'null'::jsonb END"
          + " WHERE ctid = (SELECT ctid FROM keyless WHERE a = " + r.nextInt(10) + " LIMIT 1)");
      s.executeUpdate("DELETE FROM keyless WHERE ctid = (SELECT ctid FROM keyless WHERE a = " + r.nextInt(10) + " LIMIT 1)");
      s.executeUpdate("INSERT INTO keyless VALUES (" + r.nextInt(10) + ", 'k' || " + r.nextInt(10) + ", 'null'), (NULL, NULL, NULL)");
    }
  }

  /** From now on, the truncate writer also empties its table now and then. */
  void truncateToo() {
    truncating = true;
  }

  /** Empties a table and fills it again in one transaction, now and then. */
  private void truncate(Connection c, int i) throws SQLException {
    try (Statement s = c.createStatement()) {
      if (truncating && i % 20 == 0) {
        s.execute("TRUNCATE scratch");
        s.executeUpdate("INSERT INTO scratch SELECT g, md5(g::text || " + i + ") FROM generate_series(1, 30) g");
      } else {
        s.executeUpdate("UPDATE scratch SET payload = payload || '.' WHERE id = " + (1 + i % 30));
      }
    }
  }

  @Override
  public void close() {
    loops.close();
  }
}
