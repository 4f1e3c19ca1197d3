package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.common.Transactions;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.sql.TableName;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Trigger capture end to end, run by a role that only owns the tables ({@link OwnedDatabase}),
 * on the version pair of each subclass: the tests here take paths that differ by old's version
 * (the engine check's reasons, the schema change log from 10, status's catalog queries, verify's
 * hashes from 11). Tests of how values are captured, one path for every source before 12, are in
 * {@link TriggerCapture11To17Test}; the static helpers are for tests a few pairs run.
 */
abstract class TriggerCaptureFlow {
  static final Duration CATCH_UP = Duration.ofSeconds(60);

  /** A database of {@link OwnedDatabase}'s schema for one test; a subclass may reach old differently. */
  OwnedDatabase database(PostgresPair pair, String prefix) throws Exception {
    return OwnedDatabase.create(pair, prefix);
  }

  /** The replicator of {@code db}, started with {@link #options()}. */
  static Replicator started(OwnedDatabase db) throws Exception {
    Replicator r = db.replicator();
    r.start(options(), new CopyProgress(), CopyListener.NONE);
    return r;
  }

  static StartOptions options() {
    return StartOptions.defaults().withJobs(2).withCapture(Capture.TRIGGERS);
  }

  /** Reals whose shortest text (what 12 and later print) a server before 12 reads as the neighbouring value. */
  static final String DOUBLE_ROUNDED = "7.038531e-26";

