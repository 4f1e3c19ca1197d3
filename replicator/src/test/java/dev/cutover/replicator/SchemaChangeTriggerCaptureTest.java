package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Schema changes with trigger capture (run by a superuser, who may create event triggers): they
 * travel as rows of {@code cutover.ddl_log} through the change log, in order with the rows around
 * them; tables created after start are captured from their first row (CREATE TABLE AS's rows
 * included), altered tables keep capturing with their new key, and with the way back armed, a
 * table created by a replayed change on new is captured there too.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SchemaChangeTriggerCaptureTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  /** {@link SchemaChangeEdgeTest#apply_roleWhoseSearchPathShadowsPgCatalog_replayedAsThatRoleWithoutCallingItsFunctionsAsAnother}, through the trigger applier. */
  @Test
  void apply_roleWhoseSearchPathShadowsPgCatalog_replayedAsThatRoleWithoutCallingItsFunctionsAsAnother(PostgresPair pair)
      throws Exception {
    String db = "ddl_triggers_shadow";
    SchemaChangeFlowTest.database(pair, db);
    SchemaChangeEdgeTest.shadowingRole(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      SchemaChangeEdgeTest.plantShadowsAndChangeSchema(pair.oldServer(), db);
      r.awaitCaughtUp(WAIT);
      SchemaChangeEdgeTest.assertShadowsNeverRanAsAnother(pair, db);
    } finally {
      SchemaChangeEdgeTest.shadowingRoleUnprivileged(pair);
    }
    r.cleanup();
  }

  /** {@link SchemaChangeEdgeTest#apply_roleCodeThatTheReplayedStatementRuns_cannotLeaveTheRole}, through the trigger applier, which runs SQL of its own after the replay. */
  @Test
  void apply_roleCodeThatTheReplayedStatementRuns_cannotLeaveTheRoleNorRedirectTheApplier(PostgresPair pair) throws Exception {
    String db = "ddl_triggers_reset_role";
    SchemaChangeFlowTest.database(pair, db);
    SchemaChangeEdgeTest.shadowingRole(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      SchemaChangeEdgeTest.plantRoleChangeAndRunIt(pair.oldServer(), db);
      r.awaitCaughtUp(WAIT);
      SchemaChangeEdgeTest.changeSchemaAgain(pair.oldServer(), db);
      r.awaitCaughtUp(WAIT);
      SchemaChangeEdgeTest.assertRoleCodeStayedTheRole(pair, db);
    } finally {
      SchemaChangeEdgeTest.shadowingRoleUnprivileged(pair);
    }
    r.cleanup();
  }

  @Test
  void apply_schemaChangesWhileWriting_arriveInOrderAndNewTablesAreCaptured(PostgresPair pair) throws Exception {
    String db = "ddl_triggers";
    SchemaChangeFlowTest.database(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withJobs(2).withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults());
        SchemaChangeFlowTest.AppWriter writer = new SchemaChangeFlowTest.AppWriter(pair.oldServer(), db)) {
      writer.awaitMore(20);
      try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
        SchemaChangeFlowTest.changeSchemaWhileWriting(o);
      }
      SchemaChangeFlowTest.changeSchemaInReplicaMode(pair.oldServer(), db);
      SchemaChangeFlowTest.changeSchemaNextToTempTables(pair.oldServer(), db);
      writer.awaitMore(20);
      r.awaitCaughtUp(WAIT);

      SchemaChangeFlowTest.armWayBackAndConverge(pair, db, r, apply, writer);
      SchemaChangeFlowTest.assertNextToTempTablesOnNew(pair.newServer(), db);
      try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
        for (String q : new String[] {"SELECT count(*) FROM rich", "SELECT count(*) FROM invoice WHERE paid",
            "SELECT count(*) FROM account WHERE region = 'apac'", "SELECT count(*) FROM note WHERE b = 'keyed'"}) {
          assertThat(AppDatabase.count(n, q)).as(q).isEqualTo(AppDatabase.count(o, q)).isPositive();
        }
        String keyTrigger = "SELECT count(*) FROM pg_trigger WHERE tgname = '#cutover_capture_key' AND tgrelid = 'note'::regclass";
        assertThat(AppDatabase.count(o, keyTrigger)).as("note captured by its new key").isOne();
        assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_trigger WHERE tgname = '#cutover_capture' AND tgrelid = 'late'::regclass"))
            .as("a table the replay created on new is captured for the way back").isOne();
        // An ALTER TABLE that changes nothing the capture depends on leaves its triggers as they are;
        // one that disables a capture trigger has it enabled again at once.
        String update = "SELECT oid || ' ' || tgenabled FROM pg_trigger WHERE tgname = '#cutover_capture_update' AND tgrelid = 'invoice'::regclass";
        List<String> before = AppDatabase.strings(o, update);
        AppDatabase.execute(o, "ALTER TABLE invoice ALTER COLUMN paid SET DEFAULT false");
        assertThat(AppDatabase.strings(o, update)).isEqualTo(before);
        AppDatabase.execute(o, "ALTER TABLE invoice DISABLE TRIGGER \"#cutover_capture_update\"");
        assertThat(AppDatabase.strings(o, update)).singleElement().asString().endsWith(" A");
      }
      // Neither missing capture, nor the capture's own trigger statements taken for the application's schema changes.
      assertThat(r.status().forward().problems()).noneMatch(p -> p.contains("no capture triggers") || p.startsWith("schema change"));
      // One that needs a hand (inside a DO block, no statement of its own) is asked for, as with logical replication.
      try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
        AppDatabase.execute(o, "DO $$ BEGIN EXECUTE 'CREATE INDEX invoice_total ON invoice (total)'; END $$");
      }
      r.awaitCaughtUp(WAIT);
      assertThat(r.status().forward().problems()).anyMatch(p -> p.startsWith("schema change") && p.contains("ddl-done"));
    }
    r.cleanup();
    try (Connection o = pair.oldServer().connect(db)) {
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM pg_event_trigger WHERE evtname = '" + CaptureSchema.EVENT_TRIGGER + "'")).isZero();
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '#cutover_capture%'")).isZero();
    }
  }

  /**
   * A table unlogged when start ran (neither engine carries one) and made logged since: status
   * names it with adopt, which brings its rows, and says why it has no triggers; it said they need
   * a superuser, to a superuser whose event trigger runs.
   */
  @Test
  void status_tableMadeLoggedAfterStart_namedWithAdoptAndTheReason(PostgresPair pair) throws Exception {
    String db = "ddl_set_logged_tc";
    SchemaChangeFlowTest.database(pair, db);
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = SchemaChangeFlowTest.app(s, db)) {
        AppDatabase.execute(c, "CREATE UNLOGGED TABLE u (id int PRIMARY KEY, v text)");
      }
    }
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "INSERT INTO u SELECT g, 'u' || g FROM generate_series(1, 10) g");
    }
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
        AppDatabase.execute(o, "ALTER TABLE u SET LOGGED; INSERT INTO u VALUES (11, 'after'); UPDATE u SET v = 'changed' WHERE id = 1");
      }
      assertThatThrownBy(() -> r.awaitCaughtUp(WAIT)).hasMessageContaining("does not carry 1 table(s) of old: public.u");
      assertThat(r.status().forward().problems()).anySatisfy(p -> assertThat(p)
          .contains("1 table(s) on old have no capture triggers (made logged since start (ALTER TABLE … SET LOGGED")
          .doesNotContain("needs a superuser").contains("cutover-replicator adopt public.u"));

      r.adopt(List.of("public.u"), Side.OLD, Duration.ofSeconds(5), Duration.ofSeconds(30));
      try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
        AppDatabase.execute(o, "UPDATE u SET v = 'adopted' WHERE id = 2");
      }
      r.awaitCaughtUp(WAIT);
      try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
        String rows = "SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM u";
        assertThat(AppDatabase.strings(n, rows)).isEqualTo(AppDatabase.strings(o, rows));
      }
      assertThat(r.status().forward().problems()).noneMatch(p -> p.contains("no capture triggers"));
    }
    r.cleanup();
  }

  private static Replicator startedWithTriggers(PostgresPair pair, String db) throws Exception {
    SchemaChangeFlowTest.database(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    return r;
  }

  /** As {@link SchemaChangeEdgeTest#apply_selectInto_createsTheTableEmptyAndReceivesOldsRows}, through the change log. */
  @Test
  void apply_selectInto_createsTheTableEmptyAndReceivesOldsRows(PostgresPair pair) throws Exception {
    String db = "ddl_select_into_tc";
    Replicator r = startedWithTriggers(pair, db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      SchemaChangeEdgeTest.selectInto(pair, db);
      r.awaitCaughtUp(WAIT);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
    }
    SchemaChangeEdgeTest.assertSelectedInto(pair, db);
    r.cleanup();
  }

  /**
   * A SELECT ... INTO that new cannot replay (its role is old's alone): the hint said to run it by
   * hand and mark it done, which left new with old's rows twice (its own, then old's from the
   * change log). It now gives the statement that creates the table empty, and rows arrive once.
   */
  @Test
  void apply_selectIntoThatCannotRunOnNew_hintCreatesTheTableEmptyAndRowsArriveOnce(PostgresPair pair) throws Exception {
    String db = "ddl_empty_by_hand";
    Replicator r = startedWithTriggers(pair, db);
    try (Connection o = pair.oldServer().connect(db)) {
      // Roles are not carried: new has no ddl_old_only, which the replay must become.
      AppDatabase.execute(o, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ddl_old_only') THEN"
          + " CREATE ROLE ddl_old_only; END IF; END $$;"
          + " SET cutover.ddl_capture = off; GRANT CREATE ON SCHEMA public TO ddl_old_only; RESET cutover.ddl_capture;"
          + " SET ROLE ddl_old_only; SELECT g AS id, 'r' || g AS v INTO picked FROM generate_series(1, 5) g; RESET ROLE");
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      String error = await().atMost(WAIT).until(() -> apply.appliers().get(0).lastError(), e -> e != null && e.contains("ddl_old_only"));
      assertThat(error).contains("create the table here by hand, empty (its rows follow in the stream): ");
      String by = "stream): ";
      String statement = error.substring(error.indexOf(by) + by.length(), error.indexOf(" after SET cutover.ddl_capture = off"));
      assertThat(statement).startsWith("CREATE TABLE picked AS SELECT g AS id").endsWith("WITH NO DATA");
      String id = error.substring(error.indexOf("ddl-done ") + "ddl-done ".length(), error.indexOf('`', error.indexOf("ddl-done ")));
      try (Connection n = pair.newServer().connect(db)) {
        AppDatabase.execute(n, "SET cutover.ddl_capture = off; " + statement);
      }
      r.ddlDone(id);
      r.awaitCaughtUp(WAIT);
    }
    String rows = "SELECT id || ':' || v FROM picked ORDER BY id";
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, rows)).containsExactly("1:r1", "2:r2", "3:r3", "4:r4", "5:r5").isEqualTo(AppDatabase.strings(o, rows));
    }
    r.cleanup();
  }

  /** As {@link SchemaChangeEdgeTest#alterColumnType_usingVolatileOrTransactionTime_refusedOnOld}, with trigger capture. */
  @Test
  void alterColumnType_usingVolatileOrTransactionTime_refusedOnOld(PostgresPair pair) throws Exception {
    String db = "ddl_volatile_using_tc";
    Replicator r = startedWithTriggers(pair, db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      SchemaChangeEdgeTest.changeTypesUsing(pair, db);
      r.awaitCaughtUp(WAIT);
    }
    SchemaChangeEdgeTest.assertTypesChanged(pair, db, r);
    r.cleanup();
  }

  /** As {@link SchemaChangeEdgeTest#addColumn_arrayWithNonConstantDefault_existingRowsReadOldsValueOnNew}, with trigger capture. */
  @Test
  void addColumn_arrayWithNonConstantDefault_existingRowsReadOldsValueOnNew(PostgresPair pair) throws Exception {
    String db = "ddl_array_default_tc";
    Replicator r = startedWithTriggers(pair, db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      SchemaChangeEdgeTest.addArrayColumns(pair, db);
      r.awaitCaughtUp(WAIT);
    }
    SchemaChangeEdgeTest.assertArrayColumnsCarried(pair, db, r);
    r.cleanup();
  }

  /** As {@link SchemaChangeEdgeTest#addColumn_nonConstantDefaultNullOnOneSideOnly_existingRowsReadOldsValueOnNew}, with trigger capture. */
  @Test
  void addColumn_nonConstantDefaultNullOnOneSideOnly_existingRowsReadOldsValueOnNew(PostgresPair pair) throws Exception {
    String db = "ddl_null_default_tc";
    SchemaChangeFlowTest.database(pair, db);
    SchemaChangeEdgeTest.defaultsNullOnOneSide(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      SchemaChangeEdgeTest.addColumnsNullOnOneSide(pair, db);
      r.awaitCaughtUp(WAIT);
    }
    SchemaChangeEdgeTest.assertColumnsNullOnOneSideCarried(pair, db, r);
    r.cleanup();
  }

  /**
   * An enum value added in one transaction on old and used in the next, both in one batch (the
   * apply was stopped while they committed): new's batch transaction may not use a value that it
   * added itself ("unsafe use of new value"), which stopped the apply for good; the value is
   * committed on new ahead of the batch, and the batch goes on.
   */
  @Test
  void apply_enumValueAddedAndUsedInOneBatch_committedAheadAndVerifyClean(PostgresPair pair) throws Exception {
    String db = "ddl_enum_batch";
    SchemaChangeFlowTest.database(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "CREATE TYPE mood AS ENUM ('a', 'b', 'c'); CREATE TABLE items (id int PRIMARY KEY, m mood NOT NULL);"
          + " INSERT INTO items SELECT g, 'a' FROM generate_series(1, 10) g");
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        r.awaitCaughtUp(WAIT);
      }
      // With the apply (and its ticker) stopped, nothing cuts these two apart: one batch.
      AppDatabase.execute(o, "BEGIN; ALTER TYPE mood ADD VALUE 'd' BEFORE 'b'; COMMIT");
      AppDatabase.execute(o, "UPDATE items SET m = 'd' WHERE id = 7");
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        r.awaitCaughtUp(WAIT);
        assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.refusal()).as("%s", a.lastError()).isNull());
      }
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, "SELECT enum_range(NULL::mood)::text")).containsExactly("{a,d,b,c}")
          .isEqualTo(AppDatabase.strings(o, "SELECT enum_range(NULL::mood)::text"));
      assertThat(AppDatabase.strings(n, "SELECT m::text FROM items WHERE id = 7")).containsExactly("d");
    }
    assertThat(r.status().forward().problems()).noneMatch(p -> p.startsWith("schema change") || p.contains("mood"));
    r.cleanup();
  }
  /**
   * Key and json columns named outside printable ASCII or with a backslash (r33):
   * cutover.capture_current compared pg_trigger's arguments escaped, so such a table never looked
   * current, and the event trigger, fired by the ALTER TABLE that enables the remade triggers,
   * remade them without end: start failed with "stack depth limit exceeded" after minutes, and so
   * did the application's own CREATE TABLE with such a key. Old's stack is small here, so that
   * recursion fails at once.
   */
  @Test
  void start_keyAndJsonColumnsNamedOutsideAscii_triggersCurrentAndRowsArrive(PostgresPair pair) throws Exception {
    String db = "ddl_non_ascii_tc";
    SchemaChangeFlowTest.database(pair, db);
    smallStack(pair, db);
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = SchemaChangeFlowTest.app(s, db)) {
        AppDatabase.execute(c, "CREATE TABLE \"Grüße\" (\"é\" int PRIMARY KEY, \"Straße\" jsonb, \"表\" text);"
            + " CREATE TABLE \"a\\b\" (\"a\\b\" int PRIMARY KEY, \"😀\" json)");
      }
    }
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
        AppDatabase.execute(o, "CREATE TABLE \"Kunde\" (\"Straße\" int PRIMARY KEY)");
        AppDatabase.execute(o, "INSERT INTO \"Grüße\" VALUES (1, 'null', 'x'), (2, '{\"k\": 1}', 'y'); UPDATE \"Grüße\" SET \"é\" = 3 WHERE \"é\" = 2;"
            + " INSERT INTO \"a\\b\" VALUES (1, 'null'), (2, '[1]'); DELETE FROM \"a\\b\" WHERE \"a\\b\" = 2;"
            + " INSERT INTO \"Kunde\" VALUES (7)");
      }
      r.awaitCaughtUp(WAIT);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
        assertThat(CaptureSchema.staleTables(o)).as("tables whose capture triggers are not current").isEmpty();
        for (String q : List.of("SELECT string_agg(\"é\" || ' ' || coalesce(\"Straße\"::text, '-') || ' ' || \"表\", ',' ORDER BY \"é\") FROM \"Grüße\"",
            "SELECT string_agg(\"a\\b\" || ' ' || \"😀\"::text, ',') FROM \"a\\b\"", "SELECT string_agg(\"Straße\"::text, ',') FROM \"Kunde\"")) {
          assertThat(AppDatabase.strings(n, q)).as(q).isEqualTo(AppDatabase.strings(o, q));
        }
        assertThat(AppDatabase.strings(n, "SELECT string_agg(\"é\" || ' ' || coalesce(\"Straße\"::text, '-'), ',' ORDER BY \"é\") FROM \"Grüße\""))
            .containsExactly("1 null,3 {\"k\": 1}");
      }
    }
    r.cleanup();
  }

  /**
   * Should capture_current ever disagree with the triggers capture_table makes, the event trigger
   * fired by capture_table's own ALTER TABLE leaves them be: one remake, not a recursion until the
   * stack runs out in the application's DDL. An application's ALTER TABLE still remakes them.
   */
  @Test
  void createTable_captureCurrentNeverAgrees_theApplicationsDdlRemakesTheTriggersOnce(PostgresPair pair) throws Exception {
    String db = "ddl_never_current_tc";
    Replicator r = startedWithTriggers(pair, db);
    smallStack(pair, db);
    try (Connection su = pair.oldServer().connect(db)) {
      AppDatabase.execute(su, "CREATE OR REPLACE FUNCTION cutover.capture_current(rel pg_catalog.regclass) RETURNS boolean"
          + " LANGUAGE sql STABLE AS 'SELECT false'");
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults());
        Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "CREATE TABLE kunde (id int NOT NULL, v text); INSERT INTO kunde VALUES (1, 'a')");
      String key = "SELECT count(*) FROM pg_trigger WHERE tgname = '#cutover_capture_key' AND tgrelid = 'kunde'::regclass";
      assertThat(AppDatabase.count(o, key)).isZero();
      AppDatabase.execute(o, "ALTER TABLE kunde ADD PRIMARY KEY (id); INSERT INTO kunde VALUES (2, 'b')");
      assertThat(AppDatabase.count(o, key)).as("remade with its key").isOne();
      r.awaitCaughtUp(WAIT);
      try (Connection n = pair.newServer().connect(db)) {
        assertThat(AppDatabase.strings(n, "SELECT id || v FROM kunde ORDER BY id")).containsExactly("1a", "2b");
      }
    }
    r.cleanup();
  }

  /** Old's least max_stack_depth for the sessions that log in to {@code db} from now on, so a recursion without end fails at once. */
  private static void smallStack(PostgresPair pair, String db) throws Exception {
    try (Connection su = pair.oldServer().connect()) {
      AppDatabase.execute(su, "ALTER DATABASE " + db + " SET max_stack_depth = '100kB'");
    }
  }
}
