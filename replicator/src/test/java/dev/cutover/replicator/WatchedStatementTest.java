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

/**
 * The way a watched statement is given up that the commands' tests cannot reach, since their proxy
 * silences every connection to a side at once: the statement's own connection goes silent while the
 * watching session still answers. The backend finishes, its answer never arrives, and once the
 * backend has been done for the timeout the statement is given up as unanswered, which names the
 * side, rather than waited for without end.
 */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class WatchedStatementTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(1);

  @Test
  void run_answerLostOnTheWayBack_givenUpOnceTheBackendHasBeenDoneForTheTimeout(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    Endpoint direct = Endpoint.of(Side.NEW, server.jdbcUrl(), server.user(), server.password());
    try (TcpProxy proxy = TcpProxy.in(server); Connection watch = server.connect()) {
      Endpoint proxied = Endpoint.of(Side.NEW, proxy.redirect(server.jdbcUrl()), server.user(), server.password());
      try (Connection c = proxied.connect(); WatchedStatement watched = WatchedStatement.open(direct, c, TIMEOUT)) {
        CompletableFuture<Void> running = CompletableFuture.runAsync(() -> {
          try {
            watched.run(() -> {
              Sql.execute(c, "SELECT pg_sleep(2)");
              return null;
            });
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
        assertThat(failure).isInstanceOf(SQLException.class).hasMessageContaining("new: no answer to a statement that was being watched");
        assertThat(Sql.unanswered(failure)).as("taken for an unanswered statement, which names the side").isTrue();
        assertThat(c.isClosed()).as("its connection given up").isTrue();
      }
    }
  }
}
