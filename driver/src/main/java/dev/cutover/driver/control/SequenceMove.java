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
   * @param nearLimit those with fewer than the margin's values left before their bound (or their
   *     wrap, for a CYCLE sequence): moved only to the source's own value, as {@code schema.name}
   */
  public record Result(int examined, int moved, List<String> missing, List<String> nearLimit) {
    public Result {
      missing = List.copyOf(missing);
      nearLimit = List.copyOf(nearLimit);
    }

    /** A result with no sequence near its bound. */
    public Result(int examined, int moved, List<String> missing) {
      this(examined, moved, missing, List.of());
    }
  }

  /**
   * The sequences of {@code source} whose value the connected role may not read, as {@code
   * schema.name} quoted where needed: {@link #advance} fails on them. Before PostgreSQL 10 a
   * sequence's value takes SELECT on it; from 10 SELECT, or USAGE once it has been called (USAGE
   * does not show the value a sequence restarted or set with {@code setval(s, n, false)} starts at).
   */
  public static List<String> unreadable(Connection source) throws SQLException {
    return Sequences.unreadable(source);
  }

  /**
   * Sets each sequence on {@code target} to at least the source's last handed-out value plus
   * {@code margin} increments (a sequence not yet called, after {@code ALTER SEQUENCE ... RESTART}
   * or {@code setval(s, n, false)}, has handed out the value before its next one); where that
   * passes the sequence's bound, to the source's value itself (see {@link Result#nearLimit}). A
   * target sequence is never moved backwards: one not yet called, or whose value the role cannot
   * see, has its next value taken with {@code nextval} to compare (one value spent).
   *
   * @throws SQLException with SQLState 42501 naming the sequences and the grant when the role may
   *     not read one on the source ({@link #unreadable}) or neither see nor use one on the target
   */
  public static Result advance(Connection source, Connection target, long margin) throws SQLException {
    Sequences.Result r = Sequences.advance(source, target, margin);
    return new Result(r.examined(), r.moved(), r.missing(), r.nearLimit());
  }
}
