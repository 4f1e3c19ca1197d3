package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.TcpProxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;

/**
 * The way a watched connection is given up that the commands' tests cannot reach, since their proxy
 * silences every connection to a side at once, the watching session's too: the connection's own way
 * goes silent while the watching session still answers. Its statement, which has no read limit,
 * finishes on the server, its answer never arrives, and once the backend has waited on its client
 * for the timeout the connection is cut and the side is named, rather than waited for without end.
 */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class SilenceWatchTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(1);

  @Test
  void watchedConnection_answerLostOnTheWayBack_cutOnceTheBackendHasWaitedOnItForTheTimeout(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    Endpoint direct = Endpoint.of(Side.NEW, server.jdbcUrl(), server.user(), server.password());
    try (TcpProxy proxy = TcpProxy.in(server); Connection watch = server.connect();
        SilenceWatch silence = SilenceWatch.start(direct, TIMEOUT)) {
      Endpoint proxied = Endpoint.of(Side.NEW, proxy.redirect(server.jdbcUrl()), server.user(), server.password());
      try (Connection c = proxied.watchedBy(silence).connect()) {
        int pid = c.unwrap(PGConnection.class).getBackendPID();
        CompletableFuture<Void> running = CompletableFuture.runAsync(() -> {
          try {
            Sql.execute(c, "SELECT pg_sleep(2)");
          } catch (SQLException e) {
            throw new IllegalStateException(e);
          }
        });
        await().atMost(Duration.ofSeconds(30)).until(() -> Sql.bool(watch, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity"
            + " WHERE query = 'SELECT pg_sleep(2)' AND state = 'active')"));
        proxy.stall();

        Throwable failure = null;
        try {
          running.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          failure = e.getCause().getCause();
        }
        assertThat(failure).as("the statement fails").isInstanceOf(SQLException.class);
        assertThat(c.isClosed()).as("its connection given up").isTrue();
        // Its session, which the stalled proxy keeps from noticing, is ended: the side answers the watch.
        await().atMost(Duration.ofSeconds(30)).until(() -> !Sql.bool(watch, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity"
            + " WHERE pid = " + pid + ")"));
      }
    }
  }
}
