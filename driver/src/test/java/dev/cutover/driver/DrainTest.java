package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Transactions in flight when the flag flips: finished on old if they end in time, rolled back if not. */
@LeakCheckedPair
class DrainTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void transactionOpenAcrossFlip_commitsOnOld_andReachesNewBeforeAnythingRunsThere(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection straddler = connect(db.url());
        Connection later = connect(db.url())) {
      straddler.setAutoCommit(false);
      insert(straddler, "straddler-1");

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
      CompletableFuture<Integer> seenByLater = CompletableFuture.supplyAsync(() -> {
        try (Statement s = later.createStatement();
            ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body LIKE 'straddler%'")) {
          rs.next();
          return rs.getInt(1);
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      insert(straddler, "straddler-2");
      straddler.commit();

      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.rolledBack()).isZero();
      assertThat(seenByLater.get(30, TimeUnit.SECONDS))
          .as("the transaction that waited at the gate ran on new after both straddler rows arrived")
          .isEqualTo(2);
      assertThat(sideOf(later)).isEqualTo(db.pair.newServer().port());
    }
  }

  @Test
  void transactionOutlivingDrainTimeout_getsRetryable40001_andLeavesNothingBehind(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection slow = connect(db.url("cutover.drain.timeout=300ms"))) {
      slow.setAutoCommit(false);
      insert(slow, "doomed");

      db.flip(Target.NEW);
      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.rolledBack()).isEqualTo(1);

      assertThatThrownBy(() -> insert(slow, "doomed-2"))
          .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"))
          .hasMessageContaining("rolled back")
          .hasMessageContaining("cutover.drain.timeout");
      slow.rollback();
      insert(slow, "retried");
      slow.commit();

      db.awaitReplicated();
      for (Connection direct : new Connection[] {db.oldDirect(), db.newDirect()}) {
        try (direct; Statement s = direct.createStatement();
            ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body LIKE 'doomed%'")) {
          rs.next();
          assertThat(rs.getInt(1)).as("rolled-back rows on " + direct.getMetaData().getURL()).isZero();
        }
      }
      try (Connection n = db.newDirect(); Statement s = n.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body = 'retried'")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(1);
      }
    }
  }

  static Connection connect(String url) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    return DriverManager.getConnection(url, p);
  }

  static void insert(Connection c, String body) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO note (body) VALUES (?)")) {
      ps.setString(1, body);
      ps.executeUpdate();
    }
  }

  /** The port of the server a logical connection's current transaction runs on. */
  static int sideOf(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_setting('port')::int")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
