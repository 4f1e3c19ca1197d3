package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.TcpProxy;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The link to the database that serves is reset while HikariCP sets up a pool's first connection
 * through the driver, between its validation ({@code isValid}) and its detection of the default
 * isolation level ({@code getTransactionIsolation}), as in torture seed 101 (docs/faults.md B7).
 *
 * <p>HikariCP (6.3.3; its issues 887, 1944, 2269) then logs "Default transaction isolation level
 * detection failed", never detects it again, and calls {@code setTransactionIsolation(-1)} on
 * every later connection, which PgJDBC refuses: the pool stays empty for good, its timeouts
 * without SQLState. Configuring the pool's {@code transactionIsolation} avoids the broken branch;
 * docs/driver.md recommends it.
 */
@LeakCheckedPair
class PoolSetupFaultTest {
  /** Far above a connection's setup once the link is back (a few retries' backoff), for a busy machine. */
  private static final Duration RECOVERY = Duration.ofSeconds(30);
  private static final long CONNECTION_TIMEOUT_MS = 2_000;

  @Test
  void firstConnectionResetBeforeIsolationDetection_isolationConfigured_poolServesOnceTheLinkIsBack(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer());
        ResetAtFirstValidation source = new ResetAtFirstValidation(db, proxy);
        HikariDataSource pool = pool(db, source, "TRANSACTION_READ_COMMITTED")) {
      await().atMost(RECOVERY).untilTrue(source.reset);

      await().atMost(RECOVERY).ignoreExceptions().until(() -> {
        try (Connection c = pool.getConnection(); Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT current_setting('transaction_isolation')")) {
          return rs.next() && rs.getString(1).equals("read committed");
        }
      });
      assertThat(pool.getHikariPoolMXBean().getTotalConnections()).isPositive();
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * The hazard the recommendation avoids, kept as a canary: when it fails, HikariCP has fixed its
   * detection and docs/driver.md's advice can go.
   */
  @Test
  void firstConnectionResetBeforeIsolationDetection_isolationNotConfigured_hikariNeverServesAgain(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer());
        ResetAtFirstValidation source = new ResetAtFirstValidation(db, proxy);
        HikariDataSource pool = pool(db, source, null)) {
      await().atMost(RECOVERY).untilTrue(source.reset);
      // the link is back: the driver opens further connections, and HikariCP refuses each of them
      await().atMost(RECOVERY).until(() -> source.opened.get() >= 3);

      Throwable timeout = catchThrowable(pool::getConnection);
      assertThat(timeout).isInstanceOf(SQLTransientConnectionException.class).hasMessageContaining("total=0");
      assertThat(((SQLException) timeout).getSQLState()).as("as in B7: no SQLState").isNull();
      assertThat(timeout).rootCause().hasMessageContaining("isolation level -1");
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  private static HikariDataSource pool(Replicated db, ResetAtFirstValidation source, String isolation) {
    HikariConfig config = new HikariConfig();
    config.setDataSource(source);
    config.setMaximumPoolSize(6);
    config.setMinimumIdle(6);
    config.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
    config.setValidationTimeout(1_000);
    config.setInitializationFailTimeout(-1);
    config.setTransactionIsolation(isolation);
    config.setPoolName("setup-reset-" + db.database);
    return new HikariDataSource(config);
  }

  /**
   * The driver's data source, old reached through {@code proxy}; its first connection's link is
   * reset (RST) right before HikariCP's first {@code isValid} on it, as a network fault would.
   */
  private static final class ResetAtFirstValidation extends CutoverDataSource {
    final AtomicBoolean reset = new AtomicBoolean();
    final AtomicInteger opened = new AtomicInteger();
    private final TcpProxy proxy;

    ResetAtFirstValidation(Replicated db, TcpProxy proxy) {
      this.proxy = proxy;
      setUrl(db.urlVia(proxy.redirect(db.pair.oldServer().jdbcUrl(db.database)),
          db.pair.newServer().jdbcUrl(db.database)));
      setUser(db.user());
    }

    @Override
    public Connection getConnection() throws SQLException {
      Connection c = super.getConnection();
      if (opened.getAndIncrement() > 0) {
        return c;
      }
      return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
          (self, method, args) -> {
            if (method.getName().equals("isValid") && reset.compareAndSet(false, true)) {
              proxy.cut();
            }
            try {
              return method.invoke(c, args);
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
          });
    }
  }
}
