package dev.cutover.testkit;

import dev.cutover.common.Threads;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Writes a record into the WAL of one server, idle but for tests, whenever logical replication
 * from it waits for the next record to finish a step, instead of for the server's own next one.
 *
 * <p>Two waits of that kind took the driver's tests minutes at random, a test that takes a second
 * taking 10 to 20 s on its next run:
 * <ul>
 *   <li>A table sync worker of a subscription, its copy done, catches up to the apply worker's
 *       position and hands the table over only when its walsender reports a WAL position past that;
 *       on a server that writes nothing, that report came with the next status exchange, 10 s later.
 *       Any record serves; a non-transactional logical message in database {@code postgres} (which
 *       no subscription decodes) is the smallest.
 *   <li>A logical slot is ready only once a running-transactions record shows every transaction
 *       with an id that ran when it began has ended; PostgreSQL writes one at each checkpoint and
 *       otherwise every 15 s. {@code pg_log_standby_snapshot()} writes one from 16, a
 *       {@code CHECKPOINT} before (cheap here, where {@code fsync} is off). A slot still waiting
 *       for a transaction that has not ended keeps waiting for it.
 * </ul>
 * It writes when it sees a table sync slot in use, or a logical slot still building
 * ({@code confirmed_flush_lsn} is null until it is ready), on two looks 100 ms apart.
 *
 * <p>Its one session (application_name {@value #APPLICATION_NAME}, database {@code postgres}) never
 * holds a transaction id and is left out of {@link ClientSessions}. When the server is unreachable
 * (a test stopped or silenced it) it tries again on its next look.
 */
final class ReplicationNudger implements AutoCloseable {

  /** The application_name of its session. */
  static final String APPLICATION_NAME = "cutover-testkit-slot-nudger";

  private static final long LOOK_EVERY_MILLIS = 100;
  /** Table sync slots: {@code pg_<subscription>_sync_<table>_<system>} from 14, {@code <slot>_<subscription>_sync_<table>} before. */
  private static final String WAITING = "SELECT coalesce(bool_or(confirmed_flush_lsn IS NULL), false),"
      + " coalesce(bool_or(active AND slot_name LIKE '%\\_sync\\_%'), false)"
      + " FROM pg_catalog.pg_replication_slots WHERE slot_type = 'logical'";

  private final PostgresServer server;
  private final ScheduledExecutorService looker;
  private Connection session;
  private boolean seenBuilding;
  private boolean seenSyncing;

  private ReplicationNudger(PostgresServer server) {
    this.server = server;
    this.looker = Threads.scheduler("cutover-slot-nudger-" + server.port());
  }

  /** Starts looking at {@code server} until {@link #close()}. */
  static ReplicationNudger start(PostgresServer server) {
    ReplicationNudger nudger = new ReplicationNudger(server);
    nudger.looker.scheduleWithFixedDelay(nudger::look, LOOK_EVERY_MILLIS, LOOK_EVERY_MILLIS, TimeUnit.MILLISECONDS);
    return nudger;
  }

  private void look() {
    try {
      if (session == null) {
        Properties properties = new Properties();
        properties.setProperty("ApplicationName", APPLICATION_NAME);
        properties.setProperty("connectTimeout", "2");
        properties.setProperty("socketTimeout", "5");
        session = server.connect(PostgresServer.DEFAULT_DATABASE, properties);
      }
      try (Statement s = session.createStatement()) {
        boolean building;
        boolean syncing;
        try (ResultSet rs = s.executeQuery(WAITING)) {
          rs.next();
          building = rs.getBoolean(1);
          syncing = rs.getBoolean(2);
        }
        if (building && seenBuilding) {
          s.execute(server.majorVersion() >= 16 ? "SELECT pg_catalog.pg_log_standby_snapshot()" : "CHECKPOINT");
        } else if (syncing && seenSyncing) {
          s.execute("SELECT pg_catalog.pg_logical_emit_message(false, 'cutover-testkit', '')");
        }
        seenBuilding = building;
        seenSyncing = syncing;
      }
    } catch (SQLException | RuntimeException e) {
      closeSession();
    }
  }

  private void closeSession() {
    seenBuilding = false;
    seenSyncing = false;
    if (session != null) {
      try {
        session.close();
      } catch (SQLException e) {
        // The server went away; its session with it.
      }
      session = null;
    }
  }

  /** Stops looking and ends its session, before the server is stopped. */
  @Override
  public void close() {
    looker.shutdownNow();
    try {
      looker.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeSession();
  }
}
