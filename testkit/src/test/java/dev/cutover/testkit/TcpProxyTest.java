package dev.cutover.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class TcpProxyTest {

  private static Connection connect(PostgresServer server, TcpProxy proxy, int socketTimeoutSeconds)
      throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", server.user());
    p.setProperty("password", server.password());
    p.setProperty("socketTimeout", String.valueOf(socketTimeoutSeconds));
    return Sql.DRIVER.connect(proxy.redirect(server.jdbcUrl()), p);
  }

  private static int selectOne(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  @Test
  void forward_query_answersThroughTheProxy(PostgresPair pair) throws Exception {
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection c = connect(pair.oldServer(), proxy, 0)) {
      assertThat(selectOne(c)).isEqualTo(1);
      assertThat(proxy.openConnections()).isEqualTo(1);
    }
  }

  @Test
  void stall_queryWaitsSilently_andAnswersOnResume(PostgresPair pair) throws Exception {
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection c = connect(pair.oldServer(), proxy, 0)) {
      proxy.stall();
      CompletableFuture<Integer> query = CompletableFuture.supplyAsync(() -> {
        try {
          return selectOne(c);
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      // Nothing arrives while stalled: the query is still waiting after a generous moment.
      assertThatThrownBy(() -> query.get(300, TimeUnit.MILLISECONDS))
          .isInstanceOf(java.util.concurrent.TimeoutException.class);

      proxy.resume();

      assertThat(query.get(10, TimeUnit.SECONDS)).isEqualTo(1);
    }
  }

  @Test
  void stall_withSocketTimeout_queryFailsWithoutAnyReset(PostgresPair pair) throws Exception {
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection c = connect(pair.oldServer(), proxy, 1)) {
      proxy.stall();

      assertThatThrownBy(() -> selectOne(c)).isInstanceOf(SQLException.class)
          .satisfies(e -> assertThat(((SQLException) e).getSQLState()).startsWith("08"));
      assertThat(proxy.openConnections()).isEqualTo(1); // the proxy never closed it: silence, not a reset
    }
  }

  @Test
  void stallOpen_openConnectionFallsSilent_newOnesWork(PostgresPair pair) throws Exception {
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection c = connect(pair.oldServer(), proxy, 1)) {
      proxy.stallOpen();

      assertThatThrownBy(() -> selectOne(c)).isInstanceOf(SQLException.class)
          .satisfies(e -> assertThat(((SQLException) e).getSQLState()).startsWith("08"));
      try (Connection again = connect(pair.oldServer(), proxy, 1)) {
        assertThat(selectOne(again)).isEqualTo(1);
      }
      assertThat(proxy.isStalled()).isFalse();
    }
  }

  @Test
  void cut_openConnection_failsAndNewOnesWork(PostgresPair pair) throws Exception {
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection c = connect(pair.oldServer(), proxy, 0)) {
      proxy.cut();

      assertThatThrownBy(() -> selectOne(c)).isInstanceOf(SQLException.class);
      try (Connection again = connect(pair.oldServer(), proxy, 0)) {
        assertThat(selectOne(again)).isEqualTo(1);
      }
      assertThat(proxy.acceptedConnections()).isEqualTo(2);
    }
  }

  @Test
  void delay_query_takesAtLeastTheDelay(PostgresPair pair) throws Exception {
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection c = connect(pair.oldServer(), proxy, 0)) {
      proxy.delay(Duration.ofMillis(100));
      long start = System.nanoTime();

      assertThat(selectOne(c)).isEqualTo(1);

      // one chunk up and one chunk down, each held 100 ms
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
    }
  }
}
