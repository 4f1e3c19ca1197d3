package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.cleanup.Cleanup;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.ServerProcess;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A start killed mid-copy (SIGKILL, in a JVM of its own: {@link CrashingStart}) after it set aside
 * new's indexes, constraints and (without {@code session_replication_role}) foreign keys. Its
 * record of them is on new; {@code cleanup} puts them back before it removes the control schema
 * that holds it, and a foreign key the partial copy breaks stays recorded until new's tables are
 * emptied, when the next {@code start} puts it back first. Without that, new kept its tables
 * without their keys for good. The record, which cleanup runs as SQL, is its owner's alone.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class InterruptedStartTest {
  private static final String OWNER = "interrupted_owner";
  private static final String CREATE_OWNER = "DO $$ BEGIN CREATE ROLE " + OWNER + " LOGIN NOSUPERUSER NOREPLICATION;"
      + " EXCEPTION WHEN duplicate_object THEN NULL; END $$";
  private static final org.postgresql.Driver PGJDBC = new org.postgresql.Driver();

  /**
   * Copied largest first: t1 and t2 are in when the start is killed, t3 and t4 empty, so t1's key to
   * t4 does not hold on new while t2's to t1 does.
   */
  private static final String SCHEMA = String.join("\n",
      "CREATE TABLE t4 (id int PRIMARY KEY, body text NOT NULL);",
      "CREATE TABLE t1 (id int PRIMARY KEY, grp int NOT NULL REFERENCES t4, body text NOT NULL UNIQUE);",
      "CREATE INDEX t1_grp ON t1 (grp);",
      "CREATE TABLE t2 (id int PRIMARY KEY, t1_id int NOT NULL REFERENCES t1, body text);",
      "CREATE TABLE t3 (id int PRIMARY KEY, body text);");
  private static final String SEED = String.join("\n",
      "INSERT INTO t4 SELECT g, 'four ' || g FROM generate_series(1, 100) g;",
      "INSERT INTO t1 SELECT g, 1 + g % 100, 'one ' || g || repeat('x', 60) FROM generate_series(1, 40000) g;",
      "INSERT INTO t2 SELECT g, 1 + g % 40000, repeat('y', 40) FROM generate_series(1, 30000) g;",
      "INSERT INTO t3 SELECT g, repeat('z', 20) FROM generate_series(1, 20000) g;",
      "ANALYZE;");
  /**
   * An index whose build takes several seconds (a pause at every tenth of t1's rows), longer
   * than the network timeout cleanup is given: putting it back is no answer due promptly.
   */
  private static final String SLOW_INDEX = String.join("\n",
      "CREATE FUNCTION slowly(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS",
      "  $$ BEGIN IF i % 10 = 0 THEN PERFORM pg_sleep(0.001); END IF; RETURN i; END $$;",
      "CREATE INDEX t1_slow ON t1 (slowly(id));");
  private static final Duration NETWORK_TIMEOUT = Duration.ofSeconds(2);
  /** Every constraint and index of the application's tables, as their definitions. */
  private static final String KEYS = "SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
      + " WHERE connamespace = 'public'::regnamespace UNION ALL SELECT pg_get_indexdef(indexrelid) FROM pg_index"
      + " WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace) ORDER BY 1";

  /**
   * Logical replication as a superuser sets aside indexes and constraints; new's server crashes
   * too, and a table is dropped there, before cleanup. An index that takes longer to build than
   * cleanup's network timeout is put back all the same.
   */
  @Test
  void cleanup_afterLogicalStartKilledMidCopyAndNewCrashed_putsBackWhatItSetAside(PostgresPair pair) throws Exception {
    String db = "interrupted_logical";
    superusersDatabase(pair, db, SLOW_INDEX);
    List<String> before = keysOn(pair.newServer().connect(db));
    Replicator r = Replicator.builder().old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db)).build();

    killMidCopy(pair, db, pair.oldServer().user(), Capture.LOGICAL);
    try (Connection n = pair.newServer().connect(db)) {
      assertThat(keys(n)).as("the start set indexes aside").isNotEqualTo(before);
    }
    // The record of what was set aside is logged: a crash of new's server empties the start's progress, not it.
    try (Connection n = pair.newServer().connect(db)) {
      // Test servers commit asynchronously: the copy's last commits would not outlive the crash as they do with synchronous_commit on.
      AppDatabase.execute(n, "CHECKPOINT");
    }
    ServerProcess server = ServerProcess.of(pair.newServer(), Files.createTempFile("interrupted-new-", ".log"));
    assertThat(server.kill()).isTrue();
    server.restart(Duration.ofSeconds(60));
    // What belonged to a table dropped by hand since is gone with it.
    try (Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(n, "DROP TABLE t3");
    }

    Cleanup.Report cleaned = r.cleanup(NETWORK_TIMEOUT);
    try (Connection n = pair.newServer().connect(db)) {
      assertThat(keys(n)).isEqualTo(before.stream().filter(k -> !k.contains("t3")).toList());
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM t1")).as("rows the indexes were built on").isEqualTo(40_000);
    }
    assertThat(cleaned.putBackOnNew()).contains("constraint public.t2_pkey", "index public.t1_grp", "index public.t1_slow");
    assertThat(cleaned.removedOnNew()).contains("schema cutover");
    assertThat(r.cleanup().nothingFound()).isTrue();
  }

  /**
   * Trigger capture by a role that owns the tables and nothing more, which sets foreign keys aside
   * too: cleanup puts back all but t1's key to the empty t4, and keeps the record of it; once new's
   * tables are emptied, start puts it back before its copy and says so.
   */
  @Test
  void cleanup_afterTriggerStartKilledMidCopy_putsBackWhatItSetAsideAndKeepsAKeyTheRowsBreak(PostgresPair pair) throws Exception {
    String db = "interrupted_triggers";
    ownedDatabase(pair, db);
    List<String> before = keysOn(asOwner(pair.newServer(), db));
    Replicator r = Replicator.builder().old(Endpoint.of(Side.OLD, pair.oldServer().jdbcUrl(db), OWNER, null))
        .nw(Endpoint.of(Side.NEW, pair.newServer().jdbcUrl(db), OWNER, null)).build();

    killMidCopy(pair, db, OWNER, Capture.TRIGGERS);
    try (Connection n = asOwner(pair.newServer(), db)) {
      assertThat(keys(n)).as("the start set keys aside").doesNotContain("t2 t2_t1_id_fkey FOREIGN KEY (t1_id) REFERENCES t1(id)");
      assertThat(AppDatabase.strings(n, "SELECT relname FROM pg_class WHERE relnamespace = 'cutover'::regnamespace AND relname LIKE"
          + " 'start%' AND relkind = 'r' AND NOT has_table_privilege('public', oid, 'INSERT, UPDATE')"))
          .as("the record is the owner's alone").containsExactlyInAnyOrder("start_state", "start_chunks", "start_indexes",
              "start_identity", "start_keys");
    }

    Cleanup.Report first = r.cleanup();
    try (Connection n = asOwner(pair.newServer(), db)) {
      List<String> rest = new ArrayList<>(before);
      assertThat(rest.remove("t1 t1_grp_fkey FOREIGN KEY (grp) REFERENCES t4(id)")).isTrue();
      assertThat(keys(n)).isEqualTo(rest);
      AppDatabase.execute(n, "TRUNCATE t1, t2, t3, t4");
    }
    assertThat(first.putBackOnNew()).contains("constraint public.t1_pkey", "index public.t1_grp", "foreign key t2_t1_id_fkey on public.t2");
    assertThat(first.removedOnOld()).contains("schema cutover");
    assertThat(first.removedOnNew()).doesNotContain("schema cutover");
    assertThat(first.kept()).singleElement().asString().contains("t1_grp_fkey on public.t1", "empty new's tables");

    StartReport report = r.start(StartOptions.defaults().withJobs(2).withCapture(Capture.TRIGGERS), new CopyProgress(),
        CopyListener.NONE);
    assertThat(report.warnings()).anySatisfy(w -> assertThat(w).contains("put back on new", "t1_grp_fkey on public.t1"));
    try (Connection o = asOwner(pair.oldServer(), db); Connection n = asOwner(pair.newServer(), db)) {
      assertThat(keys(n)).isEqualTo(before).isEqualTo(keys(o));
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM t1")).isEqualTo(40_000);
    }
    Cleanup.Report last = r.cleanup();
    assertThat(last.putBackOnNew()).isEmpty();
    assertThat(last.removedOnNew()).contains("schema cutover");
  }

  /**
   * The record is SQL that cleanup runs. Run by a superuser over a record a role with less wrote,
   * it runs as that role: what the role slipped into it cannot act with a superuser's rights.
   */
  @Test
  void cleanup_bySuperuserOverARecordItsOwnerTamperedWith_runsItAsTheOwner(PostgresPair pair) throws Exception {
    String db = "interrupted_tampered";
    ownedDatabase(pair, db);
    killMidCopy(pair, db, OWNER, Capture.TRIGGERS);
    try (Connection n = asOwner(pair.newServer(), db)) {
      AppDatabase.execute(n, "UPDATE cutover.start_indexes SET create_sql = create_sql || '; ALTER ROLE " + OWNER + " SUPERUSER'"
          + " WHERE name = 't1_grp'");
    }
    Replicator superuser = Replicator.builder().old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db)).build();
    try {
      assertThatThrownBy(superuser::cleanup).isInstanceOf(ReplicatorException.class).hasMessageContaining("permission denied");
      try (Connection n = pair.newServer().connect(db)) {
        assertThat(AppDatabase.strings(n, "SELECT rolsuper::text FROM pg_roles WHERE rolname = '" + OWNER + "'")).containsExactly("false");
      }
    } finally {
      try (Connection n = pair.newServer().connect()) {
        AppDatabase.execute(n, "ALTER ROLE " + OWNER + " NOSUPERUSER");
      }
    }
  }

  /** Resuming runs the record's statements as the superuser it must be: a record another role wrote is refused. */
  @Test
  void startResume_overARecordAnotherRoleWrote_refusedNamingIt(PostgresPair pair) throws Exception {
    String db = "interrupted_resume";
    superusersDatabase(pair, db, "");
    try (Connection admin = pair.newServer().connect()) {
      AppDatabase.execute(admin, CREATE_OWNER);
    }
    killMidCopy(pair, db, pair.oldServer().user(), Capture.LOGICAL);
    try (Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(n, "ALTER TABLE cutover.start_indexes OWNER TO " + OWNER);
    }
    Replicator r = Replicator.builder().old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db)).build();

    assertThatThrownBy(() -> r.start(StartOptions.defaults().withResume(true), new CopyProgress(), CopyListener.NONE))
        .isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.PRIVILEGE);
          assertThat(e.getMessage()).contains("written by role " + OWNER);
        });
    try (Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(n, "ALTER TABLE cutover.start_indexes OWNER TO CURRENT_USER");
    }
    r.cleanup();
  }

  /** Database {@code db} on both servers, made by the superuser: {@link #SCHEMA} and {@code more} on both, seeded on old. */
  private static void superusersDatabase(PostgresPair pair, String db, String more) throws SQLException {
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      try (Connection c = s.connect(db)) {
        AppDatabase.execute(c, SCHEMA + more);
      }
    }
    try (Connection o = pair.oldServer().connect(db)) {
      AppDatabase.execute(o, SEED);
    }
  }

  /** Database {@code db} on both servers, owned by {@link #OWNER}, who makes the schema and seeds old. */
  private static void ownedDatabase(PostgresPair pair, String db) throws SQLException {
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection admin = s.connect()) {
        AppDatabase.execute(admin, CREATE_OWNER);
        AppDatabase.execute(admin, "CREATE DATABASE " + db + " OWNER " + OWNER);
      }
      try (Connection c = asOwner(s, db)) {
        AppDatabase.execute(c, SCHEMA);
        // Default privileges would give this role what start creates, the record cleanup runs as SQL included.
        AppDatabase.execute(c, "ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO PUBLIC");
      }
    }
    try (Connection o = asOwner(pair.oldServer(), db)) {
      AppDatabase.execute(o, SEED);
    }
  }

  /** Runs {@link CrashingStart} and kills it once t1 and t2 are on new, with t3's copy waiting to begin. */
  private static void killMidCopy(PostgresPair pair, String db, String user, Capture engine) throws Exception {
    Process crashing = CrashingStart.stopped(pair.oldServer().jdbcUrl(db), pair.newServer().jdbcUrl(db), user, 2, engine);
    try (Connection n = pair.newServer().connect(db)) {
      await().atMost(Duration.ofSeconds(60)).until(() -> AppDatabase.count(n, "SELECT (SELECT count(*) FROM t1) + (SELECT count(*)"
          + " FROM t2)") == 70_000);
    }
    crashing.destroyForcibly();
    assertThat(crashing.waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  private static Connection asOwner(PostgresServer server, String db) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", OWNER);
    return PGJDBC.connect(server.jdbcUrl(db), p);
  }

  private static List<String> keys(Connection c) throws SQLException {
    return AppDatabase.strings(c, KEYS);
  }

  /** {@link #KEYS} over a connection of its own. */
  private static List<String> keysOn(Connection c) throws SQLException {
    try (c) {
      return keys(c);
    }
  }
}
