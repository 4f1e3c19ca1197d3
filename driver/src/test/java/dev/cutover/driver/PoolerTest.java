package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PgBouncer;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.TcpProxy;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the switch needs a real session for cannot go through a transaction pooler: without a
 * direct URL the driver tells a pooler from a plain relay and refuses to switch, naming the setting.
 */
@LeakCheckedPair
class PoolerTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void flip_throughPgBouncerWithoutDirectUrl_isRefusedNamingTheSetting(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (PgBouncer bouncer = db.pgBouncer();
        SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.urlThrough(bouncer))) {
      DrainTest.insert(app, "through the pooler");
      assertThat((String[]) RouterBean.attribute(db.database, "PendingGuarantees"))
          .anySatisfy(p -> assertThat(p).contains("cutover.old.direct-url"))
          .anySatisfy(p -> assertThat(p).contains("cutover.new.direct-url"));

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("the old database is reached through a connection pooler")
          .contains("set cutover.old.direct-url").contains("the pooler's server is")
          .contains("cutover.new.direct-url");
      assertThat(event.gateWaits()).isZero();
      DrainTest.insert(app, "still on old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
  }

  /**
   * Every server connection of old's pool held by the application's open transactions: the switch's
   * check of the application's path cannot log in through the pooler. It fails within the barrier
   * timeout saying so (before, it waited in the pooler's queue until the switch's whole budget ran
   * out and blamed a silent network to new), and the application goes on on old.
   */
  @Test
  void flip_poolerWhoseEveryServerConnectionTheApplicationHolds_failsNamingThePool(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    List<Connection> held = new ArrayList<>();
    try (PgBouncer bouncer = db.pgBouncer(); SwitchEvents events = new SwitchEvents(db.database)) {
      String url = db.urlThrough(bouncer, db.directUrls("cutover.barrier.timeout=1s"));
      for (int i = 0; i < PgBouncer.POOL_SIZE; i++) {
        Connection c = DrainTest.connect(url);
        held.add(c);
        c.setAutoCommit(false);
        DrainTest.insert(c, "held " + i);
      }

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("the switch could not get a session by the application's URL to the old database"
          + " within 1000 ms (cutover.barrier.timeout)").contains("give the pooler's pool room for one more connection")
          .doesNotContain("silent");
      for (Connection c : held) {
        c.commit();
      }
      DrainTest.insert(held.get(0), "still on old");
      assertThat(DrainTest.sideOf(held.get(0))).isEqualTo(pair.oldServer().port());
    } finally {
      for (Connection c : held) {
        c.close();
      }
    }
  }

  @Test
  void transactionOutlivingDrainTimeoutThroughPgBouncer_getsRetryable40001_andLeavesNothingBehind(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (PgBouncer bouncer = db.pgBouncer();
        SwitchEvents events = new SwitchEvents(db.database);
        Connection slow = DrainTest.connect(db.urlThrough(bouncer, db.directUrls("cutover.drain.timeout=300ms")))) {
      slow.setAutoCommit(false);
      DrainTest.insert(slow, "doomed");

      db.flip(Target.NEW);
      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.rolledBack()).isEqualTo(1);

      assertThatThrownBy(() -> DrainTest.insert(slow, "doomed-2"))
          .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"))
          .hasMessageContaining("cutover.drain.timeout");
      slow.rollback();
      DrainTest.insert(slow, "retried");
      slow.commit();
      assertThat(DrainTest.sideOf(slow)).isEqualTo(pair.newServer().port());
    }
    db.awaitReplicated();
    for (Connection direct : new Connection[] {db.oldDirect(), db.newDirect()}) {
      try (direct; Statement s = direct.createStatement();
          ResultSet rs = s.executeQuery("SELECT string_agg(body, ',') FROM note")) {
        rs.next();
        assertThat(rs.getString(1)).as("rows on " + direct.getMetaData().getURL()).isIn("retried", null);
      }
    }
  }

  @Test
  void flip_directUrlThatIsThePoolerToo_isRefused(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (PgBouncer bouncer = db.pgBouncer();
        SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.urlThrough(bouncer,
            "cutover.old.direct-url=" + URLEncoder.encode(pair.oldServer().jdbcUrl(db.database), StandardCharsets.UTF_8),
            "cutover.new.direct-url=" + URLEncoder.encode(bouncer.jdbcUrl("app_new"), StandardCharsets.UTF_8)))) {
      db.flip(Target.NEW);
      SwitchEvent event = events.next();
      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("cutover.new.direct-url reaches a connection pooler or proxy too")
          .doesNotContain("cutover.old.direct-url");
      DrainTest.insert(app, "still on old");
    }
  }

  @Test
  void start_directUrlNotAnswering_servesAndRefusesSwitches(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    int closedPort = Ports.closed();
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(db.url(
        "cutover.new.direct-url=" + URLEncoder.encode("jdbc:postgresql://127.0.0.1:" + closedPort + "/" + db.database,
            StandardCharsets.UTF_8)))) {
      DrainTest.insert(app, "served although the direct URL is wrong");
      assertThat((String[]) RouterBean.attribute(db.database, "PendingGuarantees"))
          .anySatisfy(p -> assertThat(p).contains("cutover.new.direct-url does not answer").contains(":" + closedPort));

      db.flip(Target.NEW);
      SwitchEvent event = events.next();
      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("new database is unreachable").contains(":" + closedPort);
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
  }

  @Test
  void flip_throughPlainTcpRelays_isNotTakenForAPooler(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (TcpProxy toOld = TcpProxy.in(pair.oldServer()); TcpProxy toNew = TcpProxy.in(pair.newServer());
        SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.urlVia(toOld.redirect(pair.oldServer().jdbcUrl(db.database)),
            toNew.redirect(pair.newServer().jdbcUrl(db.database))))) {
      DrainTest.insert(app, "through a relay");
      assertThat((String[]) RouterBean.attribute(db.database, "PendingGuarantees")).isEmpty();

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.notGuaranteed()).isEmpty();
      DrainTest.insert(app, "on new through a relay");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
      assertThat(toNew.acceptedConnections()).as("the application's connections to new went through the relay")
          .isPositive();
    }
  }
}
