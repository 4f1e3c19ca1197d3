package dev.cutover.driver.control;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;

/**
 * The replication barrier: a marker row written on the source after the fence. Logical
 * replication applies in commit order, so once the marker is visible on the target every
 * earlier write is there too, whatever engine replicates.
 */
public final class Barrier {
  private static final long FIRST_POLL_NANOS = 200_000;
  private static final long MAX_POLL_NANOS = 5_000_000;

  private Barrier() {}

  /** Writes a new marker on {@code source} and returns it. */
  public static String write(Connection source) throws SQLException {
    String marker = UUID.randomUUID().toString();
    try (PreparedStatement ps = source.prepareStatement("SELECT cutover.write_barrier(?)")) {
      ps.setString(1, marker);
      ps.execute();
    }
    return marker;
  }

  /**
   * Waits until {@code marker} is visible on {@code target}.
   *
   * @return whether it arrived within {@code timeout}
   */
  public static boolean await(Connection target, String marker, Duration timeout) throws SQLException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long pause = FIRST_POLL_NANOS;
    try (PreparedStatement ps = target.prepareStatement("SELECT cutover.barrier_arrived(?)")) {
      ps.setString(1, marker);
      while (true) {
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          if (rs.getBoolean(1)) {
            return true;
          }
        }
        if (System.nanoTime() - deadline > 0) {
          return false;
        }
        LockSupport.parkNanos(pause);
        pause = Math.min(MAX_POLL_NANOS, pause * 2);
      }
    }
  }
}
