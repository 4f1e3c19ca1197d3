package dev.cutover.replicator;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An application writing to old on its own thread: inserts, updates and deletes across the
 * tables, each in its own transaction, until stopped. Counts commits so tests can wait for
 * writes to have happened, without sleeping.
 */
final class Writer implements AutoCloseable {
  final AtomicLong commits = new AtomicLong();
  final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
  private final Thread thread;
  private volatile boolean running = true;

  Writer(AppDatabase db) {
    thread = new Thread(() -> run(db), "app-writer");
    thread.setDaemon(true);
    thread.start();
  }

  private void run(AppDatabase db) {
    try (Connection c = db.old()) {
      c.setAutoCommit(false);
      int i = 0;
      while (running && i < 200_000) {
        i++;
        try (Statement s = c.createStatement()) {
          s.executeUpdate("INSERT INTO customer (email, profile) VALUES ('w" + i + "-' || clock_timestamp() || '@example.com',"
              + " '{\"writer\": true}')");
          s.executeUpdate("WITH o AS (INSERT INTO orders (customer, total, placed, tags) VALUES (1 + " + (i % 2000)
              + ", " + i + ".5, now(), ARRAY['w']) RETURNING id)"
              + " INSERT INTO order_line (order_id, line, item, qty) SELECT id, 1, " + (1 + i % 1000) + ", 3 FROM o");
          s.executeUpdate("UPDATE event SET payload = payload || jsonb_build_object('touched', " + i + "), scores = scores || " + i
              + " WHERE id = " + (1 + (i * 37) % 20000));
          s.executeUpdate("DELETE FROM event WHERE id = " + (1 + (i * 101) % 20000));
          s.executeUpdate("UPDATE item SET price = price + 0.01, image = image || '\\x01'::bytea WHERE id = " + (1 + i % 1000));
          s.executeUpdate("INSERT INTO audit_log (message) VALUES ('write " + i + "')");
          c.commit();
          commits.incrementAndGet();
        } catch (SQLException e) {
          failures.add(e.getMessage());
          c.rollback();
        }
      }
    } catch (SQLException e) {
      failures.add(e.getMessage());
    }
  }

  @Override
  public void close() {
    running = false;
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
