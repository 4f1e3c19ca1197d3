package dev.cutover.driver.internal.switching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

@LeakCheckedPair
class WarmConnectionsTest {

  /**
   * A target that ends idle sessions (idle_session_timeout, common on managed databases; 4 s here)
   * would end the connections opened ahead long before their minute is up: they are closed at half
   * of it. Closed by the driver, which the server's ending them would not show on the client side
   * ({@code isClosed()} stays false until the connection is used), so the wait cannot be met by the
   * server's own timeout.
   */
  @Test
  void replace_targetEndsIdleSessions_closesThemAtHalfItsTimeout(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    Properties options = new Properties();
    options.setProperty("options", "-c idle_session_timeout=4000");
    List<Connection> opened = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      opened.add(server.connect("postgres", options));
    }
    WarmConnections warm = new WarmConnections(Duration.ofSeconds(5));
    long start = System.nanoTime();
    warm.replace(Target.NEW, opened);

    await().atMost(Duration.ofSeconds(20)).until(() -> opened.stream().allMatch(WarmConnectionsTest::closed));
    assertThat(Duration.ofNanos(System.nanoTime() - start)).as("long before the minute they used to be kept")
        .isLessThan(Duration.ofSeconds(20));
    assertThat(warm.take(Target.NEW)).isNull();
  }

  /** Without an idle_session_timeout they are kept for the sessions to take. */
  @Test
  void replace_targetKeepsIdleSessions_keepsThem(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    List<Connection> opened = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      opened.add(server.connect("postgres", new Properties()));
    }
    WarmConnections warm = new WarmConnections(Duration.ofSeconds(5));
    try {
      warm.replace(Target.NEW, opened);
      List<Connection> taken = new ArrayList<>();
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        Connection c = warm.take(Target.NEW); // one may be out while its timeout is read
        if (c != null) {
          taken.add(c);
        }
        return taken.size() == opened.size();
      });
      assertThat(taken).containsExactlyInAnyOrderElementsOf(opened).allMatch(c -> !closed(c));
    } finally {
      warm.closeAll();
      for (Connection c : opened) {
        c.close();
      }
    }
  }

  private static boolean closed(Connection c) {
    try {
      return c.isClosed();
    } catch (SQLException e) {
      return true;
    }
  }
}
