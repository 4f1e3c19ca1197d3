package dev.cutover.driver.control;

import dev.cutover.driver.internal.control.Barrier;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Proof that replication has delivered everything committed so far: a probe marker written on the
 * source, awaited on the target. Replication applies in commit order, so once the marker is
 * visible every write committed on the source before it is there too, whatever engine replicates.
 * The replicator, the operator and their tools use it; a switch uses its own marker, written under
 * the fence.
 */
public final class CatchUp {
  private CatchUp() {}

  /**
   * Writes a probe marker on {@code source} and waits until it is visible on {@code target}. Both
   * need the control schema, and the role of {@code source} its control-plane grant.
   *
   * @return whether replication delivered it within {@code timeout}
   */
  public static boolean await(Connection source, Connection target, Duration timeout) throws SQLException {
    return Barrier.await(target, Barrier.write(source), timeout);
  }

  /** A look, while the marker is awaited, at whether waiting still makes sense: it throws to end the wait. */
  @FunctionalInterface
  public interface StillWanted {
    void check() throws SQLException;
  }

  /**
   * {@link #await(Connection, Connection, Duration)}, running {@code stillWanted} about every
   * {@code checkEvery} while it waits: what it throws ends the wait and is thrown (a replication
   * that cannot deliver, say, rather than a marker that is late).
   */
  public static boolean await(Connection source, Connection target, Duration timeout, StillWanted stillWanted, Duration checkEvery)
      throws SQLException {
    return Barrier.await(target, Barrier.write(source), timeout, stillWanted::check, checkEvery);
  }
}
