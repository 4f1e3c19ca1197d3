package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.testkit.LogicalReplication;
import dev.cutover.testkit.LogicalReplication.InitialData;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Instances of one service that do not agree on which database is new or old: old replicates to two
 * databases (the replicator supports one source to two targets) and one instance's {@code
 * cutover.new.url} names the second (a drifted setting), or an instance's URL and {@code
 * cutover.new.url} are swapped. Found by reviewer r20 against real servers (exp1, exp4, exp5).
 */
@LeakCheckedPair
class TargetIdentityTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  /**
   * Before, both instances completed the same switch, each onto its own new database (b a follower
   * of a's switch, its target never given a's sequences), and each wrote where the other never
   * read. Now the instance whose target is not the one the switch records refuses to get ready, and
   * the switch is refused before any gate closes, each event naming the database the switch moves
   * to; both keep serving old.
   */
  @Test
  void switch_instancesWithDifferentNewDatabases_refusedBeforeAnyGateCloses(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    String second = secondTarget(db);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection a = DrainTest.connect(db.url("cutover.instance=a", "cutover.drain.timeout=2s",
            "cutover.switch.retry-interval=1s"));
        Connection b = DrainTest.connect(db.urlWithNew(pair.newServer().jdbcUrl(second), "cutover.instance=b",
            "cutover.drain.timeout=2s", "cutover.switch.retry-interval=1s"))) {
      DrainTest.insert(a, "a before");
      DrainTest.insert(b, "b before");
      await().atMost(Duration.ofSeconds(20)).until(() -> liveOn(db.oldDirect(), "old") == 2);

      db.flip(Target.NEW);
      Map<String, SwitchEvent> first = new HashMap<>();
      while (first.size() < 2) {
        SwitchEvent e = events.next();
        first.putIfAbsent(e.instance().substring(0, 1), e);
      }

      for (SwitchEvent e : first.values()) {
        assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.ABORTED);
        assertThat(e.gateClosed()).as("no gate closed: %s", e.summary()).isFalse();
        assertThat(e.reason()).as(e.summary()).contains("cutover.new.url is not the database switch")
            .contains("of cluster").contains("must name the same new database");
      }
      try (Connection o = db.oldDirect()) {
        assertThat(Fence.isRaised(o)).as("old's fence").isFalse();
      }
      DrainTest.insert(a, "a after");
      DrainTest.insert(b, "b after");
      assertThat(DrainTest.sideOf(a)).isEqualTo(pair.oldServer().port());
      assertThat(DrainTest.sideOf(b)).isEqualTo(pair.oldServer().port());
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
      dropSecondTarget(db, second);
    }
  }

  /**
   * Before, an instance started after the switch with {@code cutover.new.url} at the second
   * database verified the release on old (fence and marker) and served its own new, a database no
   * other instance wrote and whose sequences the switch never moved (1137 duplicate keys in r20's
   * run). Now it refuses to start, naming the database the switch moved to.
   */
  @Test
  void start_afterASwitchToAnotherNewDatabase_refusesToConnect(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    String second = secondTarget(db);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection a = DrainTest.connect(db.url("cutover.instance=a"))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(a, "on new");

      SQLException refused = catchThrowableOfType(SQLException.class, () -> {
        try (Connection b = DrainTest.connect(db.urlWithNew(pair.newServer().jdbcUrl(second), "cutover.instance=b"))) {
          DrainTest.insert(b, "must not land on the second database");
        }
      });

      assertThat((Object) refused).as("an instance whose new is not the database the switch moved to").isNotNull();
      assertThat(refused.getSQLState()).isEqualTo("08004");
      assertThat(refused.getMessage()).contains("cutover.new.url is not the database switch").contains("moved to")
          .contains("database " + db.database + " (oid").contains("it reaches database " + second + " (oid")
          .contains("refusing to connect");
      try (Connection n2 = pair.newServer().connect(second)) {
        assertThat(FailoverTest.count(n2)).as("rows on the second database").isZero();
      }
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
      dropSecondTarget(db, second);
    }
  }

  /**
   * After the service switched to new, an instance starts with its URL at new and {@code
   * cutover.new.url} at old. Before, with its flag at new it was refused as if old had come back
   * from a standby that missed the switch ("start this instance with the flag at new": it was);
   * with its flag at old it started silently, served new as its old and later held the service's
   * switches at their gates until they aborted. Now both are refused, saying the URLs look swapped.
   */
  @Test
  void start_urlAndNewUrlSwapped_refusedSayingSoWhateverTheFlag(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection a = DrainTest.connect(db.url("cutover.instance=a"))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(a, "on new");
      await().atMost(Duration.ofSeconds(20)).until(() -> liveOn(db.newDirect(), "new") == 1);
      long onNew = FailoverTest.count(db.newDirect());

      for (Target flag : new Target[] {Target.NEW, Target.OLD}) {
        assertThat(refusedSwapped(pair, db, flag)).contains("serving new heartbeat in this instance's old database")
            .doesNotContain("came back from a standby");
      }
      assertThat(FailoverTest.count(db.newDirect())).as("rows on new").isEqualTo(onNew);
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * Before any switch, an instance starts with its URL at new and {@code cutover.new.url} at old
   * while a serves old. Before, nothing serves new yet, so the only sign 3e373e0 read (live
   * instances serving new heartbeat in this router's old) was absent, and c started silently on new,
   * the replication target, as if it were old (v1 NEW-2, r20/exp10: acknowledged writes only on new,
   * forward replication later broken by duplicate keys), whatever its flag. Now the mirror sign
   * refuses it: live instances serving old heartbeat in its new database.
   */
  @Test
  void start_urlAndNewUrlSwappedBeforeAnySwitch_refusedWhateverTheFlag(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Connection a = DrainTest.connect(db.url("cutover.instance=a"))) {
      DrainTest.insert(a, "on old");
      await().atMost(Duration.ofSeconds(20)).until(() -> liveOn(db.oldDirect(), "old") == 1);

      for (Target flag : new Target[] {Target.OLD, Target.NEW}) {
        assertThat(refusedSwapped(pair, db, flag)).contains("serving old heartbeat in this instance's new database");
      }
      for (Connection c : new Connection[] {db.oldDirect(), db.newDirect()}) {
        try (c; Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
            "SELECT count(*) FROM note WHERE body = 'written by a swapped instance'")) {
          rs.next();
          assertThat(rs.getLong(1)).as("rows of the swapped instance").isZero();
        }
      }
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * The legitimate cases next to a swap: after a completed switch with the way back armed (old is
   * then a replication target, of new), a correctly configured instance starts with its flag at
   * new and serves new; after the flip back, one started with its flag at old serves old. Neither
   * finds an instance serving the other side heartbeat in the database it calls old or new.
   */
  @Test
  void start_correctUrlsAfterASwitchAndAfterTheFlipBack_starts(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    db.prepareReverse();
    try (SwitchEvents events = new SwitchEvents(db.database); Connection a = DrainTest.connect(db.url("cutover.instance=a"))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      db.armReverse();
      DrainTest.insert(a, "a on new");
      await().atMost(Duration.ofSeconds(20)).until(() -> liveOn(db.newDirect(), "new") == 1);

      try (Connection d = DrainTest.connect(db.url("cutover.instance=d"))) {
        DrainTest.insert(d, "d on new");
        assertThat(DrainTest.sideOf(d)).isEqualTo(pair.newServer().port());
        await().atMost(Duration.ofSeconds(20)).until(() -> liveOn(db.newDirect(), "new") == 2);

        db.flip(Target.OLD);
        Map<String, SwitchEvent> back = new HashMap<>();
        while (back.size() < 2) {
          SwitchEvent e = events.next();
          back.putIfAbsent(e.instance().substring(0, 1), e);
        }
        for (SwitchEvent e : back.values()) {
          assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.COMPLETED);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> liveOn(db.oldDirect(), "old") == 2);

        try (Connection e = DrainTest.connect(db.url("cutover.instance=e"))) {
          DrainTest.insert(e, "e on old");
          assertThat(DrainTest.sideOf(e)).isEqualTo(pair.oldServer().port());
        }
      }
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * The claim belongs to one switch. Before, the first instance's claim was kept for every later
   * switch of the service (begin_switch reused the service's row without clearing it): b, whose
   * {@code cutover.new.url} names the second database, claimed first; a (right) was refused, as it
   * should; b left; and a, alone and right, was refused at every retry for good, told that its own
   * cutover.new.url was not the database the switch moves to (b's). Now a new switch starts with no
   * claim, and a's switch completes.
   */
  @Test
  void switch_wrongTargetClaimedFirstAndLeft_rightInstanceAloneCompletesTheNextSwitch(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    String second = secondTarget(db);
    String aKey = db.flagKey + "-a";
    ManualFlag.named(aKey).set(Target.OLD);
    String aUrl = db.url("cutover.instance=a", "cutover.drain.timeout=2s", "cutover.switch.retry-interval=1s")
        .replace("cutover.flag.key=" + db.flagKey + "&", "cutover.flag.key=" + aKey + "&");
    String bUrl = db.urlWithNew(pair.newServer().jdbcUrl(second), "cutover.instance=b", "cutover.drain.timeout=2s",
        "cutover.switch.retry-interval=1s");
    try (Connection a = DrainTest.connect(aUrl)) {
      try (SwitchEvents events = new SwitchEvents(db.database); Connection b = DrainTest.connect(bUrl)) {
        DrainTest.insert(a, "a before");
        DrainTest.insert(b, "b before");
        await().atMost(Duration.ofSeconds(20)).until(() -> liveOn(db.oldDirect(), "old") == 2);

        // Only b's flag asks: b begins the switch and claims its own (wrong) target; a joins
        // through its heartbeat, finds another target recorded and is not ready.
        db.flip(Target.NEW);
        SwitchEvent refused = events.next();
        assertThat(refused.outcome()).as(refused.summary()).isEqualTo(Outcome.ABORTED);
        assertThat(refused.reason()).as(refused.summary()).contains("cutover.new.url is not the database switch");
        assertThat(recordedTarget(db)).as("the claim of b's switch").contains("database " + second + " (oid");

        db.flip(Target.OLD);
        await().atMost(Duration.ofSeconds(30)).until(() -> settled(db, "a"));
      }
      java.util.Properties user = new java.util.Properties();
      user.setProperty("user", "postgres");
      CutoverDriver.closeIfUnused(bUrl, user);
      await().atMost(Duration.ofSeconds(20)).until(() -> liveOn(db.oldDirect(), "old") == 1);

      try (SwitchEvents events = new SwitchEvents(db.database)) {
        ManualFlag.named(aKey).set(Target.NEW);
        SwitchEvent e = events.next();
        assertThat(e.instance()).startsWith("a");
        assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.COMPLETED);
      }
      DrainTest.insert(a, "a on new");
      assertThat(DrainTest.sideOf(a)).isEqualTo(pair.newServer().port());
      assertThat(recordedTarget(db)).as("the claim of a's switch").contains("database " + db.database + " (oid");
    } finally {
      ManualFlag.named(aKey).set(Target.OLD);
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
      dropSecondTarget(db, second);
    }
  }

  /** The target the service's last switch records on old ({@code cutover.switch.target_identity}). */
  private static String recordedTarget(Replicated db) throws SQLException {
    try (Connection o = db.oldDirect(); Statement s = o.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT target_identity FROM cutover.switch WHERE service = '" + db.database + "'")) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  /** Whether no switch of the service drains on old and {@code instance} beats there idle. */
  private static boolean settled(Replicated db, String instance) throws SQLException {
    try (Connection o = db.oldDirect(); Statement s = o.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT NOT EXISTS (SELECT 1 FROM cutover.switch WHERE service = '" + db.database + "' AND state = 'draining')"
            + " AND EXISTS (SELECT 1 FROM cutover.instance WHERE service = '" + db.database + "' AND instance LIKE '"
            + instance + "#%' AND phase = 'idle' AND heartbeat_at > clock_timestamp() - interval '2 seconds')")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  /**
   * A second database on new's server with the same schema, the control schema and a subscription
   * of its own to old's publication: one source replicating to two targets.
   */
  private static String secondTarget(Replicated db) throws Exception {
    String second = db.database + "_two";
    db.pair.newServer().createDatabase(second);
    try (Connection n2 = db.pair.newServer().connect(second); Statement s = n2.createStatement()) {
      s.execute(SCHEMA);
      ControlSchema.install(n2);
    }
    try (Connection o = db.oldDirect(); Connection n2 = db.pair.newServer().connect(second)) {
      LogicalReplication.subscribe(n2, second + "_fwd", db.pair.oldServer().libpqConnection(db.database),
          db.database + "_pub", InitialData.COPY);
      LogicalReplication.awaitSynced(o, n2, second + "_fwd", Replicated.SYNC);
    }
    return second;
  }

  private static void dropSecondTarget(Replicated db, String second) throws Exception {
    try (Connection o = db.oldDirect(); Connection n2 = db.pair.newServer().connect(second)) {
      LogicalReplication.drop(o, n2, second + "_fwd", Replicated.SYNC);
    }
  }

  /** How many instances heartbeat on {@code c} within the last 5 s saying they serve {@code side}. */
  private static long liveOn(Connection c, String side) throws SQLException {
    try (c; Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM cutover.instance"
        + " WHERE serving = '" + side + "' AND heartbeat_at > clock_timestamp() - interval '5 seconds'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * Starts instance c with its URL at new and {@code cutover.new.url} at old, its own flag at {@code
   * flag}, and has it insert a note: it must be refused with 08004 naming instance a and saying the
   * URLs look swapped. Returns the message.
   */
  private static String refusedSwapped(PostgresPair pair, Replicated db, Target flag) {
    String key = db.flagKey + "-swapped-" + flag.value();
    ManualFlag.named(key).set(flag);
    String swapped = db.urlVia(pair.newServer().jdbcUrl(db.database), pair.oldServer().jdbcUrl(db.database),
        "cutover.instance=c" + flag.value()).replace("cutover.flag.key=" + db.flagKey + "&", "cutover.flag.key=" + key + "&");
    SQLException refused = catchThrowableOfType(SQLException.class, () -> {
      try (Connection c = DrainTest.connect(swapped)) {
        DrainTest.insert(c, "written by a swapped instance");
      }
    });
    assertThat((Object) refused).as("an instance with swapped URLs, its flag at %s", flag).isNotNull();
    assertThat(refused.getSQLState()).isEqualTo("08004");
    assertThat(refused.getMessage()).as("flag at %s", flag).contains("live instance(s) a#")
        .contains("the URL and cutover.new.url look swapped");
    return refused.getMessage();
  }
}
