package dev.cutover.driver.internal.control;

import dev.cutover.common.Poll;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * The replication barrier: a marker row written on the source. Logical replication applies in
 * commit order, so once the marker is visible on the target every earlier write is there too,
 * whatever engine replicates. The server makes every marker's key, so no caller can write one
 * that collides with another (a duplicate key would stop replication).
 *
 * <p>Two kinds: a probe ({@link #write}), which any instance or the replicator writes to see
 * whether replication delivers, and a switch's barrier marker ({@link #writeForSwitch}), which only
 * the switch's leader writes, only under the fence it raised.
 */
public final class Barrier {
  /** A condition checked while waiting; it throws to stop the wait. */
  @FunctionalInterface
  public interface Check {
    void check() throws SQLException;
  }

  private Barrier() {}

  /** Writes a probe marker on {@code source} and returns it. */
  public static String write(Connection source) throws SQLException {
    try (PreparedStatement ps = source.prepareStatement("SELECT cutover.write_probe()");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getString(1);
    }
  }

  /**
   * Writes the barrier marker of {@code switchId} on {@code source}: refused unless this session
   * leads the switch and the fence it raised stands.
   */
  public static String writeForSwitch(Connection source, String service, String switchId) throws SQLException {
    try (PreparedStatement ps = source.prepareStatement("SELECT cutover.write_barrier(?, ?)")) {
      ps.setString(1, service);
      ps.setString(2, switchId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  /** Whether {@code marker} is visible on {@code c} now (one look; {@link #await} polls). */
  public static boolean arrived(Connection c, String marker) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT cutover.barrier_arrived(?)")) {
      ps.setString(1, marker);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /**
   * Waits until {@code marker} is visible on {@code target}.
   *
   * @return whether it arrived within {@code timeout}
   */
  public static boolean await(Connection target, String marker, Duration timeout) throws SQLException {
    return await(target, marker, timeout, () -> { }, timeout);
  }

  /**
   * Waits until {@code marker} is visible on {@code target}, running {@code stillWanted} about
   * every {@code checkEvery}: an exception it throws ends the wait.
   *
   * @return whether it arrived within {@code timeout}
   */
  public static boolean await(Connection target, String marker, Duration timeout, Check stillWanted,
      Duration checkEvery) throws SQLException {
    long deadline = Poll.deadline(timeout);
    long[] nextCheck = {System.nanoTime() + checkEvery.toNanos()};
    try (PreparedStatement ps = target.prepareStatement("SELECT cutover.barrier_arrived(?)")) {
      ps.setString(1, marker);
      return Poll.FAST.until(deadline, () -> {
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          if (rs.getBoolean(1)) {
            return true;
          }
        }
        long now = System.nanoTime();
        if (now - nextCheck[0] > 0 && !Poll.passed(deadline)) {
          stillWanted.check();
          nextCheck[0] = now + checkEvery.toNanos();
        }
        return false;
      });
    }
  }
}
