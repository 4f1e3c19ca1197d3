package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.Phase;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** I7: a switch that cannot complete leaves traffic on old with nothing lost, and says why. */
@LeakCheckedPair
class AbortTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  /**
   * Refused at the probe, before the gate: nothing held, traffic stays on old. The event reports
   * the time it spent (the probe waited the whole barrier timeout) and says no gate closed instead
   * of naming a role no instance was given. Before, a real run printed "aborted (... did not arrive
   * within 10000 ms ...) in 0 ms (follower; gate waits 0, ... barrier 0 ms ...)", and the
   * Micrometer timer of switch durations took a 0 ms sample.
   */
  @Test
  void flip_replicationStopped_isRefusedBeforeHoldingAnything_andReportsTheTimeTheProbeWaited(PostgresPair pair) throws Exception {
    Replicated db = Replicated.createAsTheReplicator(pair, SCHEMA);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.barrier.timeout=1s"))) {
      DrainTest.insert(app, "before");
      db.stopForward();

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("not delivering").contains("cutover.barrier.timeout")
          .contains("which is disabled").contains("ALTER SUBSCRIPTION \"" + db.forward() + "\" ENABLE on new")
          .contains("do not force the switch").doesNotContain("cutover.switch.force");
      assertThat(event.gateWaits()).isZero();
      assertThat(event.timing(Phase.PROBE)).as("the probe's time").isGreaterThanOrEqualTo(Duration.ofSeconds(1));
      assertThat(event.total()).as("the event's total").isGreaterThanOrEqualTo(event.timing(Phase.PROBE));
      assertThat(event.timings()).as("no gate closed").doesNotContainKeys(Phase.DRAIN, Phase.COORDINATE, Phase.BARRIER);
      assertThat(event.summary())
          .contains(" in " + event.total().toMillis() + " ms (before the gate closed, no transaction held;")
          .contains("probe " + event.timing(Phase.PROBE).toMillis() + " ms")
          .doesNotContain("follower").doesNotContain("leader").doesNotContain("drain 0 ms");
      assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
      db.startForward();
      db.awaitReplicated();
    }
  }

  /**
   * r34 D2: the subscription's login refused by old (its password rotated there; here a role old
   * lacks), so its apply worker is not running. The refusal offered cutover.switch.force=true as its
   * one action; forced, the switch left old's unreplicated writes behind, and once the subscription
   * was mended old's backlog overwrote the updates new had acknowledged since. Now it names the
   * login as the likely cause and its remedy, and never offers force.
   */
  @Test
  void flip_subscriptionLoginRefusedByOld_isRefusedNamingAlterSubscriptionConnectionWithoutForce(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.createAsTheReplicator(pair, SCHEMA);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.barrier.timeout=1s"))) {
      DrainTest.insert(app, "before");
      db.forwardLogsInAs(db.database + "_gone");

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("subscription " + db.forward() + " on new, whose apply worker is not running")
          .contains("ALTER SUBSCRIPTION \"" + db.forward() + "\" CONNECTION '…' on new").contains("password")
          .contains("do not force the switch").doesNotContain("cutover.switch.force").doesNotContain(db.database + "_gone");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
      db.forwardLogsInAs(pair.oldServer().user());
      db.awaitReplicated();
    }
  }

  /**
   * The application's role starts its sessions on old with session_replication_role = replica (a
   * superuser's ALTER ROLE ... SET, made for a bulk load and left): the fence, an ordinary
   * trigger, would not fire for them, so a writer on old after the switch would pass it and its
   * writes would never reach new. The switch is refused before it holds anything, naming the
   * setting and how to remove it; before, it completed.
   */
  @Test
  void flip_applicationSessionsStartInReplicaMode_isRefusedNamingTheSetting(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    String setting = "ALTER ROLE " + db.user() + " IN DATABASE " + db.database + " SET session_replication_role = replica";
    try (Connection su = pair.oldServer().connect(); Statement s = su.createStatement()) {
      s.execute(setting);
    }
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(db.url())) {
      DrainTest.insert(app, "before");

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("session_replication_role = replica").contains("the fence would not stop their writes")
          .contains("ALTER ROLE \"" + db.user() + "\" IN DATABASE \"" + db.database + "\" RESET session_replication_role")
          .contains("cutover.switch.force");
      assertThat(event.gateWaits()).isZero();
      assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    } finally {
      try (Connection su = pair.oldServer().connect(); Statement s = su.createStatement()) {
        s.execute(setting.replace("SET session_replication_role = replica", "RESET session_replication_role"));
      }
    }
  }

  /**
   * r17: new starts its sessions read-only (ALTER DATABASE ... SET default_transaction_read_only =
   * on, a common maintenance fence, or the role's default there). The switch fenced old, held the
   * application at its gate and aborted "failed while moving sequences: cannot execute nextval() in
   * a read-only transaction", and was not tried again. Now it is refused before the gate, naming
   * the setting, where it comes from and how to reset it, and tried again: once reset, it completes
   * without another flip.
   */
  @Test
  void flip_newStartsSessionsReadOnly_isRefusedBeforeTheGateNamingTheSetting_andRetried(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    String database = "\"" + db.database + "\"";
    String role = "\"" + db.user() + "\"";
    String byDatabase = "ALTER DATABASE " + database + " SET default_transaction_read_only = on";
    String byRole = "ALTER ROLE " + role + " IN DATABASE " + database + " SET default_transaction_read_only = on";
    try (Connection su = pair.newServer().connect(); Statement s = su.createStatement();
        SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.switch.retry-interval=1s"));
        Connection old = db.oldDirect()) {
      s.execute(byDatabase);
      DrainTest.insert(app, "before");

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.gateClosed()).as("refused before the gate: %s", event.summary()).isFalse();
      assertThat(event.reason()).contains("the application's sessions on the new database start read-only")
          .contains("default_transaction_read_only = on, a default of database " + database)
          .contains("ALTER DATABASE " + database + " RESET default_transaction_read_only")
          .contains("retrying every 1 s while the flag asks for new");
      assertThat(Fence.isRaised(old)).isFalse();
      DrainTest.insert(app, "refused");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());

      s.execute(byDatabase.replace("SET default_transaction_read_only = on", "RESET default_transaction_read_only"));
      s.execute(byRole);
      SwitchEvent ofRole = events.next();
      while (ofRole.reason().contains("a default of database")) {
        ofRole = events.next(); // a retry that began before the change
      }
      assertThat(ofRole.gateClosed()).as(ofRole.summary()).isFalse();
      assertThat(ofRole.reason()).contains("default_transaction_read_only = on, a default of role " + role
          + " in database " + database).contains("ALTER ROLE " + role + " IN DATABASE " + database
          + " RESET default_transaction_read_only");

      s.execute(byRole.replace("SET default_transaction_read_only = on", "RESET default_transaction_read_only"));
      SwitchEvent done = events.next();
      while (done.outcome() != Outcome.COMPLETED && done.reason().contains("a default of role")) {
        assertThat(done.gateClosed()).as(done.summary()).isFalse();
        done = events.next(); // a retry that began before the change
      }
      assertThat(done.outcome()).as(done.summary()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
    } finally {
      try (Connection su = pair.newServer().connect(); Statement s = su.createStatement()) {
        s.execute(byDatabase.replace("SET default_transaction_read_only = on", "RESET default_transaction_read_only"));
        s.execute(byRole.replace("SET default_transaction_read_only = on", "RESET default_transaction_read_only"));
      }
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * Transactions prepared for two-phase commit on old (as an XA transaction manager leaves one
   * between its phases, or for ever after a crash) hold the locks of their writes. One that stays
   * for the drain timeout makes the switch refuse before the gate closes, naming it, where the
   * fence would have waited for it with the application held at the gate until the drain timeout.
   * One that its manager commits meanwhile is waited for, gate open, and the switch completes.
   */
  @Test
  void flip_preparedTransactionOnOld_refusedBeforeTheGateUnlessItEndsWithinTheDrainTimeout(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(db.url("cutover.drain.timeout=2s"));
        Connection old = db.oldDirect(); Statement s = old.createStatement()) {
      s.execute("BEGIN; INSERT INTO note (body) VALUES ('abandoned'); PREPARE TRANSACTION 'xa-order-17'");
      try {
        DrainTest.insert(app, "before");

        db.flip(Target.NEW);
        SwitchEvent event = events.next();

        assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
        assertThat(event.reason()).startsWith("the old database holds 1 prepared transaction(s)")
            .contains("'xa-order-17' of role " + db.user()).contains("COMMIT PREPARED or ROLLBACK PREPARED");
        assertThat(event.fence()).as("the fence was never tried").isZero();
        assertThat(event.gateWaits()).isZero();
        assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
      } finally {
        s.execute("COMMIT PREPARED 'xa-order-17'");
      }

      s.execute("BEGIN; INSERT INTO note (body) VALUES ('in flight'); PREPARE TRANSACTION 'xa-order-18'");
      db.flip(Target.OLD);
      db.flip(Target.NEW);
      // The switch has seen it (its session's last query asked for them) before its manager commits it.
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(() -> {
        try (Statement q = old.createStatement(); ResultSet rs = q.executeQuery("SELECT count(*) FROM pg_stat_activity"
            + " WHERE pid <> pg_backend_pid() AND query LIKE '%pg_prepared_xacts%'")) {
          rs.next();
          return rs.getInt(1) > 0;
        }
      });
      s.execute("COMMIT PREPARED 'xa-order-18'");
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      try (Connection n = db.newDirect(); Statement q = n.createStatement();
          ResultSet rs = q.executeQuery("SELECT string_agg(body, ',' ORDER BY id) FROM note")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("abandoned,before,in flight");
      }
    }
  }

  /**
   * r27 D2: the application's role caps its statements at 1 s on old (common for OLTP roles, and
   * below the drain timeout), and another role's transaction holds a row of a guarded table. The
   * cap cancelled the fence's wait and the switch aborted "cannot fence old: canceling statement
   * due to statement timeout", naming no holder, setting or remedy. The switch's sessions turn the
   * caps off for themselves, so the fence waits the drain timeout and names the holder and the
   * remedy, as without the setting.
   */
  @Test
  void flip_roleCapsStatementsAtOneSecond_anotherRoleHoldsARow_abortNamesTheHolderAndTheRemedy(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    String cap = "ALTER ROLE \"" + db.user() + "\" IN DATABASE \"" + db.database + "\" SET statement_timeout = '1s'";
    Properties batch = new Properties();
    batch.setProperty("user", "nightly_batch");
    batch.setProperty("ApplicationName", "batch-job");
    try (Connection su = db.oldDirect(); Statement s = su.createStatement()) {
      s.execute("DO $$ BEGIN CREATE ROLE nightly_batch LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      s.execute("GRANT SELECT, UPDATE ON note TO nightly_batch");
      s.execute(cap);
    }
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(db.url("cutover.drain.timeout=2s"));
        Connection holder = DriverManager.getConnection(pair.oldServer().jdbcUrl(db.database), batch);
        Statement h = holder.createStatement()) {
      DrainTest.insert(app, "before");
      holder.setAutoCommit(false);
      h.execute("UPDATE note SET body = body");
      int pid = ((org.postgresql.PGConnection) holder).getBackendPID();

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).startsWith("cannot fence old: cutover: the fence waited 2000 ms for table public.note")
          .contains("held by process " + pid + " (role nightly_batch, application 'batch-job'")
          .contains("end that transaction (SELECT pg_terminate_backend(pid) as its owner or a superuser) and switch again")
          .doesNotContain("statement timeout");
      holder.rollback();
      db.flip(Target.OLD);
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    } finally {
      try (Connection su = db.oldDirect(); Statement s = su.createStatement()) {
        s.execute(cap.replace("SET statement_timeout = '1s'", "RESET statement_timeout"));
      }
    }
  }

  /**
   * r27 (suspicion): a switch step cancelled by anything but an operator's abort, here a DBA's
   * pg_cancel_backend of the switch's session while it waits for a sequence that an ALTER SEQUENCE
   * holds, was reported "aborted on request while checking both databases: canceling statement
   * due to user request", the words of an operator's switch-abort, which nobody had asked for (a
   * statement_timeout of the role said the same before the switch's sessions turned it off). It
   * says "failed while", and the switch is tried again and completes once the lock is gone.
   */
  @Test
  void flip_switchsStatementCancelledByAnotherSession_isReportedAsAFailureNotAnAbortOnRequest(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.switch.retry-interval=1s")); Connection holder = db.oldDirect(); Statement h = holder.createStatement(); Connection dba = db.oldDirect();
        Statement d = dba.createStatement()) {
      DrainTest.insert(app, "before");
      db.awaitReplicated();
      holder.setAutoCommit(false);
      h.execute("ALTER SEQUENCE note_id_seq INCREMENT BY 1");

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        try (ResultSet rs = d.executeQuery("SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity"
            + " WHERE wait_event_type = 'Lock' AND query LIKE '%pg_sequence_last_value%' AND pid <> pg_backend_pid()")) {
          rs.next();
          return rs.getInt(1) > 0;
        }
      });
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).startsWith("failed while checking both databases: canceling statement due to user request")
          .doesNotContain("aborted on request");
      holder.rollback();
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
    }
  }

  @Test
  void flip_replicationStopsInsideTheWindow_barrierTimesOutAndTrafficStaysOnOld(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.barrier.timeout=1s"));
        Connection straggler = DrainTest.connect(db.url("cutover.barrier.timeout=1s"))) {
      DrainTest.insert(app, "before");
      straggler.setAutoCommit(false);
      DrainTest.insert(straggler, "in flight");

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
      db.stopForward();
      straggler.commit();
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("barrier marker").contains("cutover.barrier.timeout");
      assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
      assertThat(RouterBean.attribute(db.database, "SwitchesAborted")).isEqualTo(1L);
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
      try (Connection old = db.oldDirect(); Statement s = old.createStatement();
          ResultSet rs = s.executeQuery("SELECT string_agg(body, ',' ORDER BY id) FROM note")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("before,in flight,after");
        assertThat(Fence.isRaised(old)).isFalse();
      }
      db.startForward();
      db.awaitReplicated();
    }
  }

  @Test
  void flip_newDatabaseGone_abortsBeforeHoldingAnything(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url())) {
      db.dropForward();
      try (Connection admin = pair.newServer().connect(); Statement s = admin.createStatement()) {
        s.execute("DROP DATABASE " + db.database + " WITH (FORCE)");
      }

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("new database is unreachable");
      assertThat(event.gateWaits()).isZero();
      DrainTest.insert(app, "still-old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
  }

  @Test
  void flip_withoutControlSchema_isRefusedUnlessForced(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, false);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url())) {
      DrainTest.insert(app, "before");
      db.awaitReplicated();
      assertThat((String[]) RouterBean.attribute(db.database, "PendingGuarantees"))
          .anySatisfy(p -> assertThat(p).contains("no Cutover control schema"));

      db.flip(Target.NEW);
      SwitchEvent refused = events.next();
      assertThat(refused.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(refused.reason()).contains("the old database has no Cutover control schema")
          .contains("the new database has no Cutover control schema").contains("cutover.switch.force=true");
      assertThat(refused.gateWaits()).isZero();
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
    CutoverDriver.shutdown(db.database);
    db.flip(Target.OLD);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.switch.force=true"))) {
      db.flip(Target.NEW);
      SwitchEvent forced = events.next();
      assertThat(forced.outcome()).isEqualTo(Outcome.COMPLETED);
      assertThat(forced.notGuaranteed()).anyMatch(s -> s.startsWith("I2")).anyMatch(s -> s.startsWith("I1"));
      assertThat(RouterBean.attribute(db.database, "ControlSchemaPresent")).isEqualTo(false);
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
    }
  }

  /** From the torture harness's report: a sequence the application role may not read would not be moved (I6). */
  @Test
  void flip_applicationRoleCannotReadASequenceOnOld_isRefusedBeforeHoldingAnything(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA + "; CREATE SEQUENCE invoice_no", true);
    for (Connection c : new Connection[] {db.oldDirect(), db.newDirect()}) {
      try (c; Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE seq_blind LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        s.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON note TO seq_blind; GRANT USAGE, UPDATE ON note_id_seq TO seq_blind");
        dev.cutover.driver.control.ControlSchema.install(c, java.util.List.of("seq_blind"));
      }
    }
    java.util.Properties asApp = new java.util.Properties();
    asApp.setProperty("user", "seq_blind");
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = java.sql.DriverManager.getConnection(db.url(), asApp)) {
      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      // note_id_seq too: USAGE shows a sequence's value only once it has been called (r14)
      assertThat(event.reason()).contains("may not read sequence(s) public.invoice_no, public.note_id_seq")
          .contains("GRANT SELECT ON SEQUENCE public.invoice_no, public.note_id_seq TO \"seq_blind\"");
      assertThat(event.gateWaits()).isZero();
      DrainTest.insert(app, "still on old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
  }

  /**
   * The application role may read a sequence on old but not move it on new (no UPDATE there, which
   * setval takes): the switch is refused before its gate, naming the sequence and the grant. Before,
   * it fenced old and aborted at the sequence move with "permission denied for sequence", after its
   * gate, and was not retried.
   */
  @Test
  void flip_applicationRoleCannotMoveASequenceOnNew_isRefusedBeforeTheGate(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    for (Connection c : new Connection[] {db.oldDirect(), db.newDirect()}) {
      try (c; Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE seq_stuck LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        s.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON note TO seq_stuck; GRANT SELECT, USAGE, UPDATE ON note_id_seq TO seq_stuck");
        dev.cutover.driver.control.ControlSchema.install(c, java.util.List.of("seq_stuck"));
      }
    }
    try (Connection n = db.newDirect(); Statement s = n.createStatement()) {
      s.execute("REVOKE UPDATE ON note_id_seq FROM seq_stuck");
    }
    java.util.Properties asApp = new java.util.Properties();
    asApp.setProperty("user", "seq_stuck");
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = java.sql.DriverManager.getConnection(db.url(), asApp)) {
      DrainTest.insert(app, "before");
      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.gateClosed()).as(event.summary()).isFalse();
      assertThat(event.reason()).contains("may not move sequence(s) public.note_id_seq on new")
          .contains("GRANT UPDATE ON SEQUENCE public.note_id_seq TO \"seq_stuck\" on new");
      try (Connection old = db.oldDirect()) {
        assertThat(Fence.isRaised(old)).isFalse();
      }
      DrainTest.insert(app, "still on old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
  }

  /**
   * r34 defect 3: a grant revoked from the application's role on new mid-window (a security team,
   * or {@code ALTER TABLE ... OWNER TO} and back, which drops explicit grants). Before, the switch
   * completed and every transaction after it failed there with 42501 "permission denied for table".
   * Now it is refused before its gate, naming the table, the privilege, the role and the GRANT to run
   * on new, and tried again: once granted, it completes without another flip.
   */
  @Test
  void flip_applicationRoleLacksATablePrivilegeOnNewItHasOnOld_isRefusedBeforeTheGateNamingTheGrant_andRetried(
      PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    for (Connection c : new Connection[] {db.oldDirect(), db.newDirect()}) {
      try (c; Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE tbl_short LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        s.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON note TO tbl_short; GRANT SELECT, USAGE, UPDATE ON note_id_seq TO tbl_short");
        ControlSchema.install(c, java.util.List.of("tbl_short"));
      }
    }
    try (Connection n = db.newDirect(); Statement s = n.createStatement()) {
      s.execute("REVOKE INSERT ON note FROM tbl_short");
    }
    Properties asApp = new Properties();
    asApp.setProperty("user", "tbl_short");
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DriverManager.getConnection(db.url("cutover.switch.retry-interval=1s"), asApp)) {
      DrainTest.insert(app, "before");
      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.gateClosed()).as(event.summary()).isFalse();
      assertThat(event.reason()).contains("role \"tbl_short\" lacks on new what it has on old: INSERT on public.note")
          .contains("GRANT INSERT ON TABLE public.note TO \"tbl_short\"")
          .contains("retrying every 1 s while the flag asks for new");
      try (Connection old = db.oldDirect()) {
        assertThat(Fence.isRaised(old)).isFalse();
      }
      DrainTest.insert(app, "still on old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());

      try (Connection n = db.newDirect(); Statement s = n.createStatement()) {
        s.execute("GRANT INSERT ON note TO tbl_short");
      }
      SwitchEvent done = events.next();
      while (done.outcome() != Outcome.COMPLETED && done.reason().contains("lacks on new")) {
        assertThat(done.gateClosed()).as(done.summary()).isFalse();
        done = events.next(); // a retry that began before the grant
      }
      assertThat(done.outcome()).as(done.summary()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
    }
  }

  @Test
  void flip_controlSchemaOnOneSideOnly_isRefusedNamingTheOther(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, false);
    try (Connection o = db.oldDirect()) {
      ControlSchema.install(o);
    }
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(db.url())) {
      db.flip(Target.NEW);
      SwitchEvent event = events.next();
      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("the new database has no Cutover control schema")
          .doesNotContain("the old database has no");
      try (Connection old = db.oldDirect()) {
        assertThat(Fence.isRaised(old)).isFalse();
      }
      DrainTest.insert(app, "still-old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
  }

  @Test
  void flip_controlSchemaInstalledAfterTheApplicationStarted_fencesAndWaitsForTheBarrier(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, false);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url())) {
      DrainTest.insert(app, "before the replicator");
      assertThat(RouterBean.attribute(db.database, "ControlSchemaPresent")).isEqualTo(false);

      db.installControlSchema();
      DrainTest.insert(app, "after the replicator");
      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.leader()).isTrue();
      assertThat(event.notGuaranteed()).isEmpty();
      assertThat(RouterBean.attribute(db.database, "ControlSchemaPresent")).isEqualTo(true);
      try (Connection old = db.oldDirect(); Statement s = old.createStatement()) {
        assertThat(Fence.isRaised(old)).as("the switch fenced old").isTrue();
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM cutover.barrier")) {
          rs.next();
          assertThat(rs.getInt(1)).as("probe and barrier markers written on old").isGreaterThanOrEqualTo(2);
        }
      }
      try (Connection n = db.newDirect(); Statement s = n.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM cutover.barrier")) {
        rs.next();
        assertThat(rs.getInt(1)).as("the markers the switch waited for arrived on new").isGreaterThanOrEqualTo(2);
      }
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
    }
  }

  @Test
  void start_flagSaysOldWhileTheServiceServesNew_servesNewUntilASwitchBackCompletes(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection first = DrainTest.connect(db.url("cutover.barrier.timeout=1s"))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      db.flip(Target.OLD);
      SwitchEvent back = events.next();
      assertThat(back.outcome()).as("no reverse replication: the way back is refused").isEqualTo(Outcome.ABORTED);

      try (Connection later = DrainTest.connect(db.url("cutover.barrier.timeout=1s", "cutover.instance=started-later"))) {
        SwitchEvent initial = events.next();
        assertThat(initial.instance()).isEqualTo("started-later");
        assertThat(initial.from()).as("it starts where the service serves").isEqualTo(Target.NEW);
        assertThat(initial.outcome()).isEqualTo(Outcome.ABORTED);
        DrainTest.insert(later, "written where the service serves");
        assertThat(DrainTest.sideOf(later)).isEqualTo(pair.newServer().port());
      }
    }
  }

  /**
   * Old's fence stands but old records no switch of the service (a record lost in a crash under an
   * install from before records were durable, as the reviewer's crash left it). Before, a router
   * starting with its flag at old took "fenced, no record" for "the service moved to new" and wrote
   * on new, with no barrier and no sequence moved. Now it serves old, says loudly why its writes
   * fail and what to do, and once the installer lowers the fence old takes them.
   */
  @Test
  void start_oldFencedWithNoSwitchRecord_servesOldAndSaysHowToLowerTheFence(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Connection o = db.oldDirect()) {
      String id = Coordination.begin(o, db.database, "lost-in-a-crash", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(o, db.database, id)).isTrue();
      Fence.raise(o, db.database, id, "crashed", Duration.ofSeconds(5));
      try (Statement s = o.createStatement()) {
        s.execute("DELETE FROM cutover.switch");
      }
      Coordination.resign(o, db.database, id);
    }
    try (Connection app = DrainTest.connect(db.url())) {
      SQLException refused = catchThrowableOfType(SQLException.class, () -> DrainTest.insert(app, "while fenced"));
      assertThat(RouterBean.attribute(db.database, "Serving")).as("no release to new can be verified").isEqualTo("old");
      assertThat((Throwable) refused).as("old's fence refuses it; nothing goes to new").isNotNull();
      assertThat(refused.getSQLState()).isEqualTo("25006");
      assertThat((String[]) RouterBean.attribute(db.database, "PendingGuarantees"))
          .anySatisfy(p -> assertThat(p).contains("old database is fenced").contains("records no switch")
              .contains("SELECT cutover.lower_fence()").contains("flip the flag to new"));

      try (Connection o = db.oldDirect()) {
        Fence.lower(o);
      }
      DrainTest.insert(app, "after the installer lowered the fence");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
      try (Connection n = db.newDirect(); Statement s = n.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body = 'while fenced'")) {
        rs.next();
        assertThat(rs.getInt(1)).as("nothing was written on new").isZero();
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void start_newUnreachable_servesOldAndSaysWhatWaits(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    int closedPort = Ports.closed();
    String url = db.url().replace(java.net.URLEncoder.encode(pair.newServer().jdbcUrl(db.database),
        java.nio.charset.StandardCharsets.UTF_8), java.net.URLEncoder.encode("jdbc:postgresql://127.0.0.1:" + closedPort
        + "/" + db.database + "?connectTimeout=2", java.nio.charset.StandardCharsets.UTF_8));
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(url)) {
      DrainTest.insert(app, "while new is down");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
      assertThat((String[]) RouterBean.attribute(db.database, "PendingGuarantees"))
          .anySatisfy(p -> assertThat(p).contains("the new database did not answer at start")
              .contains(":" + closedPort).contains("I2").contains("I1/I4"));

      db.flip(Target.NEW);
      SwitchEvent event = events.next();
      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("new database is unreachable");
      DrainTest.insert(app, "still on old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
  }

  /**
   * After the cutover is final, {@code cutover-replicator cleanup} removes the control schema on both
   * sides, fence included; an instance then started with the application's documented configuration
   * (its flag still at new) finds nothing that records where the service serves. Before, it served
   * old, the abandoned database, and committed there (its switch to new refused for want of the
   * control schema): two instances writing two databases. Now it refuses to start, naming the flag,
   * what old lacks and the remedy, and no application connection reaches old; with the flag at old
   * (a migration not begun) it serves old as before.
   */
  @Test
  void start_flagAtNewAfterCleanupRemovedTheControlSchema_refusesAndNothingReachesOld(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(db.url())) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "on new");
    }
    CutoverDriver.shutdown(db.database);
    db.dropForward();
    for (Connection c : new Connection[] {db.oldDirect(), db.newDirect()}) {
      try (c) {
        ControlSchema.uninstall(c); // what cleanup does last, on both sides
      }
    }
    long onOld = count(db.oldDirect());

    java.sql.SQLException refused = org.assertj.core.api.Assertions.catchThrowableOfType(java.sql.SQLException.class,
        () -> {
          try (Connection later = DrainTest.connect(db.url("cutover.instance=started-after-cleanup"))) {
            DrainTest.insert(later, "must not land on old");
          }
        });

    assertThat((Object) refused).as("a router whose flag says new must not serve old without its control schema").isNotNull();
    assertThat(refused.getSQLState()).isEqualTo("08004");
    assertThat(refused.getMessage()).contains("flag").contains("says new")
        .contains("the old database has no Cutover control schema").contains("cleanup")
        .contains("plain jdbc:postgresql: URL").contains("set the flag to old");
    assertThat(count(db.oldDirect())).as("rows on old").isEqualTo(onOld);

    db.flip(Target.OLD);
    try (Connection adopted = DrainTest.connect(db.url("cutover.instance=flag-at-old"))) {
      assertThat(DrainTest.sideOf(adopted)).as("with the flag at old, old serves as before the replicator").isEqualTo(
          pair.oldServer().port());
    }
    CutoverDriver.shutdown(db.database);
  }

  private static long count(Connection c) throws java.sql.SQLException {
    try (c; Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM note")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
