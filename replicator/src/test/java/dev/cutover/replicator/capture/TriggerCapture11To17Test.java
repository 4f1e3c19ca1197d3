package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.internal.switching.RouterNames;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.CutoverUrl;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Trigger capture from PostgreSQL 11 (logical decoding, but older than the native engine supports)
 * to 17, and the tests of how values are captured, whose path is the same from every source before 12.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 11, newMajor = 17)
class TriggerCapture11To17Test extends TriggerCaptureFlow {

  /**
   * Old fenced (traffic moved to new) before the way back was armed: capture armed now would miss
   * what new took since, so reverse refuses, and arms only when told to accept that, saying so.
   */
  /**
   * Defaults and row level security changed on old, where nothing captures it: nothing stops the
   * apply, but after a switch new would fill columns its own way and let every role see every row.
   * Status names each difference with the statement for new (forcing row level security only once
   * nothing replicates into new, since the apply writes as the table's owner); before, it named
   * none.
   */
  @Test
  void status_defaultsAndRowSecurityChangedOnOldOnly_namesTheStatementsForNew(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "defaults");
    db.executeOnBoth("CREATE POLICY tidy ON scratch USING (id > 0)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "ALTER TABLE account ALTER COLUMN balance SET DEFAULT 10; ALTER TABLE scratch ALTER COLUMN payload SET DEFAULT"
          + " 'none'; ALTER TABLE account ALTER COLUMN created DROP DEFAULT; ALTER TABLE counter ENABLE ROW LEVEL SECURITY;"
          + " ALTER TABLE counter FORCE ROW LEVEL SECURITY; CREATE POLICY everyone ON counter USING (true);"
          + " ALTER POLICY tidy ON scratch USING (id > -1); UPDATE counter SET value = value + 1");
      r.awaitCaughtUp(CATCH_UP);
      String pending = " (if a schema change is on its way, it arrives with replication)";
      String run = "run on new: SET cutover.ddl_capture = off; ";
      String status = db.statusCli();
      assertThat(status).contains("column balance of public.account has DEFAULT 10 on old but DEFAULT 0 on new: after a switch to new, new"
              + " gives rows inserted without it its own" + pending + ". If old's is the one meant, " + run + "ALTER TABLE \"public\".\"account\""
              + " ALTER COLUMN \"balance\" SET DEFAULT 10; if new's is (changed there first), make the same change on old")
          .contains("column payload of public.scratch has DEFAULT 'none'::text on old but no default on new")
          .contains("column created of public.account has no default on old but DEFAULT now() on new")
          .contains("ALTER TABLE \"public\".\"account\" ALTER COLUMN \"created\" DROP DEFAULT")
          .contains("row level security is on for public.counter on old but not on new: after a switch to new, its policies do not hold"
              + " there" + pending + ". R" + run.substring(1) + "ALTER TABLE \"public\".\"counter\" ENABLE ROW LEVEL SECURITY")
          .contains("row level security is forced for public.counter on old but not on new: after a switch to new, its policies do not"
              + " hold there for the table's owner" + pending + ". Force it on new (ALTER TABLE \"public\".\"counter\" FORCE ROW LEVEL"
              + " SECURITY) once nothing replicates into it")
          .contains("policy everyone on public.counter is on old but not on new: after a switch to new, it does not restrict rows there"
              + pending + ". R" + run.substring(1) + "CREATE POLICY everyone ON public.counter FOR ALL TO PUBLIC USING (true)")
          .contains("policy tidy on public.scratch differs on old and new: after a switch to new, new's holds there" + pending + ". If old's"
              + " is the one meant, " + run + "DROP POLICY \"tidy\" ON \"public\".\"scratch\"; CREATE POLICY tidy ON public.scratch"
              + " FOR ALL TO PUBLIC USING ((id > '-1'::integer)); if new's is, make the same change on old");
      OwnedDatabase.runPrintedForNew(n, status, line -> true);
      assertThat(db.statusCli().lines().filter(l -> l.contains("on old but") || l.contains("differs on old and new")))
          .singleElement().asString().contains("is forced for public.counter");
      n.setAutoCommit(false);
      assertThat(OwnedDatabase.strings(n, "INSERT INTO scratch (id) VALUES (9999) RETURNING payload")).containsExactly("none");
      n.rollback();
      n.setAutoCommit(true);
      // Forced on old, the policies hold for verify too, which refuses to read through them.
      OwnedDatabase.execute(o, "ALTER TABLE counter NO FORCE ROW LEVEL SECURITY");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * Verify from 11 to 17, whose floats print differently (11 with 17 or 18 digits at most, 17 the
   * shortest exact text): floats inside arrays, composites and geometric types are compared by
   * their bits, and numeric by its text, scale included. With extra_float_digits 1, 11 printed
   * both 0.30000000000000004 and the double next to it as 0.3, and numeric was hashed by a
   * function that takes 2.50 for 2.5: verify said "same" for rows that differ. Equal rows still
   * compare equal, though 0.1 prints as 0.1 on 17 and 0.100000000000000006 on 11.
   */
  @Test
  void verify_nestedFloatsAndNumericScaleDifferOnNew_reportsEachRow(PostgresPair pair) throws Exception {
    String schema = "CREATE TYPE comp AS (a float8, b text); CREATE DOMAIN dfl AS float8;"
        + " CREATE TABLE fp (id int PRIMARY KEY, pts point[], n numeric, fa float8[], c comp[], d dfl[], b box, r real[]);";
    String seed = "INSERT INTO fp SELECT g, ARRAY[point(0.1::float8 + 0.2::float8, 0.1)], 2.50, ARRAY[0.1::float8, 1.0 / 3],"
        + " ARRAY[ROW(0.1::float8 + 0.2::float8, 'x')::comp], ARRAY[(0.1::float8 + 0.2::float8)::dfl], box(point(0.1, 1.0 / 3), point(0, 0)),"
        + " ARRAY[0.1::real] FROM generate_series(1, 8) g";
    OwnedDatabase db = OwnedDatabase.create(pair, "fpverify", schema, seed);
    Replicator r = started(db);
    assertThat(r.verify(Verifier.Options.defaults()).differences()).as("equal rows, printed otherwise by 11 and 17").isZero();
    try (Connection n = db.nw()) {
      // Each the value next to old's (one bit apart), or 2.5 for 2.50.
      OwnedDatabase.execute(n, "UPDATE fp SET pts = ARRAY[point(0.3::float8, 0.1)] WHERE id = 1;"
          + " UPDATE fp SET n = 2.5 WHERE id = 2;"
          + " UPDATE fp SET fa = ARRAY[0.1::float8, '0.33333333333333337'::float8] WHERE id = 3;"
          + " UPDATE fp SET c = ARRAY[ROW(0.3::float8, 'x')::comp] WHERE id = 4;"
          + " UPDATE fp SET d = ARRAY[0.3::float8::dfl] WHERE id = 5;"
          + " UPDATE fp SET b = box(point(0.1, '0.33333333333333337'::float8), point(0, 0)) WHERE id = 6;"
          + " UPDATE fp SET r = ARRAY['0.100000009'::real] WHERE id = 7");
      assertThat(OwnedDatabase.strings(n, "SELECT id::text FROM fp f WHERE fa[2] <> 1.0 / 3 OR (b[0])[1] <> 1.0 / 3 OR r[1] <> 0.1::real"
          + " OR (pts[1])[0] <> 0.1::float8 + 0.2::float8 ORDER BY id")).as("the values changed").containsExactly("1", "3", "6", "7");
    }
    VerifyReport report = r.verify(Verifier.Options.defaults());
    assertThat(report.differences()).as(report.toString()).isEqualTo(7);
  }

