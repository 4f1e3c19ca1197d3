package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Several instances of one service (one router each) switch as one event. */
@LeakCheckedPair
class CoordinatedSwitchTest {

  private static HikariDataSource instance(Replicated db, String name, String flagKey) {
    return instance(db, name, flagKey, null);
  }

  /** With {@code isolation} (a HikariCP transactionIsolation, e.g. TRANSACTION_READ_COMMITTED) for its connections, if given. */
  private static HikariDataSource instance(Replicated db, String name, String flagKey, String isolation) {
    HikariConfig config = new HikariConfig();
    config.setTransactionIsolation(isolation);
    config.setJdbcUrl(db.url("cutover.instance=" + name).replace("cutover.flag.key=" + db.flagKey,
        "cutover.flag.key=" + flagKey));
    config.setUsername(db.user());
    config.setMaximumPoolSize(4);
    config.setPoolName(name);
    return new HikariDataSource(config);
  }

  private static List<SwitchEvent> events(SwitchEvents events, int count) throws InterruptedException {
    List<SwitchEvent> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(events.next());
    }
    return out;
  }

  @Test
  void flip_fourInstancesUnderLoad_oneLeaderAndNoFailedTransaction(PostgresPair pair) throws Exception {
    List<SwitchEvent> ended = flipFourInstancesUnderLoad(Replicated.create(pair, Workload.SCHEMA, true), null);

    assertThat(ended).allSatisfy(e -> assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.COMPLETED));
    assertThat(ended).extracting(SwitchEvent::id).containsOnly(ended.get(0).id());
    assertThat(ended).filteredOn(SwitchEvent::leader).hasSize(1);
  }

  /**
   * Both databases run transactions SERIALIZABLE by default (ALTER DATABASE SET), as some teams
   * run every database, and the application picks its own level for its connections, as it must
   * (its workload would fail its own serializable transactions otherwise): four instances switch
   * in the first attempt. Before the switch's own sessions ran READ COMMITTED, instances probing
   * replication at once failed each other's transactions ("could not serialize access"), and their
   * switch aborted and ran again.
   */
  @Test
  void flip_databasesSerializableByDefault_fourInstancesSwitchAtTheFirstAttempt(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = server.connect(); Statement s = c.createStatement()) {
        s.execute("ALTER DATABASE " + db.database + " SET default_transaction_isolation = 'serializable'");
      }
    }
    List<SwitchEvent> ended = flipFourInstancesUnderLoad(db, "TRANSACTION_READ_COMMITTED");

    assertThat(ended).allSatisfy(e -> assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.COMPLETED));
    assertThat(ended).extracting(SwitchEvent::id).containsOnly(ended.get(0).id());
  }

  /**
   * Four instances of one service, each a pool of 4 (connections in {@code isolation}, if given)
   * with 2 writers, flip to new: returns the event each instance ended its switch with, once the
   * writers went on there, after checking on new that no transaction failed or went missing.
   */
  private static List<SwitchEvent> flipFourInstancesUnderLoad(Replicated db, String isolation) throws Exception {
    List<HikariDataSource> pools = new ArrayList<>();
    List<Workload> loads = new ArrayList<>();
    try (SwitchEvents events = new SwitchEvents(db.database)) {
      for (int i = 0; i < 4; i++) {
        HikariDataSource pool = instance(db, "i" + i, db.flagKey, isolation);
        pools.add(pool);
        loads.add(new Workload(pool, 2, i * 10));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> loads.stream().allMatch(l -> l.commits.get() >= 30));

      db.flip(Target.NEW);
      List<SwitchEvent> ended = events(events, 4);
      long[] atSwitch = Workload.commitsOf(loads);
      await().atMost(Duration.ofSeconds(30)).until(() -> Workload.advanced(loads, atSwitch, 30));
      loads.forEach(Workload::close);
      try (Connection serving = db.newDirect()) {
        for (Workload load : loads) {
          load.assertIntact(serving);
        }
      }
      return ended;
    } finally {
      loads.forEach(Workload::close);
      pools.forEach(HikariDataSource::close);
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void flip_instanceWhoseFlagNeverMoves_joinsThroughItsHeartbeat(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    String deafFlag = db.flagKey + "-deaf";
    ManualFlag.named(deafFlag).set(Target.OLD);
    try (SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource hearing = instance(db, "hearing", db.flagKey);
        HikariDataSource deaf = instance(db, "deaf", deafFlag);
        Workload deafLoad = new Workload(deaf, 2, 0)) {
      try (Connection c = hearing.getConnection()) {
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.oldServer().port());
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> deafLoad.commits.get() >= 30);

      db.flip(Target.NEW);
      List<SwitchEvent> ended = events(events, 2);
      long atSwitch = deafLoad.commits.get();
      await().atMost(Duration.ofSeconds(30)).until(() -> deafLoad.commits.get() >= atSwitch + 30);
      deafLoad.close();

      assertThat(ended).allSatisfy(e -> assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.COMPLETED));
      assertThat(ended).extracting(SwitchEvent::instance).containsExactlyInAnyOrder("hearing", "deaf");
      assertThat(deafLoad.failures).isEmpty();
      try (Connection c = deaf.getConnection()) {
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.newServer().port());
      }
      try (Connection serving = db.newDirect()) {
        assertThat(deafLoad.missingFrom(serving)).isEmpty();
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void flip_peerStoppedHeartbeating_isFencedOutAndTheSwitchCompletes(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (Connection old = db.oldDirect(); PreparedStatement beat = old.prepareStatement(
        "SELECT * FROM cutover.heartbeat(?, 'crashed-instance', NULL, 'old', 'idle', 5000)")) {
      beat.setString(1, db.database);
      beat.execute();
    }
    try (SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource live = instance(db, "live", db.flagKey)) {
      try (Connection c = live.getConnection()) {
        DrainTest.sideOf(c);
      }
      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.leader()).isTrue();
      try (Connection c = live.getConnection()) {
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.newServer().port());
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void flip_peerNotReadyYet_gateStaysOpenUntilItIs(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (Connection old = db.oldDirect(); Peer slow = new Peer(db, "slow-instance");
        SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource live = instance(db, "live", db.flagKey + "&cutover.drain.timeout=30s")) {
      await().atMost(Duration.ofSeconds(10)).until(() -> count(old, "SELECT count(*) FROM cutover.instance WHERE instance LIKE 'live#%'") == 1);

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> count(old,
          "SELECT count(*) FROM cutover.instance WHERE instance LIKE 'live#%' AND drained_for LIKE 'ready:%'") == 1);

      // Ready, waiting for the slow peer: the gate is open and writes still go to old.
      assertThat(RouterBean.anyHolding(db.database)).isFalse();
      try (Connection c = live.getConnection(); java.sql.Statement st = c.createStatement()) {
        assertThat(st.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-2, 1)")).isEqualTo(1);
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.oldServer().port());
      }

      // The peer catches up and drains: the switch completes.
      try (PreparedStatement drained = old.prepareStatement(
          "SELECT cutover.drained(?, 'slow-instance', (SELECT id FROM cutover.switch WHERE service = ?))")) {
        drained.setString(1, db.database);
        drained.setString(2, db.database);
        drained.execute();
      }
      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      try (Connection c = live.getConnection()) {
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.newServer().port());
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  private static long count(Connection c, String sql) throws java.sql.SQLException {
    try (java.sql.Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * A live peer that never got ready nor said why (r21: a router left behind with an old password
   * could not log in to write either): the switch is refused before any gate closes, naming it,
   * and tried again. It used to close its gate anyway ("not ready after 5000 ms; closing the gate
   * anyway"), hold the application for the drain timeout and abort "did not drain".
   */
  @Test
  void flip_livePeerNeitherReadyNorSaysWhy_refusedBeforeAnyGateClosesNamingIt(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (Peer silent = new Peer(db, "silent-instance");
        SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource live = instance(db, "live", db.flagKey + "&cutover.drain.timeout=1s&cutover.switch.retry-interval=1s")) {
      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.gateClosed()).as("refused before the gate closed: %s", event.summary()).isFalse();
      assertThat(event.gateWaits()).as(event.summary()).isZero();
      assertThat(event.reason()).contains("[silent-instance]").contains("neither got ready").contains("nor said why")
          .contains("cutover.drain.timeout").contains("retrying every 1 s while the flag asks for new");
      try (Connection c = live.getConnection(); java.sql.Statement s = c.createStatement()) {
        assertThat(s.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-1, 1)")).isEqualTo(1);
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.oldServer().port());
      }
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  /** A peer that gets ready but never drains: the gate closes, and the switch aborts naming it once the drain timeout passes. */
  @Test
  void flip_livePeerNeverDrains_switchAbortsAndEveryoneStaysOnOld(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (Peer hung = new Peer(db, "hung-instance", true);
        SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource live = instance(db, "live", db.flagKey + "&cutover.drain.timeout=3s")) {
      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("hung-instance").contains("did not drain");
      try (Connection c = live.getConnection(); java.sql.Statement s = c.createStatement()) {
        assertThat(s.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-1, 1)")).isEqualTo(1);
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.oldServer().port());
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /** An instance of the service that only heartbeats (every 500 ms), as a live peer that never switches by itself. */
  private static final class Peer implements AutoCloseable {
    private final ScheduledExecutorService beats = Executors.newSingleThreadScheduledExecutor();
    private final Connection connection;

    Peer(Replicated db, String name) throws java.sql.SQLException {
      this(db, name, false);
    }

    /** With {@code ready}, it also marks itself ready for the switch in progress at each beat (and never drains). */
    Peer(Replicated db, String name, boolean ready) throws java.sql.SQLException {
      connection = db.oldDirect();
      if (ready) {
        PreparedStatement mark = connection.prepareStatement("SELECT cutover.drained(?, ?, 'ready:' || w.id)"
            + " FROM cutover.switch w WHERE w.service = ? AND w.state = 'draining'");
        mark.setString(1, db.database);
        mark.setString(2, name);
        mark.setString(3, db.database);
        beats.scheduleWithFixedDelay(() -> {
          try {
            mark.execute();
          } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
          }
        }, 0, 200, TimeUnit.MILLISECONDS);
      }
      PreparedStatement beat = connection.prepareStatement("SELECT * FROM cutover.heartbeat(?, ?, NULL, 'old', 'idle', 5000)");
      beat.setString(1, db.database);
      beat.setString(2, name);
      beats.scheduleWithFixedDelay(() -> {
        try {
          beat.execute();
        } catch (java.sql.SQLException e) {
          throw new IllegalStateException(e);
        }
      }, 0, 500, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws Exception {
      beats.shutdownNow();
      beats.awaitTermination(5, TimeUnit.SECONDS);
      connection.close();
    }
  }
}
