package dev.cutover.driver.control;

import dev.cutover.driver.internal.control.Sequences;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * Moves every sequence on a target past its value on a source, as a switch does before it
 * releases, so that no value is handed out twice on the side that serves next (serial, identity
 * and standalone sequences alike). A sequence only ever moves forward in its own direction; one
 * the target lacks is reported, not created.
 */
public final class SequenceMove {
  private SequenceMove() {}

  /**
   * What a move did.
   *
   * @param examined the sequences read on the source
   * @param moved those set forward on the target (the rest were far enough already)
   * @param missing those the target lacks, as {@code schema.name}
   */
  public record Result(int examined, int moved, List<String> missing) {
    public Result {
      missing = List.copyOf(missing);
    }
  }

  /**
   * Sets each sequence on {@code target} to at least the source's last value plus {@code margin}
   * increments, clamped to the sequence's bounds. Sequences the role connected to {@code source}
   * may not read are not seen.
   */
  public static Result advance(Connection source, Connection target, long margin) throws SQLException {
    Sequences.Result r = Sequences.advance(source, target, margin);
    return new Result(r.examined(), r.moved(), r.missing());
  }
}
