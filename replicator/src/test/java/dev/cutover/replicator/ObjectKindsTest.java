package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.copy.LargeObjects;
import dev.cutover.replicator.replication.KeylessTables;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every kind of object a real schema holds, through start, replication, verify and the steps for
 * what replication does not carry: tables without columns or with generated columns only, a table
 * without a key, materialized views, large objects, an unlogged table.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class ObjectKindsTest {
  /** As {@code schema} leaves it on new: materialized views exist but hold no data. */
  private static final String SCHEMA = String.join("\n",
      "CREATE TABLE nocols ();",
      "CREATE TABLE gen_only (g int GENERATED ALWAYS AS (7) STORED);",
      "CREATE TABLE keyless (v text NOT NULL);",
      "CREATE TABLE item (id int PRIMARY KEY, v text NOT NULL);",
      "CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY, v text);",
      "CREATE MATERIALIZED VIEW item_count AS SELECT count(*) AS n, max(id) AS top FROM item WITH NO DATA;",
      "CREATE MATERIALIZED VIEW never_refreshed AS SELECT id FROM item WITH NO DATA;");

  private static final String SEED = String.join("\n",
      "INSERT INTO nocols SELECT FROM generate_series(1, 3);",
      "INSERT INTO gen_only SELECT FROM generate_series(1, 4);",
      "INSERT INTO keyless SELECT 'k' || g FROM generate_series(1, 5) g;",
      "INSERT INTO item SELECT g, 'v' || g FROM generate_series(1, 50) g;",
      "INSERT INTO scratch SELECT g, 's' || g FROM generate_series(1, 6) g;",
      "REFRESH MATERIALIZED VIEW item_count;",
      "SELECT lo_from_bytea(424242, 'large object before start');");

  @Test
  void start_everyKindOfObject_copiedOrRefreshedWithWarningsAndComparedByVerify(PostgresPair pair) throws Exception {
    String db = "kinds";
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(o, SCHEMA);
      AppDatabase.execute(o, SEED);
      AppDatabase.execute(n, SCHEMA);
    }
    Replicator r = Replicator.builder().old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db)).build();

    // A table without a key would make UPDATE and DELETE fail on old once published: refused unless told.
    assertThatThrownBy(() -> r.start(ReplicationFlowTest.options().withKeyless(KeylessTables.REFUSE), new CopyProgress(), CopyListener.NONE))
        .isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
          assertThat(e.getMessage()).contains("public.keyless").contains("public.nocols").contains("public.gen_only")
              .doesNotContain("public.item");
          assertThat(e.remedy()).contains("--replica-identity-full");
        });
    try (Connection o = pair.oldServer().connect(db)) {
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()")).isZero();
    }

    StartReport report = r.start(ReplicationFlowTest.options(), new CopyProgress(), CopyListener.NONE);
    assertThat(report.largeObjects()).isOne();
    assertThat(report.materializedViews()).containsExactly("public.item_count");
    assertThat(report.warnings()).anyMatch(w -> w.contains("unlogged table public.scratch") && w.contains("not carry"))
        .anyMatch(w -> w.contains("1 large object(s)") && w.contains("sync-large-objects"));
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM nocols")).isEqualTo(3);
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM gen_only WHERE g = 7")).isEqualTo(4);
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM scratch")).isEqualTo(6);
      assertThat(AppDatabase.strings(n, "SELECT n || '/' || top FROM item_count")).containsExactly("50/50");
      assertThat(AppDatabase.strings(n, "SELECT relispopulated::text FROM pg_class WHERE relname = 'never_refreshed'"))
          .as("unpopulated on old, so on new too").containsExactly("false");
      assertThat(AppDatabase.strings(n, "SELECT convert_from(lo_get(424242), 'UTF8')")).containsExactly("large object before start");
      assertThat(AppDatabase.strings(o, "SELECT relreplident::text FROM pg_class WHERE relname = 'keyless'")).containsExactly("f");

      // Writes after start: replicated kinds arrive; the large object and the unlogged table do not.
      AppDatabase.execute(o, "INSERT INTO nocols SELECT FROM generate_series(1, 2); INSERT INTO gen_only DEFAULT VALUES;"
          + " UPDATE keyless SET v = 'changed' WHERE v = 'k1'; DELETE FROM keyless WHERE v = 'k2'; INSERT INTO item VALUES (51, 'v51');"
          + " INSERT INTO scratch VALUES (7, 'after start'); SELECT lo_put(424242, 0, '\\x4c'::bytea);"
          + " SELECT lo_from_bytea(424243, 'made after start')");
      AppDatabase.execute(n, "SELECT lo_from_bytea(424244, 'only on new')");
    }
    r.awaitCaughtUp(ReplicationFlowTest.CATCH_UP);
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.tables()).extracting(VerifyReport.TableResult::table)
        .contains("public.nocols", "public.gen_only", "public.keyless", "public.item");
    assertThat(verify.tables()).allSatisfy(t -> assertThat(t.differenceCount()).as(t.table()).isZero());
    // The unlogged table is compared apart, the keyless one with the rest: none is left uncompared.
    assertThat(verify.uncarried()).isEmpty();
    assertThat(StartAndVerifyTest.table(verify, "public.nocols").sourceRows()).isEqualTo(5);
    assertThat(verify.notReplicated()).singleElement().satisfies(t -> {
      assertThat(t.table()).isEqualTo("public.scratch");
      assertThat(t.differenceCount()).isOne();
    });
    assertThat(verify.largeObjectDifferences()).containsExactly(new LargeObjects.Difference(424242, "different"),
        new LargeObjects.Difference(424243, "missing-on-target"), new LargeObjects.Difference(424244, "extra-on-target"));
    assertThat(verify.differences()).isEqualTo(3);

    assertThat(r.syncLargeObjects())
        .isEqualTo(new LargeObjects.SyncReport(1, 1, 1, "Large object before start".length() + "made after start".length()));
    try (Connection o = pair.oldServer().connect(db)) {
      AppDatabase.execute(o, "REFRESH MATERIALIZED VIEW item_count");
    }
    assertThat(r.refreshMaterializedViews()).containsExactly("public.item_count");
    try (Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, "SELECT n || '/' || top FROM item_count")).containsExactly("51/51");
      assertThat(AppDatabase.strings(n, "SELECT convert_from(lo_get(424242), 'UTF8')")).containsExactly("Large object before start");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
    assertThat(List.of(r.cleanup().removedOnNew())).isNotEmpty();
  }

  /**
   * A table split into partitions on new only (partitioning during the migration): new's changes
   * to it would reach the way back under its partitions' names, which old lacks, so the first
   * write after a switch would stop the way back. check names it as an error, and start refuses it
   * with either engine before it creates anything on old.
   */
  /**
   * Values that differ only in a numeric's scale: two columns of a row whose scales swapped (the
   * scale went into the row's hash by XOR, so the two changes cancelled), and a jsonb number
   * (whose hash ignores the scale the numeric column's counts). Verify said "no differences".
   */
  @Test
  void verify_numericScalesSwappedBetweenColumnsAndAJsonbNumbersScale_reportsEachRow(PostgresPair pair) throws Exception {
    String db = "scales";
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    String schema = "CREATE TABLE amounts (id int PRIMARY KEY, amount numeric, rate numeric); CREATE TABLE doc (id int PRIMARY KEY, body jsonb)";
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(o, schema + "; INSERT INTO amounts VALUES (1, 10.00, 0.5), (2, 1, 1);"
          + " INSERT INTO doc VALUES (1, '{\"price\": 1.0}'), (2, '{\"price\": 2}')");
      AppDatabase.execute(n, schema + "; INSERT INTO amounts VALUES (1, 10.0, 0.50), (2, 1, 1);"
          + " INSERT INTO doc VALUES (1, '{\"price\": 1}'), (2, '{\"price\": 2}')");
    }
    Replicator r = Replicator.builder().old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db)).build();

    VerifyReport report = r.verify(Verifier.Options.defaults());

    for (String table : List.of("public.amounts", "public.doc")) {
      assertThat(StartAndVerifyTest.table(report, table).differences()).as("%s: %s", table, report)
          .containsExactly(new VerifyReport.Difference("id=1", "different"));
    }
  }

  @Test
  void start_tablePartitionedOnNewOnly_refusedByCheckAndByStartWithEitherEngine(PostgresPair pair) throws Exception {
    String db = "split_on_new";
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(o, "CREATE TABLE event (region text NOT NULL, n int); CREATE TABLE item (id int PRIMARY KEY)");
      AppDatabase.execute(n, "CREATE TABLE event (region text NOT NULL, n int) PARTITION BY LIST (region);"
          + " CREATE TABLE event_eu PARTITION OF event FOR VALUES IN ('eu'); CREATE TABLE item (id int PRIMARY KEY)");
    }
    Replicator r = Replicator.builder().old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db)).build();

    assertThat(r.check().findings()).filteredOn(f -> f.code().equals("partitioning-differs")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Finding.Severity.ERROR);
      assertThat(f.message()).contains("public.event").contains("partitioned on new but not on old");
      assertThat(f.remedy()).contains("partition it after the migration");
    });
    for (Capture capture : List.of(Capture.LOGICAL, Capture.RELAY, Capture.TRIGGERS)) {
      assertThatThrownBy(() -> r.start(ReplicationFlowTest.options().withCapture(capture), new CopyProgress(), CopyListener.NONE))
          .as("%s", capture).isInstanceOfSatisfying(ReplicatorException.class, e -> {
            assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
            assertThat(e.getMessage()).contains("public.event is partitioned on new but not on old").doesNotContain("public.item");
          });
    }
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()")).isZero();
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")).isZero();
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_subscription")).isZero();
    }
  }
}
