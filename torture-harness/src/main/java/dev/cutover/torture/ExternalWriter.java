package dev.cutover.torture;

import dev.cutover.flags.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A client that is not the application: its own role ({@value TortureSchema#EXTERNAL_ROLE}, plain
 * table grants), its own connection straight to one database, no driver. On the serving side its
 * writes are ordinary commits that every invariant counts; on a fenced side each must be refused
 * (SQLState 25006). It journals like an instance, as {@value #NAME}.
 */
final class ExternalWriter implements AutoCloseable {
  static final String NAME = "external";
  private static final long INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final Cluster cluster;
  private final Journal journal;
  private final AtomicLong ops = new AtomicLong(1);

  ExternalWriter(Cluster cluster, Path directory) throws java.io.IOException {
    this.cluster = cluster;
    this.journal = new Journal(Files.createDirectories(directory));
  }

  /** Writes to {@code side} every 50 ms for {@code millis}, reconnecting after failures. */
  void run(Target side, long millis) {
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (System.nanoTime() - end < 0) {
      try (Connection c = cluster.external(side); PreparedStatement ps = c.prepareStatement(TortureSchema.RECORD)) {
        while (System.nanoTime() - end < 0) {
          long op = ops.getAndIncrement();
          ps.setString(1, NAME);
          ps.setLong(2, op);
          ps.setString(3, Workload.Kind.EXTERNAL.name());
          ps.setNull(4, java.sql.Types.INTEGER);
          ps.setNull(5, java.sql.Types.INTEGER);
          ps.setLong(6, 0);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            journal.ack(op, Workload.Kind.EXTERNAL.name(), rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getString(4));
          } catch (SQLException e) {
            journal.failure(op, 1, Workload.Kind.EXTERNAL.name(), state(e), Journal.Phase.AT_COMMIT, side.value(),
                e.getMessage());
            if (!"25006".equals(e.getSQLState())) {
              break; // reconnect
            }
          }
          LockSupport.parkNanos(INTERVAL_NANOS);
        }
      } catch (SQLException e) {
        journal.failure(0, 0, "CONNECT", state(e), Journal.Phase.BEFORE_COMMIT, side.value(), e.getMessage());
        LockSupport.parkNanos(INTERVAL_NANOS * 2);
      }
    }
  }

  private static String state(SQLException e) {
    return e.getSQLState() == null ? "none" : e.getSQLState();
  }

  @Override
  public void close() {
    journal.close();
  }
}
