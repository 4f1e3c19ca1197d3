package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A HikariCP pool through the driver on one {@link Replicated} database, whose flag is moved by
 * something outside the JVM's manual flag (a LaunchDarkly stand-in, a flag file). Closing it
 * closes the pool, then the service's router (stopping its flag source), then the event listener.
 */
final class LivePool implements AutoCloseable {
  static final int SIZE = 6;
  private static final int WRITERS = 4;
  private static final int COMMITS_EACH_SIDE = 100;

  /** Something that moves the flag, such as a stand-in sending a patch or a write to the flag file. */
  interface FlagChange {
    void apply() throws Exception;
  }

  final Replicated db;
  final HikariDataSource pool;
  private final SwitchEvents events;

  /**
   * @param driverProperties further JDBC properties for the driver (secrets such as the SDK key go
   *     here rather than in the URL)
   */
  LivePool(Replicated db, String url, Map<String, String> driverProperties) {
    this.db = db;
    this.events = new SwitchEvents(db.database);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(db.user());
    driverProperties.forEach(config::addDataSourceProperty);
    config.setMaximumPoolSize(SIZE);
    config.setMinimumIdle(SIZE);
    config.setPoolName("live-" + db.database);
    HikariDataSource opened;
    try {
      opened = new HikariDataSource(config);
    } catch (RuntimeException e) {
      events.close();
      throw e;
    }
    this.pool = opened;
  }

  /**
   * Asserts that every connection of the pool runs on {@code server}: all of them are borrowed at
   * once, so each physical connection is asked, not one of them {@code SIZE} times.
   */
  void assertServedBy(PostgresServer server, String side) throws SQLException {
    await().atMost(Duration.ofSeconds(10)).until(() -> pool.getHikariPoolMXBean().getTotalConnections() == SIZE);
    List<Connection> held = new ArrayList<>();
    try {
      for (int i = 0; i < SIZE; i++) {
        held.add(pool.getConnection());
      }
      for (Connection c : held) {
        assertThat(DrainTest.sideOf(c)).as("port of a pooled connection, expected on %s", side).isEqualTo(server.port());
      }
    } finally {
      for (Connection c : held) {
        c.close();
      }
    }
  }

  /**
   * Moves the flag with {@code change} while writers run through the pool, waits for the switch
   * event and checks it: completed toward {@code to}; every write acknowledged up to the event is on
   * {@code to} right away (the barrier's promise, no waiting for replication); writers go on there
   * without a failure; every pooled connection runs on {@code to}. Prints how long the flip took
   * from the change to the end of the switch.
   *
   * @param writerBase the first writer number, distinct per call so that rounds never collide
   */
  SwitchEvent flipUnderLoad(String label, Target to, int writerBase, FlagChange change) throws Exception {
    PostgresServer target = to == Target.NEW ? db.pair.newServer() : db.pair.oldServer();
    SwitchEvent event;
    Workload load = new Workload(pool, WRITERS, writerBase);
    try {
      await().atMost(Duration.ofSeconds(20)).until(() -> load.commits.get() >= COMMITS_EACH_SIDE);

      Instant changed = Instant.now();
      change.apply();
      event = events.next();
      Set<Long> acknowledgedAtSwitch = new HashSet<>(load.acknowledged);

      Duration flip = Duration.between(changed, event.at());
      System.out.printf(
          "[flip] %s: %s -> %s took %d ms from the flag change to the switch event (the switch itself,"
              + " gate closed to gate opened, %d ms; the other %d ms are the flag's delivery and the"
              + " switch's connection set-up before its gate)%n",
          label, event.from().value(), event.to().value(), flip.toMillis(), event.total().toMillis(),
          flip.minus(event.total()).toMillis());
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.to()).isEqualTo(to);
      try (Connection direct = to == Target.NEW ? db.newDirect() : db.oldDirect()) {
        assertThat(missing(direct, acknowledgedAtSwitch, writerBase))
            .as("writes acknowledged before the switch ended, missing on %s right after it", to.value())
            .isEmpty();
      }

      long atSwitch = load.commits.get();
      await().atMost(Duration.ofSeconds(20)).until(() -> load.commits.get() >= atSwitch + COMMITS_EACH_SIDE);
      load.close();
      try (Connection direct = to == Target.NEW ? db.newDirect() : db.oldDirect()) {
        load.assertIntact(direct);
      }
    } finally {
      load.close(); // stops the writers when an assertion failed first; a second close is harmless
    }
    assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo(to.value());
    assertServedBy(target, to.value());
    return event;
  }

  /** Those of {@code keys} (see {@link Workload#key}) that {@code direct} does not hold. */
  private static Set<Long> missing(Connection direct, Set<Long> keys, int writerBase) throws SQLException {
    Set<Long> missing = new HashSet<>(keys);
    try (PreparedStatement ps = direct.prepareStatement("SELECT writer, seq FROM booking WHERE writer >= ?")) {
      ps.setInt(1, writerBase);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          missing.remove(Workload.key(rs.getInt(1), rs.getInt(2)));
        }
      }
    }
    return missing;
  }

  @Override
  public void close() {
    try {
      pool.close();
    } finally {
      try {
        CutoverDriver.shutdown(db.database);
      } finally {
        events.close();
      }
    }
  }
}