  /**
   * Columns of the oid alias types (regclass, regtype, arrays of them) hold oids that name objects
   * by each database's own numbering. Start copied them in binary, old's oids as they were (naming
   * another relation on new, or none); the capture printed them relative to the writer's
   * search_path ({@code thing}, not {@code app.thing}), which new could not resolve, so the apply
   * failed for good; verify printed them relative to each side's own path. Now they are copied as
   * text, printed schema-qualified whatever the writer's path, and compared by name.
   */
  @Test
  void start_regclassAndRegtypeColumns_copiedAppliedAndVerifiedByName(PostgresPair pair) throws Exception {
    String schema = "CREATE SCHEMA app; CREATE TABLE app.thing (id int); CREATE TABLE audit (id int); CREATE TYPE app.tint AS (a int);"
        + " CREATE TABLE regs (id int PRIMARY KEY, rel regclass, typ regtype, rels regclass[]);";
    OwnedDatabase db = OwnedDatabase.create(pair, "regs", schema, "INSERT INTO regs VALUES (1, 'audit', 'int4', '{app.thing}'),"
        + " (2, 'app.thing', 'app.tint', '{audit}')");
    try (Connection n = db.nw()) {
      // New numbers its objects otherwise: old's oids name other objects there, or none.
      OwnedDatabase.execute(n, "DROP TABLE audit, app.thing; DROP TYPE app.tint; CREATE TABLE filler (id int); CREATE TYPE app.tint AS (a int);"
          + " CREATE TABLE app.thing (id int); CREATE TABLE audit (id int)");
    }
    Replicator r = started(db);
    String rows = "SELECT id || ' ' || rel::text || ' ' || typ::text || ' ' || rels::text FROM public.regs ORDER BY id";
    try (Connection n = db.nw()) {
      OwnedDatabase.execute(n, "SET search_path = pg_catalog");
      assertThat(OwnedDatabase.strings(n, rows)).as("copied by name")
          .containsExactly("1 public.audit integer {app.thing}", "2 app.thing app.tint {public.audit}");
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "SET search_path = app, public; INSERT INTO regs VALUES (3, 'thing', 'tint', '{thing, audit}');"
          + " UPDATE regs SET typ = 'tint' WHERE id = 1");
      r.awaitCaughtUp(CATCH_UP);
      OwnedDatabase.execute(n, "SET search_path = pg_catalog");
      assertThat(OwnedDatabase.strings(n, rows)).as("applied by name").containsExactly("1 public.audit app.tint {app.thing}",
          "2 app.thing app.tint {public.audit}", "3 app.thing app.tint {app.thing,public.audit}");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * An enum value renamed on old (ALTER TYPE ... RENAME VALUE), where nothing captures it: status
   * offers the rename on new before the ADD VALUE, which would leave every row new holds with the
   * old value behind (before, it offered only ADD VALUE); once renamed, verify finds nothing.
   */
  @Test
  void status_enumValueRenamedOnOldOnly_offersTheRenameOnNew(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "enumname");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';"
          + " UPDATE account SET balance = balance + 1 WHERE id = (SELECT min(id) FROM account WHERE mood = 'blue')");
      OwnedDatabase.awaitApplyFailure(apply, CATCH_UP);
      String rename = "ALTER TYPE \"public\".\"mood\" RENAME VALUE 'sad' TO 'blue'";
      assertThat(db.statusCli()).contains("enum public.mood has value(s) 'blue' on old but not on new: a row holding one stops replication"
          + " (if a schema change is on its way, it arrives with replication); if it is new's value(s) 'sad' renamed on old, run on new:"
          + " SET cutover.ddl_capture = off; " + rename + " (creating it afresh would leave behind the values new holds under the old name);"
          + " else run on new: SET cutover.ddl_capture = off; ALTER TYPE \"public\".\"mood\" ADD VALUE 'blue' BEFORE 'ok'");
      OwnedDatabase.execute(n, rename);
      r.awaitCaughtUp(CATCH_UP);
      assertThat(db.statusCli()).doesNotContain("enum public.mood");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * A CHECK and a NOT NULL dropped on old's partitioned table, where nothing captures it: status
   * names them on the parent, where dropping them on new reaches its partitions too, and not on
   * each partition (whose copies cannot be dropped alone); once run, the rows new refused arrive.
   * A trigger made on a partition alone is named; the parent's, which each partition holds a copy
   * of on both sides, is not.
   */
  @Test
  void status_constraintsDroppedOnPartitionedTableOnOldOnly_namesTheParent(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "parted");
    db.executeOnBoth("CREATE TABLE reading (id int, at date, v int NOT NULL CHECK (v >= 0), PRIMARY KEY (id, at)) PARTITION BY RANGE (at);"
        + " CREATE TABLE reading_2026 PARTITION OF reading FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
        + " CREATE FUNCTION noted() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;"
        + " CREATE TRIGGER reading_noted AFTER INSERT ON reading FOR EACH ROW EXECUTE PROCEDURE noted()");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "ALTER TABLE reading DROP CONSTRAINT reading_v_check; ALTER TABLE reading ALTER COLUMN v DROP NOT NULL;"
          + " CREATE TRIGGER reading_2026_noted AFTER INSERT ON reading_2026 FOR EACH ROW EXECUTE PROCEDURE noted();"
          + " INSERT INTO reading VALUES (1, '2026-12-05', -1), (2, '2026-12-05', NULL)");
      OwnedDatabase.awaitApplyFailure(apply, CATCH_UP);
      List<String> statements = List.of("ALTER TABLE \"public\".\"reading\" DROP CONSTRAINT \"reading_v_check\"",
          "ALTER TABLE \"public\".\"reading\" ALTER COLUMN \"v\" DROP NOT NULL");
      assertThat(db.statusCli()).contains("constraint reading_v_check of public.reading (CHECK ((v >= 0))) is on new but not on old")
          .contains("column v of public.reading is NOT NULL on new but not on old").contains(statements).doesNotContain("of public.reading_2026")
          // The parent's trigger, copied onto the partition on both (internal on 11, not on 17), is no difference; one made on the partition is.
          .contains("trigger reading_2026_noted on public.reading_2026 is on old but not on new").doesNotContain("trigger reading_noted");
      for (String statement : statements) {
        OwnedDatabase.execute(n, statement);
      }
      r.awaitCaughtUp(CATCH_UP);
      String readings = "SELECT string_agg(id || '=' || coalesce(v::text, 'null'), ',' ORDER BY id) FROM reading";
      assertThat(OwnedDatabase.strings(n, readings)).containsExactly("1=-1,2=null");
    }
  }

  /**
   * An application's AFTER ROW trigger whose name sorts before the capture's ({@code !audit}, as
   * PostgreSQL orders names, byte by byte) would run before the row that fired it is logged, so a
   * row it writes would be logged, and applied, first. check names it (and neither the BEFORE
   * trigger nor the statement trigger of the same names, which fire before the change or after
   * every row's capture) with the statement that renames it; start refuses and installs nothing;
   * renamed, start goes on. A table created after start with such a trigger: adopt refuses until
   * it is renamed too. Before, check and start said nothing, and the capture's trigger
   * {@code cutover_capture} sorted after most application names.
   */
  @Test
  void start_applicationTriggerSortsBeforeTheCapture_checkNamesItAndStartAndAdoptRefuse(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "order");
    String audit = "CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;"
        + " CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
        + " CREATE TRIGGER \"!audit\" AFTER INSERT OR UPDATE ON scratch FOR EACH ROW EXECUTE PROCEDURE audit();"
        + " CREATE TRIGGER \"!before\" BEFORE INSERT ON scratch FOR EACH ROW EXECUTE PROCEDURE keep();"
        + " CREATE TRIGGER \"!statement\" AFTER INSERT ON scratch FOR EACH STATEMENT EXECUTE PROCEDURE audit();"
        + " CREATE TRIGGER after_capture AFTER INSERT ON scratch FOR EACH ROW EXECUTE PROCEDURE audit()";
    db.executeOnBoth(audit);
    List<Finding> order = db.replicator().check(List.of(), Capture.TRIGGERS).findings().stream()
        .filter(f -> f.code().equals("capture-trigger-order")).toList();
    assertThat(order).extracting(Finding::side, Finding::severity)
        .containsExactlyInAnyOrder(tuple("old", Finding.Severity.ERROR), tuple("new", Finding.Severity.WARNING));
    assertThat(order).allSatisfy(f -> {
      assertThat(f.message()).contains("1 trigger(s)").contains("trigger \"!audit\" (AFTER INSERT OR UPDATE) of public.scratch")
          .doesNotContain("!before").doesNotContain("!statement").doesNotContain("after_capture");
      assertThat(f.remedy()).contains("ALTER TRIGGER \"!audit\" ON \"public\".\"scratch\" RENAME TO <new name>");
    });

    Replicator r = db.replicator();
    ReplicatorException refused = catchThrowableOfType(ReplicatorException.class, () -> r.start(options(), new CopyProgress(), CopyListener.NONE));
    assertThat(refused).isNotNull();
    assertThat(refused.failure()).isEqualTo(Failure.PRECONDITION);
    assertThat(refused.oneLine()).contains("old: start refused").contains("trigger \"!audit\" (AFTER INSERT OR UPDATE) of public.scratch")
        .contains("RENAME TO");
    try (Connection o = db.old(); Connection n = db.nw()) {
      assertThat(CaptureSchema.installed(o)).as("nothing installed by the refusal").isFalse();
      OwnedDatabase.execute(o, "ALTER TRIGGER \"!audit\" ON scratch RENAME TO audit");
      OwnedDatabase.execute(n, "ALTER TRIGGER \"!audit\" ON scratch RENAME TO audit");
      r.start(options(), new CopyProgress(), CopyListener.NONE);
      assertThat(OwnedDatabase.strings(o, "SELECT tgname FROM pg_trigger WHERE tgrelid = 'scratch'::regclass AND NOT tgisinternal"
          + " AND tgtype & 1 = 1 AND tgtype & 2 = 0 AND tgtype & 4 = 4 ORDER BY tgname::text COLLATE \"C\""))
          .as("AFTER INSERT row triggers in the order PostgreSQL fires them").containsExactly("#cutover_capture", "after_capture", "audit");

      OwnedDatabase.execute(o, "CREATE TABLE late (id int PRIMARY KEY); CREATE TRIGGER \"!late\" AFTER DELETE ON late FOR EACH ROW"
          + " EXECUTE PROCEDURE audit()");
      ReplicatorException adopt = catchThrowableOfType(ReplicatorException.class,
          () -> r.adopt(List.of("public.late"), Side.OLD, Duration.ofSeconds(5), Duration.ofSeconds(30)));
      assertThat(adopt).isNotNull();
      assertThat(adopt.oneLine()).contains("adopting public.late refused").contains("trigger \"!late\" (AFTER DELETE) of public.late");
      assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'late'::regclass AND tgname LIKE '#%'")).isZero();
      OwnedDatabase.execute(o, "ALTER TRIGGER \"!late\" ON late RENAME TO late_audit");
      assertThat(r.adopt(List.of("public.late"), Side.OLD, Duration.ofSeconds(5), Duration.ofSeconds(30))).singleElement()
          .satisfies(a -> assertThat(a.created()).isTrue());
    }
  }

  /**
   * A bulk load the way partitioned tables take one: a table made on old after start, filled, then
   * attached as a partition. It has no capture triggers (they are made per partition, and no event
   * trigger made them), so its rows and what is written into it after reach new only once adopted:
   * status names it and adopt, which makes the partition on new under its parent and copies it.
   */
  @Test
  void adopt_tableFilledThenAttachedAsPartitionOnOld_madeOnNewWithItsRows(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "attached");
    db.executeOnBoth("CREATE TABLE reading (id int, at date, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);"
        + " CREATE TABLE reading_2026 PARTITION OF reading FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "CREATE TABLE reading_2027 (LIKE reading INCLUDING ALL);"
          + " INSERT INTO reading_2027 SELECT g, '2027-03-01', g FROM generate_series(1, 500) g;"
          + " ALTER TABLE reading ATTACH PARTITION reading_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');"
          + " INSERT INTO reading VALUES (1, '2026-05-01', 1)");
      assertThat(db.statusCli()).contains("1 table(s) on old have no capture triggers").contains("Run `cutover-replicator adopt public.reading_2027`");

      assertThat(db.cli("adopt", "public.reading_2027")).contains("adopted public.reading_2027: made on new, 500 row(s) copied");

      OwnedDatabase.execute(o, "INSERT INTO reading VALUES (501, '2027-04-01', 1); UPDATE reading SET v = 0 WHERE id = 2");
      r.awaitCaughtUp(CATCH_UP);
      String rows = "SELECT count(*) || ' ' || sum(v) FROM reading_2027";
      assertThat(OwnedDatabase.strings(n, rows)).isEqualTo(OwnedDatabase.strings(o, rows)).containsExactly("501 125249");
      assertThat(OwnedDatabase.strings(n, "SELECT count(*) FROM reading")).containsExactly("502");
      assertThat(db.statusCli()).doesNotContain("no capture triggers");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * A table with a serial key, the usual kind, made on old after start by its owner (who may not
   * create the event trigger that captures it): adopt makes it on new with the sequence its key
   * draws from, copies its rows and captures it. Before, it failed on {@code relation
   * "public.notes_id_seq" does not exist} and sent the operator to status, which named adopt. A
   * table adopt cannot make on new (its role may not create in that schema there) is refused saying
   * what to make on new, not to make new's table the same or drop it, which new does not have.
   */
  @Test
  void adopt_serialKeyTableCreatedOnOldAfterStart_madeOnNewWithItsSequence(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "serialkey");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('a'), ('b')");

      assertThat(db.cli("adopt", "public.notes")).contains("adopted public.notes: made on new, 2 row(s) copied");

      OwnedDatabase.execute(o, "INSERT INTO notes (body) VALUES ('c'); UPDATE notes SET body = 'A' WHERE id = 1");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(OwnedDatabase.strings(n, "SELECT string_agg(id || body, ',' ORDER BY id) FROM notes")).containsExactly("1A,2b,3c");
      assertThat(OwnedDatabase.strings(n, "SELECT pg_get_serial_sequence('public.notes', 'id')")).as("the sequence, owned by the key")
          .containsExactly("public.notes_id_seq");
    }
    // A schema of the superuser's in which the owner may create tables on old only.
    try (Connection o = db.oldAsSuperuser(); Connection n = db.nwAsSuperuser()) {
      OwnedDatabase.execute(o, "CREATE SCHEMA locked; GRANT USAGE, CREATE ON SCHEMA locked TO " + OwnedDatabase.ROLE);
      OwnedDatabase.execute(n, "CREATE SCHEMA locked; GRANT USAGE ON SCHEMA locked TO " + OwnedDatabase.ROLE);
    }
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "CREATE TABLE locked.scores (id int PRIMARY KEY); INSERT INTO locked.scores VALUES (1)");
      assertThat(db.cliExiting(5, "adopt", "locked.scores")).contains("permission denied for schema locked")
          .contains("new has no locked.scores, and making it there from old's definition failed: make on new what the error names")
          .doesNotContain("drop it on new");
    }
  }

  /**
   * Tables whose names differ only in case, and one no unquoted name can spell, made on old after
   * start: status printed {@code adopt public.Orders public.orders select.Us"er'2} (unquoted), and
   * adopt read {@code public.Orders} as SQL does, folded: pasted, it adopted public.orders and left
   * "Orders" uncaptured, and the third could not be passed at all. Now status prints each as its
   * quoted SQL name, one shell word each, adopt reads exactly that, and an unquoted mixed-case name
   * with a case-twin is refused naming the quoted forms.
   */
  @Test
  void adopt_tablesDifferingOnlyInCase_pastedStatusRemedyAdoptsEachAndAnUnquotedMixedCaseNameIsRefused(PostgresPair pair)
      throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "twins");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "CREATE TABLE orders (id int PRIMARY KEY, v text); CREATE TABLE \"Orders\" (id int PRIMARY KEY, v text);"
          + " CREATE SCHEMA \"select\"; CREATE TABLE \"select\".\"Us\"\"er'2\" (id int PRIMARY KEY);"
          + " INSERT INTO orders VALUES (1, 'lower'); INSERT INTO \"Orders\" VALUES (1, 'Upper'), (2, 'Upper');"
          + " INSERT INTO \"select\".\"Us\"\"er'2\" VALUES (7)");
      OwnedDatabase.execute(n, "CREATE SCHEMA \"select\"");
      String status = db.statusCli();
      String start = "Run `cutover-replicator adopt ";
      assertThat(status).contains(start);
      String remedy = status.substring(status.indexOf(start) + start.length(), status.indexOf('`', status.indexOf(start) + start.length()));
      List<String> words = dev.cutover.testkit.ShellLine.words(remedy);
      assertThat(words).as(remedy).containsExactlyInAnyOrder("public.\"Orders\"", "public.orders", "select.\"Us\"\"er'2\"");

      String refused = db.cliExiting(5, "adopt", "public.Orders");
      assertThat(refused).contains("public.Orders").contains("'public.\"Orders\"'").contains("public.orders");
      assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('orders'::regclass, '\"Orders\"'::regclass)"
          + " AND tgname LIKE '#%'")).as("nothing adopted by the refusal").isZero();

      List<String> adopt = new ArrayList<>(List.of("adopt"));
      adopt.addAll(words);
      assertThat(db.cli(adopt.toArray(String[]::new))).contains("adopted public.\"Orders\": made on new, 2 row(s) copied")
          .contains("adopted public.orders: made on new, 1 row(s) copied").contains("adopted select.\"Us\"\"er'2\": made on new, 1 row(s) copied");
      OwnedDatabase.execute(o, "INSERT INTO \"Orders\" VALUES (3, 'Upper'); INSERT INTO orders VALUES (2, 'lower')");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(OwnedDatabase.strings(n, "SELECT (SELECT string_agg(v, ',' ORDER BY id) FROM \"Orders\") || ' '"
          + " || (SELECT string_agg(v, ',' ORDER BY id) FROM orders) || ' ' || (SELECT string_agg(id::text, ',') FROM \"select\".\"Us\"\"er'2\")"))
          .containsExactly("Upper,Upper,Upper lower,lower 7");
    }
  }

  /**
   * A serial and an identity column added on old, where nothing captures it: the statement status
   * prints for the serial creates its sequence first and ties it to the column after (before, its
   * ADD COLUMN named a sequence new lacks and failed), and both say that the rows new holds get
   * new's own values; once run, the rows written since arrive with old's.
   */
  @Test
  void status_serialAndIdentityAddedOnOldOnly_printsTheSequenceWithTheColumn(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "serial");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "ALTER TABLE scratch ADD COLUMN n serial; ALTER TABLE entry ADD COLUMN k bigint GENERATED BY DEFAULT AS IDENTITY;"
          + " INSERT INTO scratch (id) VALUES (5000); INSERT INTO entry (account_id, n, amount) VALUES (1, 5000, 1)");
      OwnedDatabase.awaitApplyFailure(apply, CATCH_UP);
      String status = db.statusCli();
      String serial = "CREATE SEQUENCE \"public\".\"scratch_n_seq\" AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1"
          + " CACHE 1 NO CYCLE; ALTER TABLE \"public\".\"scratch\" ADD COLUMN \"n\" integer DEFAULT nextval('public.scratch_n_seq'::regclass)"
          + " NOT NULL; ALTER SEQUENCE \"public\".\"scratch_n_seq\" OWNED BY \"public\".\"scratch\".\"n\"";
      String identity = "ALTER TABLE \"public\".\"entry\" ADD COLUMN \"k\" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL";
      assertThat(status).contains("column n of public.scratch is on old but not on new, with a computed default"
          + " (nextval('public.scratch_n_seq'::regclass)): added here, it gives the rows new holds new's own values")
          .contains("column k of public.entry is on old but not on new, with a computed default (an identity)")
          .contains("run on new: SET cutover.ddl_capture = off; " + serial).contains(identity);
      OwnedDatabase.execute(n, serial + "; " + identity);
      r.awaitCaughtUp(CATCH_UP);
      String added = "SELECT (SELECT n FROM scratch WHERE id = 5000) || ' ' || (SELECT k FROM entry WHERE n = 5000)";
      assertThat(OwnedDatabase.strings(n, added)).isEqualTo(OwnedDatabase.strings(o, added));
      assertThat(OwnedDatabase.strings(n, "SELECT pg_get_serial_sequence('scratch', 'n')")).containsExactly("public.scratch_n_seq");
      assertThat(db.statusCli()).doesNotContain("on old but");
    }
  }

  @Test
  void reverse_oldFencedBeforeArming_refusesUnlessMissingWritesAccepted(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "late");
    Replicator r = started(db);
    try (Connection o = db.old()) {
      String id = Coordination.begin(o, "svc", "s1", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(o, "svc", id)).isTrue();
      Fence.raise(o, "svc", id, "test", Duration.ofSeconds(5));

      ReplicatorException refused = catchThrowableOfType(ReplicatorException.class,
          () -> r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(5))));
      assertThat(refused).isNotNull();
      assertThat(refused.failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(refused.oneLine()).contains("old is fenced").contains("--accept-missing-writes");
      assertThat(CaptureWays.reverseArmed(o)).as("nothing armed by the refusal").isFalse();

      Reverse.Report armed = r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(5), true));
      assertThat(armed.mode()).isEqualTo("capture");
      assertThat(armed.steps()).anyMatch(s -> s.contains("NOT carried back"));
      assertThat(CaptureWays.reverseArmed(o)).isTrue();
    }
  }

  /**
   * A member of a role merely named rds_superuser, on a server that gives that role nothing, is
   * judged by what the server lets it do: it cannot create event triggers, so check says schema
   * changes are not captured, and start succeeds without them instead of failing on
   * CREATE EVENT TRIGGER. The probe that finds out leaves no event trigger behind.
   */
  @Test
  void start_memberOfARoleNamedRdsSuperuser_isJudgedByWhatTheServerAllows(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "rdsname");
    try (Connection su = OwnedDatabase.admin(pair.oldServer(), null)) {
      OwnedDatabase.execute(su, "DO $$ BEGIN CREATE ROLE rds_superuser NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      OwnedDatabase.execute(su, "GRANT rds_superuser TO " + OwnedDatabase.ROLE);
      try {
        assertThat(db.replicator().check().findings()).filteredOn(f -> f.code().equals("ddl-capture")).singleElement()
            .satisfies(f -> assertThat(f.message()).contains("cannot create event triggers")
                .contains("tables created on old after start are not captured until `cutover-replicator adopt` brings them in"));
        Replicator r = started(db);
        assertThat(r.status().forward().state()).isEqualTo("stopped");
        try (Connection o = db.old()) {
          assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM pg_event_trigger")).isZero();
        }
      } finally {
        OwnedDatabase.execute(su, "REVOKE rds_superuser FROM " + OwnedDatabase.ROLE);
      }
    }
  }

  /**
   * Two application writers whose transactions write every table, in the order opposite to the one
   * start adds its triggers in, without pause and overlapping (each holds its first write a while,
   * as one that does work in between), so that the tables are never all free at once: start adds
   * the triggers, and every transaction of theirs arrives exactly once. With one {@code LOCK TABLE}
   * of every table, each try took the tables the writers had not reached yet and then waited for
   * one they held, while they waited for one of those, until the lock timeout, for the two minutes
   * start keeps trying.
   */
  @Test
  void start_writersSpanningTablesInTheOtherOrder_startsWhileTheyWriteAndLosesNothing(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "spanning");
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong[] commits = {new AtomicLong(), new AtomicLong()};
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> writers = new ArrayList<>();
    for (int w = 1; w <= 2; w++) {
      int id = w;
      String write = "UPDATE scratch SET payload = payload || 'w' WHERE id = " + id + "; SELECT pg_sleep(0.02);"
          + " INSERT INTO keyless VALUES (99, 'w" + id + "', NULL); UPDATE entry SET note = 'w' WHERE account_id = " + id + " AND n = 1;"
          + " UPDATE counter SET value = value + 1 WHERE name = 'c" + id + "'; UPDATE account SET balance = balance + 1 WHERE id = " + id;
      Thread writer = new Thread(() -> {
        try (Connection c = db.old(); Statement s = c.createStatement()) {
          c.setAutoCommit(false);
          while (!stop.get()) {
            s.execute(write);
            c.commit();
            commits[id - 1].incrementAndGet();
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "spanning-writer-" + id);
      writers.add(writer);
      writer.start();
    }
    Replicator r = db.replicator();
    try {
      await().atMost(CATCH_UP).until(() -> commits[1].get() >= 3 || failure.get() != null);
      r.start(options(), new CopyProgress(), CopyListener.NONE);
      long seen = commits[1].get();
      await().atMost(CATCH_UP).until(() -> commits[1].get() >= seen + 3 || failure.get() != null);
    } finally {
      stop.set(true);
      for (Thread writer : writers) {
        writer.join();
      }
    }
    assertThat(failure.get()).isNull();
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection n = db.nw()) {
      r.awaitCaughtUp(CATCH_UP);
      db.assertConverged(r);
      for (int w = 1; w <= 2; w++) {
        assertThat(OwnedDatabase.count(n, "SELECT value FROM counter WHERE name = 'c" + w + "'")).isEqualTo(commits[w - 1].get());
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM keyless WHERE b = 'w" + w + "'")).isEqualTo(commits[w - 1].get());
      }
    }
  }

  /**
   * A table another transaction keeps locked while start adds the triggers: start gives up (here
   * when its thread is interrupted, as after two minutes of tries otherwise) with a timeout naming
   * old and the table, and removes the capture it installed, so that start runs again once the
   * table is free.
   */
  @Test
  void start_tableKeptLocked_givesUpNamingItAndLeavesNoCapture(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "kept");
    Replicator r = db.replicator();
    try (Connection o = db.old(); Connection holder = db.old()) {
      ControlSchema.install(o);
      holder.setAutoCommit(false);
      OwnedDatabase.execute(holder, "LOCK TABLE scratch IN ROW EXCLUSIVE MODE");
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread starting = new Thread(() -> {
        try {
          r.start(options(), new CopyProgress(), CopyListener.NONE);
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "starting");
      starting.start();
      await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(5)).until(() ->
          OwnedDatabase.count(o, "SELECT count(*) FROM pg_locks WHERE relation = 'scratch'::regclass AND NOT granted") > 0);
      starting.interrupt();
      starting.join();

      assertThat(failure.get()).isInstanceOfSatisfying(ReplicatorException.class, e -> {
        assertThat(e.failure()).isEqualTo(Failure.TIMEOUT);
        assertThat(e.oneLine()).contains("old: could not lock public.scratch").contains("pg_locks");
      });
      assertThat(CaptureSchema.installed(o)).isFalse();
      assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '#cutover\\_capture%'")).isZero();
      holder.rollback();
      assertThat(r.start(options(), new CopyProgress(), CopyListener.NONE).engine()).isEqualTo(Capture.TRIGGERS);
    }
  }

  /**
   * A transaction left open on one table while cleanup removes trigger capture and the control
   * schema (capture and fence triggers on every table): the application goes on reading and writing
   * every table (within a 3 s statement timeout) while cleanup waits, and once the transaction
   * ends cleanup leaves nothing. Before, it dropped every table's triggers in one transaction, and
   * the tables whose triggers went first, and the held one's queue, waited for as long.
   */
  @Test
  void cleanup_transactionHoldsATable_applicationKeepsUsingEveryTableWhileItWaits(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "cleanheld");
    Replicator r = started(db);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try (Connection holder = db.old(); Connection app = db.old()) {
      holder.setAutoCommit(false);
      OwnedDatabase.execute(holder, "UPDATE scratch SET payload = 'held' WHERE id = 1");
      Thread cleaning = new Thread(() -> {
        try {
          r.cleanup();
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "cleaning");
      cleaning.start();
      try {
        await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(5)).until(() -> OwnedDatabase.count(app, "SELECT count(*) FROM pg_locks"
            + " WHERE relation = 'scratch'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted") > 0);
        OwnedDatabase.execute(app, "SET statement_timeout = '3s'");
        for (int round = 0; round < 3; round++) {
          OwnedDatabase.execute(app, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
          OwnedDatabase.execute(app, "INSERT INTO keyless VALUES (" + round + ", 'during cleanup', NULL)");
          OwnedDatabase.execute(app, "UPDATE account SET balance = balance + 1 WHERE id = 1");
          assertThat(OwnedDatabase.count(app, "SELECT count(*) FROM scratch WHERE id = 1")).isOne();
        }
      } finally {
        holder.commit();
        cleaning.join();
      }
      assertThat(failure.get()).isNull();
      assertThat(OwnedDatabase.count(app, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'cutover%'")).isZero();
      assertThat(OwnedDatabase.count(app, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'")).isZero();
    }
  }

  /**
   * New refuses the apply's login mid-window (r21 #4: its password rotated; here its role may no
   * longer log in, class 28 as a wrong password) and its sessions are ended: the apply retries, and
   * said so on its own stderr, but status, reading new with credentials that work, said "NOT
   * running … start it", inviting a second apply. The apply notes on old that it cannot reach new,
   * and status says an apply runs and cannot reach new; once new admits it, it applies again.
   */
  @Test
  void status_applyCannotLogInToNew_saysItRunsAndCannotReachNew(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "unreached");
    Replicator r = started(db);
    Replicator readsNewAsSuperuser = Replicator.builder().old(db.endpoint(Side.OLD))
        .nw(Endpoint.of(Side.NEW, db.url(pair.newServer()), pair.newServer().user(), pair.newServer().password())).build();
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection admin = pair.newServer().connect(db.name)) {
      r.awaitCaughtUp(CATCH_UP);
      OwnedDatabase.execute(admin, "ALTER ROLE " + OwnedDatabase.ROLE + " NOLOGIN");
      try {
        OwnedDatabase.execute(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + OwnedDatabase.ROLE + "'");
        await().atMost(CATCH_UP).untilAsserted(() -> {
          var forward = readsNewAsSuperuser.status().forward();
          assertThat(forward.state()).isEqualTo("failing");
          assertThat(forward.problems()).anyMatch(p -> p.contains("an apply into new runs but cannot reach new")
              && p.contains("not permitted to log in") && p.contains("CUTOVER_REPLICATOR_NEW_PASSWORD"));
          assertThat(forward.problems()).noneMatch(p -> p.contains("no `cutover-replicator apply` runs"));
        });
        assertThat(apply.appliers().get(0).running()).isTrue();
      } finally {
        OwnedDatabase.execute(admin, "ALTER ROLE " + OwnedDatabase.ROLE + " LOGIN");
      }
      r.awaitCaughtUp(CATCH_UP);
      assertThat(r.status().forward().problems()).noneMatch(p -> p.contains("cannot reach"));
    }
  }

  /**
   * Old refuses the apply's login mid-window (r34 #2: its password rotated; here its role may no
   * longer log in, the same path) and its sessions are ended: the apply retries, but it connects old
   * first, so it reached neither side and noted nothing; status said "NOT running … start it" beside
   * the stale "terminating connection", and catch-up "start `cutover-replicator apply`". The apply
   * notes on new that it cannot reach old, status and catch-up say it runs and name old's password;
   * once old admits it, what was written meanwhile arrives once.
   */
  @Test
  void status_applyCannotLogInToOld_saysItRunsAndCannotReachOld(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "srcunreached");
    Replicator r = started(db);
    Replicator readsOldAsSuperuser = Replicator.builder()
        .old(Endpoint.of(Side.OLD, db.url(pair.oldServer()), pair.oldServer().user(), pair.oldServer().password()))
        .nw(db.endpoint(Side.NEW)).build();
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection admin = pair.oldServer().connect(db.name)) {
      r.awaitCaughtUp(CATCH_UP);
      OwnedDatabase.execute(admin, "ALTER ROLE " + OwnedDatabase.ROLE + " NOLOGIN");
      try {
        OwnedDatabase.execute(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + OwnedDatabase.ROLE + "'");
        for (int i = 0; i < 3; i++) {
          OwnedDatabase.execute(admin, "INSERT INTO keyless VALUES (" + (900 + i) + ", 'while old refused the apply', NULL)");
        }
        await().atMost(CATCH_UP).untilAsserted(() -> {
          var forward = readsOldAsSuperuser.status().forward();
          assertThat(forward.state()).isEqualTo("failing");
          assertThat(forward.problems()).anyMatch(p -> p.contains("an apply into new runs but cannot reach old")
              && p.contains("not permitted to log in") && p.contains("CUTOVER_REPLICATOR_OLD_PASSWORD"));
          assertThat(forward.problems()).noneMatch(p -> p.contains("no `cutover-replicator apply` runs") || p.contains("; start it")
              || p.contains("terminating connection"));
        });
        ReplicatorException refused = catchThrowableOfType(ReplicatorException.class,
            () -> readsOldAsSuperuser.awaitCaughtUp(Duration.ofSeconds(2)));
        assertThat(refused).as("catch-up while the apply cannot reach old").isNotNull();
        assertThat(refused.oneLine()).contains("an apply into new runs but cannot reach old").contains("CUTOVER_REPLICATOR_OLD_PASSWORD")
            .doesNotContain("start `cutover-replicator apply`");
        assertThat(apply.appliers().get(0).running()).isTrue();
      } finally {
        OwnedDatabase.execute(admin, "ALTER ROLE " + OwnedDatabase.ROLE + " LOGIN");
      }
      r.awaitCaughtUp(CATCH_UP);
      assertThat(r.status().forward().problems()).noneMatch(p -> p.contains("cannot reach"));
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM keyless WHERE b = 'while old refused the apply'")).isEqualTo(3);
      }
    }
  }

  /**
   * Cleanup while apply runs but fails a batch again and again (new refuses old's row): between
   * tries the apply process holds no session and so no lock. Cleanup took that for no apply and
   * removed the capture and the change log with the changes new never got, exiting 0. Now it
   * refuses, nothing removed, while the apply runs and for a minute after its last try (an apply
   * killed between tries looks the same); once the batch went through and apply stopped, it cleans.
   */
  @Test
  void cleanup_applyRetriesAFailingBatch_refusedNothingRemoved(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "retrying");
    Replicator r = started(db);
    try (Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(n, "ALTER TABLE counter ADD CONSTRAINT no_w CHECK (name <> 'w') NOT VALID");
      OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('w', 1)");
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        await().atMost(CATCH_UP).until(() -> "failing".equals(r.status().forward().state()));
        // Between two tries: no session of the apply holds its lock.
        await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(20))
            .until(() -> !dev.cutover.replicator.apply.Way.applying(n, dev.cutover.replicator.apply.Way.FORWARD));
        ReplicatorException refused = catchThrowableOfType(ReplicatorException.class, r::cleanup);
        assertThat(refused).as("cleanup while apply retries").isNotNull();
        assertThat(refused.failure()).isEqualTo(Failure.PRECONDITION);
        assertThat(refused.oneLine()).contains("new:").contains("old -> new").contains("nothing was removed");
        assertThat(apply.appliers().get(0).running()).isTrue();
      }
      // Stopped (or killed) between tries: its note is as fresh as a live one's.
      assertThat(catchThrowableOfType(ReplicatorException.class, r::cleanup)).isNotNull();
      assertThat(CaptureSchema.installed(o)).as("the change log on old").isTrue();
      assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '#cutover\\_capture%'")).isPositive();
      assertThat(r.status().forward().capture().pendingRows()).isPositive();

      OwnedDatabase.execute(n, "ALTER TABLE counter DROP CONSTRAINT no_w");
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        r.awaitCaughtUp(CATCH_UP);
        await().atMost(CATCH_UP).until(() -> r.status().forward().problems().stream().noneMatch(p -> p.contains("fails")));
      }
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM counter WHERE name = 'w'")).isOne();
      assertThat(r.cleanup().removedOnOld()).contains("schema cutover");
    }
  }

  /**
   * Two starts of one migration at once, both past their preconditions before either installed
   * anything (here: both queued behind a session holding the control schema's install lock). The
   * second failed on the first's copied rows and its undo removed the capture the first had
   * installed, while the first reported success over a broken migration. Now the second is refused
   * up front, naming old and the first start's process, and the first completes with its capture.
   */
  @Test
  void start_twoStartsAtOnce_secondRefusedUpFrontAndTheFirstKeepsItsCapture(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "twostarts");
    long installLock = 0x63_75_74_6f_76_65_72L;
    AtomicReference<Object> first = new AtomicReference<>();
    AtomicReference<Object> second = new AtomicReference<>();
    try (Connection holder = db.old()) {
      OwnedDatabase.execute(holder, "SELECT pg_advisory_lock(" + installLock + ")");
      String waiters = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1"
          + " AND objid = " + (installLock & 0xffff_ffffL);
      Thread one = starting(db, first);
      await().atMost(CATCH_UP).until(() -> OwnedDatabase.count(holder, waiters) == 1);
      Thread two = starting(db, second);
      await().atMost(CATCH_UP).until(() -> second.get() != null || OwnedDatabase.count(holder, waiters) == 2);
      OwnedDatabase.execute(holder, "SELECT pg_advisory_unlock(" + installLock + ")");
      one.join();
      two.join();
    }
    assertThat(first.get()).as("the first start").isInstanceOf(dev.cutover.replicator.replication.StartReport.class);
    assertThat(second.get()).as("the second start").isInstanceOfSatisfying(ReplicatorException.class, e -> {
      assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(e.getMessage()).startsWith("old: another `cutover-replicator start` of migration twostarts").contains("runs: process ")
          .endsWith("nothing was done");
      assertThat(e.remedy()).contains("pg_terminate_backend(");
    });
    try (Connection o = db.old(); ApplyProcess apply = r(db).apply(Applier.Options.defaults())) {
      assertThat(CaptureSchema.installed(o)).isTrue();
      OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('after both starts', 1)");
      r(db).awaitCaughtUp(CATCH_UP);
      assertThat(r(db).status().forward().state()).isIn("streaming", "catching-up");
    }
    try (Connection n = db.nw()) {
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM counter WHERE name = 'after both starts'")).isOne();
    }
  }

  private static Replicator r(OwnedDatabase db) throws Exception {
    return db.replicator();
  }

  /** A thread running a trigger-capture start of {@code db}, leaving its report or its failure in {@code outcome}. */
  private static Thread starting(OwnedDatabase db, AtomicReference<Object> outcome) {
    Thread t = new Thread(() -> {
      try {
        outcome.set(db.replicator().start(options(), new CopyProgress(), CopyListener.NONE));
      } catch (Throwable e) {
        outcome.set(e);
      }
    }, "start");
    t.start();
    return t;
  }

  /**
   * Old fenced (the application serves from new) while its change log holds changes new never got:
   * cleanup would remove their only way to new, so it refuses naming how many (the heartbeat, which
   * beats on a fenced side too, not counted), and removes them only when told to discard them,
   * saying so.
   */
  @Test
  void cleanup_oldFencedWithChangesNewNeverGot_refusedUnlessDiscarded(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "fenced_behind");
    Replicator r = started(db);
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('a', 1), ('b', 2); UPDATE counter SET value = 3 WHERE name = 'a'");
      String id = Coordination.begin(o, "svc", "s1", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(o, "svc", id)).isTrue();
      Fence.raise(o, "svc", id, "test", Duration.ofSeconds(5));
      dev.cutover.replicator.replication.Heartbeat.beat(o, Side.OLD);

      ReplicatorException refused = catchThrowableOfType(ReplicatorException.class, r::cleanup);
      assertThat(refused).isNotNull();
      assertThat(refused.failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(refused.getMessage()).isEqualTo("old is fenced (the application writes on new), but its change log holds 3 change(s)"
          + " to its tables never applied to new (old -> new): cleanup would remove them with the log, and new would never get them");
      assertThat(refused.remedy()).contains("cutover-replicator apply").contains("--discard-unapplied").contains("nothing was removed");
      assertThat(CaptureSchema.installed(o)).isTrue();

      dev.cutover.replicator.cleanup.Cleanup.Report removed = r.cleanup(Duration.ofSeconds(30),
          dev.cutover.replicator.cleanup.Cleanup.Unapplied.DISCARD);
      assertThat(removed.removedOnOld()).contains("schema cutover");
      assertThat(removed.warnings()).containsExactly("old's change log held 3 change(s) never applied to new (old -> new), removed with"
          + " it: old is fenced, and they stay on it only (--discard-unapplied)");
    }
  }

  /**
   * After the switch (old fenced, new serving) with the way back armed, new's change log holds
   * changes the way back never applied to old (its apply stopped, as a failing change stops it):
   * cleanup would remove the way back and them, so it refuses, exit 5, nothing removed, naming how
   * many, unless told the cutover is final ({@code --give-up-way-back}), and then says what it gave
   * up. Before, it went on with exit 0 and named them only afterwards (found by review).
   */
  @Test
  void cleanup_wayBackArmedAfterTheSwitchWithChangesOldNeverGot_refusedUnlessGivenUp(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "way_back_behind");
    Replicator r = started(db);
    r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(5)));
    try (Connection o = db.old(); Connection n = db.nw()) {
      String id = Coordination.begin(o, "svc", "s1", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(o, "svc", id)).isTrue();
      Fence.raise(o, "svc", id, "test", Duration.ofSeconds(5));
      OwnedDatabase.execute(n, "INSERT INTO counter VALUES ('on new', 1), ('on new too', 2)");

      String refused = db.cliExiting(5, "cleanup");

      assertThat(refused).contains("old is fenced (the application writes on new), and new's change log holds 2 change(s) to its"
          + " tables never applied to old (new -> old, the way back): cleanup would remove the way back with them, and a flip back"
          + " to old would lose them").contains("`cleanup --give-up-way-back`").contains("nothing was removed");
      assertThat(CaptureSchema.installed(n)).as("new's change log kept").isTrue();
      assertThat(CaptureSchema.installed(o)).isTrue();
      assertThat(ControlSchema.installedVersion(o)).isPresent();

      String removed = db.cli("cleanup", "--give-up-way-back");
      assertThat(removed).contains("new: removed schema cutover")
          .contains("WARNING: new's change log held 2 change(s) never applied to old (new -> old), removed with it: old is fenced"
              + " and behind new, which keeps them, and the way back is given up (--give-up-way-back)")
          .contains("WARNING: the way back (new -> old) is removed");
      assertThat(CaptureSchema.installed(n)).isFalse();
    }
  }

  /**
   * A migration given up before its switch, with the way back armed: old and new both still take
   * writes the other never got. Nothing is lost (each side keeps its own), so cleanup goes on, but
   * it names what it gave up: new behind old, and the way back.
   */
  @Test
  void cleanup_migrationGivenUpBeforeItsSwitch_goesOnNamingWhatWasNotApplied(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "given_up");
    Replicator r = started(db);
    r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(5)));
    try (Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('on old', 1)");
      OwnedDatabase.execute(n, "INSERT INTO counter VALUES ('on new', 1), ('on new too', 2)");
    }
    dev.cutover.replicator.cleanup.Cleanup.Report removed = r.cleanup();
    assertThat(removed.removedOnOld()).contains("schema cutover");
    assertThat(removed.removedOnNew()).contains("schema cutover");
    assertThat(removed.warnings()).containsExactly(
        "old's change log held 1 change(s) never applied to new (old -> new), removed with it: new is behind old, which still takes"
            + " the application's writes",
        "new's change log held 2 change(s) never applied to old (new -> old), removed with it: old is behind new, which still takes"
            + " the application's writes",
        "the way back (new -> old) is removed: old no longer follows new's writes, and flipping back would lose them");
  }

  /**
   * Both databases cancel statements after 100 ms and end sessions idle in a transaction after
   * 500 ms, and new's transactions after 300 ms (ALTER DATABASE SET, as production databases often
   * cap them): the replicator's own sessions turn these off, so a copy, the transaction holding its
   * snapshot and a batch applying one large transaction of old's, each longer than that, succeed.
   * The copy is of 100,000 rows, the large transaction updates 30,000 of them.
   */
  @Test
  void start_databasesCapTimeouts_copyAndApplyOfLargeTransactionsSucceed(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "timeouts");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO scratch SELECT g, repeat('p', 200) FROM generate_series(1001, 101000) g; ANALYZE scratch");
    }
    db.capTimeouts();
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old()) {
      OwnedDatabase.execute(o, "UPDATE scratch SET payload = 'updated' WHERE id BETWEEN 1001 AND 31000");
      r.awaitCaughtUp(Duration.ofSeconds(60));
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
    }
    db.assertConverged(r);
  }

  /**
   * The database's owner puts a schema of its own first in everyone's search_path (ALTER DATABASE
   * SET), with a function named like a built-in the replicator calls: a replicator connected as a
   * superuser runs none of it, since its sessions resolve unqualified names in pg_catalog alone.
   */
  @Test
  void check_ownerPutsItsSchemaFirstInTheDatabasesPath_superuserReplicatorRunsNothingOfIt(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "path");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "CREATE SCHEMA trap; CREATE TABLE trap.ran (who name); GRANT USAGE ON SCHEMA trap TO PUBLIC;"
          + " GRANT INSERT ON trap.ran TO PUBLIC; CREATE FUNCTION trap.current_database() RETURNS name LANGUAGE sql AS"
          + " $$ INSERT INTO trap.ran VALUES (current_user); SELECT pg_catalog.current_database() $$;"
          + " ALTER DATABASE " + Sql.ident(db.name) + " SET search_path = trap, pg_catalog, public");
    }
    Replicator asSuperuser = Replicator.builder()
        .old(Endpoint.of(Side.OLD, db.url(pair.oldServer()), pair.oldServer().user(), null))
        .nw(Endpoint.of(Side.NEW, db.url(pair.newServer()), pair.newServer().user(), null)).build();
    asSuperuser.check();
    try (Connection o = db.old()) {
      assertThat(OwnedDatabase.strings(o, "SELECT current_database()")).as("the trap works in other sessions").containsExactly(db.name);
      assertThat(OwnedDatabase.strings(o, "SELECT who FROM trap.ran")).containsExactly(OwnedDatabase.ROLE);
    }
  }

  /**
   * Another role plants operators in public, where every role may create (11's default, granted
   * on 17 here too), whose argument types match more exactly than the built-ins':
   * {@code =(varchar, varchar)}, which the apply's and verify's comparisons of a varchar key took,
   * and {@code =(name, varchar)}, which a catalog query with a varchar parameter took. Each fails
   * the statement it runs in when that is the replicator's (in another's it answers as the
   * built-in would). The replicator's sessions leave public out of their search path (check says
   * so on both sides) and compare keys with their index's operators: none of it runs there, and an
   * update and a delete by that key arrive.
   */
  @Test
  void apply_anotherRolePlantsOperatorsInPublic_noneRunsInTheReplicatorsSessions(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "planted");
    db.executeOnBoth("CREATE TABLE acct (code varchar(20) PRIMARY KEY, v int)");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO acct SELECT 'c' || g, g FROM generate_series(1, 4) g");
    }
    String ran = "IF current_setting('application_name') = '" + Endpoint.APPLICATION_NAME + "' THEN"
        + " RAISE EXCEPTION 'planted operator ran as %', current_user; END IF;";
    for (Connection admin : List.of(db.oldAsSuperuser(), db.nwAsSuperuser())) {
      try (admin) {
        OwnedDatabase.execute(admin, "DO $$ BEGIN CREATE ROLE mallory NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
            + " GRANT CREATE ON SCHEMA public TO PUBLIC; SET ROLE mallory;"
            + " CREATE FUNCTION public.eq(varchar, varchar) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN " + ran
            + "   RETURN $1::text OPERATOR(pg_catalog.=) $2::text; END $$;"
            + " CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, PROCEDURE = public.eq);"
            + " CREATE FUNCTION public.eq(name, varchar) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN " + ran
            + "   RETURN $1 OPERATOR(pg_catalog.=) $2::name; END $$;"
            + " CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = varchar, PROCEDURE = public.eq); RESET ROLE");
      }
    }
    String message = "the replicator's sessions leave public out of their search_path, since roles that are neither superusers nor"
        + " members of " + OwnedDatabase.ROLE + " may create objects there, which could otherwise run as " + OwnedDatabase.ROLE
        + "; application code that runs in the replicator's sessions (an ENABLE ALWAYS trigger, a function in a constraint or a"
        + " default) must name what it uses there with its schema";
    assertThat(db.replicator().check().findings()).filteredOn(f -> f.code().equals("search-path-left-out"))
        .extracting(Finding::side, Finding::message).containsExactlyInAnyOrder(tuple("old", message), tuple("new", message));
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old()) {
      OwnedDatabase.execute(o, "UPDATE acct SET v = 20 WHERE code::text = 'c2'; DELETE FROM acct WHERE code::text = 'c3'");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
    try (Connection n = db.nw()) {
      assertThat(OwnedDatabase.strings(n, "SELECT code || '=' || v FROM acct ORDER BY code::text")).containsExactly("c1=1", "c2=20", "c4=4");
    }
  }

  /**
   * The capture functions run as their owner (SECURITY DEFINER), and row_to_json prints a value of a
   * type that is not built in through a cast to json where one exists, as a cast to text does for
   * the column text some values are logged as. Only a type's owner may create such a cast, so a
   * role that owns a column's type (here one that may create in public, as every role may on 11)
   * could have its code run as the capture's owner at the next write. The text is printed by the
   * type's output function, which no role but a superuser can make; a cast to json from such a type
   * refuses the write (42501, naming the cast), and neither runs. Without the cast, writes arrive.
   */
  @Test
  void capture_castFromATypeAnotherRoleOwns_neverRunsAsTheCapturesOwner(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "castjson");
    for (Connection admin : List.of(db.oldAsSuperuser(), db.nwAsSuperuser())) {
      try (admin) {
        OwnedDatabase.execute(admin, "DO $$ BEGIN CREATE ROLE mallory NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
            + " GRANT CREATE ON SCHEMA public TO mallory; SET ROLE mallory;"
            + " CREATE TYPE public.mal_mood AS ENUM ('ok', 'sad'); CREATE TYPE public.mal_box AS (label text, doc json); RESET ROLE");
      }
    }
    db.executeOnBoth("CREATE TABLE feeling (id int PRIMARY KEY, m public.mal_mood, b public.mal_box)");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO feeling VALUES (1, 'ok', ROW('a', 'null'))");
    }
    Replicator r = started(db);
    try (Connection admin = db.oldAsSuperuser()) {
      OwnedDatabase.execute(admin, "SET ROLE mallory; CREATE TABLE public.ran (who text); GRANT INSERT, SELECT ON public.ran TO PUBLIC;"
          + " CREATE FUNCTION public.mal_box_text(public.mal_box) RETURNS text LANGUAGE sql AS"
          + "   $$ INSERT INTO public.ran VALUES (current_user) RETURNING ($1).label $$;"
          + " CREATE CAST (public.mal_box AS text) WITH FUNCTION public.mal_box_text(public.mal_box);"
          + " CREATE FUNCTION public.mal_mood_json(public.mal_mood) RETURNS json LANGUAGE sql AS"
          + "   $$ INSERT INTO public.ran VALUES (current_user) RETURNING to_json($1::text) $$; RESET ROLE");
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old()) {
      OwnedDatabase.execute(o, "UPDATE feeling SET b = ROW('b', 'null') WHERE id = 1");
      assertThat(OwnedDatabase.strings(o, "SELECT who FROM public.ran")).isEmpty();
      try (Connection admin = db.oldAsSuperuser()) {
        OwnedDatabase.execute(admin, "SET ROLE mallory; CREATE CAST (public.mal_mood AS json) WITH FUNCTION public.mal_mood_json(public.mal_mood)");
      }
      assertThatThrownBy(() -> OwnedDatabase.execute(o, "UPDATE feeling SET m = 'sad' WHERE id = 1"))
          .hasMessageContaining("refuses changes to public.feeling")
          .hasMessageContaining("a cast to json from type public.mal_mood (function public.mal_mood_json(public.mal_mood), owner mallory)")
          .satisfies(e -> assertThat(((java.sql.SQLException) e).getSQLState()).isEqualTo("42501"));
      assertThatThrownBy(() -> OwnedDatabase.execute(o, "SELECT cutover.capture_table('feeling'::regclass)"))
          .hasMessageContaining("a cast to json from type public.mal_mood");
      try (Connection admin = db.oldAsSuperuser()) {
        OwnedDatabase.execute(admin, "SET ROLE mallory; DROP CAST (public.mal_mood AS json)");
      }
      OwnedDatabase.execute(o, "UPDATE feeling SET m = 'sad' WHERE id = 1");
      assertThat(OwnedDatabase.strings(o, "SELECT who FROM public.ran")).isEmpty();
      // Caught up on the tables it carries; mallory's table public.ran has no capture triggers.
      assertThatThrownBy(() -> r.awaitCaughtUp(CATCH_UP)).hasMessageContaining("the tables replication carries are caught up,"
          + " but it does not carry 1 table(s) of old: public.ran");
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
    try (Connection n = db.nw()) {
      assertThat(OwnedDatabase.strings(n, "SELECT m || ' ' || (b).label || ' ' || (b).doc::text FROM feeling")).containsExactly("sad b null");
    }
  }

  /**
   * Where the replicator connects to old as a superuser, schema changes made there are captured and
   * made on new as the role that made them. Old's public schema belongs to the server's superuser
   * (PostgreSQL 11), which the table owner connecting to new may not become: check names it, since
   * a schema change it made on old would stop replication on new (permission denied to set role),
   * and names nothing once new's role may become every such role (a superuser there).
   */
  @Test
  void check_schemaChangesCapturedOnOld_namesTheRolesNewsRoleMayNotBecome(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "replayrole");
    String superuser = pair.oldServer().user();
    Endpoint oldAsSuperuser = Endpoint.of(Side.OLD, db.url(pair.oldServer()), superuser, null);
    CheckReport report = Replicator.builder().old(oldAsSuperuser).nw(db.endpoint(Side.NEW)).build().check();
    assertThat(report.findings()).filteredOn(f -> f.code().equals("ddl-replay-role")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Finding.Severity.WARNING);
      assertThat(f.message()).contains("role " + OwnedDatabase.ROLE + " on new may not become " + superuser + " (owner");
      assertThat(f.remedy()).startsWith("on new, GRANT " + Sql.ident(superuser) + " TO " + Sql.ident(OwnedDatabase.ROLE) + " (");
    });
    CheckReport bothSuperusers = Replicator.builder().old(oldAsSuperuser)
        .nw(Endpoint.of(Side.NEW, db.url(pair.newServer()), pair.newServer().user(), null)).build().check();
    assertThat(bothSuperusers.findings()).extracting(Finding::code).doesNotContain("ddl-replay-role");
  }

  /**
   * A migration on old, where nothing captures schema changes (the role is no superuser), adds a
   * schema with an enum, a domain and a composite type and a table using them, and a column of a
   * new enum to a captured table. Status prints the enum before the column's ADD COLUMN, and adopt
   * makes the schema and the types on new before the table: before, the printed statement failed
   * on the missing type and adopt on the missing schema. Once run, the rows arrive.
   */
  @Test
  void status_schemaAndTypesAddedOnOldOnly_madeOnNewBeforeWhatUsesThem(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "types");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "CREATE SCHEMA billing; CREATE TYPE billing.prio AS ENUM ('low', 'high');"
          + " CREATE DOMAIN billing.pos AS int DEFAULT 1 NOT NULL CONSTRAINT positive CHECK (VALUE > 0);"
          + " CREATE TYPE billing.amount AS (units bigint, prio billing.prio);"
          + " CREATE TABLE billing.inv (id int PRIMARY KEY, p billing.prio, q billing.pos, a billing.amount);"
          + " INSERT INTO billing.inv VALUES (1, 'high', 5, ROW(10, 'low'));"
          + " CREATE TYPE grade AS ENUM ('a', 'b'); ALTER TABLE scratch ADD COLUMN g grade; UPDATE scratch SET g = 'b' WHERE id = 1");
      OwnedDatabase.awaitApplyFailure(apply, CATCH_UP);
      String addColumn = "CREATE TYPE \"public\".\"grade\" AS ENUM ('a', 'b'); ALTER TABLE \"public\".\"scratch\" ADD COLUMN \"g\" public.grade";
      assertThat(db.statusCli()).contains(addColumn);
      OwnedDatabase.execute(n, addColumn);
      assertThatThrownBy(() -> r.awaitCaughtUp(CATCH_UP)).as("caught up on the captured tables, not on billing.inv")
          .hasMessageContaining("does not carry 1 table(s) of old: billing.inv");
      assertThat(db.cli("adopt", "billing.inv")).contains("adopted billing.inv: made on new, 1 row(s) copied");
      OwnedDatabase.execute(o, "INSERT INTO billing.inv (id, p, a) VALUES (2, 'low', ROW(20, 'high'))");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(OwnedDatabase.strings(n, "SELECT id || ' ' || p || ' ' || q || ' ' || a::text FROM billing.inv ORDER BY id"))
          .containsExactly("1 high 5 (10,low)", "2 low 1 (20,high)");
      assertThat(OwnedDatabase.strings(n, "SELECT g::text FROM scratch WHERE id = 1")).containsExactly("b");
      assertThatThrownBy(() -> OwnedDatabase.execute(n, "INSERT INTO billing.inv (id, q) VALUES (3, 0)"))
          .as("the domain's CHECK came along").hasMessageContaining("positive");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * New's database commits asynchronously (synchronous_commit off, and here a WAL writer that
   * waits 10 s), and new's server crashes right after the apply committed a batch: the batch is
   * there after recovery, since the apply commits with synchronous_commit on. Before, the batch and
   * its position were lost with the crash while old's log could already be trimmed past them.
   */
  @Test
  void apply_newCrashesRightAfterABatchCommitted_theBatchSurvives(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "durable");
    db.committingAsynchronously(Side.NEW, () -> {
      Replicator r = started(db);
      try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old()) {
        OwnedDatabase.execute(o, "INSERT INTO scratch VALUES (424242, 'acknowledged')");
        r.awaitCaughtUp(CATCH_UP);
        db.crash(Side.NEW);
        try (Connection n = db.nw()) {
          assertThat(OwnedDatabase.strings(n, "SELECT payload FROM scratch WHERE id = 424242")).containsExactly("acknowledged");
        }
        OwnedDatabase.execute(o, "UPDATE scratch SET payload = 'after' WHERE id = 424242");
        r.awaitCaughtUp(CATCH_UP);
      }
      assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
    });
  }

  /**
   * {@link OwnedDatabase#assertKeyOfAnExtensionTypeOffThePathArrives} for trigger capture: before,
   * start failed making the capture triggers ("operator does not exist: public.ltree = public.ltree").
   */
  @Test
  void start_keyOfAnExtensionTypeInASchemaLeftOutOfThePath_capturedAndApplied(PostgresPair pair) throws Exception {
    database(pair, "ltree").assertKeyOfAnExtensionTypeOffThePathArrives(options());
  }

  /**
   * Old commits asynchronously (its database with synchronous_commit off, its WAL writer slowed to
   * 10 s) and is killed right after a row reached new, then restarted. New's position waits until
   * what it covers is on old's disk, so old keeps that row through the crash (asserted: old holds
   * it after the restart, and so does new), hands out no transaction id the position covers, and
   * the rows written after the restart, one per transaction, all arrive: verify finds no
   * difference. Before, the position moved at once: old lost the row's commit (new kept it), gave
   * its ids to the rows after the restart, and the apply took them as applied and skipped them.
   */
  @Test
  void apply_oldCommitsAsynchronouslyAndCrashes_newsPositionNeverPassesOldsDisk(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "oldcrash");
    db.committingAsynchronously(Side.OLD, () -> {
      Replicator r = started(db);
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        try (Connection o = db.old()) {
          OwnedDatabase.execute(o, "INSERT INTO scratch VALUES (2001, 'before the crash')");
        }
        r.awaitCaughtUp(CATCH_UP);
        db.crash(Side.OLD);
        try (Connection o = db.old()) {
          assertThat(OwnedDatabase.strings(o, "SELECT payload FROM scratch WHERE id = 2001")).containsExactly("before the crash");
          for (int id = 3001; id <= 3010; id++) {
            OwnedDatabase.execute(o, "INSERT INTO scratch VALUES (" + id + ", 'after the crash')");
          }
        }
        r.awaitCaughtUp(CATCH_UP);
        try (Connection n = db.nw()) {
          assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM scratch WHERE id BETWEEN 3001 AND 3010")).isEqualTo(10L);
          assertThat(OwnedDatabase.strings(n, "SELECT payload FROM scratch WHERE id = 2001")).containsExactly("before the crash");
        }
      }
      assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
    });
  }

  /**
   * New's database reads xml as documents only (ALTER DATABASE SET xmloption = document): the
   * replicator's sessions read it as content, as pg_dump does, so fragments copied and applied from
   * old arrive instead of stopping the copy or the apply.
   */
  @Test
  void start_newReadsXmlAsDocumentsOnly_fragmentsArrive(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "xml");
    db.executeOnBoth("CREATE TABLE page (id int PRIMARY KEY, body xml)");
    try (Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO page VALUES (1, 'a<b/>')");
      OwnedDatabase.execute(n, "ALTER DATABASE " + Sql.ident(db.name) + " SET xmloption = document");
    }
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO page VALUES (2, 'c<d/>e'); UPDATE page SET body = 'f<g/>' WHERE id = 1");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
    }
    db.assertConverged(r);
    try (Connection n = db.nw()) {
      assertThat(OwnedDatabase.strings(n, "SELECT body::text FROM page ORDER BY id")).containsExactly("f<g/>", "c<d/>e");
    }
  }

  /** {@link OwnedDatabase#assertRowSecurityThatAppliesIsRefused} for trigger capture. */
  @Test
  void check_rowLevelSecurityAppliesToTheRole_refusedRatherThanCopiedInPart(PostgresPair pair) throws Exception {
    database(pair, "rls").assertRowSecurityThatAppliesIsRefused(options());
  }

  /**
   * The tables' owner disables their triggers for a bulk fix (ALTER TABLE ... DISABLE TRIGGER USER,
   * as data fixes and pg_restore --disable-triggers do), and this role has no event trigger to
   * enable capture's again: status names the table, the statement that makes its capture triggers
   * again and the verify to run; once that ran, writes are captured again, and verify finds the
   * one made meanwhile, at once, saying it could not recheck with no apply process running (it
   * waited 30 s for a barrier nothing would carry); catch-up says no apply runs, once none has run
   * for its grace rather than after its timeout.
   */
  @Test
  void status_captureTriggersDisabledByTheOwner_namedWithTheRemedy(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "disabled");
    Replicator r = started(db);
    String remake = "SELECT cutover.capture_table('\"public\".\"counter\"');";
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "ALTER TABLE counter DISABLE TRIGGER USER; UPDATE counter SET value = 5 WHERE name = 'c1'");
      assertThat(r.status().forward().problems()).anySatisfy(p -> assertThat(p).contains("capture triggers are disabled on 1 table(s)"
          + " on old").contains("public.counter").contains(remake).contains("verify"));
      OwnedDatabase.execute(o, remake);
      OwnedDatabase.execute(o, "UPDATE counter SET value = 7 WHERE name = 'c2'");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(r.status().forward().problems()).noneSatisfy(p -> assertThat(p).contains("disabled"));
      assertThat(OwnedDatabase.count(n, "SELECT value FROM counter WHERE name = 'c2'")).isEqualTo(7);
    }
    assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofMillis(500))).isInstanceOfSatisfying(ReplicatorException.class,
        e -> assertThat(e.failure()).isEqualTo(Failure.TIMEOUT))
        .hasMessageContaining("no `cutover-replicator apply` runs into new to carry the barrier");
    // Not a wait of ten minutes for a barrier nothing carries: it stops once no apply has run for its grace.
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofMinutes(10)))
        .hasMessageContaining("no `cutover-replicator apply` runs into new to carry the barrier (none for 10000 ms)"));
    VerifyReport report = r.verify(Verifier.Options.defaults());
    assertThat(report.differences()).as("the write made while capture was off").isOne();
    assertThat(report.note()).as("no barrier awaited with no apply process to carry it")
        .contains("no `cutover-replicator apply` runs into new").contains("not rechecked");
  }

  /**
   * {@link OwnedDatabase#assertIntervalsPrintedTheSqlStandardWayArrive} over trigger capture: the capture
   * function prints in the writer's session, the copy in its own.
   */
  @Test
  void start_oldPrintsIntervalsTheSqlStandardWay_theyArriveUnchanged(PostgresPair pair) throws Exception {
    database(pair, "styles").assertIntervalsPrintedTheSqlStandardWayArrive(options());
  }

  /** {@link OwnedDatabase#assertLegacyStringReadingOnNewChangesNothing}: the apply's statements carry values as literals and arrays as text. */
  @Test
  void start_newReadsStringsAndArraysTheLegacyWay_valuesArriveUnchanged(PostgresPair pair) throws Exception {
    database(pair, "legacy").assertLegacyStringReadingOnNewChangesNothing(options());
  }

  /** {@link OwnedDatabase#assertReadOnlyByDefaultStillReplicates}. */
  @Test
  void start_bothDatabasesReadOnlyByDefault_stillReplicates(PostgresPair pair) throws Exception {
    database(pair, "readonly").assertReadOnlyByDefaultStillReplicates(options());
  }

  /**
   * A json column retyped after start to a domain whose CHECK refuses NULL, made by hand on both
   * sides (this role has no event trigger to make the capture triggers again): the JSON null check
   * still probes it as plain jsonb, by setting it to NULL, which the domain refuses; the check falls
   * back to reading the column, so the application's writes succeed and their JSON nulls arrive.
   */
  @Test
  void capture_jsonColumnRetypedToACheckedDomainAfterStart_writesSucceedAndJsonNullsArrive(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "retyped");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      db.executeOnBoth("ALTER TABLE keyless ALTER COLUMN j TYPE audit_doc USING coalesce(j, 'null')");
      try (Connection o = db.old()) {
        OwnedDatabase.execute(o, "INSERT INTO keyless VALUES (100, 'retyped', 'null'), (101, 'retyped', '{\"k\": 2}')");
        OwnedDatabase.execute(o, "UPDATE keyless SET j = 'null' WHERE a = 101");
        OwnedDatabase.execute(o, "DELETE FROM keyless WHERE ctid = (SELECT ctid FROM keyless WHERE a = 1 LIMIT 1)");
      }
      r.awaitCaughtUp(Duration.ofSeconds(60));
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.refusal()).as("%s", a.lastError()).isNull());
      db.assertConverged(r);
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM keyless WHERE a IN (100, 101) AND j = 'null'")).isEqualTo(2);
      }
    }
  }

  /**
   * An apply runs but fails every batch (a column added on old only): verify's note names that
   * failure and when it was last tried, not "no apply runs", which sent the operator to start an
   * apply that was running. Before, the note said no `cutover-replicator apply` ran into new (or, with
   * the lock held, only that no barrier passed).
   */
  @Test
  void verify_applyRunsButFails_noteNamesTheFailureNotAMissingApply(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "verifyfails");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      try (Connection o = db.old()) {
        OwnedDatabase.execute(o, "ALTER TABLE counter ADD COLUMN note jsonb");
        OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('noted', 1, '{\"kept\": true}')");
      }
      await().atMost(CATCH_UP).until(() -> r.status().forward().problems().stream()
          .anyMatch(p -> p.startsWith("the apply into new fails") && p.contains("no column note")));
      Verifier.Options d = Verifier.Options.defaults();
      VerifyReport report = r.verify(new Verifier.Options(d.chunkRows(), d.leafRows(), d.maxKeysPerTable(), Duration.ofSeconds(2),
          d.recheckRounds(), d.jobs()));
      assertThat(report.differences()).isPositive();
      assertThat(report.rechecked()).isFalse();
      assertThat(report.note()).contains("the apply into new fails", "last tried", "no column note")
          .doesNotContain("no `cutover-replicator apply` runs");
    }
  }

  /**
   * A json column added on old by a role that may not create event triggers is not captured as a
   * schema change: apply stops at the first row that carries it, naming the table and the column,
   * rather than writing the row without it; once the column exists on new it goes on, and the value
   * arrives. The table's capture triggers now miss the column among the json ones (its JSON nulls
   * would arrive as SQL NULL): status names the table and the statement that makes them again.
   */
  @Test
  void apply_columnAddedOnOldOnly_stopsAtItsFirstRowAndGoesOnOnceNewHasIt(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "column");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      try (Connection o = db.old()) {
        OwnedDatabase.execute(o, "ALTER TABLE counter ADD COLUMN note jsonb");
        OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('noted', 1, '{\"kept\": true}')");
      }
      Applier forward = apply.appliers().get(0);
      await().atMost(CATCH_UP).until(() -> forward.lastError() != null);
      assertThat(forward.lastError()).contains("public.counter").contains("no column note");
      String remedy = "SELECT cutover.capture_table('\"public\".\"counter\"');";
      assertThat(r.status().forward().problems()).anyMatch(p -> p.contains("public.counter") && p.contains(remedy));
      // The apply runs and retries; status and catch-up, in other processes, say why it does not get on.
      await().atMost(CATCH_UP).until(() -> r.status().forward().problems().stream()
          .anyMatch(p -> p.startsWith("the apply into new fails") && p.contains("no column note")));
      assertThat(r.status().forward().problems()).noneMatch(p -> p.contains("no `cutover-replicator apply` runs"));
      assertThat(catchThrowableOfType(ReplicatorException.class, () -> r.awaitCaughtUp(Duration.ofSeconds(3)))).satisfies(e -> {
        assertThat(e.getMessage()).contains("the apply into new fails", "no column note");
        assertThat(e.remedy()).startsWith("fix the cause that failure names, on the side it names");
      });
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM counter WHERE name = 'noted'")).isZero();
        OwnedDatabase.execute(n, "ALTER TABLE counter ADD COLUMN note jsonb");
      }
      r.awaitCaughtUp(CATCH_UP);
      await().atMost(CATCH_UP).until(() -> r.status().forward().problems().stream().noneMatch(p -> p.contains("fails")));
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.strings(n, "SELECT note::text FROM counter WHERE name = 'noted'")).containsExactly("{\"kept\": true}");
      }
      assertThat(forward.refusal()).isNull();

      try (Connection o = db.old()) {
        OwnedDatabase.execute(o, remedy);
        OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('json null', 2, 'null')");
      }
      r.awaitCaughtUp(CATCH_UP);
      assertThat(r.status().forward().problems()).noneMatch(p -> p.contains("public.counter"));
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.strings(n, "SELECT coalesce(note::text, 'SQL NULL') FROM counter WHERE name = 'json null'"))
            .containsExactly("null");
      }
    }
  }

  /**
   * Any role that may connect can take an advisory lock with any key, the apply lock's included: a
   * session of the application's role holding it on new made apply wait its lock wait and then
   * blame "another apply process", and status and cleanup took it for a running apply. Now apply
   * refuses at once naming that session, status does not count it, and once it is ended apply runs.
   */
  @Test
  void apply_anotherRoleHoldsTheApplyLock_refusedAtOnceNamingItAndNotTakenForAnApply(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "squat");
    db.applicationRole("squatter");
    Replicator r = started(db);
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", "squatter");
    try (Connection squat = new org.postgresql.Driver().connect(db.url(pair.newServer()), p)) {
      int pid = (int) OwnedDatabase.count(squat, "SELECT pg_backend_pid()");
      OwnedDatabase.execute(squat, "SELECT pg_advisory_lock(" + 0x63757433 + ", 1)");
      assertThat(r.status().forward().capture().applying()).as("a squatter is no apply process").isFalse();

      try (ApplyProcess apply = r.apply(Applier.Options.defaults().withLockWait(java.time.Duration.ofMinutes(5)))) {
        Applier forward = apply.appliers().get(0);
        await().atMost(CATCH_UP).until(() -> forward.refusal() != null);
        assertThat(forward.refusal().getMessage()).isEqualTo("new: process " + pid + " of role squatter holds the apply lock of"
            + " old -> new (advisory lock 1668641843, 1) and is no apply process (its role is no member of the control schema's owner)");
        assertThat(forward.refusal().remedy()).contains("pg_terminate_backend");
      }
    }
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('after the squatter', 1)");
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
      assertThat(r.status().forward().capture().applying()).isTrue();
    }
    try (Connection n = db.nw()) {
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM counter WHERE name = 'after the squatter'")).isOne();
    }
  }

  /**
   * New loses batches it had committed, position and all (a failover to a standby that was behind,
   * a restore from a backup), after old's log was trimmed of them: apply refuses, naming both
   * positions, rather than go on from new's position and skip those changes without a word. While
   * old's log still holds them, apply from the earlier position brings them again.
   */
  @Test
  void apply_newLostBatchesOldsLogWasTrimmedOf_refusedNamingBothPositions(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "went_back");
    Replicator r = started(db);
    String armedAt;
    String armedTime;
    try (Connection n = pair.newServer().connect(db.name)) {
      armedAt = OwnedDatabase.strings(n, "SELECT snapshot FROM cutover.apply_progress WHERE direction = 'forward'").get(0);
      armedTime = OwnedDatabase.strings(n, "SELECT source_time::text FROM cutover.apply_progress WHERE direction = 'forward'").get(0);
    }
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('kept in the log', 1)");
    }
    Applier.Options untrimmed = Applier.Options.defaults().withTrimming(Duration.ofHours(1), Duration.ofHours(1));
    try (ApplyProcess apply = r.apply(untrimmed)) {
      r.awaitCaughtUp(CATCH_UP);
    }
    // New goes back to the position start armed, its row too (only the log was applied since).
    try (Connection n = pair.newServer().connect(db.name)) {
      OwnedDatabase.execute(n, "DELETE FROM counter WHERE name = 'kept in the log'");
      OwnedDatabase.execute(n, "UPDATE cutover.apply_progress SET snapshot = '" + armedAt + "', source_time = '" + armedTime
          + "' WHERE direction = 'forward'");
    }
    try (ApplyProcess apply = r.apply(untrimmed)) {
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers().get(0).refusal()).isNull();
    }
    try (Connection n = db.nw()) {
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM counter WHERE name = 'kept in the log'")).as("brought again").isOne();
    }

    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('trimmed away', 1)");
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults().withTrimming(Duration.ZERO, Duration.ZERO))) {
      r.awaitCaughtUp(CATCH_UP);
      await().atMost(CATCH_UP).until(() -> r.status().forward().capture().logRows() == 0);
    }
    try (Connection n = pair.newServer().connect(db.name)) {
      OwnedDatabase.execute(n, "DELETE FROM counter WHERE name = 'trimmed away'");
      OwnedDatabase.execute(n, "UPDATE cutover.apply_progress SET snapshot = '" + armedAt + "', source_time = '" + armedTime
          + "' WHERE direction = 'forward'");
    }
    // r25: status said only STOPPED, "0 not applied yet ... start it", while apply refuses for good.
    lostForGood(r, "old's change log was trimmed past new's apply position (trimmed up to tick ");
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      Applier forward = apply.appliers().get(0);
      await().atMost(CATCH_UP).until(() -> forward.refusal() != null);
      assertThat(forward.refusal().failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(forward.refusal().getMessage()).startsWith("old's change log was trimmed past new's apply position (trimmed up to tick ")
          .contains("new applied up to tick " + armedAt + "): new lost batches it had committed");
      assertThat(forward.refusal().remedy()).contains("cutover-replicator verify");
    }
    lostForGood(r, "old's change log was trimmed past new's apply position (trimmed up to tick ");
  }

  /**
   * Status while an apply commits a batch on new and then trims old's log of it: status read new's
   * position from before the batch and old's trimmed tick from after the trim, and called forward
   * broken, its changes lost, with the remedy of emptying new's tables (CI, under load). Forced
   * here: old's capture state is locked while status reads, and meanwhile new's position moves to
   * the batch's end and old records the trim, in the order apply does both.
   */
  @Test
  void status_applyCommitsAndTrimsWhileStatusReads_notCalledLost(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "trim_race");
    Replicator r = started(db);
    // The whole position, the tick's time too: old keeps each position's tick (ChangeLog#requireHoldsTick).
    String position = "SELECT format('snapshot = %L, source_time = %L', snapshot, source_time) FROM cutover.apply_progress"
        + " WHERE direction = 'forward'";
    String before;
    try (Connection n = pair.newServer().connect(db.name)) {
      before = OwnedDatabase.strings(n, position).get(0);
    }
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('in the batch', 1)");
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults().withTrimming(Duration.ofHours(1), Duration.ofHours(1)))) {
      r.awaitCaughtUp(CATCH_UP);
    }
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicReference<dev.cutover.replicator.status.StatusReport.Direction> forward = new AtomicReference<>();
    try (Connection n = pair.newServer().connect(db.name); Connection o = pair.oldServer().connect(db.name);
        Connection watcher = pair.oldServer().connect(db.name)) {
      String after = OwnedDatabase.strings(n, position).get(0);
      String afterSnapshot = OwnedDatabase.strings(n, "SELECT snapshot FROM cutover.apply_progress WHERE direction = 'forward'").get(0);
      // New as before the batch.
      OwnedDatabase.execute(n, "UPDATE cutover.apply_progress SET " + before + " WHERE direction = 'forward'");
      o.setAutoCommit(false);
      OwnedDatabase.execute(o, "LOCK TABLE cutover.capture_state IN ACCESS EXCLUSIVE MODE");
      Thread reading = new Thread(() -> {
        try {
          forward.set(r.status().forward());
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "status");
      reading.start();
      try {
        await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(5)).until(() -> OwnedDatabase.count(watcher, "SELECT count(*) FROM pg_locks"
            + " WHERE relation = 'cutover.capture_state'::regclass AND NOT granted") > 0);
        // The batch commits with its position on new, then the trim is recorded on old.
        OwnedDatabase.execute(n, "UPDATE cutover.apply_progress SET " + after + " WHERE direction = 'forward'");
        OwnedDatabase.execute(o, "UPDATE cutover.capture_state SET trimmed_to = '" + afterSnapshot + "'");
      } finally {
        o.commit();
        reading.join();
      }
    }
    assertThat(failure.get()).isNull();
    assertThat(forward.get().state()).as(String.join("; ", forward.get().problems())).isEqualTo("stopped");
    assertThat(forward.get().problems()).noneSatisfy(p -> assertThat(p).contains("cannot resume"));
  }

  /**
   * Status calls forward broken, naming {@code why} once (an apply's stop was noted twice, and listed
   * twice), that it cannot resume and the remedy apply gives, and never "start it".
   */
  private static void lostForGood(Replicator r, String why) throws Exception {
    dev.cutover.replicator.status.StatusReport.Direction forward = r.status().forward();
    assertThat(forward.state()).as(String.join("; ", forward.problems())).isEqualTo("broken");
    assertThat(forward.problems()).filteredOn(p -> p.contains(why)).singleElement().satisfies(p -> assertThat(p)
        .contains("cannot resume").contains("run `cutover-replicator cleanup`, empty new's tables and start again"));
    assertThat(forward.problems()).noneSatisfy(p -> assertThat(p).contains("start it"));
  }

  /**
   * Old comes back behind new's position: its transaction ids have not yet reached the position's
   * (as after a restore, or a failover to a standby that was behind; forged here by moving new's
   * position ahead of old's present). Apply refuses, naming old as the side that lost commits and
   * the remedy, rather than take old's next transactions, which reuse those ids, as applied.
   */
  @Test
  void apply_oldIsBehindNewsPosition_refusedNamingOld(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "old_behind");
    Replicator r = started(db);
    String ahead;
    try (Connection o = db.old()) {
      long xmax = TxidSnapshot.parse(OwnedDatabase.strings(o, "SELECT txid_current_snapshot()::text").get(0)).xmax() + 1000;
      ahead = xmax + ":" + xmax + ":";
    }
    try (Connection n = pair.newServer().connect(db.name)) {
      OwnedDatabase.execute(n, "UPDATE cutover.apply_progress SET snapshot = '" + ahead + "' WHERE direction = 'forward'");
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      Applier forward = apply.appliers().get(0);
      await().atMost(CATCH_UP).until(() -> forward.refusal() != null);
      assertThat(forward.refusal().failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(forward.refusal().getMessage()).startsWith("old is behind new's apply position (old's present tick ")
          .contains("new applied up to tick " + ahead + "): old lost commits new already holds");
      assertThat(forward.refusal().remedy()).contains("cutover-replicator verify").contains("cutover-replicator cleanup");
    }
    lostForGood(r, "old is behind new's apply position (old's present tick ");
  }

  /**
   * A table created on old after start, to which this role's capture gave no capture triggers (no
   * event trigger may): every write to it stays on old. Catch-up said "caught up" all the same; it
   * names the table with adopt, which carries it, and is caught up once it is adopted.
   */
  @Test
  void catchUp_tableWithoutCaptureTriggers_namedWithAdoptUntilAdopted(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "catchup_uncaptured");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old()) {
      OwnedDatabase.execute(o, "CREATE TABLE late (id int PRIMARY KEY); INSERT INTO late VALUES (1)");
      ReplicatorException uncaptured = catchThrowableOfType(ReplicatorException.class, () -> r.awaitCaughtUp(CATCH_UP));
      assertThat(uncaptured).as("catch-up while public.late has no capture triggers").isNotNull();
      assertThat(uncaptured.failure()).isEqualTo(Failure.DIFFERENCES);
      assertThat(uncaptured.getMessage()).contains("does not carry 1 table(s) of old: public.late");
      assertThat(uncaptured.remedy()).contains("cutover-replicator adopt");

      r.adopt(List.of("public.late"), Side.OLD, Duration.ofSeconds(5), Duration.ofSeconds(30));
      r.awaitCaughtUp(CATCH_UP);
    }
  }

  /**
   * Tables trigger capture does not carry: one created on old after start (this role may not create
   * the event trigger that would have captured it) and one whose capture trigger its owner disabled.
   * The switch refuses to leave old while either is so, naming both, before it holds anything; and
   * again under the fence for a capture trigger disabled while the switch drained, after its first
   * check. Traffic stays on old, unfenced. Once both are captured again ({@code
   * cutover.capture_table}, as status says), the switch completes and loses nothing.
   */
  @Test
  void switch_tablesTriggerCaptureDoesNotCarry_refusedNamingThemUntilCapturedAgain(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "uncarried");
    Replicator r = started(db);
    db.executeOnBoth("CREATE TABLE late (id int PRIMARY KEY)");
    ManualFlag flag = ManualFlag.named(db.name + "-flag");
    flag.set(Target.OLD);
    String url = CutoverUrl.manualFlag(pair, db.name);
    Properties as = new Properties();
    as.setProperty("user", OwnedDatabase.ROLE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); SwitchEventQueue events = new SwitchEventQueue(db.name);
        Connection app = DriverManager.getConnection(url, as); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "ALTER TABLE counter DISABLE TRIGGER \"#cutover_capture_update\"");

      flag.set(Target.NEW);
      SwitchEvent refused = events.next(CATCH_UP);
      assertThat(refused.outcome()).as(refused.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(refused.summary()).contains("replication does not carry 2 table(s) of the old database to the new database:"
          + " public.counter (its capture triggers are disabled or incomplete), public.late (no capture triggers)",
          "cutover-replicator status");
      flag.set(Target.OLD);
      OwnedDatabase.execute(app, "UPDATE scratch SET payload = 'after the refusal' WHERE id = 1");
      assertThat(Fence.isRaised(o)).as("old fenced").isFalse();

      OwnedDatabase.execute(o, "SELECT cutover.capture_table('public.counter'); SELECT cutover.capture_table('public.late')");
      app.setAutoCommit(false);
      OwnedDatabase.execute(app, "UPDATE scratch SET payload = 'held across the switch' WHERE id = 2");
      flag.set(Target.NEW);
      await().atMost(CATCH_UP).until(() -> holding(db.name));
      OwnedDatabase.execute(o, "ALTER TABLE late DISABLE TRIGGER \"#cutover_capture\"");
      app.commit();
      // A retry of the first switch, begun before the flag turned back, may have ended meanwhile.
      SwitchEvent underFence = events.next(e -> e.summary().contains("1 table(s)") || e.outcome() == Outcome.COMPLETED, CATCH_UP);
      assertThat(underFence).as("a switch event").isNotNull();
      assertThat(underFence.outcome()).as(underFence.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(underFence.summary()).contains("does not carry 1 table(s) of the old database to the new database:"
          + " public.late (its capture triggers are disabled or incomplete)");
      flag.set(Target.OLD);
      assertThat(Fence.isRaised(o)).as("old fenced").isFalse();

      OwnedDatabase.execute(o, "SELECT cutover.capture_table('public.late')");
      app.setAutoCommit(true);
      OwnedDatabase.execute(app, "INSERT INTO late VALUES (1)");
      flag.set(Target.NEW);
      SwitchEvent completed = events.next(e -> e.outcome() == Outcome.COMPLETED, CATCH_UP);
      assertThat(completed).as("a completed switch").isNotNull();
      assertThat(completed.outcome()).as(completed.summary()).isEqualTo(Outcome.COMPLETED);
      OwnedDatabase.execute(app, "INSERT INTO late VALUES (2)");
      assertThat(OwnedDatabase.strings(n, "SELECT id || ' ' || coalesce(payload, '') FROM scratch WHERE id <= 2 ORDER BY id"))
          .containsExactly("1 after the refusal", "2 held across the switch");
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM late")).as("written on old before the switch, and on new after").isEqualTo(2);
    } finally {
      CutoverDriver.shutdown(db.name);
    }
  }

  /**
   * Rules, which rewrite a statement before it runs (an audit rule of the kind older schemas
   * carry, a DO INSTEAD that sends a write elsewhere), fire on new for the apply's statements as
   * they fired on old for the application's, unless the apply keeps them off as it keeps the
   * tables' triggers off: an UPDATE applied on new would add a second history row beside the one
   * the change log brings. A role that owns the tables but may not set {@code
   * session_replication_role} (as here on 17) keeps them off inside each batch, with the
   * triggers, whatever their names hold (before, a trigger named with a semicolon failed every
   * batch that turned it off).
   */
  @Test
  void apply_tablesWithRules_rulesDoNotFireForAppliedChanges(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "rules");
    db.executeOnBoth("CREATE TABLE tariff (id int PRIMARY KEY, amount int NOT NULL);"
        + " CREATE TABLE tariff_history (id int NOT NULL, amount int NOT NULL, note text NOT NULL);"
        + " CREATE TABLE tariff_archive (id int PRIMARY KEY, amount int NOT NULL);"
        + " CREATE RULE keep_history AS ON UPDATE TO tariff DO ALSO INSERT INTO tariff_history VALUES (OLD.id, OLD.amount, 'updated');"
        + " CREATE RULE archive_instead AS ON DELETE TO tariff WHERE OLD.amount < 0 DO INSTEAD"
        + "   INSERT INTO tariff_archive VALUES (OLD.id, OLD.amount);"
        + " CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.note := NEW.note || '!'; RETURN NEW; END$$;"
        + " CREATE TRIGGER \"stamp; \"\"it\"\"\" BEFORE INSERT ON tariff_history FOR EACH ROW EXECUTE PROCEDURE stamp()");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO tariff SELECT g, g FROM generate_series(1, 10) g");
    }
    // Named for both ways: into new, and into old (11) for the way back.
    assertThat(db.replicator().check(List.of(), Capture.TRIGGERS).findings()).filteredOn(f -> f.code().equals("apply-rules"))
        .extracting(f -> f.side() + ": " + f.remedy()).containsExactlyInAnyOrder(
            "new: GRANT SET ON PARAMETER session_replication_role TO \"app_owner\" (as a superuser)",
            "old: run the replicator as a superuser on old, or accept the waits");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "UPDATE tariff SET amount = amount * 10 WHERE id <= 3");
      OwnedDatabase.execute(o, "UPDATE tariff SET amount = -1 WHERE id = 4");
      OwnedDatabase.execute(o, "DELETE FROM tariff WHERE id IN (4, 5)");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      for (String q : List.of("SELECT id || ' ' || amount FROM tariff ORDER BY id",
          "SELECT id || ' ' || amount || ' ' || note FROM tariff_history ORDER BY 1", "SELECT id || ' ' || amount FROM tariff_archive ORDER BY id")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.strings(n, "SELECT DISTINCT note FROM tariff_history")).containsExactly("updated!");
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM tariff_history")).isEqualTo(4);
      assertThat(OwnedDatabase.strings(n, "SELECT id || ' ' || amount FROM tariff_archive")).containsExactly("4 -1");
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM pg_rewrite WHERE ev_enabled <> 'O' AND rulename <> '_RETURN'")
          + OwnedDatabase.count(n, "SELECT count(*) FROM pg_trigger WHERE tgname = 'stamp; \"it\"' AND tgenabled <> 'O'"))
          .as("rules and triggers enabled again after each batch").isZero();
    }
    db.assertConverged(r);
  }

  /**
   * A change applied on new whose foreign keys cascade there (ON DELETE CASCADE, ON UPDATE CASCADE,
   * ON DELETE SET NULL, into a partitioned table too, and on from the child to its own children):
   * the cascade changes rows of tables the batch has not written yet, whose triggers and rules
   * must be off by then, as they are for the changes the batch writes itself; the rows the
   * cascade wrote on old arrive anyway, with what old's triggers and rules wrote for them. Before,
   * only the table about to be written had its triggers turned off, so the cascade fired the
   * child's audit trigger and rule on new, and new ended with audit rows old never had. The
   * cascaded changes that find no row on new count as expected; a change the cascade cannot
   * explain (an update of a row deleted on new only) counts as missing, where before nothing
   * counted in a table with a cascading key.
   */
  @Test
  void apply_cascadesReachTablesWithTriggersAndRules_noneFiresForAppliedChanges(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "cascade");
    db.executeOnBoth("CREATE TABLE parent (id int PRIMARY KEY, name text);"
        + " CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE ON UPDATE CASCADE, v text);"
        + " CREATE TABLE toy (id int PRIMARY KEY, child_id int REFERENCES child ON DELETE SET NULL, v text);"
        + " CREATE TABLE part_child (id int, parent_id int NOT NULL REFERENCES parent ON DELETE CASCADE, PRIMARY KEY (id, parent_id))"
        + "   PARTITION BY LIST (parent_id);"
        + " CREATE TABLE part_child_1 PARTITION OF part_child FOR VALUES IN (1);"
        + " CREATE TABLE part_child_rest PARTITION OF part_child DEFAULT;"
        + " CREATE TABLE audit (tbl text NOT NULL, op text NOT NULL, rid int NOT NULL);"
        + " CREATE FUNCTION audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
        + "   IF TG_OP = 'DELETE' THEN INSERT INTO audit VALUES (TG_TABLE_NAME, TG_OP, OLD.id);"
        + "   ELSE INSERT INTO audit VALUES (TG_TABLE_NAME, TG_OP, NEW.id); END IF; RETURN NULL; END$$;"
        + " CREATE TRIGGER child_audit AFTER UPDATE OR DELETE ON child FOR EACH ROW EXECUTE PROCEDURE audit_fn();"
        + " CREATE TRIGGER toy_audit AFTER UPDATE ON toy FOR EACH ROW EXECUTE PROCEDURE audit_fn();"
        + " CREATE TRIGGER part_audit AFTER DELETE ON part_child FOR EACH ROW EXECUTE PROCEDURE audit_fn();"
        + " CREATE RULE child_gone AS ON DELETE TO child DO ALSO INSERT INTO audit VALUES ('child', 'rule', OLD.id)");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO parent VALUES (1, 'one'), (2, 'two'), (3, 'three');"
          + " INSERT INTO child VALUES (10, 1, 'a'), (11, 1, 'b'), (20, 2, 'c'), (30, 3, 'd');"
          + " INSERT INTO toy VALUES (100, 10, 'x'), (101, 20, 'y'), (102, 30, 'z');"
          + " INSERT INTO part_child VALUES (1000, 1), (1001, 3)");
    }
    Replicator r = started(db);
    String audit = "SELECT tbl || ' ' || op || ' ' || rid FROM audit ORDER BY (tbl || ' ' || op || ' ' || rid) COLLATE \"C\"";
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "DELETE FROM parent WHERE id = 1");
      OwnedDatabase.execute(o, "UPDATE parent SET id = 22 WHERE id = 2");
      OwnedDatabase.execute(o, "BEGIN; UPDATE child SET v = 'changed' WHERE id = 30; DELETE FROM parent WHERE id = 3; COMMIT");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      assertThat(OwnedDatabase.strings(o, audit)).as("old's own triggers and rules, for the application's statements").containsExactly(
          "child DELETE 10", "child DELETE 11", "child DELETE 30", "child UPDATE 20", "child UPDATE 30", "child rule 10", "child rule 11",
          "child rule 30", "part_child_1 DELETE 1000", "part_child_rest DELETE 1001", "toy UPDATE 100", "toy UPDATE 102");
      assertThat(OwnedDatabase.strings(n, audit)).as("audit rows on new: old's, and none of new's own").isEqualTo(OwnedDatabase.strings(o, audit));
      for (String q : List.of("SELECT id || ' ' || name FROM parent ORDER BY id", "SELECT id || ' ' || parent_id || ' ' || v FROM child ORDER BY id",
          "SELECT id || ' ' || coalesce(child_id::text, '-') FROM toy ORDER BY id", "SELECT count(*)::text FROM part_child")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM pg_trigger WHERE tgname IN ('child_audit', 'toy_audit', 'part_audit') AND tgenabled <> 'O'")
          + OwnedDatabase.count(n, "SELECT count(*) FROM pg_rewrite WHERE rulename = 'child_gone' AND ev_enabled <> 'O'"))
          .as("triggers and rules enabled again after each batch").isZero();
      assertThat(apply.appliers().get(0).missing()).as("the cascaded deletes, done on new by its own keys, are expected").isZero();
      db.assertConverged(r);

      // A row gone from new only, then updated on old: nothing on new cascaded it away.
      OwnedDatabase.execute(n, "DELETE FROM child WHERE id = 20");
      OwnedDatabase.execute(o, "UPDATE child SET v = 'lost' WHERE id = 20");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers().get(0).missing()).as("an update that found no row on new, in a table with a cascading key").isOne();
    }
  }

  /**
   * Triggers and rules on new set {@code ENABLE REPLICA} fire for replicated changes only, as
   * under logical replication; an apply as owner, which may not set {@code
   * session_replication_role}, turns them {@code ENABLE ALWAYS} inside each batch and back before
   * commit, so they fire for the applied changes as they would in replica mode, for the rows a
   * cascade on new deletes too. Before, they never fired in this mode, where the docs said they did.
   */
  @Test
  void apply_replicaTriggersAndRulesOnNew_fireForAppliedChangesAsInReplicaMode(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "replicatrig");
    db.executeOnBoth("CREATE TABLE ticket (id int PRIMARY KEY, state text);"
        + " CREATE TABLE ticket_line (id int PRIMARY KEY, ticket_id int NOT NULL REFERENCES ticket ON DELETE CASCADE)");
    try (Connection n = db.nw()) {
      OwnedDatabase.execute(n, "CREATE TABLE arrived (what text NOT NULL);"
          + " CREATE FUNCTION note_arrival() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN"
          + "   IF TG_OP = 'DELETE' THEN INSERT INTO arrived VALUES (TG_TABLE_NAME || ' ' || TG_OP || ' ' || OLD.id);"
          + "   ELSE INSERT INTO arrived VALUES (TG_TABLE_NAME || ' ' || TG_OP || ' ' || NEW.id); END IF; RETURN NULL; END$$;"
          + " CREATE TRIGGER ticket_arrival AFTER INSERT OR UPDATE OR DELETE ON ticket FOR EACH ROW EXECUTE FUNCTION note_arrival();"
          + " CREATE TRIGGER line_arrival AFTER INSERT OR DELETE ON ticket_line FOR EACH ROW EXECUTE FUNCTION note_arrival();"
          + " CREATE RULE ticket_seen AS ON UPDATE TO ticket DO ALSO INSERT INTO arrived VALUES ('rule ' || NEW.id);"
          + " ALTER TABLE ticket ENABLE REPLICA TRIGGER ticket_arrival, ENABLE REPLICA RULE ticket_seen;"
          + " ALTER TABLE ticket_line ENABLE REPLICA TRIGGER line_arrival");
    }
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO ticket VALUES (1, 'open'), (2, 'open'); INSERT INTO ticket_line VALUES (10, 1), (11, 1), (20, 2)");
      OwnedDatabase.execute(o, "UPDATE ticket SET state = 'closed' WHERE id = 2");
      OwnedDatabase.execute(o, "DELETE FROM ticket WHERE id = 1");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      assertThat(OwnedDatabase.strings(n, "SELECT what FROM arrived ORDER BY what COLLATE \"C\"")).containsExactly("rule 2", "ticket DELETE 1",
          "ticket INSERT 1", "ticket INSERT 2", "ticket UPDATE 2", "ticket_line DELETE 10", "ticket_line DELETE 11",
          "ticket_line INSERT 10", "ticket_line INSERT 11", "ticket_line INSERT 20");
      assertThat(OwnedDatabase.strings(n, "SELECT tgname || ' ' || tgenabled::text FROM pg_trigger WHERE tgname LIKE '%arrival' UNION ALL"
          + " SELECT rulename || ' ' || ev_enabled::text FROM pg_rewrite WHERE rulename = 'ticket_seen' ORDER BY 1"))
          .as("set ENABLE REPLICA again after each batch").containsExactly("line_arrival R", "ticket_arrival R", "ticket_seen R");
      assertThat(OwnedDatabase.strings(n, "SELECT id || ' ' || state FROM ticket ORDER BY id")).containsExactly("2 closed");
    }
    db.assertConverged(r);
  }

  /**
   * Keys swapped and shifted in one statement on old, where only DEFERRABLE constraints keep them
   * unique ({@link TriggerCaptureFlow#moveDeferrableKeys}), applied by a role that owns the tables
   * and may not set {@code session_replication_role} on 17: each batch defers the deferrable
   * constraints to its end, and a table whose only key is deferrable is found by its whole old
   * row, as one without a key. Before, the apply found rows by the deferrable primary key and
   * retried for ever on {@code duplicate key value violates unique constraint "t_swap_pkey"}.
   * ({@code TriggerCaptureReplicaRoleTest} does the same in replica mode.)
   */
  @Test
  void apply_deferrableKeysSwappedAndShiftedInOneStatement_newEndsAsOldAsOwner(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "deferrable");
    createDeferrableKeys(db);
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      moveDeferrableKeys(db, r, apply);
    }
    r.cleanup();
  }

  /**
   * Floats and geometric values below the top level (points in an array, a float field of
   * composites in an array, an array of a domain over float8), written in sessions with 11's
   * default {@code extra_float_digits = 0}: they arrive with every bit, before and after the
   * copy, inserted, updated and in a keyless table's old row. Before, the capture pinned no
   * setting for such tables, and 1/3 arrived as 0.333333333333333 (\x3fd555555555554f).
   */
  @Test
  void capture_floatsNestedInArraysAndComposites_arriveWithEveryBit(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "floats");
    db.executeOnBoth("CREATE TYPE comp AS (a float8, b text); CREATE DOMAIN dfl AS float8;"
        + " CREATE TABLE fl (id int PRIMARY KEY, pts point[], comps comp[], dfa dfl[], boxes box[]);"
        + " CREATE TABLE fl_keyless (comps comp[], n int)");
    // Values 16 digits print exactly: 15 (extra_float_digits 0) drop bits, and verify, which reads 11's
    // floats with 16 digits and 17's shortest, compares them alike.
    String values = "ARRAY[point(1.0::float8 / 3, 2.0::float8 / 3)], ARRAY[ROW(1.0::float8 / 9, 'x')]::comp[],"
        + " ARRAY[(1.0::float8 / 3)::dfl], ARRAY[box(point(1.0::float8 / 11, 0), point(0, 2.0::float8 / 3))]";
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO fl VALUES (1, " + values + ")");
    }
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      // As 11's sessions print floats unless they ask for more (PgJDBC asks for 3).
      OwnedDatabase.execute(o, "SET extra_float_digits = 0");
      OwnedDatabase.execute(o, "INSERT INTO fl VALUES (2, " + values + "); UPDATE fl SET pts = pts || point(2.0::float8 / 3, 0.5::float8)"
          + " WHERE id = 1");
      OwnedDatabase.execute(o, "INSERT INTO fl_keyless VALUES (ARRAY[ROW(1.0::float8 / 3, 'k')]::comp[], 1),"
          + " (ARRAY[ROW(2.0::float8 / 3, 'k')]::comp[], 2); UPDATE fl_keyless SET n = n + 10");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      String bits = "SELECT id || ' ' || (SELECT string_agg(float8send(p[0])::text || '/' || float8send(p[1])::text, ',') FROM unnest(pts) p)"
          + " || ' ' || (SELECT string_agg(float8send(c.a)::text, ',') FROM unnest(comps) c)"
          + " || ' ' || (SELECT string_agg(float8send(d::float8)::text, ',') FROM unnest(dfa) d)"
          + " || ' ' || (SELECT string_agg(float8send((b[0])[0])::text || '/' || float8send((b[1])[1])::text, ',') FROM unnest(boxes) b)"
          + " FROM fl ORDER BY id";
      String keyless = "SELECT n || ' ' || (SELECT string_agg(float8send(c.a)::text, ',') FROM unnest(comps) c) FROM fl_keyless ORDER BY n";
      for (String q : List.of(bits, keyless)) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.strings(n, keyless)).hasSize(2);
    }
    db.assertConverged(r);
  }

  /**
   * Ranges below the top level (a daterange field of composites in an array, an array of a domain
   * over daterange), written in a session whose DateStyle puts the day first: they arrive as they
   * were. Before, the capture pinned no setting for such tables, and February 1st arrived as
   * January 2nd.
   */
  @Test
  void capture_rangesNestedInArraysWrittenWithDayFirstDates_arriveUnchanged(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "ranges");
    db.executeOnBoth("CREATE TYPE cr AS (label text, r daterange); CREATE DOMAIN period AS daterange;"
        + " CREATE TABLE dr (id int PRIMARY KEY, crs cr[], ps period[])");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      // psql: PgJDBC refuses a session whose DateStyle does not begin with ISO.
      db.psqlOnOld("SET DateStyle = 'SQL, DMY'; INSERT INTO dr VALUES (1, ARRAY[ROW('feb', daterange('2020-02-01', '2020-03-05'))]::cr[],"
          + " ARRAY[daterange('2020-02-01', '2020-03-05')::period]);"
          + " UPDATE dr SET ps = ps || daterange('2021-04-03', NULL)::period WHERE id = 1");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      assertThat(OwnedDatabase.strings(n, "SELECT crs::text || ' ' || ps::text FROM dr"))
          .containsExactly("{\"(feb,\\\"[2020-02-01,2020-03-05)\\\")\"} {\"[2020-02-01,2020-03-05)\",\"[2021-04-03,)\"}");
      assertThat(OwnedDatabase.strings(n, "SELECT x::text FROM dr x")).isEqualTo(OwnedDatabase.strings(o, "SELECT x::text FROM dr x"));
    }
    db.assertConverged(r);
  }

  /**
   * Arrays whose lower bounds are not 1, at any depth (a column, two dimensions, an array field of
   * composites in an array), inserted, updated and deleted, in a keyed table and in a keyless one
   * (whose old row is matched whole): they arrive with their bounds. Before, {@code row_to_json}
   * printed them as JSON arrays, and {@code [0:2]={10,20,30}} arrived as {@code {10,20,30}}.
   */
  @Test
  void capture_arraysWithLowerBoundsOtherThanOne_arriveWithTheirBounds(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "bounds");
    db.executeOnBoth("CREATE TYPE wrap AS (xs int[]); CREATE TABLE ar (id int PRIMARY KEY, a int[], m text[], w wrap[]);"
        + " CREATE TABLE ar_keyless (a int[], n int)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO ar VALUES (1, '[0:2]={10,20,30}', '[2:3][0:1]={{a,b},{c,d}}', ARRAY[ROW('[5:5]={7}')::wrap]),"
          + " (2, '{1,2}', '{x}', ARRAY[ROW('{8}')::wrap]), (3, '[-3:-3]={5}', NULL, NULL)");
      OwnedDatabase.execute(o, "UPDATE ar SET a[-1] = 4 WHERE id = 1; UPDATE ar SET a = '[7:7]={9}' WHERE id = 2; DELETE FROM ar WHERE id = 3");
      OwnedDatabase.execute(o, "INSERT INTO ar_keyless VALUES ('[-1:0]={1,2}', 1), ('[-1:0]={1,2}', 2), ('{1,2}', 3);"
          + " UPDATE ar_keyless SET n = n + 10 WHERE n = 1; DELETE FROM ar_keyless WHERE n = 2");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      for (String q : List.of("SELECT x::text FROM ar x ORDER BY id", "SELECT x::text FROM ar_keyless x ORDER BY n")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.strings(n, "SELECT a::text || ' ' || m::text || ' ' || w::text FROM ar WHERE id = 1"))
          .containsExactly("[-1:2]={4,10,20,30} [2:3][0:1]={{a,b},{c,d}} {\"([5:5]={7})\"}");
      assertThat(OwnedDatabase.strings(n, "SELECT a::text || ' ' || n FROM ar_keyless ORDER BY n")).containsExactly("{1,2} 3", "[-1:0]={1,2} 11");
    }
    db.assertConverged(r);
  }

  /** {@link #assertCheckRemediesMakeWhatNewLacks}: check's remedies make on new what it lacks of old's schema. */
  @Test
  void check_newLacksATableAColumnAndASequence_itsStatementsMakeThem(PostgresPair pair) throws Exception {
    assertCheckRemediesMakeWhatNewLacks(database(pair, "lacks"));
  }

  /**
   * {@link #assertRealsComeBackBitForBit}: reals written on 17 arrive on old with the bits new holds.
   * Before, 7.038531e-26 arrived one step off (bits 15ae43fe for new's 15ae43fd), top-level and in arrays.
   */
  @Test
  void reverse_realsWrittenOnNew_arriveOnOldBitForBit(PostgresPair pair) throws Exception {
    assertRealsComeBackBitForBit(OwnedDatabase.create(pair, "reals"));
  }

  /**
   * {@link #assertEdgeRealsComeBackBitForBit}: -0, NaN, infinities, a domain over real[], 2-D
   * arrays with nulls and bounds other than 1, written at extra_float_digits 0, arrive on old with
   * the bits new holds.
   */
  @Test
  void reverse_edgeRealsWrittenOnNewAtExtraFloatDigitsZero_arriveOnOldBitForBit(PostgresPair pair) throws Exception {
    assertEdgeRealsComeBackBitForBit(OwnedDatabase.create(pair, "edgereals"));
  }

  /**
   * json values holding the escape of the NUL character (a backslash, then u0000), which json
   * accepts and no JSON parse that unescapes strings does: the application's writes succeed, in a
   * row with SQL NULLs and one without, inserted, updated (its key too) and deleted, whole, in a
   * json array and in a keyless table; they arrive on new as written, and the apply never stops.
   * Before, cutover.json_nulls failed the application's INSERT with {@code unsupported Unicode
   * escape sequence}, and a row without SQL NULL stopped the apply for good with the same error.
   */
  @Test
  void capture_jsonHoldingTheEscapeOfNul_writesSucceedAndArriveAsWritten(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "nul");
    db.executeOnBoth("CREATE TABLE jn (id int PRIMARY KEY, j json, txt text, js json[]); CREATE TABLE jn_keyless (j json, n int)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO jn VALUES (10, '{\"b\": \"\\u0000\"}', NULL, NULL)");
      OwnedDatabase.execute(o, "INSERT INTO jn VALUES (11, '\"\\u0000 x\"', 'a\\u0000', ARRAY['{\"c\": \"\\\\u0000\"}', 'null']::json[]),"
          + " (12, 'null', 't', ARRAY['{\"c\": \"\\u0000\"}']::json[])");
      OwnedDatabase.execute(o, "UPDATE jn SET txt = 'u' WHERE id = 10; UPDATE jn SET id = 13 WHERE id = 11; DELETE FROM jn WHERE id = 12");
      OwnedDatabase.execute(o, "INSERT INTO jn_keyless VALUES ('{\"k\": \"\\u0000\"}', 1), ('[1]', 2), ('{\"k\": \"\\u0000\"}', 3);"
          + " UPDATE jn_keyless SET n = n + 10 WHERE n = 1; DELETE FROM jn_keyless WHERE n = 3");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      for (String q : List.of("SELECT id || ' ' || j::text || ' ' || coalesce(txt, '-') || ' ' || coalesce(js::text, '-') FROM jn ORDER BY id",
          "SELECT j::text || ' ' || n FROM jn_keyless ORDER BY n")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.strings(n, "SELECT j::text FROM jn WHERE id = 10")).containsExactly("{\"b\": \"\\u0000\"}");
      assertThat(OwnedDatabase.strings(n, "SELECT k.n::text FROM jn_keyless k ORDER BY k.n")).containsExactly("2", "11");
    }
    db.assertConverged(r);
  }

  /**
   * json inside arrays and composites, where {@code row_to_json} prints an element or a field that
   * is the JSON {@code null} as it prints SQL NULL: both arrive as they were, through the copy,
   * inserts, updates and deletes, in a table with a key and in one without (whose old row is
   * matched whole). The writer prints intervals the SQL standard's way, which the capture's text of
   * the composite must not follow.
   */
  @Test
  void capture_jsonNullInsideArraysAndComposites_arrivesAsTheJsonNull(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "nested");
    db.executeOnBoth("CREATE TYPE version AS (at timestamptz, span interval, doc jsonb);"
        + " CREATE TABLE docs (id int PRIMARY KEY, versions jsonb[], latest version, notes json[]);"
        + " CREATE TABLE docs_keyless (versions jsonb[], latest version)");
    String nulls = "ARRAY['null'::jsonb, NULL, '{\"a\": null}'], ROW('2026-12-02 10:00+00', '-1 day -2 hours', 'null'), ARRAY[' null '::json, NULL]";
    String sqlNulls = "ARRAY[NULL, 'null'::jsonb], ROW(NULL, NULL, NULL), ARRAY[NULL::json]";
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO docs VALUES (1, " + nulls + "), (2, " + sqlNulls + ")");
    }
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "SET IntervalStyle = 'sql_standard'");
      OwnedDatabase.execute(o, "INSERT INTO docs VALUES (3, " + nulls + "), (4, " + sqlNulls + ")");
      OwnedDatabase.execute(o, "UPDATE docs SET versions = versions || 'null'::jsonb, latest.doc = 'null' WHERE id IN (2, 4)");
      OwnedDatabase.execute(o, "UPDATE docs SET id = id + 10 WHERE id = 3");
      OwnedDatabase.execute(o, "DELETE FROM docs WHERE id = 1");
      OwnedDatabase.execute(o, "INSERT INTO docs_keyless VALUES (ARRAY['null'::jsonb], ROW(NULL, NULL, 'null')),"
          + " (ARRAY[NULL::jsonb], ROW(NULL, NULL, NULL)), (ARRAY[NULL::jsonb], ROW(NULL, NULL, NULL))");
      OwnedDatabase.execute(o, "DELETE FROM docs_keyless WHERE (latest).doc IS NULL AND ctid = (SELECT min(ctid) FROM docs_keyless"
          + " WHERE (latest).doc IS NULL)");
      OwnedDatabase.execute(o, "UPDATE docs_keyless SET versions = versions || NULL::jsonb WHERE (latest).doc IS NOT NULL");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      OwnedDatabase.execute(o, "RESET IntervalStyle");
      for (String q : List.of("SELECT id || ' ' || versions::text || ' ' || latest::text || ' ' || notes::text FROM docs ORDER BY id",
          "SELECT versions::text || ' ' || latest::text FROM docs_keyless ORDER BY 1")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q)).doesNotHaveDuplicates();
      }
      assertThat(OwnedDatabase.strings(n, "SELECT versions::text FROM docs WHERE id = 13")).containsExactly("{\"null\",NULL,\"{\\\"a\\\": null}\"}");
    }
    db.assertConverged(r);
  }

  /**
   * Types with a cast to json, which {@code row_to_json} prints through that cast instead of the
   * type's text: hstore (an extension, here in a schema off the search_path, where Heroku keeps
   * them) and an enum given a cast of its owner's, at any depth (a domain, an array, a composite).
   * Their values are logged as their text, which the target reads back exactly. Before, hstore's
   * JSON object reached the target's hstore input, which refused it, and the apply stopped at the
   * first such row; the enum's object would have too.
   */
  @Test
  void capture_typesWithACastToJson_arriveAsTheirText(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "cast");
    for (Connection c : List.of(db.nwAsSuperuser(), db.oldAsSuperuser())) {
      try (c) {
        OwnedDatabase.execute(c, "CREATE SCHEMA heroku_ext; GRANT USAGE ON SCHEMA heroku_ext TO " + OwnedDatabase.ROLE + ";"
            + " CREATE EXTENSION hstore SCHEMA heroku_ext");
      }
    }
    db.executeOnBoth("CREATE TYPE feeling AS ENUM ('ok', 'sad');"
        + " CREATE FUNCTION feeling_json(feeling) RETURNS json LANGUAGE sql IMMUTABLE AS $$ SELECT json_build_object('feeling', $1::text) $$;"
        + " CREATE CAST (feeling AS json) WITH FUNCTION feeling_json(feeling);"
        + " CREATE DOMAIN tags AS heroku_ext.hstore; CREATE TYPE labelled AS (h heroku_ext.hstore, m feeling);"
        + " CREATE TABLE prefs (id int PRIMARY KEY, h heroku_ext.hstore, t tags, hs heroku_ext.hstore[], l labelled, m feeling, j json);"
        + " CREATE TABLE prefs_keyless (h heroku_ext.hstore, m feeling)");
    String full = "'a=>1, \"b c\"=>NULL, \"q\\\"x\"=>\"y\"', 'd=>\"{}\"', ARRAY['x=>1', NULL]::heroku_ext.hstore[],"
        + " ROW('k=>v', 'sad'), 'ok', '{\"feeling\": \"not a cast\"}'";
    String none = "NULL, NULL, NULL, NULL, NULL, NULL";
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO prefs VALUES (1, " + full + "), (2, " + none + ")");
    }
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO prefs VALUES (3, " + full + "), (4, " + none + ")");
      OwnedDatabase.execute(o, "UPDATE prefs SET h = 'z=>\"1 2\"', m = 'sad', l = ROW(NULL, 'ok') WHERE id IN (1, 4)");
      OwnedDatabase.execute(o, "UPDATE prefs SET id = id + 10 WHERE id = 3");
      OwnedDatabase.execute(o, "DELETE FROM prefs WHERE id = 2");
      OwnedDatabase.execute(o, "INSERT INTO prefs_keyless VALUES ('a=>1', 'ok'), ('a=>1, b=>2', 'sad'), (NULL, 'ok')");
      OwnedDatabase.execute(o, "UPDATE prefs_keyless SET m = 'sad' WHERE h::text = '\"a\"=>\"1\"'; DELETE FROM prefs_keyless WHERE m = 'ok'");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      for (String q : List.of("SELECT x::text FROM prefs x ORDER BY id", "SELECT x::text FROM prefs_keyless x ORDER BY 1")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.strings(n, "SELECT count(*)::text FROM prefs_keyless")).containsExactly("2");
    }
    db.assertConverged(r);
  }

  /** Whether a router of {@code service} holds transactions at its gate (a switch drains). */
  private static boolean holding(String service) throws Exception {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    for (ObjectName name : server.queryNames(RouterNames.pattern(service), null)) {
      if ((Boolean) server.getAttribute(name, "Holding")) {
        return true;
      }
    }
    return false;
  }

  /**
   * r34 D4: a DBA gives a table to another role on old mid-window. Capture goes on (its functions
   * run as the installer), and status said STREAMING and nothing else, until every switch aborted
   * at its fence with "permission denied for table". Status names the table, its owner, the
   * installer and the remedy, until ownership is back.
   */
  @Test
  void status_tableGivenToAnotherRoleOnOld_namesTheTableTheOwnerTheInstallerAndTheRemedy(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "moved");
    started(db);
    String role = "\"" + OwnedDatabase.ROLE + "\"";
    try (Connection su = db.oldAsSuperuser()) {
      OwnedDatabase.execute(su, "DO $$ BEGIN CREATE ROLE moved_owner NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
          + " ALTER TABLE scratch OWNER TO moved_owner");
      assertThat(db.statusCli()).contains("role " + OwnedDatabase.ROLE + " lacks the owner's privileges on 1 table(s) owned by"
              + " moved_owner (public.scratch) on old, where it installed the control schema: a switch from old locks every table")
          .contains("GRANT \"moved_owner\" TO " + role + " on old, or give them back (ALTER TABLE ... OWNER TO " + role + ")");
      OwnedDatabase.execute(su, "ALTER TABLE scratch OWNER TO " + role);
      assertThat(db.statusCli()).doesNotContain("lacks the owner's privileges");
    }
  }

  /**
   * r34 D5: with INSERT revoked on new from the role the apply writes as, the apply retried saying
   * "fix the cause on new (see `cutover-replicator status`)", and status said the same: a circle.
   * Both name the role, the table and the GRANT; once it is run, the row arrives.
   */
  @Test
  void apply_insertRevokedOnNew_namesTheRoleTheTableAndTheGrant(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "revoked");
    Replicator r = started(db);
    String role = "\"" + OwnedDatabase.ROLE + "\"";
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection nsu = db.nwAsSuperuser(); Connection o = db.old();
        Connection n = db.nw()) {
      OwnedDatabase.execute(nsu, "REVOKE INSERT ON scratch FROM " + role);
      OwnedDatabase.execute(o, "INSERT INTO scratch VALUES (4242, 'refused on new')");
      String failure = OwnedDatabase.awaitApplyFailure(apply, CATCH_UP);
      assertThat(failure).contains("role " + OwnedDatabase.ROLE + ", as which the apply writes into new, lacks INSERT on public.scratch")
          .contains("GRANT INSERT ON public.scratch TO " + role + " on new").doesNotContain("see `cutover-replicator status`");
      // The apply knows its failure before it has noted it on new, where status reads it.
      await().atMost(CATCH_UP).untilAsserted(() -> assertThat(db.statusCli()).contains("GRANT INSERT ON public.scratch TO " + role
          + " on new"));
      OwnedDatabase.execute(nsu, "GRANT INSERT ON scratch TO " + role);
      r.awaitCaughtUp(CATCH_UP);
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM scratch WHERE id = 4242")).isEqualTo(1);
    }
  }
}
