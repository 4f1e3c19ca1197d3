package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.status.StatusReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Tables old publishes that new's subscription does not carry, whose every write the apply worker
 * skips without a word: one made logged on old during the window, one created on new by hand after
 * its CREATE TABLE failed there. Each joins replication with its rows, or status and catch-up name
 * it with the statement that does.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class UnsubscribedTablesTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String ROWS = "SELECT id || ':' || v FROM %s ORDER BY id";

  private static Replicator started(PostgresPair pair, String db) throws Exception {
    SchemaChangeFlowTest.database(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    ReplicationFlowTest.start(r);
    return r;
  }

  private static List<String> problems(Replicator r) throws Exception {
    return r.status().forward().problems().stream().filter(p -> !p.contains("heartbeat")).toList();
  }

  private static void assertSameRows(PostgresPair pair, String db, String table) throws Exception {
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      List<String> onOld = AppDatabase.strings(o, String.format(ROWS, table));
      assertThat(onOld).isNotEmpty();
      await().atMost(WAIT).untilAsserted(() -> assertThat(AppDatabase.strings(n, String.format(ROWS, table))).isEqualTo(onOld));
    }
  }

  @Test
  void apply_tableSetLoggedOnOld_joinsReplicationWithItsRows(PostgresPair pair) throws Exception {
    String db = "unsub_logged";
    Replicator r = started(pair, db);
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "CREATE UNLOGGED TABLE u (id int PRIMARY KEY, v text);"
          + " INSERT INTO u SELECT g, 'u' || g FROM generate_series(1, 10) g");
      AppDatabase.execute(o, "ALTER TABLE u SET LOGGED");
      AppDatabase.execute(o, "INSERT INTO u VALUES (12, 'after'); UPDATE u SET v = 'upd' WHERE id = 1");
    }
    r.awaitCaughtUp(WAIT);
    assertSameRows(pair, db, "u");
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "INSERT INTO u VALUES (13, 'later'); DELETE FROM u WHERE id = 2");
    }
    r.awaitCaughtUp(WAIT);
    assertSameRows(pair, db, "u");
    assertThat(problems(r)).isEmpty();
    r.cleanup();
  }

  @Test
  void ddlDone_tableCreatedByHandOnNewAfterItsCreateFailed_registersItWithItsRows(PostgresPair pair) throws Exception {
    String db = "unsub_by_hand";
    Replicator r = started(pair, db);
    try (Connection n = SchemaChangeFlowTest.app(pair.newServer(), db)) {
      // The replay of old's CREATE TABLE fails on new, which has a table of that name already.
      AppDatabase.execute(n, "SET cutover.ddl_capture = off; CREATE TABLE late (id int PRIMARY KEY, v text)");
    }
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "CREATE TABLE late (id int PRIMARY KEY, v text); INSERT INTO late SELECT g, 'l' || g FROM generate_series(1, 5) g");
    }
    await().atMost(WAIT).untilAsserted(() -> assertThat(problems(r)).anyMatch(p -> p.contains("the next schema change from old")));
    String id;
    try (Connection o = pair.oldServer().connect(db)) {
      id = AppDatabase.strings(o, "SELECT id FROM cutover.ddl_log WHERE tag = 'CREATE TABLE'").get(0);
    }
    try (Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(n, "INSERT INTO late VALUES (99, 'only on new')");
    }
    // Old's rows would be copied on top of new's own.
    assertThatThrownBy(() -> r.ddlDone(id)).isInstanceOfSatisfying(ReplicatorException.class, e -> {
      assertThat(e.getMessage()).contains("new: table(s) public.late hold rows");
      assertThat(e.remedy()).contains("TRUNCATE \"public\".\"late\"").contains("ddl-done " + id);
    });
    try (Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(n, "TRUNCATE late");
    }
    r.ddlDone(id);
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "INSERT INTO late VALUES (50, 'late'); UPDATE late SET v = 'upd' WHERE id = 1");
    }
    r.awaitCaughtUp(WAIT);
    assertSameRows(pair, db, "late");
    // The apply error is the replay that failed on the table made by hand.
    assertThat(problems(r)).allMatch(p -> p.contains("apply error(s)"));
    r.cleanup();
  }

  @Test
  void status_publishedTableNewDoesNotSubscribe_namedWithTheRefreshAndCatchUpRefuses(PostgresPair pair) throws Exception {
    String db = "unsub_status";
    Replicator r = started(pair, db);
    try (Connection o = pair.oldServer().connect(db)) {
      // Old without capture, as for a role that may not create event triggers.
      AppDatabase.execute(o, "ALTER EVENT TRIGGER cutover_ddl_end DISABLE; ALTER EVENT TRIGGER cutover_ddl_start DISABLE");
    }
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "CREATE TABLE invoice (id int PRIMARY KEY, v text); INSERT INTO invoice SELECT g, 'i' || g FROM generate_series(1, 20) g");
    }
    await().atMost(WAIT).untilAsserted(() -> assertThat(problems(r)).anyMatch(p -> p.contains("table public.invoice is on old but not on new")));
    try (Connection n = pair.newServer().connect(db)) {
      // The table is made on new, but the REFRESH status also asked for is not run: new skips every row of it.
      AppDatabase.execute(n, "SET cutover.ddl_capture = off; CREATE TABLE invoice (id int PRIMARY KEY, v text)");
    }
    await().atMost(WAIT).untilAsserted(() -> assertThat(r.status().forward().applyWorkerRunning()).isTrue());
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "INSERT INTO invoice VALUES (21, 'after')");
    }
    String refresh = "ALTER SUBSCRIPTION \"cutover_fwd_" + db + "\" REFRESH PUBLICATION WITH (copy_data = true)";
    List<String> problems = problems(r);
    assertThat(problems).anyMatch(p -> p.contains("public.invoice") && p.contains("not in new's subscription") && p.contains(refresh));
    assertThatThrownBy(() -> r.awaitCaughtUp(WAIT)).isInstanceOfSatisfying(ReplicatorException.class, e -> {
      assertThat(e.failure()).isEqualTo(Failure.TIMEOUT);
      assertThat(e.getMessage()).contains("not caught up for table(s) public.invoice");
      assertThat(e.remedy()).contains(refresh);
    });
    try (Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(n, refresh);
    }
    r.awaitCaughtUp(WAIT);
    assertSameRows(pair, db, "invoice");
    // The apply error is the row that came while new lacked the table, as documented without capture.
    assertThat(problems(r)).allMatch(p -> p.contains("apply error(s)") || p.contains("not captured"));
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
    r.cleanup();
  }
}
