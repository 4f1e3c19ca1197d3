package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Schema changes on old while the application writes, at 12 → 17 (and 16 → 18 in
 * {@link SchemaChangeFlow16To18Test}): each reaches new at its point of the change stream, so
 * replication never stops, and the rows written before and after each change are on new.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SchemaChangeFlowTest {
  static final String ROLE = "ddl_app";

  static final String SCHEMA = String.join("\n",
      "CREATE TABLE account (id bigserial PRIMARY KEY, owner text NOT NULL, balance int NOT NULL DEFAULT 0, legacy text);",
      "CREATE TABLE measurement (id bigint NOT NULL, at date NOT NULL, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);",
      "CREATE TABLE measurement_2024 PARTITION OF measurement FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');");

  /** A database owned by an application role (as which the schema changes run) on both servers, seeded on old. */
  static String database(PostgresPair pair, String db) throws SQLException {
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = s.connect()) {
        AppDatabase.execute(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + ROLE + "') THEN"
            + " CREATE ROLE " + ROLE + " LOGIN; END IF; END $$");
        AppDatabase.execute(c, "CREATE DATABASE " + db + " OWNER " + ROLE);
      }
      try (Connection c = s.connect(db)) {
        AppDatabase.execute(c, "GRANT CREATE ON SCHEMA public TO " + ROLE + "; SET ROLE " + ROLE + ";" + SCHEMA);
      }
    }
    try (Connection o = app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "INSERT INTO account (owner, balance, legacy) SELECT 'seed' || g, g, 'x' FROM generate_series(1, 200) g;"
          + " INSERT INTO measurement SELECT g, date '2024-01-01' + g % 300, g FROM generate_series(1, 300) g");
    }
    return db;
  }

  /**
   * Schema changes an application makes on old during the window, each written to at once, as
   * trigger capture and relayed replication must carry them: a column, tables created with rows (by
   * CREATE TABLE AS and as a partition), a key added to a table without one.
   */
  static void changeSchemaWhileWriting(Connection o) throws SQLException {
    // A column, and rows that use it right after, in the same transaction and in later ones.
    AppDatabase.execute(o, "BEGIN; ALTER TABLE account ADD COLUMN region text NOT NULL DEFAULT 'eu';"
        + " INSERT INTO account (owner, region) VALUES ('same tx', 'us'); COMMIT");
    AppDatabase.execute(o, "UPDATE account SET region = 'apac' WHERE id % 7 = 0");
    changeSchemaInOtherStyles(o);
    // A bulk fix with the table's triggers off, as data fixes and pg_restore --disable-triggers do:
    // trigger capture's event trigger enables its own again at once, so the fix is captured.
    AppDatabase.execute(o, "ALTER TABLE account DISABLE TRIGGER USER; UPDATE account SET balance = balance + 1 WHERE id % 3 = 0;"
        + " ALTER TABLE account ENABLE TRIGGER USER");
    // A table created after start, written at once.
    AppDatabase.execute(o, "CREATE TABLE invoice (id int PRIMARY KEY, total numeric(10,2) NOT NULL, paid boolean);"
        + " INSERT INTO invoice SELECT g, g * 1.5, false FROM generate_series(1, 50) g;"
        + " UPDATE invoice SET paid = true, id = id + 1000 WHERE id <= 10; DELETE FROM invoice WHERE id = 20");
    // Rows computed by the statement that creates the table.
    AppDatabase.execute(o, "CREATE TABLE rich AS SELECT id, owner, balance FROM account WHERE balance > 100");
    // A table without a key gets one: its updates are then found by it.
    AppDatabase.execute(o, "CREATE TABLE note (a int NOT NULL, b text); INSERT INTO note SELECT g, 'n' || g FROM generate_series(1, 30) g;"
        + " ALTER TABLE note ADD PRIMARY KEY (a); UPDATE note SET b = 'keyed' WHERE a <= 5; DELETE FROM note WHERE a = 30");
    AppDatabase.execute(o, "CREATE TABLE measurement_2025 PARTITION OF measurement FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
        + " INSERT INTO measurement VALUES (1, '2025-03-01', 3)");
  }

  /**
   * Columns whose defaults are literals read as the session's settings say: day first, the SQL
   * standard's one sign for all fields, Auckland's time, a backslash that escapes, an unquoted NULL
   * that is text. Every row on old gets April 3, -1 day -2 hours, 05:06 in Auckland, one backslash where the statement has two, and the
   * text NULL, and the replay on new must read them so too, or verify finds the rows no later write
   * carried over different (77 to 1,104 in these flows before the replay took DateStyle and
   * IntervalStyle along).
   */
  static void changeSchemaInOtherStyles(Connection o) throws SQLException {
    AppDatabase.execute(o, "SET DateStyle = 'ISO, DMY'; SET IntervalStyle = 'sql_standard'; SET TimeZone = 'Pacific/Auckland';"
        + " SET standard_conforming_strings = off; SET escape_string_warning = off; SET array_nulls = off;"
        + " ALTER TABLE account ADD COLUMN due date NOT NULL DEFAULT '03/04/2026', ADD COLUMN grace interval NOT NULL DEFAULT '-1 2:00:00',"
        + " ADD COLUMN since timestamptz NOT NULL DEFAULT '2026-03-04 05:06', ADD COLUMN memo text NOT NULL DEFAULT 'tab\\there',"
        + " ADD COLUMN labels text[] NOT NULL DEFAULT '{NULL}';"
        + " RESET DateStyle; RESET IntervalStyle; RESET TimeZone; RESET standard_conforming_strings; RESET escape_string_warning;"
        + " RESET array_nulls");
    assertThat(AppDatabase.count(o, "SELECT count(*) FROM account WHERE due <> date '2026-04-03' OR grace <> interval '-1 day -2 hours'"
        + " OR since <> timestamptz '2026-03-04 05:06+13' OR memo <> E'tab\\there' OR labels <> ARRAY['NULL']")).isZero();
  }

  /**
   * Schema changes in one query string (as {@code psql -c} sends it) next to commands that are not
   * logged, on temporary tables: each command must take its own statement of the string, or the
   * next one is logged with the skipped one's text (DROP of the temporary table, a no-op on new,
   * while junk stays there) or not at all (audit never reaches new, and its rows stop the apply).
   * {@link #assertNextToTempTablesOnNew} checks the outcome.
   */
  static void changeSchemaNextToTempTables(PostgresServer old, String db) throws SQLException {
    try (Connection o = appAsPsql(old, db)) {
      AppDatabase.execute(o, "CREATE TABLE junk (id int PRIMARY KEY)");
      AppDatabase.execute(o, "CREATE TEMP TABLE tmp_y (a int)");
      AppDatabase.execute(o, "DROP TABLE IF EXISTS tmp_y; DROP TABLE junk");
      AppDatabase.execute(o, "CREATE TEMP TABLE scratch (a int); CREATE TABLE audit (id int PRIMARY KEY, what text);"
          + " INSERT INTO audit VALUES (1, 'next to a temporary table'); DROP TABLE scratch; ALTER TABLE audit ADD COLUMN at int DEFAULT 7");
    }
  }

  /** On new, once caught up after {@link #changeSchemaNextToTempTables}: junk dropped, audit there with its row and column. */
  static void assertNextToTempTablesOnNew(PostgresServer nw, String db) throws SQLException {
    try (Connection n = nw.connect(db)) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_class WHERE relname IN ('junk', 'tmp_y', 'scratch')")).isZero();
      assertThat(AppDatabase.strings(n, "SELECT id || ':' || what || ':' || at FROM audit")).containsExactly("1:next to a temporary table:7");
    }
  }

  /**
   * A superuser's schema changes and rows that use them, made with {@code session_replication_role =
   * replica} (as data fixes and other replication tools do), in which ordinary event triggers do
   * not fire: the apply stops at the first row with the new column unless the change is captured,
   * and the rows of the table made by CREATE TABLE AS are missing on new unless trigger capture
   * follows it.
   */
  static void changeSchemaInReplicaMode(PostgresServer old, String db) throws SQLException {
    try (Connection su = old.connect(db)) {
      AppDatabase.execute(su, "SET session_replication_role = replica; ALTER TABLE account ADD COLUMN tier int;"
          + " UPDATE account SET tier = 2 WHERE id % 5 = 0;"
          + " CREATE TABLE tiers AS SELECT id, tier FROM account WHERE tier IS NOT NULL; INSERT INTO tiers VALUES (-1, 3)");
    }
  }

  /**
   * After {@link #changeSchemaWhileWriting}, with {@code r}'s apply running: the way back armed,
   * then a table created on old (the replay creates it on new, where it must be captured for the
   * way back), the writer stopped; every applier still running once caught up, and verify finding
   * no difference, the tables created after start included.
   */
  static void armWayBackAndConverge(PostgresPair pair, String db, Replicator r, ApplyProcess apply, AppWriter writer) throws Exception {
    Duration wait = Duration.ofSeconds(60);
    r.reverse(new Reverse.Options(Duration.ZERO, wait));
    try (Connection o = app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "CREATE TABLE late (id int PRIMARY KEY, v text); INSERT INTO late VALUES (1, 'x')");
      // Rows a replayed CREATE TABLE AS computes on new come from old's stream, not from new's capture.
      AppDatabase.execute(o, "CREATE TABLE late_copy AS SELECT * FROM late");
    }
    writer.close();
    assertThat(writer.failures).isEmpty();
    r.awaitCaughtUp(wait);
    assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.refusal()).as("%s", a.lastError()).isNull());

    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
    assertThat(verify.tables()).extracting(VerifyReport.TableResult::table)
        .contains("public.invoice", "public.rich", "public.note", "public.measurement_2025", "public.late", "public.late_copy",
            "public.tiers");
  }

  /** A connection as the application role. */
  static Connection app(PostgresServer s, String db) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", ROLE);
    return org.postgresql.Driver.class.cast(new org.postgresql.Driver()).connect(s.jdbcUrl(db), p);
  }

  /** A connection as the application role that sends a string of statements as one query, as psql does (simple protocol). */
  static Connection appAsPsql(PostgresServer s, String db) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", ROLE);
    p.setProperty("preferQueryMode", "simple");
    return org.postgresql.Driver.class.cast(new org.postgresql.Driver()).connect(s.jdbcUrl(db), p);
  }

  static Replicator replicator(PostgresPair pair, String db) {
    return Replicator.builder().old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db)).build();
  }

  /** The application: inserts and updates accounts and measurements, each in its own transaction, until closed. */
  static final class AppWriter implements AutoCloseable {
    final AtomicLong commits = new AtomicLong();
    final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean running = true;

    AppWriter(PostgresServer old, String db) {
      thread = new Thread(() -> {
        try (Connection c = app(old, db); Statement s = c.createStatement()) {
          for (int i = 1; running; i++) {
            try {
              s.execute("INSERT INTO account (owner, balance) VALUES ('writer" + i + "', " + i + ");"
                  + " UPDATE account SET balance = balance + 1 WHERE id = " + (1 + i % 200) + ";"
                  + " INSERT INTO measurement VALUES (" + (1000 + i) + ", date '2024-06-01', " + i + ")");
              commits.incrementAndGet();
            } catch (SQLException e) {
              failures.add(e.getMessage());
            }
          }
        } catch (SQLException e) {
          failures.add(e.getMessage());
        }
      }, "ddl-app-writer");
      thread.setDaemon(true);
      thread.start();
    }

    void awaitMore(long n) {
      long seen = commits.get();
      await().atMost(Duration.ofSeconds(30)).until(() -> commits.get() >= seen + n);
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.join(30_000);
    }
  }

  @Test
  void start_schemaChangesOnOldWhileWriting_carriedInStreamOrderAndVerifyClean(PostgresPair pair) throws Exception {
    String db = database(pair, "ddl_flow");
    Replicator r = replicator(pair, db);
    ReplicationFlowTest.start(r);
    try (AppWriter writer = new AppWriter(pair.oldServer(), db); Connection o = app(pair.oldServer(), db)) {
      writer.awaitMore(10);
      // A table created, with rows in the same transaction and after it.
      AppDatabase.execute(o, "BEGIN; CREATE TABLE ledger (id bigserial PRIMARY KEY, account bigint NOT NULL, amount int NOT NULL);"
          + " INSERT INTO ledger (account, amount) VALUES (1, 10); COMMIT");
      AppDatabase.execute(o, "INSERT INTO ledger (account, amount) VALUES (2, 20)");
      writer.awaitMore(5);
      // Columns added with a constant and with a non-constant DEFAULT, rows before and after.
      AppDatabase.execute(o, "INSERT INTO account (owner) VALUES ('before add')");
      AppDatabase.execute(o, "ALTER TABLE account ADD COLUMN status text NOT NULL DEFAULT 'active',"
          + " ADD COLUMN joined timestamptz DEFAULT now()");
      AppDatabase.execute(o, "INSERT INTO account (owner, status) VALUES ('after add', 'new')");
      writer.awaitMore(5);
      // A column dropped.
      AppDatabase.execute(o, "INSERT INTO account (owner, legacy) VALUES ('before drop', 'old value')");
      AppDatabase.execute(o, "ALTER TABLE account DROP COLUMN legacy");
      AppDatabase.execute(o, "INSERT INTO account (owner) VALUES ('after drop')");
      changeSchemaInReplicaMode(pair.oldServer(), db);
      changeSchemaInOtherStyles(o);
      writer.awaitMore(5);
      // Indexes created, one CONCURRENTLY (which new builds inside its apply transaction).
      AppDatabase.execute(o, "CREATE INDEX account_owner ON account (owner)");
      AppDatabase.execute(o, "CREATE INDEX CONCURRENTLY account_status ON account (status) WHERE status <> 'active'");
      writer.awaitMore(5);
      // A partition attached with rows it had before, and one created; rows routed to both after.
      AppDatabase.execute(o, "CREATE TABLE measurement_2025 (LIKE measurement INCLUDING DEFAULTS);"
          + " INSERT INTO measurement_2025 VALUES (1, '2025-03-01', 1), (2, '2025-04-01', 2)");
      AppDatabase.execute(o, "ALTER TABLE measurement ATTACH PARTITION measurement_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
      AppDatabase.execute(o, "CREATE TABLE measurement_2026 PARTITION OF measurement FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
      AppDatabase.execute(o, "INSERT INTO measurement VALUES (3, '2025-05-01', 3), (4, '2026-05-01', 4)");
      // Schema changes and data changes in one query string; a view, a sequence, a materialized view and its refresh.
      AppDatabase.execute(o, "CREATE TABLE note (id int PRIMARY KEY, body text); INSERT INTO note VALUES (1, 'same query');"
          + " ALTER TABLE note ADD COLUMN extra int DEFAULT 5; INSERT INTO note (id, body) VALUES (2, 'after alter')");
      // A table whose only key is DEFERRABLE has no replica identity: it gets FULL as one without a
      // key does, so its keys can swap (before, its first UPDATE failed on old once published).
      AppDatabase.execute(o, "CREATE TABLE tally (id int PRIMARY KEY DEFERRABLE, n int); INSERT INTO tally SELECT g, g FROM generate_series(1, 5) g");
      AppDatabase.execute(o, "UPDATE tally SET id = CASE id WHEN 1 THEN 2 WHEN 2 THEN 1 END WHERE id IN (1, 2); DELETE FROM tally WHERE id = 5");
      AppDatabase.execute(o, "CREATE VIEW rich AS SELECT id, owner FROM account WHERE balance > 100;"
          + " CREATE SEQUENCE ticket_seq START 500; CREATE MATERIALIZED VIEW account_count AS SELECT count(*) AS n FROM account");
      changeSchemaNextToTempTables(pair.oldServer(), db);
      writer.awaitMore(5);
      AppDatabase.execute(o, "REFRESH MATERIALIZED VIEW account_count");
      writer.awaitMore(5);
      assertThat(writer.failures).isEmpty();
    }
    r.awaitCaughtUp(ReplicationFlowTest.CATCH_UP);

    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
    assertThat(verify.tables()).extracting(VerifyReport.TableResult::table)
        .contains("public.account", "public.ledger", "public.measurement_2025", "public.measurement_2026", "public.note", "public.audit");
    assertNextToTempTablesOnNew(pair.newServer(), db);
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, "SELECT owner || ':' || coalesce(status, '-') FROM account WHERE owner IN"
          + " ('before add', 'after add', 'before drop', 'after drop') ORDER BY id"))
          .containsExactly("before add:active", "after add:new", "before drop:active", "after drop:active");
      assertThat(AppDatabase.strings(n, "SELECT account || '/' || amount FROM ledger ORDER BY id")).containsExactly("1/10", "2/20");
      assertThat(AppDatabase.strings(n, "SELECT id || '@' || at FROM measurement WHERE at >= '2025-01-01' ORDER BY id"))
          .containsExactly("1@2025-03-01", "2@2025-04-01", "3@2025-05-01", "4@2026-05-01");
      assertThat(AppDatabase.strings(n, "SELECT id || ':' || body || ':' || extra FROM note ORDER BY id"))
          .containsExactly("1:same query:5", "2:after alter:5");
      assertThat(AppDatabase.strings(n, "SELECT id || ':' || n FROM tally ORDER BY id")).containsExactly("1:2", "2:1", "3:3", "4:4");
      for (String catalog : List.of(COLUMNS, INDEXES, "SELECT relname || ' ' || pg_get_userbyid(relowner) || ' ' || relkind::text"
          + " FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1")) {
        assertThat(AppDatabase.strings(n, catalog)).as(catalog).isEqualTo(AppDatabase.strings(o, catalog));
      }
      // The REFRESH ran on new where it committed on old: it saw every transaction committed before it there, a
      // few of which its snapshot on old may not have seen while the writer ran.
      long refreshedOnOld = AppDatabase.count(o, "SELECT n FROM account_count");
      assertThat(AppDatabase.count(n, "SELECT n FROM account_count")).isBetween(refreshedOnOld, AppDatabase.count(n, "SELECT count(*) FROM account"));
      assertThat(AppDatabase.strings(n, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'ledger'")).containsExactly(ROLE);
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_trigger WHERE tgname = 'cutover_fence' AND tgrelid = 'ledger'::regclass"))
          .as("tables created during the window are fenced at the switch on new too").isOne();
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM pg_trigger WHERE tgname = 'cutover_fence' AND tgrelid = 'ledger'::regclass"))
          .isOne();
      if (pair.newServer().majorVersion() >= 15) {
        assertThat(AppDatabase.count(n, "SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats"))
            .as("replication never stopped").isZero();
      }
    }
    StatusReport.Direction forward = r.status().forward();
    assertThat(forward.state()).isIn("streaming", "catching-up");
    assertThat(forward.problems()).noneMatch(p -> p.contains("schema change") || p.contains(" table ") || p.contains("column"));
    assertThat(forward.tables()).containsEntry("public.ledger", "ready").containsEntry("public.measurement_2026", "ready");
  }

  static final String COLUMNS = "SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '"
      + " || coalesce(pg_get_expr(d.adbin, d.adrelid), '-') || ' ' || a.attnotnull::text FROM pg_attribute a"
      + " JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
      + " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1";

  static final String INDEXES = "SELECT indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid) FROM pg_index"
      + " WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace) ORDER BY 1";
}
