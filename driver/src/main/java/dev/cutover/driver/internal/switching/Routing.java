package dev.cutover.driver.internal.switching;

import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

/**
 * What a logical connection needs of its router: the route to obey at each transaction start, the
 * physical connections to move onto, and the registry the switch finds it in. {@link Router}
 * implements it; a session knows nothing else of the router.
 */
public interface Routing {
  /** The route sessions must obey now: one volatile read. */
  Route route();

  /** The longest a transaction waits at a closed gate ({@code cutover.gate.max-pause}). */
  Duration gateMaxPause();

  /**
   * How long a database may take to answer a read a moving session needs on the side it leaves
   * ({@code cutover.barrier.timeout}, the bound of the switch's own connects and logins too).
   */
  Duration answerTimeout();

  /** The service's name, for messages. */
  String service();

  /** Whether the application's connections to {@code side} go through a pooler (no session state of their own). */
  boolean pooled(Target side);

  /** The custom settings a moving session carries by name, or {@code null} before the first switch (see {@link Handover}). */
  List<String> customSettings();

  /** A physical connection to {@code side} for a new logical connection: one opened ahead, or a new one. */
  Connection connect(Target side) throws SQLException;

  /**
   * The physical connection for {@code session} moving to {@code side}: the one the last switch
   * reserved for it, else as {@link #connect}.
   */
  Handover.Acquired acquire(Session session, Target side) throws SQLException;

  /** Releases what a switch reserved for {@code session}, which stays on the side it is on. */
  void stay(Session session);

  /** Makes {@code session} visible to switches; it holds the router open until {@link #unregister}. */
  void register(Session session);

  /** The session closed: the switch no longer sees it, and it no longer holds the router open. */
  void unregister(Session session);
}
