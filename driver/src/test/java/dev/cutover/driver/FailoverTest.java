package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Old fails over to a standby (or is restored from a backup) that missed what its lost primary did
 * for a switch to new, while the service serves new. The standby is simulated by editing old's
 * control schema as the superuser into what such a standby holds, with replication from old
 * stopped (the promoted standby has no slot for it).
 */
@LeakCheckedPair
class FailoverTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  /**
   * The standby missed the fence, the switch's record and its barrier marker: old is open and
   * records no switch. Before, an instance started with its flag at new served old (its switch to
   * new refused by the probe) and committed there, rows that never reach new, while the service
   * served new. Now it refuses to connect, naming the marker new holds and old does not, and
   * nothing lands on old; likewise while a live instance serves new (the peer's heartbeat on new).
   */
  @Test
  void start_oldBackFromAStandbyThatMissedTheSwitch_refusesInsteadOfWritingOnOld(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection a = DrainTest.connect(db.url("cutover.instance=a"))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(a, "on new");
      await().atMost(Duration.ofSeconds(10)).until(() -> servingNew(db));
      db.stopForward();
      missedTheSwitch(db);

      SQLException whileALives = catchThrowableOfType(SQLException.class, () -> {
        try (Connection b = DrainTest.connect(db.url("cutover.instance=b"))) {
          DrainTest.insert(b, "must not land on old");
        }
      });
      assertThat((Object) whileALives).as("an instance started while old lost the switch").isNotNull();
      assertThat(whileALives.getSQLState()).isEqualTo("08004");
      assertThat(whileALives.getMessage()).contains("live instance(s) a#").contains(" of " + db.database + " serve new");
    }
    CutoverDriver.shutdown(db.database);
    long onOld = count(db.oldDirect());

    SQLException refused = catchThrowableOfType(SQLException.class, () -> {
      try (Connection b = DrainTest.connect(db.url("cutover.instance=b"))) {
        DrainTest.insert(b, "must not land on old");
      }
    });

    assertThat((Object) refused).as("a router whose flag says new must not write on an old that lost the switch")
        .isNotNull();
    assertThat(refused.getSQLState()).isEqualTo("08004");
    assertThat(refused.getMessage()).contains("the old database is not fenced and records no switch to new")
        .contains("the new database holds the barrier marker(s) barrier:")
        .contains("came back from a standby").contains("refusing to connect").contains("point the application at new");
    assertThat(count(db.oldDirect())).as("rows on old").isEqualTo(onOld);
    CutoverDriver.shutdown(db.database);
  }

  /**
   * The standby missed only the release (r19 scen6): old holds the switch as draining, its fence
   * raised and its barrier marker written, nobody leads it, and new holds the marker and served.
   * Before, an instance started with its flag at new served the fenced old, where every write failed
   * (25006) for good, and nothing said why. Now it says at start (an error in its log, and a pending
   * guarantee until its next switch checks again) that
   * new holds the switch's barrier marker and old may have come back from a standby that missed the
   * release, with the remedy; it still neither lowers the fence nor writes on new.
   */
  @Test
  void start_oldBackFromAStandbyThatMissedTheRelease_saysWhyWritesFailAndKeepsTheFence(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection a = DrainTest.connect(db.url("cutover.instance=a"))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(a, "on new");
    }
    CutoverDriver.shutdown(db.database);
    db.stopForward();
    try (Connection o = db.oldDirect(); Statement s = o.createStatement()) {
      s.execute("UPDATE cutover.switch SET state = 'draining', marker = NULL, target_epoch = NULL");
      s.execute("TRUNCATE cutover.instance");
    }
    long onNew = count(db.newDirect());

    // b's flag says new, so it tries the switch; with replication stopped each try's probe waits
    // the whole barrier timeout (10 s by default) before it is refused, and the shutdown waits for it.
    try (LogCapture logs = new LogCapture();
        Connection b = DrainTest.connect(db.url("cutover.instance=b", "cutover.barrier.timeout=3s"))) {
      SQLException refused = catchThrowableOfType(SQLException.class, () -> DrainTest.insert(b, "while fenced"));
      assertThat((Throwable) refused).as("old's fence refuses it; nothing goes to new").isNotNull();
      assertThat(refused.getSQLState()).isEqualTo("25006");
      assertThat(logs.lines(ch.qos.logback.classic.Level.ERROR))
          .anySatisfy(p -> assertThat(p).contains("old database is fenced by switch")
              .contains("draining with no leader").contains("new database holds that switch's barrier marker barrier:")
              .contains("missed its release").contains("does not lower the fence").contains("switch-force"));
    } finally {
      CutoverDriver.shutdown(db.database);
    }
    try (Connection o = db.oldDirect(); Statement s = o.createStatement();
        ResultSet rs = s.executeQuery("SELECT cutover.fence_raised()")) {
      rs.next();
      assertThat(rs.getBoolean(1)).as("old's fence").isTrue();
    }
    assertThat(count(db.newDirect())).as("rows on new").isEqualTo(onNew);
  }

  /** What a standby of old that missed the switch's fence, record and marker holds after promotion. */
  static void missedTheSwitch(Replicated db) throws SQLException {
    try (Connection o = db.oldDirect(); Statement s = o.createStatement()) {
      s.execute("SELECT cutover.lower_fence()");
      s.execute("DELETE FROM cutover.switch");
      s.execute("DELETE FROM cutover.marker_log");
      s.execute("DELETE FROM cutover.barrier WHERE marker LIKE 'barrier:%'");
      s.execute("TRUNCATE cutover.instance");
    }
  }

  /** Whether an instance heartbeats on new saying it serves new. */
  private static boolean servingNew(Replicated db) throws SQLException {
    try (Connection n = db.newDirect(); Statement s = n.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM cutover.instance WHERE serving = 'new'")) {
      rs.next();
      return rs.getLong(1) > 0;
    }
  }

  static long count(Connection c) throws SQLException {
    try (c; Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM note")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
