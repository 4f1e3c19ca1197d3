package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.status.StatusReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Schema changes that cannot simply be carried: who may write the log, changes inside functions,
 * volatile defaults, changes made on new alone, and old without capture. Each is refused, or
 * detected and reported with what to run, never silently lost.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SchemaChangeEdgeTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private static Replicator started(PostgresPair pair, String db) throws Exception {
    SchemaChangeFlowTest.database(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    ReplicationFlowTest.start(r);
    return r;
  }

  private static List<String> schemaProblems(Replicator r) throws Exception {
    return r.status().forward().problems().stream().filter(p -> !p.contains("heartbeat")).toList();
  }

  @Test
  void ddlLog_ordinaryRole_cannotWriteItOrRunAnythingAsAnotherRoleOnEitherSide(PostgresPair pair) throws Exception {
    String db = "ddl_security";
    Replicator r = started(pair, db);
    for (var server : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection app = SchemaChangeFlowTest.app(server, db)) {
        for (String attempt : List.of(
            "INSERT INTO cutover.ddl_log (id, source, role, search_path, tag, command, query) VALUES"
                + " ('x', 'old', 'postgres', 'public', 'CREATE ROLE', 'ALTER ROLE ddl_app SUPERUSER', 'x')",
            "UPDATE cutover.ddl_log SET command = 'ALTER ROLE ddl_app SUPERUSER'",
            "DELETE FROM cutover.ddl_log",
            "INSERT INTO cutover.ddl_done VALUES ('x')",
            "SELECT cutover.ddl_guard('account'::regclass)")) {
          assertThatThrownBy(() -> AppDatabase.execute(app, attempt)).as(attempt).isInstanceOfSatisfying(SQLException.class,
              e -> assertThat(e.getSQLState()).isEqualTo("42501"));
        }
      }
    }
    try (Connection o = pair.oldServer().connect(db); Connection app = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      // Even granted INSERT by mistake (a broad GRANT on the schema's tables), the role cannot write the log.
      AppDatabase.execute(o, "GRANT INSERT ON cutover.ddl_log TO " + SchemaChangeFlowTest.ROLE);
      assertThatThrownBy(() -> AppDatabase.execute(app, "INSERT INTO cutover.ddl_log (id, source, role, search_path, tag, command, query)"
          + " VALUES ('x', 'old', 'postgres', 'public', 'CREATE ROLE', 'ALTER ROLE ddl_app SUPERUSER', 'x')"))
          .isInstanceOfSatisfying(SQLException.class, e -> {
            assertThat(e.getSQLState()).isEqualTo("42501");
            assertThat(e.getMessage()).contains("only the schema change capture may write cutover.ddl_log");
          });
      AppDatabase.execute(o, "REVOKE INSERT ON cutover.ddl_log FROM " + SchemaChangeFlowTest.ROLE);
    }
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      // Created by the application role on old: on new it must belong to that role too, not to the superuser that applies.
      AppDatabase.execute(o, "CREATE FUNCTION app_secret() RETURNS text LANGUAGE sql SECURITY DEFINER AS $$ SELECT current_user::text $$");
    }
    r.awaitCaughtUp(WAIT);
    try (Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, "SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'app_secret'"))
          .containsExactly(SchemaChangeFlowTest.ROLE);
      // A superuser's own insert on new is not a replicated one: nothing runs.
      AppDatabase.execute(n, "INSERT INTO cutover.ddl_log (id, source, role, search_path, tag, command, query) VALUES"
          + " ('local', 'old', 'postgres', 'public', 'CREATE TABLE', 'CREATE TABLE not_run (a int)', 'x')");
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_class WHERE relname = 'not_run'")).isZero();
    }
    try (Connection o = pair.oldServer().connect(db)) {
      // Privileges on the control schema are each side's own; on the application's tables they are carried.
      AppDatabase.execute(o, "GRANT EXECUTE ON FUNCTION cutover.lower_fence() TO PUBLIC;"
          + " GRANT SELECT ON account TO PUBLIC");
    }
    r.awaitCaughtUp(WAIT);
    try (Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM information_schema.role_table_grants"
          + " WHERE table_name = 'account' AND grantee = 'PUBLIC' AND privilege_type = 'SELECT'")).isEqualTo(1);
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_proc p, aclexplode(p.proacl) a"
          + " WHERE p.proname = 'lower_fence' AND a.grantee = 0")).as("new's control schema untouched").isZero();
    }
    r.cleanup();
  }

  @Test
  void apply_roleWhoseSearchPathShadowsPgCatalog_replayedAsThatRoleWithoutCallingItsFunctionsAsAnother(PostgresPair pair)
      throws Exception {
    String db = "ddl_shadow";
    SchemaChangeFlowTest.database(pair, db);
    shadowingRole(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    ReplicationFlowTest.start(r);
    try {
      plantShadowsAndChangeSchema(pair.oldServer(), db);
      r.awaitCaughtUp(WAIT);
      assertShadowsNeverRanAsAnother(pair, db);
    } finally {
      shadowingRoleUnprivileged(pair);
    }
    r.cleanup();
  }

  @Test
  void apply_roleCodeThatTheReplayedStatementRuns_cannotLeaveTheRole(PostgresPair pair) throws Exception {
    String db = "ddl_reset_role";
    SchemaChangeFlowTest.database(pair, db);
    shadowingRole(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    ReplicationFlowTest.start(r);
    try {
      plantRoleChangeAndRunIt(pair.oldServer(), db);
      r.awaitCaughtUp(WAIT);
      changeSchemaAgain(pair.oldServer(), db);
      r.awaitCaughtUp(WAIT);
      assertRoleCodeStayedTheRole(pair, db);
    } finally {
      shadowingRoleUnprivileged(pair);
    }
    r.cleanup();
  }

  /**
   * As the role: a function that tries RESET ROLE (which SET ROLE alone allows where the session's
   * user is a superuser) and makes the role a superuser if that worked, and else puts its schema
   * first on the session's path for good, where a to_regprocedure of its own (which trigger
   * capture's apply calls after a schema change) does the same when a superuser calls it; run by
   * the schema change itself (CREATE TABLE AS, which the replay runs in full).
   */
  static void plantRoleChangeAndRunIt(PostgresServer old, String db) throws SQLException {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", PLANTER);
    p.setProperty("preferQueryMode", "simple");
    try (Connection c = new org.postgresql.Driver().connect(old.jdbcUrl(db), p)) {
      String escalate = " IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN"
          + " EXECUTE 'ALTER ROLE " + PLANTER + " SUPERUSER'; END IF;";
      AppDatabase.execute(c, "CREATE FUNCTION s2.to_regprocedure(text) RETURNS regprocedure LANGUAGE plpgsql AS $f$ BEGIN"
          + escalate + " RETURN pg_catalog.to_regprocedure($1); END $f$");
      AppDatabase.execute(c, "CREATE FUNCTION s2.leave() RETURNS int LANGUAGE plpgsql AS $f$ BEGIN"
          + " BEGIN EXECUTE 'RESET ROLE'; EXCEPTION WHEN OTHERS THEN NULL; END;"
          + " BEGIN EXECUTE 'SET ROLE NONE'; EXCEPTION WHEN OTHERS THEN NULL; END;"
          + escalate + " PERFORM pg_catalog.set_config('search_path', 's2, pg_catalog', false); RETURN 1; END $f$");
      AppDatabase.execute(c, "CREATE TABLE s2.computed AS SELECT s2.leave() AS x");
    }
  }

  /** As the role, a schema change applied in a later transaction than {@link #plantRoleChangeAndRunIt}'s. */
  static void changeSchemaAgain(PostgresServer old, String db) throws SQLException {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", PLANTER);
    try (Connection c = new org.postgresql.Driver().connect(old.jdbcUrl(db), p)) {
      AppDatabase.execute(c, "CREATE TABLE s2.later (id int PRIMARY KEY)");
    }
  }

  static void assertRoleCodeStayedTheRole(PostgresPair pair, String db) throws SQLException {
    String isSuper = "SELECT rolsuper::text FROM pg_roles WHERE rolname = '" + PLANTER + "'";
    try (Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, isSuper)).as("new: the role's code ran as another role during or after the replay")
          .containsExactly("false");
      assertThat(AppDatabase.strings(n, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid IN"
          + " (to_regclass('s2.computed'), to_regclass('s2.later'))")).containsExactly(PLANTER, PLANTER);
    }
  }

  static final String PLANTER = "ddl_planter";

  /**
   * r10's attacker: a role with CONNECT and CREATE on schema s2 alone (on both sides, as
   * {@code schema} would leave it), never a superuser.
   */
  static void shadowingRole(PostgresPair pair, String db) throws SQLException {
    for (var s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = s.connect()) {
        AppDatabase.execute(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + PLANTER + "') THEN"
            + " CREATE ROLE " + PLANTER + " LOGIN; END IF; END $$; ALTER ROLE " + PLANTER + " NOSUPERUSER");
      }
      try (Connection c = s.connect(db)) {
        // The role's enum type, there before start: trigger capture's apply commits a value added to it ahead of its batch.
        AppDatabase.execute(c, "CREATE SCHEMA s2; GRANT USAGE, CREATE ON SCHEMA s2 TO " + PLANTER
            + "; GRANT CONNECT ON DATABASE " + db + " TO " + PLANTER + "; CREATE TYPE s2.mood AS ENUM ('calm'); ALTER TYPE s2.mood OWNER TO "
            + PLANTER);
      }
    }
  }

  static void shadowingRoleUnprivileged(PostgresPair pair) throws SQLException {
    for (var s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = s.connect()) {
        AppDatabase.execute(c, "ALTER ROLE " + PLANTER + " NOSUPERUSER");
      }
    }
  }

  /**
   * As the role, through plain psql: functions and an operator named as pg_catalog's, in s2 ahead
   * of pg_catalog on its search_path, each of which makes the role a superuser when a superuser
   * calls it (after trying RESET ROLE, which a session whose user is a superuser may do even after
   * SET ROLE); then schema changes, whose replay on new runs as the role with that path.
   */
  static void plantShadowsAndChangeSchema(PostgresServer old, String db) throws SQLException {
    String escalate = " LANGUAGE plpgsql AS $f$ BEGIN"
        + " IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN"
        + " EXECUTE 'ALTER ROLE " + PLANTER + " SUPERUSER'; END IF; RETURN %s; END $f$";
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", PLANTER);
    p.setProperty("preferQueryMode", "simple");
    try (Connection c = new org.postgresql.Driver().connect(old.jdbcUrl(db), p)) {
      for (String sql : List.of("SET search_path = s2, pg_catalog",
          "CREATE FUNCTION s2.set_config(text, text, boolean) RETURNS text"
              + String.format(escalate, "pg_catalog.set_config($1, $2, $3)"),
          "CREATE FUNCTION s2.format(text, name) RETURNS text" + String.format(escalate, "pg_catalog.format($1, $2)"),
          "CREATE FUNCTION s2.current_setting(text) RETURNS text" + String.format(escalate, "pg_catalog.current_setting($1)"),
          "CREATE FUNCTION s2.texteq(text, text) RETURNS boolean" + String.format(escalate, "pg_catalog.texteq($1, $2)"),
          "CREATE OPERATOR s2.= (LEFTARG = text, RIGHTARG = text, FUNCTION = s2.texteq)",
          "CREATE TABLE s2.trigger_it (id int)",
          // Committed ahead of its batch by trigger capture's apply (EnumValuesAhead), with the same path.
          "ALTER TYPE s2.mood ADD VALUE 'angry'")) {
        AppDatabase.execute(c, sql);
      }
    }
  }

  static void assertShadowsNeverRanAsAnother(PostgresPair pair, String db) throws SQLException {
    String isSuper = "SELECT rolsuper::text FROM pg_roles WHERE rolname = '" + PLANTER + "'";
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(o, isSuper)).as("old").containsExactly("false");
      assertThat(AppDatabase.strings(n, isSuper)).as("new: the replay called the role's own functions as the superuser that applies")
          .containsExactly("false");
      // The replay itself still ran, as the role, with its path.
      assertThat(AppDatabase.strings(n, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('s2.trigger_it')"))
          .containsExactly(PLANTER);
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_operator WHERE oprnamespace = 's2'::regnamespace")).isOne();
      assertThat(AppDatabase.strings(n, "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum"
          + " WHERE enumtypid = to_regtype('s2.mood')")).containsExactly("calm,angry");
    }
  }

  /**
   * ddl-done of an id no side's log holds (a typo of the one status showed) printed "marked as done
   * on both sides" and exited 0, while the real change stayed pending (r15). Refused now, naming the
   * pending ids, with nothing marked.
   */
  @Test
  void ddlDone_idInNeitherLog_refusedNamingThePendingChanges(PostgresPair pair) throws Exception {
    String db = "ddl_done_typo";
    Replicator r = started(pair, db);
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "CREATE FUNCTION make_index() RETURNS void LANGUAGE plpgsql AS"
          + " $$ BEGIN EXECUTE 'CREATE INDEX account_owner ON account (owner)'; END $$; SELECT make_index()");
    }
    r.awaitCaughtUp(WAIT);
    String pending = schemaProblems(r).stream().filter(p -> p.contains("inside a function")).findFirst().orElseThrow();
    String id = pending.substring("schema change ".length(), pending.indexOf(' ', "schema change ".length()));

    assertThatThrownBy(() -> r.ddlDone("12")).isInstanceOfSatisfying(ReplicatorException.class, e -> {
      assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(e.getMessage()).contains("no schema change 12 in cutover.ddl_log on old or new").contains(id);
      assertThat(e.remedy()).contains("cutover-replicator status");
    });
    assertThat(schemaProblems(r)).contains(pending);
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      for (Connection c : List.of(o, n)) {
        assertThat(AppDatabase.count(c, "SELECT count(*) FROM cutover.ddl_done")).as("nothing marked").isZero();
      }
    }
    r.ddlDone(id);
    r.cleanup();
  }

  @Test
  void status_changesThatNeedAHand_reportedWithWhatToRunUntilMarkedDone(PostgresPair pair) throws Exception {
    String db = "ddl_by_hand";
    Replicator r = started(pair, db);
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      // A volatile default would give new other values: refused while the table has rows.
      assertThatThrownBy(() -> AppDatabase.execute(o, "ALTER TABLE account ADD COLUMN token float8 DEFAULT random()"))
          .hasMessageContaining("volatile default").hasMessageContaining("public.account");
      // Inside a function: no statement of its own to carry.
      AppDatabase.execute(o, "CREATE FUNCTION make_audit() RETURNS void LANGUAGE plpgsql AS"
          + " $$ BEGIN EXECUTE 'CREATE INDEX account_balance ON account (balance)'; END $$; SELECT make_audit()");
    }
    try (Connection n = SchemaChangeFlowTest.app(pair.newServer(), db)) {
      AppDatabase.execute(n, "CREATE INDEX only_on_new ON account (owner)");
    }
    r.awaitCaughtUp(WAIT);
    List<String> problems = schemaProblems(r);
    assertThat(problems).anyMatch(p -> p.contains("CREATE INDEX") && p.contains("inside a function") && p.contains("ddl-done"));
    assertThat(problems).anyMatch(p -> p.contains("made on new alone") && p.contains("only_on_new"));

    try (Connection n = SchemaChangeFlowTest.app(pair.newServer(), db)) {
      assertThat(problems).anyMatch(p -> p.contains("SET cutover.ddl_capture = off"));
      AppDatabase.execute(n, "SET cutover.ddl_capture = off; CREATE INDEX account_balance ON account (balance)");
    }
    // Only the changes: the others (the index old has and new lacked, till now) are no ids, and
    // ddl-done now refuses what no log holds.
    for (String p : problems.stream().filter(p -> p.startsWith("schema change ")).toList()) {
      r.ddlDone(p.substring("schema change ".length(), p.indexOf(' ', "schema change ".length())));
    }
    assertThat(schemaProblems(r)).isEmpty();
    r.cleanup();
  }

  /**
   * SELECT ... INTO on old: the replay stopped the apply for good ("EXECUTE of SELECT ... INTO is
   * not implemented"), where the docs say new creates the table, empty, and receives old's rows.
   */
  @Test
  void apply_selectInto_createsTheTableEmptyAndReceivesOldsRows(PostgresPair pair) throws Exception {
    String db = "ddl_select_into";
    Replicator r = started(pair, db);
    selectInto(pair, db);
    r.awaitCaughtUp(WAIT);
    assertSelectedInto(pair, db);
    r.cleanup();
  }

  /** Rows picked by a SELECT ... INTO (a CTE, a comment, TABLE) on old, and one written to its table later. */
  static void selectInto(PostgresPair pair, String db) throws SQLException {
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "WITH few AS (SELECT id, owner FROM account WHERE id <= 3) SELECT id, owner /* into */ INTO TABLE picked"
          + " FROM few ORDER BY id; INSERT INTO picked VALUES (50, 'late')");
    }
  }

  static void assertSelectedInto(PostgresPair pair, String db) throws Exception {
    String rows = "SELECT id || ':' || owner FROM picked ORDER BY id";
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, rows)).containsExactly("1:seed1", "2:seed2", "3:seed3", "50:late")
          .isEqualTo(AppDatabase.strings(o, rows));
    }
  }

  /**
   * A column given a new type by a USING expression that new would compute anew for every row
   * (random(), now(), CURRENT_TIMESTAMP) passed on old, and verify found every row different on
   * new; it is refused as a volatile default is. One that depends on the row alone is carried.
   */
  @Test
  void alterColumnType_usingVolatileOrTransactionTime_refusedOnOld(PostgresPair pair) throws Exception {
    String db = "ddl_volatile_using";
    Replicator r = started(pair, db);
    changeTypesUsing(pair, db);
    r.awaitCaughtUp(WAIT);
    assertTypesChanged(pair, db, r);
    r.cleanup();
  }

  static void changeTypesUsing(PostgresPair pair, String db) throws SQLException {
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      for (String change : List.of("ALTER TABLE account ALTER COLUMN balance TYPE float8 USING random() * balance",
          "ALTER TABLE account ALTER COLUMN legacy TYPE timestamptz USING now() - interval '1 day'",
          "ALTER TABLE account ALTER COLUMN legacy TYPE date USING CURRENT_DATE")) {
        assertThatThrownBy(() -> AppDatabase.execute(o, change)).as(change).isInstanceOfSatisfying(SQLException.class, e -> {
          assertThat(e.getSQLState()).isEqualTo("0A000");
          assertThat(e.getMessage()).contains("ALTER TABLE on public.account gives a column a new type through a USING expression")
              .contains("new would compute other values").contains("fill it with UPDATE").contains("cutover.ddl_capture = off");
        });
      }
      AppDatabase.execute(o, "ALTER TABLE account ALTER COLUMN balance TYPE bigint USING balance::bigint * 2,"
          + " ALTER COLUMN legacy TYPE varchar(20) USING upper(legacy) || ' random()'");
    }
  }

  static void assertTypesChanged(PostgresPair pair, String db, Replicator r) throws Exception {
    try (Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'account'::regclass"
          + " AND attname IN ('balance', 'legacy') ORDER BY attname")).containsExactly("bigint", "character varying(20)");
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
  }

  /**
   * An array column added with a non-constant default on a table with rows: old's existing rows
   * read the value computed there, and new's computed its own (every row differed), since the
   * missing value of an array column was not carried.
   */
  @Test
  void addColumn_arrayWithNonConstantDefault_existingRowsReadOldsValueOnNew(PostgresPair pair) throws Exception {
    String db = "ddl_array_default";
    Replicator r = started(pair, db);
    addArrayColumns(pair, db);
    r.awaitCaughtUp(WAIT);
    assertArrayColumnsCarried(pair, db, r);
    r.cleanup();
  }

  static void addArrayColumns(PostgresPair pair, String db) throws SQLException {
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "ALTER TABLE account ADD COLUMN seen_at timestamptz[] DEFAULT array[now(), NULL],"
          + " ADD COLUMN tags text[] DEFAULT array[current_user, 'a\"b,c', now()::text]");
    }
  }

  static void assertArrayColumnsCarried(PostgresPair pair, String db, Replicator r) throws Exception {
    String rows = "SELECT id || ' ' || seen_at::text || ' ' || tags::text FROM account ORDER BY id";
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, rows)).hasSize(200).isEqualTo(AppDatabase.strings(o, rows));
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
  }

  /**
   * Columns added with a non-constant default that is NULL on one side and not on the other (r24):
   * PostgreSQL stores no missing value for a NULL, so old logged none for a NULL computed there, and
   * the replay fixed only a column for which new had computed a value of its own. New's existing
   * rows read NULL where old's read 'acme', and 'on new' where old's read NULL, and only verify
   * said so.
   */
  @Test
  void addColumn_nonConstantDefaultNullOnOneSideOnly_existingRowsReadOldsValueOnNew(PostgresPair pair) throws Exception {
    String db = "ddl_null_default";
    SchemaChangeFlowTest.database(pair, db);
    defaultsNullOnOneSide(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    ReplicationFlowTest.start(r);
    addColumnsNullOnOneSide(pair, db);
    r.awaitCaughtUp(WAIT);
    assertColumnsNullOnOneSideCarried(pair, db, r);
    r.cleanup();
  }

  /** A setting new's sessions have (the apply's included, started after this) and old's do not. */
  static void defaultsNullOnOneSide(PostgresPair pair, String db) throws SQLException {
    try (Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(n, "ALTER DATABASE " + db + " SET app.on_new = 'on new'");
    }
  }

  /**
   * tenant: 'acme' on old, NULL where new computes it; region: NULL on old, 'on new' where new
   * computes it; and tenant on the partitions of a partitioned table.
   */
  static void addColumnsNullOnOneSide(PostgresPair pair, String db) throws SQLException {
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "SET app.on_old = 'acme'; ALTER TABLE account ADD COLUMN tenant text DEFAULT current_setting('app.on_old', true),"
          + " ADD COLUMN region text DEFAULT current_setting('app.on_new', true)");
      // On a partitioned table: the change reports the parent alone, and its partitions hold the rows.
      AppDatabase.execute(o, "SET app.on_old = 'acme'; ALTER TABLE measurement ADD COLUMN tenant text DEFAULT current_setting('app.on_old', true)");
    }
  }

  static void assertColumnsNullOnOneSideCarried(PostgresPair pair, String db, Replicator r) throws Exception {
    String rows = "SELECT id || ' ' || coalesce(tenant, 'null') || ' ' || coalesce(region, 'null') FROM account ORDER BY id";
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(o, rows)).hasSize(200).allMatch(row -> row.endsWith(" acme null"));
      assertThat(AppDatabase.strings(n, rows)).hasSize(200).isEqualTo(AppDatabase.strings(o, rows));
      String measured = "SELECT coalesce(tenant, 'null') || ' ' || count(*) FROM measurement GROUP BY tenant";
      assertThat(AppDatabase.strings(n, measured)).containsExactly("acme 300").isEqualTo(AppDatabase.strings(o, measured));
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
  }

  @Test
  void status_oldWithoutCapture_typeNewRoundsAndColumnDroppedOnOld_saysWhatReplicationDoes(PostgresPair pair) throws Exception {
    String db = "ddl_uncaptured_columns";
    Replicator r = started(pair, db);
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "ALTER TABLE account ADD COLUMN amt numeric(12,2)");
    }
    r.awaitCaughtUp(WAIT);
    try (Connection o = pair.oldServer().connect(db)) {
      AppDatabase.execute(o, "ALTER EVENT TRIGGER cutover_ddl_end DISABLE; ALTER EVENT TRIGGER cutover_ddl_start DISABLE");
    }
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "ALTER TABLE account ALTER COLUMN amt TYPE numeric(12,4); ALTER TABLE account DROP COLUMN legacy");
      AppDatabase.execute(o, "INSERT INTO account (owner, amt) VALUES ('precise', 1.2345)");
    }
    // Replication goes on: new rounds the value into its own type, and leaves the column old dropped empty.
    r.awaitCaughtUp(WAIT);
    try (Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, "SELECT amt::text || ' ' || coalesce(legacy, 'null') FROM account WHERE owner = 'precise'"))
          .containsExactly("1.23 null");
    }
    List<String> problems = schemaProblems(r);
    assertThat(problems).anyMatch(p -> p.startsWith("column amt of public.account is numeric(12,4) on old but numeric(12,2) on new")
        && p.contains("stored rounded, silently") && p.contains("verify"));
    assertThat(problems).anyMatch(p -> p.startsWith("column legacy of public.account is on new but not on old")
        && p.contains("replication goes on") && p.contains("ALTER TABLE \"public\".\"account\" DROP COLUMN \"legacy\""));
    r.cleanup();
  }

  @Test
  void status_oldWithoutCapture_detectsTheChangeAndPrintsTheStatementsThatResumeReplication(PostgresPair pair) throws Exception {
    String db = "ddl_uncaptured";
    Replicator r = started(pair, db);
    try (Connection o = pair.oldServer().connect(db)) {
      // As for a role that may not create event triggers.
      AppDatabase.execute(o, "ALTER EVENT TRIGGER cutover_ddl_end DISABLE; ALTER EVENT TRIGGER cutover_ddl_start DISABLE");
    }
    try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
      AppDatabase.execute(o, "ALTER TABLE account ADD COLUMN region text NOT NULL DEFAULT 'eu'");
      AppDatabase.execute(o, "INSERT INTO account (owner, region) VALUES ('after region', 'us')");
      AppDatabase.execute(o, "CREATE TABLE invoice (id int PRIMARY KEY, total numeric(10,2) NOT NULL DEFAULT 0)");
      AppDatabase.execute(o, "INSERT INTO invoice SELECT g, g FROM generate_series(1, 20) g");
    }
    await().atMost(WAIT).untilAsserted(() -> {
      StatusReport.Direction f = r.status().forward();
      assertThat(f.applyWorkerRunning()).isFalse();
      assertThat(f.problems()).anyMatch(p -> p.contains("not captured"));
    });
    List<String> problems = schemaProblems(r);
    try (Connection n = pair.newServer().connect(db)) {
      for (String p : problems) {
        int run = p.indexOf("run on new: ");
        if (run < 0) {
          run = p.indexOf("run there: ");
          if (run < 0) {
            continue;
          }
          run += "run there: ".length();
        } else {
          run += "run on new: ".length();
        }
        String statements = p.substring(run);
        int tail = statements.indexOf(", which copies");
        AppDatabase.execute(n, tail < 0 ? statements : statements.substring(0, tail));
      }
    }
    assertThat(problems).anyMatch(p -> p.contains("column region of public.account"))
        .anyMatch(p -> p.contains("table public.invoice")).anyMatch(p -> p.contains("REFRESH PUBLICATION WITH (copy_data = true)"));
    r.awaitCaughtUp(WAIT);
    await().atMost(WAIT).untilAsserted(() -> assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero());
    try (Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, "SELECT region FROM account WHERE owner = 'after region'")).containsExactly("us");
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM invoice")).isEqualTo(20);
    }
    r.cleanup();
  }
  /**
   * Several schema changes in one transaction on old, the last of which fails on new: status named
   * the first as the one to run by hand, which was not the one failing (r22 #6). Every change of
   * that transaction is named, since they arrive together and any of them may be the one.
   */
  @Test
  void status_migrationTransactionFailingOnNew_namesEveryChangeOfIt(PostgresPair pair) throws Exception {
    String db = "ddl_stuck_tx";
    Replicator r = started(pair, db);
    try (Connection n = SchemaChangeFlowTest.app(pair.newServer(), db)) {
      // New has an index of that name already: the last change of the migration fails there.
      AppDatabase.execute(n, "SET cutover.ddl_capture = off; CREATE INDEX account_owner ON account (owner)");
    }
    try (Connection o = SchemaChangeFlowTest.appAsPsql(pair.oldServer(), db)) {
      AppDatabase.execute(o, "ALTER TABLE account ADD COLUMN tenant int; CREATE TABLE orders (id int PRIMARY KEY, total int);"
          + " CREATE INDEX account_owner ON account (owner)");
    }
    List<String> ids;
    try (Connection o = pair.oldServer().connect(db)) {
      ids = AppDatabase.strings(o, "SELECT id FROM cutover.ddl_log ORDER BY at");
    }
    assertThat(ids).hasSize(3);
    await().atMost(WAIT).untilAsserted(() -> assertThat(schemaProblems(r))
        .anyMatch(p -> p.contains("schema change") && ids.stream().allMatch(p::contains) && p.contains("CREATE INDEX account_owner")));
    try (Connection n = SchemaChangeFlowTest.app(pair.newServer(), db)) {
      AppDatabase.execute(n, "SET cutover.ddl_capture = off; DROP INDEX account_owner");
    }
    r.awaitCaughtUp(WAIT);
    r.cleanup();
  }
}
