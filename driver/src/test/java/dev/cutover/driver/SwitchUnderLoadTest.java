package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The product's promise under load: a HikariCP pool of 10 with 8 writers moves from old to new
 * when the flag flips, and back again once reverse replication is armed, and every invariant
 * holds both ways. A subclass runs the same through a connection pooler ({@link #applicationUrl}).
 */
@LeakCheckedPair
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@NoLeakedConnections.PerClass
class SwitchUnderLoadTest {
  Replicated db;
  HikariDataSource pool;
  private SwitchEvents events;
  /** Every write acknowledged in any phase, to check the way back lost none. */
  private final java.util.Set<Long> everAcknowledged = java.util.concurrent.ConcurrentHashMap.newKeySet();

  @BeforeAll
  void setUp(PostgresPair pair) throws Exception {
    db = Replicated.create(pair, Workload.SCHEMA, true);
    for (Supplier<Connection> side : java.util.List.<Supplier<Connection>>of(() -> direct(true), () -> direct(false))) {
      try (Connection c = side.get(); Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE intruder LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        s.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO intruder");
        s.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO intruder");
      }
    }
    db.prepareReverse();
    events = new SwitchEvents(db.database);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(applicationUrl());
    config.setUsername(db.user());
    config.setMaximumPoolSize(10);
    config.setMinimumIdle(10);
    config.setPoolName("switch-under-load");
    pool = new HikariDataSource(config);
  }

  /** The URL of the application's pool. */
  String applicationUrl() throws Exception {
    return db.url();
  }

  private Connection direct(boolean old) {
    try {
      return old ? db.oldDirect() : db.newDirect();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterAll
  void tearDown() {
    if (pool != null) {
      pool.close();
    }
    if (events != null) {
      events.close();
    }
  }

  @Test
  @Order(1)
  void flip_oldToNewUnderLoad_keepsEveryInvariant() throws Exception {
    switchUnderLoad(Target.NEW, 0);
  }

  @Test
  @Order(2)
  void flip_newToOldWithReverseReplication_keepsEveryInvariant() throws Exception {
    db.armReverse();
    switchUnderLoad(Target.OLD, 100);
  }

  private void switchUnderLoad(Target to, int writerBase) throws Exception {
    long idsBefore = maxId(to == Target.NEW);
    SwitchEvent event;
    try (Workload load = new Workload(pool, 8, writerBase)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> load.commits.get() >= 200);
      db.flip(to);
      event = events.next();
      long atSwitch = load.commits.get();
      await().atMost(Duration.ofSeconds(30)).until(() -> load.commits.get() >= atSwitch + 200);
      load.close();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.rolledBack()).isZero();
      // I5 (and more): no transaction failed, before, during or after the flip.
      assertThat(load.failures).isEmpty();
      // I4: every writer read its own last write, including right after the flip.
      assertThat(load.unreadWrites).isEmpty();
      // I1: every acknowledged commit is on the side that now serves, from this phase and the
      // ones before (a flip back must bring home what was written on new).
      everAcknowledged.addAll(load.acknowledged);
      try (Connection serving = direct(to == Target.OLD)) {
        assertThat(load.missingFrom(serving)).isEmpty();
        assertThat(everAcknowledged).allMatch(present(serving)::contains);
      }
    }
    // I2: the side that no longer serves refuses writes from any role, with the fence message.
    Target fencedSide = to.other();
    try (Connection intruder = intruder(fencedSide == Target.OLD); Statement s = intruder.createStatement()) {
      assertThatThrownBy(() -> s.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-1, -1)"))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("fenced");
    }
    // I6: the serving side's sequence was moved past every id handed out before.
    try (Connection serving = direct(to == Target.OLD); Statement s = serving.createStatement();
        ResultSet rs = s.executeQuery("SELECT last_value FROM booking_id_seq")) {
      rs.next();
      assertThat(rs.getLong(1)).isGreaterThan(idsBefore);
    }
  }

  private java.util.Set<Long> present(Connection c) throws SQLException {
    java.util.Set<Long> keys = new java.util.HashSet<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT writer, seq FROM booking")) {
      while (rs.next()) {
        keys.add(Workload.key(rs.getInt(1), rs.getInt(2)));
      }
    }
    return keys;
  }

  private long maxId(boolean onOld) throws SQLException {
    try (Connection c = direct(onOld); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT coalesce(max(id), 0) FROM booking")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private Connection intruder(boolean old) throws SQLException {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", "intruder");
    var server = old ? db.pair.oldServer() : db.pair.newServer();
    return new org.postgresql.Driver().connect(server.jdbcUrl(db.database), p);
  }
}
