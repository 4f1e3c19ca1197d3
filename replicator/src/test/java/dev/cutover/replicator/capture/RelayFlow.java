package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.cleanup.Cleanup;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.KeylessTables;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.sql.TableName;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Relayed logical replication ({@code start --capture relay}) with the replicator in the middle:
 * old's pg_hba.conf admits connections, replication ones included, from 127.0.0.2 only, where the
 * test and the replicator connect from, so new's server cannot reach old at all. The role owns the
 * tables and has REPLICATION on old and SET on {@code session_replication_role} on new, nothing more.
 * Run on the version pair of each subclass: the tests here take paths that differ by old's version
 * (the engine chosen, floats before 12, status's slot and catalog queries from 13, pgoutput's
 * messages, the slot's limits); those that do not are in {@link Relay13To17Test}.
 */
abstract class RelayFlow {
  private static final String FROM = MiddleMan11To17Test.REPLICATOR_ADDRESS;
  static final Duration CATCH_UP = Duration.ofSeconds(60);

  @BeforeAll
  static void onlyTheReplicatorReachesOld(PostgresPair pair) throws Exception {
    OwnedDatabase.admitOnlyFrom(pair.oldServer(), FROM);
    assertThatThrownBy(() -> pair.oldServer().connect().close()).as("old refuses this machine's usual address")
        .isInstanceOf(SQLException.class).hasMessageContaining("pg_hba.conf");
  }

  static OwnedDatabase database(PostgresPair pair, String prefix) throws Exception {
    return database(pair, prefix, FROM);
  }

  /**
   * A new {@link OwnedDatabase} whose role may relay ({@link OwnedDatabase#ownerMayRelay}); every
   * connection to old from {@code from} (null: the system's choice).
   */
  static OwnedDatabase database(PostgresPair pair, String prefix, String from) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, prefix, OwnedDatabase.SCHEMA, OwnedDatabase.SEED, from);
    db.ownerMayRelay();
    return db;
  }

  /** Relayed replication, keyless tables with REPLICA IDENTITY FULL. */
  static StartOptions relay() {
    return StartOptions.defaults().withJobs(2).withCapture(Capture.RELAY).withKeyless(KeylessTables.ALL_FULL);
  }

  @Test
  void check_relay_saysWhichEngineAndWhy(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "check");
    CheckReport report = db.replicator().check(List.of(), Capture.RELAY);
    assertThat(report.findings()).filteredOn(f -> f.code().equals("engine")).singleElement()
        .satisfies(f -> assertThat(f.message()).contains("logical decoding relayed").contains("new never connects to old"));
    assertThat(report.findings()).filteredOn(f -> f.severity() == Finding.Severity.ERROR).as("%s", report.findings())
        .extracting(Finding::code).containsExactly("table-without-key");
  }

  /** The engine {@code --capture auto} comes to for this role: logical from 13 (a grant short of subscribing), relay from 11. */
  abstract Capture autoEngine();

  /**
   * {@code --capture auto} relays only where old's version alone keeps logical replication out; a
   * role on new that may not set {@code session_replication_role} cannot relay, and from 11 then
   * captures with triggers, saying why.
   */
  @Test
  void engine_auto_relaysOnlyWhereOldsVersionAloneKeepsLogicalOut(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "auto");
    EngineChoice choice = db.replicator().engine(Capture.AUTO);
    assertThat(choice.engine()).as(choice.explain()).isEqualTo(autoEngine());
    try (Connection nw = OwnedDatabase.admin(pair.newServer(), null)) {
      OwnedDatabase.execute(nw, "REVOKE SET ON PARAMETER session_replication_role FROM " + OwnedDatabase.ROLE);
      try {
        EngineChoice without = db.replicator().engine(Capture.AUTO);
        if (autoEngine() == Capture.RELAY) {
          assertThat(without.engine()).isEqualTo(Capture.TRIGGERS);
          assertThat(without.explain()).contains("trigger capture").contains("session_replication_role")
              .contains("GRANT SET ON PARAMETER session_replication_role TO \"" + OwnedDatabase.ROLE + "\"");
        } else {
          assertThat(without.engine()).isEqualTo(Capture.LOGICAL);
        }
      } finally {
        OwnedDatabase.execute(nw, "GRANT SET ON PARAMETER session_replication_role TO " + OwnedDatabase.ROLE);
      }
    }
  }

  @Test
  void start_withoutReplicationOnOld_isRefusedNamingTheGrant(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "norepl");
    try (Connection old = OwnedDatabase.admin(pair.oldServer(), FROM)) {
      OwnedDatabase.execute(old, "ALTER ROLE " + OwnedDatabase.ROLE + " NOREPLICATION");
      try {
        assertThatThrownBy(() -> db.replicator().start(relay(), new CopyProgress(), CopyListener.NONE))
            .isInstanceOf(ReplicatorException.class).hasMessageContaining("may not create replication slots")
            .hasMessageContaining("start changed nothing");
      } finally {
        OwnedDatabase.execute(old, "ALTER ROLE " + OwnedDatabase.ROLE + " REPLICATION");
      }
    }
    try (Connection n = db.nw()) {
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM account")).isZero();
    }
  }

  /**
   * Writes of every kind run before, during and after the copy; one transaction begins during the
   * copy and commits once apply runs, another stays open across several batches. Every row
   * arrives exactly once; status, the CLI's view of it, catch-up and verify all know the engine.
   */
  @Test
  void start_concurrentWritesOfEveryKind_verifyFindsNoDifference(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "flow");
    Replicator r = db.replicator();
    try (MixedWrites writes = new MixedWrites(db); Connection longDuringCopy = db.old(); Connection longAcross = db.old()) {
      await().atMost(CATCH_UP).until(() -> writes.commits.get() >= 20);
      longDuringCopy.setAutoCommit(false);
      AtomicBoolean first = new AtomicBoolean(true);
      CopyListener duringCopy = new CopyListener() {
        @Override
        public void chunkStarting(TableName table, int chunk, int chunks) {
          if (first.getAndSet(false)) {
            try {
              OwnedDatabase.execute(longDuringCopy, "INSERT INTO account (email, ratio) VALUES ('long-during-copy@example.com', 1e300)");
            } catch (SQLException e) {
              throw new IllegalStateException(e);
            }
            long seen = writes.commits.get();
            await().atMost(CATCH_UP).until(() -> writes.commits.get() >= seen + 20);
          }
        }
      };
      StartReport report = r.start(relay(), new CopyProgress(), duringCopy);
      assertThat(report.engine()).isEqualTo(Capture.RELAY);
      assertThat(report.slot()).isNotNull();
      writes.truncateToo();
      try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection n = db.nw()) {
        Applier forward = apply.appliers().get(0);
        OwnedDatabase.execute(longDuringCopy, "UPDATE counter SET value = value + 100 WHERE name = 'c3'");
        longDuringCopy.commit();
        longAcross.setAutoCommit(false);
        for (int k = 0; k < 2; k++) {
          long batches = forward.batches();
          OwnedDatabase.execute(longAcross, "INSERT INTO account (email) VALUES ('long-across-" + k + "@example.com')");
          await().atMost(CATCH_UP).until(() -> forward.batches() > batches);
          assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM account WHERE email LIKE 'long-across-%'"))
              .as("nothing of a transaction still open on old is applied").isZero();
        }
        longAcross.commit();
        long seen = writes.commits.get();
        await().atMost(CATCH_UP).until(() -> writes.commits.get() >= seen + 50);
        writes.close();
        assertThat(writes.failures).isEmpty();
        r.awaitCaughtUp(CATCH_UP);

        db.assertConverged(r);
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM account WHERE email LIKE 'long-across-%'")).isEqualTo(2);
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM account WHERE email = 'long-during-copy@example.com' AND ratio = 1e300"))
            .isOne();
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM pg_subscription")).as("new subscribes to nothing").isZero();
        assertThat(forward.missing()).as("changes that found no row").isZero();
        await().atMost(CATCH_UP).untilAsserted(() -> {
          StatusReport.Direction status = r.status().forward();
          assertThat(status.state()).isEqualTo("streaming");
          assertThat(status.relay().applying()).isTrue();
          assertThat(status.lagBytes()).as("WAL the slot holds once caught up and idle").isLessThan(1024 * 1024);
        });
        assertThat(db.statusCli()).contains("forward (old -> new): STREAMING").contains("engine: relayed replication")
            .contains("apply into new: running");
        assertThatThrownBy(r::cleanup).isInstanceOf(ReplicatorException.class).hasMessageContaining("still applies forward");
      }
    }
    Cleanup.Report removed = r.cleanup();
    assertThat(removed.removedOnOld()).anyMatch(s -> s.startsWith("replication slot ")).anyMatch(s -> s.startsWith("publication "));
    assertThat(removed.removedOnNew()).contains("schema cutover");
    assertThat(r.cleanup().nothingFound()).isTrue();
  }

  /**
   * The way back beside relayed replication: reverse arms trigger capture on new, applied into old;
   * old's slot decodes what that apply writes into old, and the relay leaves it out (each such batch
   * begins with its mark), so nothing comes back to new: inserts would fail there on their keys,
   * deletes would count as missing, and a later write on old would wait behind them.
   */
  /**
   * {@code options} in old's URL that lower {@code extra_float_digits} do not reach pgoutput: the
   * replicator sets its own after connecting, and floats arrive exactly.
   */
  @Test
  void apply_oldUrlLowersExtraFloatDigits_floatsStillArriveExactly(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "floats");
    Replicator r = db.replicator();
    r.start(relay(), new CopyProgress(), CopyListener.NONE);
    Endpoint rounded = Endpoint.of(Side.OLD, db.url(pair.oldServer()) + "&options=-c%20extra_float_digits%3D0", OwnedDatabase.ROLE, null);
    try (Applier forward = Applier.relay(Way.forward(rounded, db.endpoint(Side.NEW)), Applier.Options.defaults());
        Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "UPDATE account SET ratio = 1 / 3.0::float8, small = 1 / 3.0::real WHERE id = 1");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(forward.lastError()).isNull();
      // Old prints them exactly (PgJDBC's sessions have extra_float_digits = 3); before 12 in more digits than 17 does.
      String exact = OwnedDatabase.strings(o, "SELECT format('ratio = %s::float8 AND small = %s::real', ratio, small) FROM account"
          + " WHERE id = 1").get(0);
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM account WHERE id = 1 AND " + exact)).as(exact).isOne();
    }
    r.cleanup();
  }

  /**
   * A column and an enum value added and a table renamed on old, where no event trigger captures
   * them (the role is no superuser) and pgoutput carries no schema: the apply stops at the first
   * row holding them, status prints what to run on new, and once it has run the rows arrive.
   */
  @Test
  void status_schemaChangedOnOldOnly_printsTheStatementsThatLetTheApplyGoOn(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "drift");
    Replicator r = db.replicator();
    r.start(relay(), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "ALTER TYPE mood ADD VALUE 'calm' BEFORE 'sad'");
      OwnedDatabase.execute(o, "ALTER TABLE scratch ADD COLUMN tag text; UPDATE scratch SET tag = 't' WHERE id = 1;"
          + " UPDATE account SET mood = 'calm' WHERE id = 2; ALTER TABLE counter RENAME TO tally; UPDATE tally SET value = 7;"
          + " ALTER TABLE account ALTER COLUMN email DROP NOT NULL; UPDATE account SET email = NULL WHERE id = 3;"
          + " CREATE INDEX account_balance ON account (balance)");
      OwnedDatabase.awaitApplyFailure(apply, CATCH_UP);
      List<String> statements = List.of("ALTER TABLE \"public\".\"scratch\" ADD COLUMN \"tag\" text",
          "ALTER TYPE \"public\".\"mood\" ADD VALUE 'calm' BEFORE 'sad'", "ALTER TABLE \"public\".\"counter\" RENAME TO \"tally\"",
          "ALTER TABLE \"public\".\"account\" ALTER COLUMN \"email\" DROP NOT NULL",
          "CREATE INDEX \"account_balance\" ON \"public\".\"account\" USING btree (balance)");
      assertThat(db.statusCli()).contains("column tag of public.scratch is on old but not on new")
          .contains("column email of public.account is NOT NULL on new but not on old")
          .contains("index account_balance of public.account (USING btree (balance)) is on old but not on new")
          .contains("enum public.mood has value(s) 'calm' on old but not on new")
          .contains("table public.tally is on old but not on new").contains("if it is new's table public.counter renamed on old")
          .contains(statements);
      for (String statement : statements) {
        OwnedDatabase.execute(n, statement);
      }
      r.awaitCaughtUp(CATCH_UP);
      assertThat(OwnedDatabase.strings(n, "SELECT (SELECT tag FROM scratch WHERE id = 1) || ' ' || (SELECT mood FROM account WHERE id = 2)"
          + " || ' ' || (SELECT string_agg(DISTINCT value::text, ',') FROM tally)")).containsExactly("t calm 7");
      assertThat(db.statusCli()).doesNotContain("on old but");
    }
    r.cleanup();
  }

  /**
   * A relay's slot left on old after new was thrown away and made again (no cleanup): no switch made
   * it for a way back (new is not fenced), so status calls it a leftover and advises cleanup, as
   * start and reverse do, rather than "prepared" with advice to run reverse and not to clean up.
   */
  @Test
  void status_relaySlotLeftOnOldAfterNewWasMadeAgain_isALeftoverToCleanUpNotAWayBack(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "leftover");
    Replicator r = db.replicator();
    r.start(relay(), new CopyProgress(), CopyListener.NONE);
    try (Connection n = db.nw()) {
      OwnedDatabase.execute(n, "DROP SCHEMA cutover CASCADE");
    }
    StatusReport.Direction forward = r.status().forward();
    assertThat(forward).isNotNull();
    System.out.println("leftover slot: " + forward.state() + " " + forward.problems());
    assertThat(forward.state()).isNotEqualTo("prepared");
    assertThat(forward.problems()).anyMatch(p -> p.contains("slot " + forward.slot().name() + " on old") && p.contains("run cleanup"))
        .noneMatch(p -> p.contains("cutover-replicator reverse"));
    r.cleanup();
  }

  /**
   * The relay's apply stopped while old writes, with max_slot_wal_keep_size set there (13+): once
   * the slot retains more than half of it, status says so from the slot's restart_lsn, that the slot
   * is lost at the limit, and to start apply; start, with the limit set, warned of nothing. Before
   * (r28 #1), status said only "holds old's WAL (… bytes now)", counted from confirmed_flush_lsn.
   */
  @Test
  void status_applyStoppedAndSlotPastHalfItsWalLimit_saysTheSlotWouldBeLostAndToStartApply(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "slotlimit");
    Replicator r = db.replicator();
    // Before 13 (Relay11To17Test) there is no such limit: the slot is measured against max_wal_size instead.
    boolean limit = pair.oldServer().majorVersion() >= 13;
    String setting = limit ? "max_slot_wal_keep_size" : "max_wal_size";
    String size = limit ? "64MB" : "32MB";
    try (Connection o = db.old(); Connection su = db.oldAsSuperuser()) {
      OwnedDatabase.execute(su, "ALTER SYSTEM SET " + setting + " = '" + size + "'");
      OwnedDatabase.execute(su, "SELECT pg_reload_conf()");
      try {
        await().atMost(CATCH_UP).until(() -> OwnedDatabase.strings(o, "SHOW " + setting).get(0).equals(size));
        StartReport started = r.start(relay(), new CopyProgress(), CopyListener.NONE);
        if (limit) {
          assertThat(started.warnings()).noneMatch(w -> w.contains("max_slot_wal_keep_size"));
        }
        for (int i = 0; i < 3; i++) {
          OwnedDatabase.execute(o, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
          OwnedDatabase.execute(su, "SELECT pg_switch_wal()");
        }
        StatusReport.Direction forward = r.status().forward();
        assertThat(forward.state()).isEqualTo("stopped");
        assertThat(forward.slot().retainedBytes()).isGreaterThan(32L * 1024 * 1024);
        assertThat(forward.problems()).anySatisfy(p -> assertThat(p)
            .contains("slot " + started.slot() + " on old retains")
            .contains(limit ? "more than half of max_slot_wal_keep_size (64 MB)" : "more than max_wal_size (32 MB)")
            .contains(limit ? "the slot is lost" : "has no max_slot_wal_keep_size")
            .contains("start `cutover-replicator apply`"));
        r.cleanup();
      } finally {
        OwnedDatabase.execute(su, "ALTER SYSTEM RESET " + setting);
        OwnedDatabase.execute(su, "SELECT pg_reload_conf()");
      }
    }
  }

  /** Another session moved the slot on while apply was stopped: apply refuses, naming both positions, instead of skipping the gap. */
  @Test
  void apply_slotMovedOnBySomeoneElse_refusesNamingTheSlot(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "moved");
    Replicator r = db.replicator();
    StartReport started = r.start(relay(), new CopyProgress(), CopyListener.NONE);
    try (Connection o = db.old(); Connection su = db.oldAsSuperuser()) {
      OwnedDatabase.execute(o, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
      OwnedDatabase.execute(su, "SELECT pg_replication_slot_advance('" + started.slot() + "', pg_current_wal_lsn())");
    }
    assertThat(refusalOfRelayFrom(db.endpoint(Side.OLD), db))
        .contains("slot " + started.slot() + " was moved past new's position (confirmed up to ")
        .contains("someone else read or advanced it")
        .contains("applied up to " + started.consistentPoint());
    r.cleanup();
  }

  /** Relays from {@code old} into new until the applier refuses; it must stop for good having applied nothing. Its refusal. */
  private static String refusalOfRelayFrom(Endpoint old, OwnedDatabase db) throws Exception {
    try (Applier forward = Applier.relay(Way.forward(old, db.endpoint(Side.NEW)), Applier.Options.defaults())) {
      await().atMost(CATCH_UP).until(() -> forward.refusal() != null);
      // Stopped for good: its thread ends (a retry would keep it alive); the refusal is set just before.
      await().atMost(CATCH_UP).until(() -> !forward.running());
      assertThat(forward.changes()).isZero();
      return forward.refusal().oneLine();
    }
  }

  @Test
  void reverse_besideRelay_carriesNewsWritesToOldAndNothingComesBack(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "back");
    Replicator r = db.replicator();
    r.start(relay(), new CopyProgress(), CopyListener.NONE);
    assertThat(r.prepareReverse()).singleElement().asString().contains("nothing to prepare");
    Reverse.Report armed = r.reverse(new Reverse.Options(Duration.ofSeconds(5), Duration.ofSeconds(5)));
    assertThat(armed.way()).isEqualTo("new -> old");
    assertThat(armed.steps()).anyMatch(step -> step.contains("relay leaves it out"));
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      await().atMost(CATCH_UP).until(() -> apply.appliers().size() == 2);
      OwnedDatabase.execute(n, "INSERT INTO scratch SELECT g, 'from new' FROM generate_series(1001, 1100) g");
      OwnedDatabase.execute(n, "UPDATE account SET balance = balance + 1 WHERE id <= 50");
      OwnedDatabase.execute(n, "DELETE FROM entry WHERE n = 3 AND account_id <= 20");
      OwnedDatabase.execute(n, "INSERT INTO keyless VALUES (77, 'from new')");
      await().atMost(CATCH_UP).until(() -> OwnedDatabase.count(o, "SELECT count(*) FROM keyless WHERE b = 'from new'") == 1
          && OwnedDatabase.count(o, "SELECT count(*) FROM scratch WHERE payload = 'from new'") == 100);
      OwnedDatabase.execute(o, "INSERT INTO scratch VALUES (2001, 'from old')");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM scratch WHERE payload = 'from old'")).isOne();
      Applier forward = apply.appliers().stream().filter(a -> a.way().name().equals("forward")).findFirst().orElseThrow();
      assertThat(forward.lastError()).as("the relay met nothing of its own way back").isNull();
      assertThat(forward.missing()).isZero();
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM keyless WHERE b = 'from new'")).as("not brought back").isOne();
      for (String t : OwnedDatabase.TABLES) {
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM " + t)).as(t).isEqualTo(OwnedDatabase.count(o, "SELECT count(*) FROM " + t));
      }
      assertThat(OwnedDatabase.strings(o, "SELECT id || '=' || balance FROM account WHERE id <= 50 ORDER BY id"))
          .isEqualTo(OwnedDatabase.strings(n, "SELECT id || '=' || balance FROM account WHERE id <= 50 ORDER BY id"));
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
  }

  /** {@link OwnedDatabase#killApplyMidBatchAndRestart} over the relay: the batch killed is one transaction of old's. */
  @Test
  void apply_killedWithSigkillMidTransaction_restartLosesAndRepeatsNothing(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "kill");
    Replicator r = db.replicator();
    r.start(relay(), new CopyProgress(), CopyListener.NONE);
    db.killApplyMidBatchAndRestart(r, CATCH_UP);
  }
}
