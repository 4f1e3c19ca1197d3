package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.cleanup.Cleanup;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.Heartbeat;
import dev.cutover.replicator.replication.HeartbeatWriter;
import dev.cutover.replicator.replication.KeylessTables;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The replicator end to end on real servers, on the version pair of each subclass: {@link
 * ReplicationFlowTest} (12 → 17) and {@link ReplicationFlow16To18Test}, where reverse replication
 * runs beside forward. The tests here take paths that differ between the two (reverse, status's
 * queries, the settings check names, the subscription's options); what does not differ is in
 * {@link ReplicationFlowTest} and {@link StartAndVerifyTest}.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
abstract class ReplicationFlow {
  static final Duration CATCH_UP = Duration.ofSeconds(30);

  /** Small chunks, so that even the test's few megabytes are copied in parallel ranges. */
  static StartOptions options() {
    return StartOptions.defaults().withJobs(2).withChunkBytes(512 * 1024).withKeyless(KeylessTables.ALL_FULL);
  }

  static StartReport start(Replicator r) throws Exception {
    return r.start(options(), new CopyProgress(), CopyListener.NONE);
  }

  @Test
  void start_writesDuringCopy_convergesAndVerifiesClean(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "flow");
    Replicator r = db.replicator();
    StartReport report;
    long commitsBeforeCopy;
    long[] commitsAtFirstChunk = new long[1];
    try (Writer writer = new Writer(db)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> writer.commits.get() >= 5);
      commitsBeforeCopy = writer.commits.get();
      AtomicBoolean first = new AtomicBoolean(true);
      CopyListener duringCopy = new CopyListener() {
        @Override
        public void chunkStarting(dev.cutover.replicator.sql.TableName table, int chunk, int chunks) {
          // The snapshot is taken: writes committed from now on must arrive through the slot.
          if (first.getAndSet(false)) {
            long seen = writer.commits.get();
            await().atMost(Duration.ofSeconds(20)).until(() -> writer.commits.get() >= seen + 20);
            commitsAtFirstChunk[0] = writer.commits.get();
          }
        }
      };
      report = r.start(options(), new CopyProgress(), duringCopy);
      await().atMost(Duration.ofSeconds(20)).until(() -> writer.commits.get() >= commitsAtFirstChunk[0] + 20);
    }
    assertThat(commitsAtFirstChunk[0]).isGreaterThan(commitsBeforeCopy);
    assertThat(report.tables()).extracting(StartReport.TableCopy::table).containsAll(AppDatabase.TABLES);
    assertThat(report.tables()).filteredOn(t -> t.table().equals("public.event")).first()
        .satisfies(t -> assertThat(t.chunks()).isGreaterThan(1));
    assertThat(report.indexesSetAside()).isGreaterThanOrEqualTo(6);

    r.awaitCaughtUp(CATCH_UP);
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("differences: %s", verify.tables()).isZero();
    assertThat(verify.tables()).extracting(VerifyReport.TableResult::table).containsAll(AppDatabase.TABLES);
    try (Connection o = db.old(); Connection n = db.nw()) {
      for (String t : AppDatabase.TABLES) {
        assertThat(AppDatabase.count(n, "SELECT count(*) FROM " + t)).as(t).isEqualTo(AppDatabase.count(o, "SELECT count(*) FROM " + t));
      }
    }
  }

  @Test
  void status_subscriptionDisabled_reportsGrowingLag(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "status");
    Replicator r = db.replicator();
    start(r);
    try (HeartbeatWriter beat = r.heartbeat(Duration.ofMillis(100))) {
      await().atMost(CATCH_UP).untilAsserted(() -> {
        StatusReport.Direction f = r.status().forward();
        assertThat(f.heartbeatLagMillis()).isNotNull().isLessThan(1_000);
        assertThat(f.state()).isEqualTo("streaming");
        assertThat(f.tables()).containsEntry("public.event", "ready");
      });
      try (Connection n = db.nw()) {
        AppDatabase.execute(n, "ALTER SUBSCRIPTION " + r.names().forward() + " DISABLE");
      }
      await().atMost(CATCH_UP).untilAsserted(() -> {
        StatusReport.Direction f = r.status().forward();
        assertThat(f.heartbeatLagMillis()).isGreaterThan(1_500);
        assertThat(f.state()).isEqualTo("stopped");
        assertThat(f.problems()).anyMatch(p -> p.contains("disabled") && p.contains("lag grows"));
      });
      long lag = r.status().forward().heartbeatLagMillis();
      await().atMost(CATCH_UP).until(() -> r.status().forward().heartbeatLagMillis() > lag);
    }
  }

  /**
   * The subscription's login refused by old mid-window, as after a password rotated there (r21 #3;
   * here the role it logs in as may no longer log in, class 28 as a wrong password): its apply worker
   * only retries, saying why in new's server log alone. Status said "it is starting, or failing" and
   * catch-up waited out its timeout ("did not catch up within"); both name the refused login, the
   * subscription and the ALTER SUBSCRIPTION … CONNECTION that mends it, the password masked (whole:
   * the mask stopped at a blank that libpq's backslash escapes, r26), and catch-up fails at once.
   */
  @Test
  void status_subscriptionLoginRefusedByOld_namesItAndCatchUpFailsAtOnce(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "rotated");
    PostgresServer old = pair.oldServer();
    try (Connection o = old.connect()) {
      AppDatabase.execute(o, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rotated_sub') THEN"
          + " CREATE ROLE rotated_sub LOGIN SUPERUSER REPLICATION; END IF; END $$");
    }
    Endpoint oldEp = AppDatabase.endpoint(old, Side.OLD, db.name)
        .withConninfo("host=" + old.host() + " port=" + old.port() + " dbname=" + db.name + " user=rotated_sub password=before\\ rotation\\ SECRET");
    Replicator r = Replicator.builder().old(oldEp).nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db.name)).build();
    start(r);
    r.awaitCaughtUp(CATCH_UP);
    try (Connection o = old.connect()) {
      AppDatabase.execute(o, "ALTER ROLE rotated_sub NOLOGIN");
      AppDatabase.execute(o, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'rotated_sub'");
    }
    try {
      String alter = "ALTER SUBSCRIPTION \"" + r.names().forward() + "\" CONNECTION";
      await().atMost(CATCH_UP).untilAsserted(() -> assertThat(r.status().forward().problems()).anyMatch(p ->
          p.contains("subscription " + r.names().forward() + " on new cannot log in to old") && p.contains("rotated_sub")
              && p.contains(alter) && p.contains("password=***")));
      assertThat(r.status().forward().problems()).noneMatch(p -> p.contains("SECRET") || p.contains("rotation"));
      long began = System.nanoTime();
      ReplicatorException e = catchThrowableOfType(ReplicatorException.class, () -> r.awaitCaughtUp(Duration.ofSeconds(60)));
      assertThat(Duration.ofNanos(System.nanoTime() - began)).isLessThan(Duration.ofSeconds(30));
      assertThat(e.failure()).isEqualTo(Failure.TIMEOUT);
      assertThat(e.getMessage()).contains("cannot log in to old").contains(r.names().forward()).doesNotContain("SECRET");
      assertThat(e.remedy()).contains(alter).contains("password=***").doesNotContain("SECRET").doesNotContain("rotation");
    } finally {
      try (Connection o = old.connect()) {
        AppDatabase.execute(o, "ALTER ROLE rotated_sub LOGIN");
      }
    }
    r.awaitCaughtUp(CATCH_UP);
  }

  @Test
  void reverse_writesOnNew_reachOldWithoutLoop(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "reverse");
    Replicator r = db.replicator();
    start(r);
    boolean twoWay = pair.oldServer().majorVersion() >= 16 && pair.newServer().majorVersion() >= 16;
    Reverse.Options options = new Reverse.Options(Duration.ZERO, CATCH_UP);
    if (!twoWay) {
      assertThatThrownBy(() -> r.reverse(options))
          .isInstanceOfSatisfying(ReplicatorException.class, e -> assertThat(e.failure()).isEqualTo(Failure.PRECONDITION))
          .hasMessageContaining("not fenced");
      try (Connection o = db.old()) {
        AppDatabase.fenceAsASwitch(o);
      }
      assertThatThrownBy(() -> r.reverse(options))
          .as("unprepared, a way back would miss what new took since the switch: refused unless accepted")
          .isInstanceOfSatisfying(ReplicatorException.class, e -> assertThat(e.failure()).isEqualTo(Failure.PRECONDITION))
          .hasMessageContaining("reverse --prepare` was not run");
    }
    Reverse.Report report = r.reverse(new Reverse.Options(Duration.ZERO, CATCH_UP, true));
    assertThat(report.mode()).isEqualTo(twoWay ? "two-way" : "after-fence");

    try (Connection o = db.old(); Connection n = db.nw()) {
      AppDatabase.execute(n, "INSERT INTO customer (id, email) VALUES (900001, 'made-on-new@example.com')");
      await().atMost(CATCH_UP).until(() -> AppDatabase.count(o, "SELECT count(*) FROM customer WHERE id = 900001") == 1);
      if (twoWay) {
        // Forward still runs: a row written on old still reaches new, and the row from new did
        // not come back (it would fail there as a duplicate and stop forward's apply).
        AppDatabase.execute(o, "INSERT INTO customer (id, email) VALUES (900002, 'made-on-old@example.com')");
        await().atMost(CATCH_UP).until(() -> AppDatabase.count(n, "SELECT count(*) FROM customer WHERE id = 900002") == 1);
      }
      AppDatabase.execute(n, "UPDATE customer SET profile = '{\"moved\": 1}' WHERE id = 900001");
      await().atMost(CATCH_UP).until(() -> AppDatabase.count(o, "SELECT count(*) FROM customer WHERE id = 900001 AND profile->>'moved' = '1'") == 1);
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM customer WHERE email = 'made-on-new@example.com'")).isEqualTo(1);
      if (Sql.majorVersion(n) >= 15) {
        assertThat(AppDatabase.count(n, "SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats")).isZero();
      }
      if (Sql.majorVersion(o) >= 15) {
        assertThat(AppDatabase.count(o, "SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats")).isZero();
      }
    }
    StatusReport status = r.status();
    assertThat(status.reverse()).isNotNull();
    assertThat(status.reverse().problems()).noneMatch(p -> p.contains("error"));
    assertThat(status.forward() != null).isEqualTo(twoWay);
  }

  /**
   * The way back through a real switch of the driver: on 16+ reverse runs before the switch; below
   * 16 it is prepared before the switch (the switch creates the slot at the fence) and armed after
   * it. Either way a write made on new right after the switch reaches old.
   */
  @Test
  void reverse_preparedBeforeEachSwitch_missesNoWriteEitherWay(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "prepared");
    Replicator r = db.replicator();
    start(r);
    boolean twoWay = pair.oldServer().majorVersion() >= 16 && pair.newServer().majorVersion() >= 16;
    Reverse.Options options = new Reverse.Options(Duration.ZERO, CATCH_UP);
    if (twoWay) {
      r.reverse(options);
    } else {
      assertThat(r.prepareReverse()).anyMatch(step -> step.contains("will create slot cutover_rev_") && step.contains("on new"));
    }
    ManualFlag flag = ManualFlag.named(db.name + "-flag");
    flag.set(Target.OLD);
    String url = CutoverUrl.manualFlag(pair, db.name);
    java.util.Properties props = new java.util.Properties();
    props.setProperty("user", pair.oldServer().user());
    try (SwitchEventQueue events = new SwitchEventQueue(db.name);
        Connection app = java.sql.DriverManager.getConnection(url, props); Connection o = db.old(); Connection n = db.nw()) {
      Heartbeat.beat(o, Side.OLD);
      flipWriteAndCarryBack(flag, events, app, Target.NEW, 900101, r, twoWay, o);
      // Old beats while new serves: below 16 nothing carries them, and new's copy of old's row stays behind.
      for (int i = 0; i < 3; i++) {
        Heartbeat.beat(o, Side.OLD);
      }

      // And back: after the flip back, replication turns around once more, to old -> new.
      if (!twoWay) {
        assertThat(r.prepareReverse()).anyMatch(step -> step.contains("will create slot cutover_fwd_") && step.contains("on old"));
      }
      flipWriteAndCarryBack(flag, events, app, Target.OLD, 900102, r, twoWay, n);
      // Armed without a copy, old -> new takes its first beat as it comes (the gap check would stop it at a stale row),
      // and checks the next ones.
      for (int i = 0; i < 2; i++) {
        Heartbeat.beat(o, Side.OLD);
        long beats = Heartbeat.read(o, Side.OLD).orElseThrow().beats();
        await().atMost(CATCH_UP).until(() -> Heartbeat.read(n, Side.OLD).map(Heartbeat.Beat::beats).orElse(0L) == beats);
      }
    } finally {
      dev.cutover.driver.CutoverDriver.shutdown(db.name);
    }
  }

  /**
   * Flips to {@code to}, writes customer {@code id} through the application right after the
   * switch, runs reverse --prepare by mistake (it says the switch is done and to run reverse),
   * turns replication around (below 16, from the slot the switch created) and waits for
   * the row on {@code otherSide}.
   */
  private static void flipWriteAndCarryBack(ManualFlag flag, SwitchEventQueue events, Connection app, Target to, long id,
      Replicator r, boolean twoWay, Connection otherSide) throws Exception {
    flag.set(to);
    SwitchEvent event = events.next(Duration.ofSeconds(60));
    assertThat(event).isNotNull();
    assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
    AppDatabase.execute(app, "INSERT INTO customer (id, email) VALUES (" + id + ", 'right-after-switch-" + id + "@example.com')");
    if (!twoWay) {
      // reverse --prepare in place of reverse: it said the switch "will create" the slot it had just made (r15).
      assertThat(r.prepareReverse()).singleElement().asString()
          .contains("the switch to " + to.value() + " was released already and created slot ")
          .contains("run `cutover-replicator reverse` now").doesNotContain("will create");
      Reverse.Report report = r.reverse(new Reverse.Options(Duration.ZERO, CATCH_UP));
      assertThat(report.way()).isEqualTo(to.value() + " -> " + to.other().value());
      assertThat(report.steps()).anyMatch(step -> step.contains("nothing written on " + to.value() + " since the switch is missed"));
    }
    await().atMost(CATCH_UP).until(() -> AppDatabase.count(otherSide, "SELECT count(*) FROM customer WHERE id = ?", id) == 1);
  }

  /**
   * Every replication origin state of new's server is taken (other subscriptions' origins keep
   * theirs even while stopped): the subscription's apply worker would never start. Check names
   * the setting that gives room, on the server's version.
   */
  @Test
  void check_newHasNoFreeReplicationOrigin_namesTheSetting(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "origins");
    String setting = pair.newServer().majorVersion() >= 18 ? "max_active_replication_origins" : "max_replication_slots";
    try (Connection n = db.nw()) {
      long free = AppDatabase.count(n, "SELECT setting::bigint - (SELECT count(*) FROM pg_replication_origin_status)"
          + " FROM pg_settings WHERE name = ?", setting);
      try {
        AppDatabase.execute(n, "SELECT pg_replication_origin_create('cutover_test_fill_' || g),"
            + " pg_replication_origin_advance('cutover_test_fill_' || g, '0/1') FROM generate_series(1, " + free + ") g");
        assertThat(db.replicator().check().findings()).filteredOn(f -> f.code().equals("replication-origins")).singleElement()
            .satisfies(f -> {
              assertThat(f.severity()).isEqualTo(Finding.Severity.ERROR);
              assertThat(f.side()).isEqualTo("new");
              assertThat(f.remedy()).contains("ALTER SYSTEM SET " + setting + " = ");
            });
      } finally {
        AppDatabase.execute(n, "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname LIKE 'cutover\\_test\\_fill\\_%'");
      }
    }
    assertThat(db.replicator().check().findings()).noneMatch(f -> f.code().equals("replication-origins"));
  }

  /**
   * Every logical replication worker slot of new's server is kept by other enabled subscriptions
   * (their workers wait on a source that accepts and never answers): the subscription's apply worker
   * would never start. Check and start name the setting; status and catch-up, for a subscription
   * enabled while there is no room, name that cause rather than waiting or guessing.
   */
  @Test
  void check_newHasNoFreeReplicationWorker_namesTheSettingAndStartRefuses(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "workers");
    AppDatabase second = AppDatabase.create(pair, "workers2");
    Replicator r = db.replicator();
    start(r);
    r.awaitCaughtUp(CATCH_UP);
    try (Connection n = db.nw(); java.net.ServerSocket silent = new java.net.ServerSocket(0, 64, java.net.InetAddress.getLoopbackAddress())) {
      String sub = AppDatabase.strings(n, "SELECT subname FROM pg_subscription WHERE subdbid"
          + " = (SELECT oid FROM pg_database WHERE datname = current_database())").get(0);
      AppDatabase.execute(n, "ALTER SUBSCRIPTION " + sub + " DISABLE");
      await().atMost(Duration.ofSeconds(20)).until(() -> AppDatabase.count(n, "SELECT count(*) FROM pg_stat_subscription"
          + " WHERE subname = '" + sub + "' AND pid IS NOT NULL") == 0);
      long free = AppDatabase.count(n, "SELECT setting::bigint - (SELECT count(*) FROM pg_subscription WHERE subenabled)"
          + " FROM pg_settings WHERE name = 'max_logical_replication_workers'");
      try {
        for (int i = 0; i < free; i++) {
          AppDatabase.execute(n, "CREATE SUBSCRIPTION test_fill_" + i + " CONNECTION 'host=127.0.0.1 port=" + silent.getLocalPort()
              + " dbname=x user=x sslmode=disable' PUBLICATION p WITH (connect = false)");
        }
        // In one transaction: the launcher, woken once, starts them all in one pass (a wake-up that came while it waited
        // for a worker to attach would be lost until its next round, minutes later).
        AppDatabase.execute(n, "BEGIN; " + java.util.stream.IntStream.range(0, (int) free)
            .mapToObj(i -> "ALTER SUBSCRIPTION test_fill_" + i + " ENABLE; ").collect(Collectors.joining()) + "COMMIT");
        await().atMost(Duration.ofSeconds(30)).until(() -> AppDatabase.count(n, "SELECT count(*) FROM pg_stat_subscription"
            + " WHERE subname LIKE 'test\\_fill\\_%' AND pid IS NOT NULL") == free);
        AppDatabase.execute(n, "ALTER SUBSCRIPTION " + sub + " ENABLE");

        assertThat(r.check().findings()).filteredOn(f -> f.code().equals("replication-workers")).singleElement().satisfies(f -> {
          assertThat(f.severity()).isEqualTo(Finding.Severity.ERROR);
          assertThat(f.side()).isEqualTo("new");
          assertThat(f.message()).contains("max_logical_replication_workers is");
          assertThat(f.remedy()).contains("ALTER SYSTEM SET max_logical_replication_workers = ");
        });
        assertThat(r.status().forward()).satisfies(f -> {
          assertThat(f.state()).isEqualTo("stopped");
          assertThat(f.problems()).anySatisfy(p -> assertThat(p).contains("no apply worker runs for " + sub)
              .contains("max_logical_replication_workers is").contains("ALTER SYSTEM SET max_logical_replication_workers"));
        });
        assertThatThrownBy(() -> r.awaitCaughtUp(CATCH_UP)).isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.TIMEOUT);
          assertThat(e.getMessage()).contains("replication cannot catch up: no apply worker runs for " + sub)
              .contains("max_logical_replication_workers is");
        });
        assertThatThrownBy(() -> start(second.replicator())).isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
          assertThat(e.getMessage()).contains("max_logical_replication_workers is").contains("start changed nothing");
        });
        try (Connection n2 = second.nw()) {
          assertThat(AppDatabase.count(n2, "SELECT count(*) FROM pg_subscription WHERE subdbid"
              + " = (SELECT oid FROM pg_database WHERE datname = current_database())")).isZero();
        }
      } finally {
        silent.close();
        for (int i = 0; i < free; i++) {
          AppDatabase.execute(n, "ALTER SUBSCRIPTION test_fill_" + i + " DISABLE");
          AppDatabase.execute(n, "ALTER SUBSCRIPTION test_fill_" + i + " SET (slot_name = NONE)");
          AppDatabase.execute(n, "DROP SUBSCRIPTION test_fill_" + i);
        }
      }
    }
    r.awaitCaughtUp(CATCH_UP);
    assertThat(r.check().findings()).noneMatch(f -> f.code().equals("replication-workers") && f.side().equals("new"));
  }

  /**
   * New's database caps statements at 100 ms, transactions idle in them at 500 ms and, on 17+,
   * transactions at 1 s, as production databases cap them. The subscription's apply worker
   * takes those settings: the transaction cap cancelled its apply of a transaction of old's that
   * takes longer (300,000 rows) at every retry, so check and start refuse it, naming the remedy for
   * the replicator's role alone; with it, the worker applies that transaction while the statement
   * and idle caps stay, which do not reach it. (The replicator's own sessions turn all of them off:
   * see the relay and trigger capture tests.)
   */
  @Test
  void start_newCapsTimeouts_transactionCapRefusedAndTheWorkerAppliesALargeTransaction(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "timeouts");
    boolean transactionCap = pair.newServer().majorVersion() >= 17;
    Replicator r = db.replicator();
    try (Connection n = db.nw()) {
      String alter = "ALTER DATABASE " + Sql.ident(db.name) + " SET ";
      AppDatabase.execute(n, alter + "statement_timeout = '100ms'; " + alter + "idle_in_transaction_session_timeout = '500ms'"
          + (transactionCap ? "; " + alter + "transaction_timeout = '1s'" : ""));
    }
    try {
      capped(pair, db, r, transactionCap);
    } finally {
      // Not for the teardown's sessions: its DROP SUBSCRIPTION timed out at 100 ms once on a loaded host.
      try (Connection n = db.nw()) {
        String reset = "ALTER DATABASE " + Sql.ident(db.name) + " RESET ";
        AppDatabase.execute(n, "SET statement_timeout = 0; " + reset + "statement_timeout; " + reset + "idle_in_transaction_session_timeout"
            + (transactionCap ? "; " + reset + "transaction_timeout" : ""));
      }
    }
  }

  private void capped(PostgresPair pair, AppDatabase db, Replicator r, boolean transactionCap) throws Exception {
    if (transactionCap) {
      String remedy = "ALTER ROLE " + Sql.ident(pair.newServer().user()) + " IN DATABASE " + Sql.ident(db.name) + " SET transaction_timeout = 0";
      assertThat(r.check().findings()).filteredOn(f -> f.code().equals("transaction-timeout")).singleElement().satisfies(f -> {
        assertThat(f.severity()).isEqualTo(Finding.Severity.ERROR);
        assertThat(f.message()).contains("transaction_timeout is 1000ms");
        assertThat(f.remedy()).contains(remedy);
      });
      assertThatThrownBy(() -> start(r)).isInstanceOf(ReplicatorException.class).hasMessageContaining("transaction_timeout is 1000ms")
          .hasMessageContaining("start changed nothing");
      try (Connection n = db.nw()) {
        AppDatabase.execute(n, remedy);
      }
    }
    start(r);
    try (Connection capped = db.nw()) {
      assertThatThrownBy(() -> AppDatabase.execute(capped, "SELECT pg_sleep(0.3)")).as("a session that starts now is capped")
          .hasMessageContaining("statement timeout");
    }
    try (Connection o = db.old()) {
      AppDatabase.execute(o, "INSERT INTO audit_log (message) SELECT 'big ' || g FROM generate_series(1, 300000) g");
    }
    r.awaitCaughtUp(Duration.ofSeconds(60));
    try (Connection n = db.nw()) {
      AppDatabase.execute(n, "SET statement_timeout = 0"); // the count itself may take longer than the cap on a busy machine
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM audit_log WHERE message LIKE 'big %'")).isEqualTo(300_000);
    }
  }

  @Test
  void cleanup_afterStartAndReverse_leavesNothingOfOurs(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "cleanup");
    Replicator r = db.replicator();
    start(r);
    try (Connection o = db.old()) {
      AppDatabase.fenceAsASwitch(o);
    }
    r.reverse(new Reverse.Options(Duration.ZERO, CATCH_UP, true));
    Cleanup.Report first = r.cleanup();
    assertThat(first.removedOnOld()).contains("schema cutover");
    assertThat(first.removedOnNew()).contains("schema cutover");
    assertThat(r.cleanup().nothingFound()).isTrue();
    for (Connection c : List.of(db.old(), db.nw())) {
      try (c) {
        assertThat(AppDatabase.count(c, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'cutover%'"
            + " AND database = current_database()")).isZero();
        assertThat(AppDatabase.count(c, "SELECT count(*) FROM pg_publication")).isZero();
        assertThat(AppDatabase.count(c, "SELECT count(*) FROM pg_subscription WHERE subdbid ="
            + " (SELECT oid FROM pg_database WHERE datname = current_database())")).isZero();
        assertThat(AppDatabase.count(c, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'cutover%'")).isZero();
        assertThat(AppDatabase.count(c, "SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'cutover%'")).isZero();
        assertThat(AppDatabase.count(c, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'")).isZero();
        assertThat(AppDatabase.count(c, "SELECT count(*) FROM customer")).isGreaterThanOrEqualTo(2000);
      }
    }
  }
}
