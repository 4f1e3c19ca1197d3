package dev.cutover.driver.internal.switching;

import dev.cutover.driver.internal.session.Backend;
import dev.cutover.driver.internal.session.SessionSnapshot;
import dev.cutover.flags.Target;
import java.sql.SQLException;
import java.util.List;

/**
 * What the switch sees of a logical connection: whether a transaction is in flight, the means to
 * end one that outlives the drain, and what the session holds that the target must have before
 * anyone else runs there (advisory locks, LISTEN channels).
 */
public interface Session {
  /** No transaction in flight. */
  int IDLE = 0;
  /** A transaction (or the statement that begins one) is in flight. */
  int BUSY = 1;
  /** Rolled back by a switch; its caller gets SQLState 40001 until it rolls back. */
  int DOOMED = 2;

  /**
   * The channel a session that waits for notifications also listens on, so that a switch can
   * wake it (and read its own channels) while the gate is closed. Filtered out of what the
   * application receives and of the channels a session carries as its own. The session listens
   * on it again before a wait whenever a statement ran since it last did: the application's
   * {@code UNLISTEN *} or {@code DISCARD ALL} drops it with the rest.
   */
  String WAKE_CHANNEL = SessionSnapshot.WAKE_CHANNEL;

  int activity();

  /** The side its physical connection is on. */
  Target side();

  /** The server process of its physical connection, or 0 when unknown (behind a pooler). */
  int backendPid();

  /**
   * The server process of its physical connection and that process's server, as read when the
   * connection was bound: the switch terminates a straggler's process only on that server.
   */
  Backend backend();

  /** Whether the application waits for notifications through it ({@code getNotifications}). */
  boolean listens();

  /**
   * Its LISTEN channels, read from its physical connection by the switch while the gate is
   * closed (the session is idle and woken through {@link #WAKE_CHANNEL}).
   */
  List<String> channels() throws SQLException;

  /**
   * Rolls back the in-flight transaction, if it is still in flight: ends it on the server after
   * reading the session's state (kept for the session's recovery, see {@link #held()}), then ends
   * the session. Blocks for at most {@code timeoutNanos}; past that the physical connection is
   * aborted and the state is lost, which the session reports when it is used again.
   *
   * @return the backend process id to wait for; 0 when it rolled the transaction back but the
   *     process is unknown (behind a pooler); -1 when the transaction had already ended
   */
  int doom(String reason, long timeoutNanos);

  /**
   * Makes the session fail its next use, and every one after, with SQLState 08003 and {@code why}
   * (a pool then replaces it), never going on or moving: the switch could not carry what it holds.
   * Its physical connection is left to the owner, which closes it with the session.
   */
  void strand(String why);

  /** What a doomed session held when its transaction was rolled back, or {@code null}. */
  SessionSnapshot held();
}