  /**
   * The way back from 17 into {@code db}'s old (older than 12): reals written on new, in a column,
   * a domain over real, arrays of both (one with bounds other than 1), a key, the old row of a
   * keyless table, and NaN and infinities beside them, arrive on old with the very bits new holds.
   * 17 prints a real as its shortest text, which a server before 12 parses as a double and rounds
   * again to float4: {@link #DOUBLE_ROUNDED} arrived one step off.
   */
  static void assertRealsComeBackBitForBit(OwnedDatabase db) throws Exception {
    // Arrays over domains came with 11.
    String domainArray;
    try (Connection o = db.old()) {
      domainArray = OwnedDatabase.count(o, "SELECT current_setting('server_version_num')::int") < 110000 ? "real[]" : "r4[]";
    }
    db.executeOnBoth("CREATE DOMAIN r4 AS real; CREATE TABLE w (id int PRIMARY KEY, f4 real, ra real[], d r4, da " + domainArray + ");"
        + " CREATE TABLE w_keyless (f4 real, n int); CREATE TABLE w_key (k real PRIMARY KEY, n int)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
    }
    r.reverse(new dev.cutover.replicator.replication.Reverse.Options(Duration.ZERO, Duration.ofSeconds(5)));
    String v = "'" + DOUBLE_ROUNDED + "'";
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(n, "INSERT INTO w VALUES (1, " + v + ", ARRAY[" + v + ", NULL, 'NaN', 1.5]::real[], " + v + ","
          + " '[0:1]={" + DOUBLE_ROUNDED + ",-Infinity}'), (2, 'Infinity', '{}', NULL, NULL)");
      OwnedDatabase.execute(n, "UPDATE w SET ra = ARRAY[[" + v + "], [2]]::real[], da = ARRAY[" + v + "]::" + domainArray + " WHERE id = 2");
      OwnedDatabase.execute(n, "INSERT INTO w_keyless VALUES (" + v + ", 1), ('NaN', 2), (" + v + ", 3);"
          + " UPDATE w_keyless SET n = n + 10 WHERE n = 1; DELETE FROM w_keyless WHERE n = 3");
      OwnedDatabase.execute(n, "INSERT INTO w_key VALUES (" + v + ", 1), (1.5, 2); UPDATE w_key SET n = 3 WHERE n = 1;"
          + " DELETE FROM w_key WHERE n = 2");
      OwnedDatabase.execute(n, "INSERT INTO w VALUES (99, NULL, NULL, NULL, NULL)");
      await().atMost(CATCH_UP).until(() -> apply.appliers().stream().anyMatch(a -> a.lastError() != null)
          || OwnedDatabase.count(o, "SELECT count(*) FROM w WHERE id = 99") == 1);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      String bits = "coalesce((SELECT string_agg(coalesce(encode(float4send(x), 'hex'), '-'), ',') FROM unnest(%s) x), '-')";
      for (String q : List.of("SELECT id || ' ' || coalesce(encode(float4send(f4), 'hex'), '-') || ' ' || " + String.format(bits, "ra")
              + " || ' ' || coalesce(encode(float4send(d::real), 'hex'), '-') || ' ' || " + String.format(bits, "da::real[]")
              + " || ' ' || coalesce(array_dims(ra), '-') || coalesce(array_dims(da), '-') FROM w ORDER BY id",
          "SELECT encode(float4send(f4), 'hex') || ' ' || n FROM w_keyless ORDER BY n",
          "SELECT encode(float4send(k), 'hex') || ' ' || n FROM w_key ORDER BY n")) {
        assertThat(OwnedDatabase.strings(o, q)).as(q).isEqualTo(OwnedDatabase.strings(n, q));
      }
      assertThat(OwnedDatabase.strings(o, "SELECT encode(float4send(f4), 'hex') || ' ' || encode(float4send(da[0]::real), 'hex')"
          + " FROM w WHERE id = 1")).containsExactly("15ae43fd 15ae43fd");
      assertThat(OwnedDatabase.strings(o, "SELECT k.n::text FROM w_keyless k ORDER BY k.n")).containsExactly("2", "11");
    }
  }

  /**
   * The way back from 17 into {@code db}'s old (older than 12), the reals {@link
   * #assertRealsComeBackBitForBit} leaves out, written by a session with {@code extra_float_digits}
   * 0 (which rounds a double to 15 digits): -0, NaN and both infinities in a real column and in a
   * domain over real, a domain over real[] with bounds other than 1, a 2-D real[] with nulls and
   * with non-1 bounds, the smallest subnormal and the largest real, a key changed and a row
   * deleted, beside a double. They arrive on old with the very bits new holds, {@code
   * cutover.reals_exact} reading each double from the logged JSON.
   */
  static void assertEdgeRealsComeBackBitForBit(OwnedDatabase db) throws Exception {
    db.executeOnBoth("CREATE DOMAIN r4 AS real; CREATE DOMAIN r4s AS real[];"
        + " CREATE TABLE e (id int PRIMARY KEY, f4 real, d r4, ds r4s, ra real[], f8 float8)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
    }
    r.reverse(new dev.cutover.replicator.replication.Reverse.Options(Duration.ZERO, Duration.ofSeconds(5)));
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(n, "SET extra_float_digits = 0");
      OwnedDatabase.execute(n, "INSERT INTO e VALUES (1, '-0', 'NaN', '[2:3]={-0,NaN}', '{{-Infinity,NULL},{1e-45,3.4028235e38}}', '-0'),"
          + " (2, '-Infinity', '-Infinity', '{NULL," + DOUBLE_ROUNDED + "}', '[0:0][1:2]={{-0,Infinity}}', 'NaN'),"
          + " (3, 'NaN', '" + DOUBLE_ROUNDED + "', NULL, '{}', 0.1), (4, 'Infinity', '-0', '{}', '{NULL}', NULL)");
      OwnedDatabase.execute(n, "UPDATE e SET id = 5 WHERE id = 3; DELETE FROM e WHERE id = 4; INSERT INTO e (id) VALUES (99)");
      await().atMost(CATCH_UP).until(() -> apply.appliers().stream().anyMatch(a -> a.lastError() != null)
          || OwnedDatabase.count(o, "SELECT count(*) FROM e WHERE id = 99") == 1);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      String bits = "coalesce((SELECT string_agg(coalesce(encode(float4send(x), 'hex'), '-'), ',') FROM unnest(%s) x), '-')";
      String q = "SELECT id || ' ' || coalesce(encode(float4send(f4), 'hex'), '-') || ' ' || coalesce(encode(float4send(d::real), 'hex'), '-')"
          + " || ' ' || " + String.format(bits, "ds::real[]") + " || ' ' || " + String.format(bits, "ra")
          + " || ' ' || coalesce(array_dims(ds::real[]), '-') || coalesce(array_dims(ra), '-')"
          + " || ' ' || coalesce(encode(float8send(f8), 'hex'), '-') FROM e ORDER BY id";
      assertThat(OwnedDatabase.strings(o, q)).as(q).isEqualTo(OwnedDatabase.strings(n, q)).hasSize(4);
      assertThat(OwnedDatabase.strings(o, "SELECT encode(float4send(f4), 'hex') || ' ' || encode(float4send(ds[3]), 'hex')"
          + " || ' ' || encode(float4send(ra[2][1]), 'hex') FROM e WHERE id = 1")).containsExactly("80000000 7fc00000 00000001");
    }
  }

  /**
   * Keys kept unique only by DEFERRABLE constraints, moved the ways only such a key allows, with
   * {@code r} (of {@code db}) started and applying: two keys swapped in one statement and, after
   * {@code SET CONSTRAINTS ALL DEFERRED}, in two; every position of a list shifted by one
   * ({@code t_pos} keyed by its immediate primary key, with a trigger of the application, which an
   * apply as owner turns off and on again). New must end as old, verify finding no difference.
   */
  static void moveDeferrableKeys(OwnedDatabase db, Replicator r, ApplyProcess apply) throws Exception {
    try (Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "UPDATE t_swap SET id = CASE id WHEN 1 THEN 2 WHEN 2 THEN 1 END WHERE id IN (1, 2)");
      OwnedDatabase.execute(o, "UPDATE t_pos SET pos = pos + 1 WHERE list = 1");
      Transactions.inTransaction(o, () -> {
        OwnedDatabase.execute(o, "SET CONSTRAINTS ALL DEFERRED; UPDATE t_swap SET id = 4 WHERE id = 3; UPDATE t_swap SET id = 3 WHERE v = 'd'");
        return null;
      });
      OwnedDatabase.execute(o, "UPDATE t_swap SET v = v || '!' WHERE id = 1; DELETE FROM t_swap WHERE id = 5");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> {
        assertThat(a.lastError()).isNull();
        assertThat(a.missing()).as("changes that found no row").isZero();
      });
      for (String q : List.of("SELECT id || v FROM t_swap ORDER BY 1", "SELECT list || ':' || pos || label FROM t_pos ORDER BY 1")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.strings(n, "SELECT id || v FROM t_swap ORDER BY 1")).containsExactly("1b!", "2a", "3d", "4c");
      // A shift and a TRUNCATE of the same table in one transaction, so in one batch: the shift's
      // checks, deferred on new, must not be pending when the TRUNCATE comes.
      Transactions.inTransaction(o, () -> {
        OwnedDatabase.execute(o, "UPDATE t_pos SET pos = pos + 1 WHERE list = 2; TRUNCATE t_pos;"
            + " INSERT INTO t_pos (list, pos, label) VALUES (3, 1, 'after truncate')");
        return null;
      });
      r.awaitCaughtUp(CATCH_UP);
      assertThat(OwnedDatabase.strings(n, "SELECT list || ':' || pos || label FROM t_pos")).containsExactly("3:1after truncate");
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
    assertThat(verify.tables()).extracting(VerifyReport.TableResult::table).contains("public.t_swap", "public.t_pos");
  }

  /** The tables of {@link #moveDeferrableKeys}, and their rows on old. */
  static void createDeferrableKeys(OwnedDatabase db) throws Exception {
    db.executeOnBoth("CREATE TABLE t_swap (id int PRIMARY KEY DEFERRABLE INITIALLY IMMEDIATE, v text);"
        + " CREATE TABLE t_pos (id serial PRIMARY KEY, list int NOT NULL, pos int NOT NULL, label text, UNIQUE (list, pos) DEFERRABLE);"
        + " CREATE FUNCTION t_pos_touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
        + " CREATE TRIGGER t_pos_touch BEFORE UPDATE ON t_pos FOR EACH ROW EXECUTE PROCEDURE t_pos_touch()");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO t_swap VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e');"
          + " INSERT INTO t_pos (list, pos, label) SELECT l, p, 'l' || l || 'p' || p FROM generate_series(1, 2) l, generate_series(1, 4) p");
    }
  }

  /**
   * The tables of {@link #applyNestedWritesInOrder}, on both sides: the application's AFTER ROW
   * triggers (named {@code add_default_settings} and {@code audit_bump_version}, which sort before
   * {@code cutover_capture}, the capture's name until that changed) that write in nested statements,
   * and foreign keys whose actions cascade.
   */
  static void createNestedWrites(OwnedDatabase db) throws Exception {
    db.executeOnBoth("CREATE TABLE acct (id int PRIMARY KEY, name text NOT NULL);"
        + " CREATE TABLE acct_settings (acct_id int PRIMARY KEY REFERENCES acct, theme text NOT NULL);"
        + " CREATE FUNCTION add_default_settings() RETURNS trigger LANGUAGE plpgsql AS"
        + " $$BEGIN INSERT INTO acct_settings VALUES (NEW.id, 'light'); RETURN NULL; END$$;"
        + " CREATE TRIGGER add_default_settings AFTER INSERT ON acct FOR EACH ROW EXECUTE PROCEDURE add_default_settings();"
        + " CREATE TABLE vt (id int PRIMARY KEY, v text, ver int NOT NULL DEFAULT 0);"
        + " CREATE FUNCTION audit_bump_version() RETURNS trigger LANGUAGE plpgsql AS"
        + " $$BEGIN UPDATE vt SET ver = ver + 1 WHERE id = NEW.id; RETURN NULL; END$$;"
        + " CREATE TRIGGER audit_bump_version AFTER UPDATE ON vt FOR EACH ROW WHEN (OLD.v IS DISTINCT FROM NEW.v)"
        + " EXECUTE PROCEDURE audit_bump_version();"
        + " CREATE TABLE parent (id int PRIMARY KEY, label text);"
        + " CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON UPDATE CASCADE ON DELETE CASCADE, note text)");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO parent VALUES (1, 'one'), (3, 'three'), (5, 'five');"
          + " INSERT INTO child VALUES (10, 1, 'a'), (11, 1, 'b'), (30, 3, 'c'), (50, 5, 'd')");
    }
  }

  /**
   * Changes on old whose nested statements write other rows while the capture's AFTER ROW
   * triggers have yet to log the row that caused them ({@link #createNestedWrites}), applied by
   * {@code apply} of {@code r}: an insert whose trigger inserts a child row referencing it (logged
   * before its parent, the apply failed the foreign key for ever), an update whose trigger bumps a
   * version column of the same row (logged before the outer row, new kept the old version
   * silently), and a parent's key updated and parents deleted with their children by cascading
   * foreign keys. New must end as old, every change applied and none finding no row, verify
   * finding no difference.
   */
  static void applyNestedWritesInOrder(OwnedDatabase db, Replicator r, ApplyProcess apply) throws Exception {
    try (Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO acct VALUES (1, 'alice'), (2, 'bob')");
      OwnedDatabase.execute(o, "INSERT INTO vt VALUES (1, 'a'); UPDATE vt SET v = 'b' WHERE id = 1");
      OwnedDatabase.execute(o, "UPDATE parent SET id = 2 WHERE id = 1; DELETE FROM parent WHERE id = 3");
      Transactions.inTransaction(o, () -> {
        OwnedDatabase.execute(o, "UPDATE parent SET id = 6 WHERE id = 5; UPDATE child SET note = 'moved' WHERE id = 50;"
            + " INSERT INTO child VALUES (12, 2, 'new'); DELETE FROM parent WHERE id = 6");
        return null;
      });
      OwnedDatabase.execute(o, "INSERT INTO scratch VALUES (1001, 'nested writes done')");
      Applier forward = apply.appliers().get(0);
      await().atMost(CATCH_UP).until(() -> forward.lastError() != null
          || OwnedDatabase.count(n, "SELECT count(*) FROM scratch WHERE id = 1001") == 1);
      assertThat(forward.lastError()).isNull();
      assertThat(forward.missing()).as("changes that found no row").isZero();
      for (String q : List.of("SELECT id || name FROM acct ORDER BY 1", "SELECT acct_id || theme FROM acct_settings ORDER BY 1",
          "SELECT id || v || ver FROM vt ORDER BY 1", "SELECT id || label FROM parent ORDER BY 1",
          "SELECT id || ':' || parent_id || note FROM child ORDER BY 1")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.strings(n, "SELECT id || v || ver FROM vt")).containsExactly("1b1");
      assertThat(OwnedDatabase.strings(n, "SELECT id || ':' || parent_id || note FROM child ORDER BY id"))
          .containsExactly("10:2a", "11:2b", "12:2new");
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
    assertThat(verify.tables()).extracting(VerifyReport.TableResult::table)
        .contains("public.acct", "public.acct_settings", "public.vt", "public.parent", "public.child");
  }

  @Test
  void check_roleOwningOnlyTheTables_choosesTriggerCaptureAndSaysWhy(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "check");
    db.executeOnBoth("CREATE TABLE price_list (id int PRIMARY KEY, price money)");
    CheckReport report = db.replicator().check();
    assertThat(report.findings()).filteredOn(f -> f.code().equals("engine")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Finding.Severity.INFO);
      assertThat(f.message()).contains("trigger capture").containsAnyOf("which has no logical decoding", "may not create replication slots");
    });
    assertThat(report.findings()).filteredOn(f -> f.code().equals("capture-ownership")).allSatisfy(f ->
        assertThat(f.severity()).isEqualTo(Finding.Severity.INFO));
    assertThat(report.findings()).filteredOn(f -> f.code().equals("table-without-key")).singleElement()
        .satisfies(f -> assertThat(f.severity()).isEqualTo(Finding.Severity.INFO));
    assertThat(report.findings()).filteredOn(f -> f.code().equals("capture-money")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Finding.Severity.WARNING);
      assertThat(f.message()).contains("public.price_list.price").contains("lc_monetary");
    });
    assertThat(report.errors()).as("%s", report.findings()).isZero();
  }

  /**
   * What new lacks of old's schema, on a source older than 12 (no generated columns; before 10 no
   * identity, partitioning or pg_sequences either): check names each with the statement that makes
   * it on new, and once those ran there, check finds none of them any more. Run from 9.6 and from
   * 11, whose catalogs differ there.
   */
  static void assertCheckRemediesMakeWhatNewLacks(OwnedDatabase db) throws Exception {
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "CREATE SEQUENCE loose_seq START 42 INCREMENT 3; CREATE TABLE extra (id int PRIMARY KEY"
          + " DEFAULT nextval('loose_seq'), v text NOT NULL DEFAULT 'x'); ALTER TABLE counter ADD COLUMN added int DEFAULT 7");
    }
    List<String> missing = List.of("missing-sequence", "missing-table", "missing-column");
    List<Finding> found = db.replicator().check().findings();
    try (Connection n = db.nw()) {
      assertThat(found).extracting(Finding::code).containsAll(missing);
      // In the order printed (r26): the table's remedy creates the sequence its default draws from.
      for (Finding f : found.stream().filter(x -> missing.contains(x.code())).toList()) {
        if (f.code().equals("missing-sequence")) {
          assertThat(f.remedy()).isEqualTo("the remedy of table public.extra above creates it");
          continue;
        }
        assertThat(f.remedy()).startsWith("run on new: ");
        OwnedDatabase.execute(n, f.remedy().substring("run on new: ".length()));
      }
      assertThat(OwnedDatabase.strings(n, "INSERT INTO extra DEFAULT VALUES RETURNING id || ' ' || v")).containsExactly("42 x");
      assertThat(OwnedDatabase.strings(n, "INSERT INTO counter (name, value) VALUES ('new', 0) RETURNING added")).containsExactly("7");
    }
    assertThat(db.replicator().check().findings()).extracting(Finding::code).doesNotContainAnyElementsOf(missing);
  }

  /**
   * Writes of every kind run before, during and after the copy, and two long transactions stay
   * open: one began before the copy's snapshot (it has a txid, but writes only once the copy
   * runs, since a writer holding locks would keep the triggers from being installed) and commits
   * after it; one stays open across several ticks of the applier; a superuser writes with
   * {@code session_replication_role = replica}, which ordinary triggers would not see. Every row arrives exactly once,
   * with the same value on new as on old.
   */
  @Test
  void start_concurrentWritesOfEveryKind_verifyFindsNoDifference(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "flow");
    Replicator r = db.replicator();
    try (MixedWrites writes = new MixedWrites(db); Connection longBeforeCopy = db.old(); Connection longAcrossTicks = db.old()) {
      await().atMost(CATCH_UP).until(() -> writes.commits.get() >= 20);
      longBeforeCopy.setAutoCommit(false);
      OwnedDatabase.execute(longBeforeCopy, "SELECT txid_current()");
      AtomicBoolean first = new AtomicBoolean(true);
      CopyListener duringCopy = new CopyListener() {
        @Override
        public void chunkStarting(TableName table, int chunk, int chunks) {
          if (first.getAndSet(false)) {
            try {
              OwnedDatabase.execute(longBeforeCopy, "INSERT INTO account (email, ratio) VALUES ('long-before-copy@example.com', 1e300)");
              OwnedDatabase.execute(longBeforeCopy, "UPDATE counter SET value = value + 100 WHERE name = 'c3'");
            } catch (java.sql.SQLException e) {
              throw new IllegalStateException(e);
            }
            long seen = writes.commits.get();
            await().atMost(CATCH_UP).until(() -> writes.commits.get() >= seen + 20);
          }
        }
      };
      StartReport report = r.start(options(), new CopyProgress(), duringCopy);
      assertThat(report.engine()).isEqualTo(Capture.TRIGGERS);
      assertThat(report.slot()).isNull();
      writes.truncateToo();
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        Applier forward = apply.appliers().get(0);
        OwnedDatabase.execute(longBeforeCopy, "INSERT INTO entry VALUES ((SELECT id FROM account WHERE email = 'long-before-copy@example.com'), 1, 9.99, NULL)");
        longBeforeCopy.commit();
        // A superuser's bulk write that skips foreign key checks, as some data fixes and loads do.
        try (Connection bulk = db.oldAsSuperuser()) {
          OwnedDatabase.execute(bulk, "SET session_replication_role = replica");
          OwnedDatabase.execute(bulk, "INSERT INTO account (email) VALUES ('replica-mode@example.com')");
          OwnedDatabase.execute(bulk, "UPDATE counter SET value = value + 1000 WHERE name = 'c3'");
        }
        longAcrossTicks.setAutoCommit(false);
        for (int k = 0; k < 4; k++) {
          long batches = forward.batches();
          OwnedDatabase.execute(longAcrossTicks, "INSERT INTO account (email) VALUES ('long-across-ticks-" + k + "@example.com')");
          OwnedDatabase.execute(longAcrossTicks, "UPDATE counter SET value = value + 1 WHERE name = 'c4'");
          await().atMost(CATCH_UP).until(() -> forward.batches() >= batches + 2);
          try (Connection n = db.nw()) {
            assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM account WHERE email LIKE 'long-across-ticks-%'"))
                .as("nothing of a transaction still open on old is applied").isZero();
          }
        }
        longAcrossTicks.commit();
        long seen = writes.commits.get();
        await().atMost(CATCH_UP).until(() -> writes.commits.get() >= seen + 50);
        writes.close();
        assertThat(writes.failures).isEmpty();
        r.awaitCaughtUp(CATCH_UP);

        db.assertConverged(r);
        try (Connection n = db.nw()) {
          assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM account WHERE email LIKE 'long-across-ticks-%'")).isEqualTo(4);
          assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM account WHERE email = 'long-before-copy@example.com' AND ratio = 1e300")).isOne();
          assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM account WHERE email = 'replica-mode@example.com'"))
              .as("written on old with session_replication_role = replica").isOne();
        }
        assertThat(forward.missing()).as("changes that found no row").isZero();
        StatusReport.Direction status = r.status().forward();
        assertThat(status.state()).isEqualTo("streaming");
        assertThat(status.capture().applying()).isTrue();
        assertThat(status.capture().pendingRows()).isZero();
      }
    }
  }

  /**
   * Status while no apply process runs (stopped, changes waiting on old), then while one runs with
   * a log rotated at every trim (the applied rows are truncated away), the CLI's view of it, and
   * cleanup, which refuses while apply runs and then leaves nothing of ours on either side.
   */
  @Test
  void status_applyStoppedThenTrimming_showsTheLogAndCleanupRemovesIt(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "status");
    Replicator r = started(db);
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "UPDATE account SET balance = balance + 1 WHERE id <= 100");
    }
    StatusReport.Direction stopped = r.status().forward();
    assertThat(stopped.state()).isEqualTo("stopped");
    assertThat(stopped.capture().applying()).isFalse();
    assertThat(stopped.capture().pendingRows()).isEqualTo(100);
    assertThat(stopped.problems()).anyMatch(p -> p.contains("no `cutover-replicator apply` runs"))
        .as("capture triggers found current (cutover.capture_current) on this version").noneMatch(p -> p.contains("changed their key"));

    Applier.Options trimming = Applier.Options.defaults().withTrimming(Duration.ZERO, Duration.ZERO);
    try (ApplyProcess apply = r.apply(trimming)) {
      r.awaitCaughtUp(CATCH_UP);
      await().atMost(CATCH_UP).untilAsserted(() -> {
        StatusReport.Direction f = r.status().forward();
        assertThat(f.state()).isEqualTo("streaming");
        assertThat(f.capture().logRows()).as("rows left in the change log once applied and trimmed").isZero();
        assertThat(f.capture().changes()).isGreaterThanOrEqualTo(100);
      });
      assertThat(db.statusCli()).contains("forward (old -> new): STREAMING").contains("engine: trigger capture")
          .contains("change log on old: 0 row(s)").contains("apply into new: running");
      assertThatThrownBy(r::cleanup).isInstanceOfSatisfying(dev.cutover.replicator.ReplicatorException.class,
          e -> assertThat(e.getMessage()).contains("still applies forward"));
    }
    dev.cutover.replicator.cleanup.Cleanup.Report removed = r.cleanup();
    // The application's five tables, the barrier, the heartbeat, and from 10 on the schema change log.
    int captured = 7 + (pair.oldServer().majorVersion() >= 10 ? 1 : 0);
    assertThat(removed.removedOnOld()).anyMatch(s -> s.startsWith("capture triggers on " + captured + " table(s)")).contains("schema cutover");
    assertThat(removed.removedOnNew()).contains("schema cutover");
    for (Connection c : java.util.List.of(db.old(), db.nw())) {
      try (c) {
        assertThat(OwnedDatabase.count(c, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'cutover%'")).isZero();
        assertThat(OwnedDatabase.count(c, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'")).isZero();
        assertThat(OwnedDatabase.count(c, "SELECT count(*) FROM account")).isEqualTo(401);
      }
    }
    assertThat(r.cleanup().nothingFound()).isTrue();
  }
}
