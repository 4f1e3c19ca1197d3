package dev.cutover.replicator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line: help, exit codes, one-line errors with remedies, JSON, and a run end to end. */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class CliTest {
  private static final Map<String, String> ENV = Map.of("CUTOVER_REPLICATOR_OLD_PASSWORD", "s3cret-old", "CUTOVER_REPLICATOR_NEW_PASSWORD", "s3cret-new");

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = ReplicatorCli.run(new PrintWriter(out, true), new PrintWriter(err, true), ENV, false, args);
    return new Run(code, out.toString(), err.toString());
  }

  static String[] with(String[] head, String... tail) {
    List<String> all = new ArrayList<>(List.of(head));
    all.addAll(List.of(tail));
    return all.toArray(String[]::new);
  }

  @ParameterizedTest
  @ValueSource(strings = {"check", "schema", "start", "status", "heartbeat", "catch-up", "sequences", "reverse", "verify",
      "sync-large-objects", "refresh", "adopt", "ddl-done", "cleanup"})
  void help_everyCommand_printsUsageAndExitsZero(String command) {
    Run r = run(command, "--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("Usage: cutover-replicator " + command).contains("--old-url").contains("--json");
  }

  @Test
  void unexpectedError_printsItsTraceWithSecretsMasked() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    ReplicatorCli.Context context = new ReplicatorCli.Context(new PrintWriter(out, true), new PrintWriter(err, true), ENV, false);
    Exception bug = new IllegalStateException("no route", new IllegalArgumentException("postgresql://app:hunter2@db/x"));

    int code = ReplicatorCli.failure(bug, context);

    assertThat(code).isEqualTo(1);
    assertThat(err.toString())
        .contains("cutover-replicator: IllegalStateException: no route")
        .contains("please report it with the trace below")
        .contains("\tat dev.cutover.replicator.cli.CliTest.unexpectedError_printsItsTraceWithSecretsMasked")
        .contains("Caused by: java.lang.IllegalArgumentException: postgresql://app:***@db/x")
        .doesNotContain("hunter2");
  }

  @Test
  void help_topLevel_listsCommandsAndExitCodes() {
    Run r = run("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("check", "start", "verify", "cleanup", "Exit codes:", "7", "verify found differences");
  }

  @Test
  void check_notAJdbcUrl_failsOnOneLineWithRemedyAndExitCode3() {
    Run r = run("check", "--old-url", "mysql://db.example.com/app", "--new-url", "jdbc:postgresql://127.0.0.1:1/app");
    assertThat(r.code()).isEqualTo(3);
    assertThat(r.err().strip()).doesNotContain("\n").contains("old: --old-url does not parse (the text is neither a PostgreSQL JDBC URL")
        .doesNotContain("db.example.com")
        .contains("use jdbc:postgresql://host:port/database, postgres://user@host:port/database or host=... dbname=... in --old-url");
  }

  @Test
  void check_unreachableServer_failsOnOneLineWithoutPassword() {
    Run r = run("check", "--old-url", "jdbc:postgresql://127.0.0.1:1/app?password=hunter2", "--new-url",
        "jdbc:postgresql://127.0.0.1:1/app");
    assertThat(r.code()).isEqualTo(3);
    assertThat(r.err().strip()).doesNotContain("\n").contains("old: cannot connect to").contains("check host and port");
    assertThat(r.err()).doesNotContain("hunter2");
  }

  @Test
  void check_missingUrl_isAUsageErrorWithExitCode2() {
    Run r = run("check", "--new-url", "jdbc:postgresql://127.0.0.1:1/app");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--old-url");
  }

  /**
   * A --name longer than fits (review r33): it was cut to 40 characters, so two migrations of one old
   * database with labels that differ only past that named one slot, and cleanup of the second dropped
   * the first's live slot. Now refused as a usage error before anything connects, naming the limit.
   */
  @Test
  void check_nameLongerThanFits_isAUsageErrorNamingTheLimitWithExitCode2() {
    Run r = run("check", "--old-url", "jdbc:postgresql://127.0.0.1:1/app", "--new-url", "jdbc:postgresql://127.0.0.1:1/app",
        "--name", "acme_orders_migration_to_aurora_cluster_eu_west_1");
    assertThat(r.code()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).contains("--name 'acme_orders_migration_to_aurora_cluster_eu_west_1' is 49 characters; at most 40 fit")
        .contains("give a shorter --name").doesNotContain("Connection refused");
  }

  static String[] urls(PostgresPair pair, String db) {
    return new String[] {"--old-url", pair.oldServer().jdbcUrl(db), "--new-url", pair.newServer().jdbcUrl(db),
        "--old-user", pair.oldServer().user(), "--new-user", pair.newServer().user()};
  }

  static void sql(PostgresServer server, String db, String sql) throws Exception {
    try (Connection c = server.connect(db); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  @Test
  void start_roleWithoutPrivileges_failsOnOneLineWithRemedyAndExitCode4(PostgresPair pair) throws Exception {
    String db = "cli_noprivs";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE ROLE plain_app LOGIN; CREATE TABLE t (id int PRIMARY KEY); ALTER TABLE t OWNER TO plain_app");
    }
    Run r = run("start", "--capture", "logical", "--old-url", pair.oldServer().jdbcUrl(db), "--new-url", pair.newServer().jdbcUrl(db),
        "--old-user", "plain_app", "--new-user", pair.newServer().user());
    assertThat(r.code()).isEqualTo(4);
    assertThat(r.err().strip()).doesNotContain("\n")
        .contains("old: role plain_app may not create replication slots")
        .contains("ALTER ROLE \"plain_app\" REPLICATION");
    // Left to choose, start takes trigger capture, which needs only the tables and room for its schema.
    Run auto = run("start", "--old-url", pair.oldServer().jdbcUrl(db), "--new-url", pair.newServer().jdbcUrl(db),
        "--old-user", "plain_app", "--new-user", pair.newServer().user());
    assertThat(auto.code()).isEqualTo(4);
    assertThat(auto.err().strip()).doesNotContain("\n")
        .contains("old: role plain_app may not create the control schema cutover")
        .contains("GRANT CREATE ON DATABASE \"cli_noprivs\" TO \"plain_app\"")
        .contains("may not create replication slots (no REPLICATION)");
  }

  @Test
  void schema_noUsablePgDump_printsTheExactCommandAndExitCode9(PostgresPair pair) throws Exception {
    String db = "cli_schema";
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    sql(pair.oldServer(), db, "CREATE TABLE t (id int PRIMARY KEY)");
    Run r = run(with(new String[] {"schema", "--pg-dump", "/nonexistent/bin/pg_dump"}, urls(pair, db)));
    assertThat(r.code()).isEqualTo(9);
    assertThat(r.err().strip()).doesNotContain("\n")
        .contains("no pg_dump at /nonexistent/bin/pg_dump")
        .contains("pg_dump --schema-only --exclude-schema=cutover --no-publications --no-subscriptions --encoding=UTF8 --lock-wait-timeout=30000ms --host="
            + pair.oldServer().host())
        .contains("--dbname=" + db)
        .contains("psql --set ON_ERROR_STOP=1 --single-transaction")
        .contains("PGPASSWORD=\"$CUTOVER_REPLICATOR_OLD_PASSWORD\"")
        .doesNotContain("s3cret");
  }

  @Test
  void schema_compatiblePgDumpOnPath_copiesSchemaWithoutOurObjects(PostgresPair pair) throws Exception {
    java.util.OptionalInt pgDump = dev.cutover.replicator.schema.SchemaCopy.availablePgDump();
    String remedy = "this test needs pg_dump " + pair.oldServer().majorVersion()
        + "+ on PATH: install Debian's postgresql-client (.ci/run does)";
    org.assertj.core.api.Assertions.assertThat(pgDump).as(remedy).isPresent();
    org.assertj.core.api.Assertions.assertThat(pgDump.getAsInt()).as(remedy)
        .isGreaterThanOrEqualTo(pair.oldServer().majorVersion());
    String db = "cli_schema_copy";
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    sql(pair.oldServer(), db, "CREATE TABLE parent (id int PRIMARY KEY, doc jsonb);"
        + " CREATE TABLE child (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, parent int REFERENCES parent, at timestamptz);"
        + " CREATE INDEX child_at ON child (at); CREATE PUBLICATION someone_elses_pub FOR TABLE parent");
    try (Connection c = pair.oldServer().connect(db)) {
      dev.cutover.driver.control.ControlSchema.install(c);
    }
    Run r = run(with(new String[] {"schema"}, urls(pair, db)));
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("schema copied with").contains("2 table(s) on new");
    try (Connection c = pair.newServer().connect(db); Statement s = c.createStatement()) {
      var rs = s.executeQuery("SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'),"
          + " (SELECT count(*) FROM pg_trigger WHERE tgname = 'cutover_fence'), (SELECT count(*) FROM pg_publication),"
          + " (SELECT count(*) FROM pg_indexes WHERE indexname = 'child_at')");
      rs.next();
      assertThat(List.of(rs.getInt(1), rs.getInt(2), rs.getInt(3), rs.getInt(4))).containsExactly(0, 0, 0, 1);
    }
  }

  /**
   * Old's database has defaults of its own and of a role in it, which pg_dump without --create
   * leaves out: schema sets them on new and says so, so that after the switch the application's
   * sessions on new resolve names and read times as on old. Before, schema and check were silent
   * and new's sessions read public.thing for thing.
   */
  @Test
  void schema_oldsDatabaseHasDefaults_setsThemOnNew(PostgresPair pair) throws Exception {
    String db = "cli_schema_settings";
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      sql(s, db, "DO $$ BEGIN CREATE ROLE \"App Reader\" LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    }
    sql(pair.oldServer(), db, "CREATE SCHEMA app; CREATE TABLE app.thing (id int PRIMARY KEY); CREATE TABLE public.thing (id int);"
        + " INSERT INTO app.thing VALUES (1); ALTER DATABASE " + db + " SET search_path = app, public;"
        + " ALTER DATABASE " + db + " SET timezone = 'Asia/Kolkata'; ALTER ROLE \"App Reader\" IN DATABASE " + db + " SET work_mem = '8MB'");
    Run r = run(with(new String[] {"schema"}, urls(pair, db)));
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("database setting copied: ALTER DATABASE \"" + db + "\" SET \"search_path\" TO 'app', 'public'")
        .contains("database setting copied: ALTER DATABASE \"" + db + "\" SET \"timezone\" TO 'Asia/Kolkata'")
        .contains("database setting copied: ALTER ROLE \"App Reader\" IN DATABASE \"" + db + "\" SET \"work_mem\" TO '8MB'");
    // PgJDBC sends the JVM's TimeZone at login, over the database's: the catalog says what psql's sessions get.
    String reads = "SELECT (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'thing'::regclass) || ' ' || (SELECT string_agg(coalesce(r.rolname, '-') || ':' || c, ' ' ORDER BY coalesce(r.rolname, '-') COLLATE \"C\", c COLLATE \"C\")"
        + " FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) c"
        + " WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()))";
    try (Connection n = pair.newServer().connect(db); Statement s = n.createStatement()) {
      var rs = s.executeQuery(reads);
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("app -:TimeZone=Asia/Kolkata -:search_path=app, public App Reader:work_mem=8MB");
    }
    Run check = run(with(new String[] {"check"}, urls(pair, db)));
    assertThat(check.out()).doesNotContain("database-setting").doesNotContain("database default");
  }

  /**
   * A transaction on old holds a table ACCESS EXCLUSIVE (a migration's ALTER TABLE left open): pg_dump
   * used to wait for it as long as it lived, and the 10-minute limit could not fire while its output
   * was still being read. Now schema stops after --lock-wait, naming the lock, and new stays empty.
   */
  @Test
  void schema_tableLockedOnOld_stopsAfterTheLockWaitNamingIt(PostgresPair pair) throws Exception {
    String db = "cli_schema_locked";
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    sql(pair.oldServer(), db, "CREATE TABLE locked_by_migration (id int PRIMARY KEY)");
    try (Connection migration = pair.oldServer().connect(db); Statement s = migration.createStatement()) {
      migration.setAutoCommit(false);
      s.execute("ALTER TABLE locked_by_migration ADD COLUMN note text");

      Run r = run(with(new String[] {"schema", "--lock-wait", "1s"}, urls(pair, db)));

      assertThat(r.code()).as(r.err()).isEqualTo(8);
      assertThat(r.err()).contains("pg_dump could not lock a table on old within 1000 ms (--lock-wait)")
          .contains("locked_by_migration").contains("ACCESS EXCLUSIVE");
      migration.rollback();
    }
    try (Connection c = pair.newServer().connect(db); Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_class WHERE relname = 'locked_by_migration'")) {
      rs.next();
      assertThat(rs.getInt(1)).as("nothing applied on new").isZero();
    }
  }

  /**
   * Old's database is named like a libpq connection string: pg_dump read {@code --dbname=<name>} as
   * one, so it dumped the database the name points at — here new's server's, logged in with old's
   * password — and schema reported success. Now the name is passed quoted as {@code dbname='…'}.
   */
  @Test
  void schema_oldsDatabaseNamedLikeAConnectionString_copiesThatDatabaseNotTheOneItNames(PostgresPair pair) throws Exception {
    String named = "port=" + pair.newServer().port() + " dbname=cli_schema_redirect_src";
    pair.oldServer().createDatabase(named);
    try (Connection c = pair.oldServer().connect(java.net.URLEncoder.encode(named, java.nio.charset.StandardCharsets.UTF_8)
        .replace("+", "%20")); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE really_on_old (id int PRIMARY KEY)");
    }
    pair.newServer().createDatabase("cli_schema_redirect_src");
    sql(pair.newServer(), "cli_schema_redirect_src", "CREATE TABLE from_the_new_server (id int PRIMARY KEY)");
    String target = pair.newServer().createDatabase("cli_schema_redirect_dst");
    String oldUrl = pair.oldServer().jdbcUrl(java.net.URLEncoder.encode(named, java.nio.charset.StandardCharsets.UTF_8)
        .replace("+", "%20"));

    Run r = run("schema", "--old-url", oldUrl, "--new-url", pair.newServer().jdbcUrl(target),
        "--old-user", pair.oldServer().user(), "--new-user", pair.newServer().user());

    assertThat(r.code()).as(r.err()).isZero();
    try (Connection c = pair.newServer().connect(target); Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class"
            + " WHERE relname IN ('really_on_old', 'from_the_new_server')")) {
      rs.next();
      assertThat(rs.getString(1)).as("the tables new got").isEqualTo("really_on_old");
    }
  }

  /**
   * Keyless tables named with a space, a comma, a dot in the schema, upper case and {@code $(…)}:
   * start's remedy printed them raw, comma-joined ({@code --replica-identity-full=public.Key
   * less,…,public.a$(touch …),public.t,1,sch.x.t}), so pasted, the shell ran the {@code touch}, and
   * even quoted, the option split {@code public.t,1} and {@code sch.x.t} wrongly and start refused
   * again. Now the remedy is one shell word of quoted SQL names, and the option reads them.
   */
  @Test
  void start_keylessTablesWithHostileNames_pastedRemedyRunsNothingAndCoversEach(PostgresPair pair) throws Exception {
    String db = "cli_keyless_names";
    java.nio.file.Path marker = java.nio.file.Path.of("/tmp/cutover-r26-" + ProcessHandle.current().pid());
    java.nio.file.Files.deleteIfExists(marker);
    String schema = "CREATE TABLE \"Key less\" (v int); CREATE TABLE \"Orders\" (v int); CREATE TABLE \"a$(touch " + marker + ")\" (v int);"
        + " CREATE TABLE \"t,1\" (v int); CREATE SCHEMA \"sch.x\"; CREATE TABLE \"sch.x\".t (v int)";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, schema);
    }
    String[] u = urls(pair, db);
    Run refused = run(with(new String[] {"start"}, u));
    assertThat(refused.code()).as(refused.err()).isEqualTo(5);
    String lead = "(all) or `";
    int at = refused.err().indexOf(lead);
    assertThat(at).as(refused.err()).isPositive();
    String remedy = refused.err().substring(at + lead.length(), refused.err().indexOf('`', at + lead.length()));

    List<String> words = dev.cutover.testkit.ShellLine.words(remedy);

    assertThat(marker).as("the pasted remedy ran nothing").doesNotExist();
    assertThat(words).as(remedy).singleElement().asString().startsWith("--replica-identity-full=");
    Run start = run(with(new String[] {"start", words.get(0)}, u));
    assertThat(start.code()).as(start.err()).isZero();
    try (Connection c = pair.oldServer().connect(db); Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT string_agg(relreplident::text, '' ORDER BY oid) FROM pg_class"
            + " WHERE relkind = 'r' AND relnamespace IN ('public'::regnamespace, '\"sch.x\"'::regnamespace)")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("fffff");
    }
  }

  /** The printed commands pass such a name quoted too, and old's and new's TLS settings, shell-quoted. */
  @Test
  void schema_manualCommand_quotesConnectionStringNamesAndCarriesTls() {
    dev.cutover.replicator.Endpoint old = dev.cutover.replicator.Endpoint.of(dev.cutover.replicator.Side.OLD,
        "jdbc:postgresql://db.old:5432/host%3Devil%20dbname%3Dx?sslmode=verify-full&sslrootcert=/etc/ssl/old%20ca.pem", "app", null);
    dev.cutover.replicator.Endpoint nw = dev.cutover.replicator.Endpoint.of(dev.cutover.replicator.Side.NEW,
        "postgres://admin@db.new:5433/it's?sslmode=require", null, null);
    String command = dev.cutover.replicator.schema.SchemaCopy.manualCommand(old, nw,
        new dev.cutover.replicator.schema.SchemaCopy.Options(null, false, false, java.time.Duration.ofSeconds(30)));
    assertThat(command)
        .contains("PGSSLMODE=verify-full PGSSLROOTCERT='/etc/ssl/old ca.pem' PGPASSWORD=\"$CUTOVER_REPLICATOR_OLD_PASSWORD\" pg_dump ")
        .contains(" '--dbname=dbname='\\''host=evil dbname=x'\\'''")
        .contains("PGSSLMODE=require PGPASSWORD=\"$CUTOVER_REPLICATOR_NEW_PASSWORD\" psql ")
        .contains(" '--dbname=it'\\''s'");
  }

  @Test
  void commands_endToEnd_startStatusVerifySequencesCleanup(PostgresPair pair) throws Exception {
    String db = "cli_flow";
    String schema = "CREATE TABLE account (id bigserial PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL);"
        + " CREATE INDEX account_name ON account (name);"
        + " CREATE TABLE note (body text NOT NULL)";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, schema);
    }
    sql(pair.oldServer(), db, "INSERT INTO account (name, balance) SELECT 'a' || g, g FROM generate_series(1, 5000) g;"
        + " INSERT INTO note SELECT 'n' || g FROM generate_series(1, 10) g");
    String[] u = urls(pair, db);

    Run check = run(with(new String[] {"check", "--json"}, u));
    assertThat(check.code()).isEqualTo(6);
    assertThat(check.out()).startsWith("{").contains("\"code\":\"table-without-key\"").contains("REPLICA IDENTITY FULL");

    Run refused = run(with(new String[] {"start", "--jobs", "2"}, u));
    assertThat(refused.code()).isEqualTo(5);
    assertThat(refused.err()).contains("public.note").contains("--replica-identity-full=public.note");

    Run start = run(with(new String[] {"start", "--jobs", "2", "--chunk-size", "64kB", "--replica-identity-full=public.note"}, u));
    assertThat(start.code()).as(start.err()).isZero();
    assertThat(start.out()).contains("replication old -> new started from slot cutover_fwd_cli_flow").contains("public.account")
        .contains("binary");
    assertThat(start.err()).contains("copying 5 table(s)").contains("copied public.account: 5,000 rows");

    assertThat(run(with(new String[] {"catch-up", "--timeout", "30s"}, u)).code()).isZero();
    // A session holding the barrier table: the marker's write waits, and catch-up names old rather
    // than blaming replication (it said "replication did not catch up").
    try (Connection holder = pair.oldServer().connect(db); Statement h = holder.createStatement()) {
      holder.setAutoCommit(false);
      h.execute("LOCK TABLE cutover.barrier IN ACCESS EXCLUSIVE MODE");
      Run held = run(with(new String[] {"catch-up", "--timeout", "2s"}, u));
      holder.rollback();
      assertThat(held.code()).as(held.err()).isEqualTo(8);
      assertThat(held.err()).contains("old: no answer within 2000 ms while catching up").doesNotContain("did not catch up");
    }
    Run status = run(with(new String[] {"status", "--watch", "--count", "2", "--interval", "300ms", "--heartbeat-interval", "100ms"}, u));
    assertThat(status.code()).isZero();
    assertThat(status.out()).contains("forward (old -> new):").contains("slot cutover_fwd_cli_flow: active").contains("by heartbeat");

    Run statusJson = run(with(new String[] {"status", "--json"}, u));
    assertThat(statusJson.out()).contains("\"name\":\"forward\"").contains("\"lagBytes\":");

    assertThat(run(with(new String[] {"verify"}, u)).out()).contains("no differences");
    sql(pair.newServer(), db, "UPDATE account SET balance = -1 WHERE id = 42");
    Run verify = run(with(new String[] {"verify"}, u));
    assertThat(verify.code()).isEqualTo(7);
    assertThat(verify.out()).contains("different: id=42");

    // A migration's ALTER SEQUENCE left open on new: the move ends on the server after the timeout, naming new.
    try (Connection holder = pair.newServer().connect(db); Statement h = holder.createStatement()) {
      holder.setAutoCommit(false);
      h.execute("ALTER SEQUENCE account_id_seq INCREMENT BY 1");
      Run held = run(with(new String[] {"sequences", "--margin", "10", "--network-timeout", "1s"}, u));
      holder.rollback();
      assertThat(held.code()).as(held.err()).isEqualTo(8);
      assertThat(held.err()).contains("new: a sequence stayed locked by another session for 1000 ms")
          .contains("run sequences again");
    }
    Run sequences = run(with(new String[] {"sequences", "--margin", "10"}, u));
    assertThat(sequences.code()).isZero();
    assertThat(sequences.out()).contains("1 of 1 sequence(s) on new moved past old + 10 increments");

    Run cleanup = run(with(new String[] {"cleanup"}, u));
    assertThat(cleanup.code()).isZero();
    assertThat(cleanup.out()).contains("old: removed publication cutover_fwd").contains("new: removed subscription cutover_fwd")
        .contains("old: removed replication slot cutover_fwd_cli_flow");
    assertThat(run(with(new String[] {"cleanup"}, u)).out()).contains("nothing of ours");
  }

  @Test
  void startAndCheck_appRole_grantsTheControlPlaneToItAlone_andCheckNamesWhoLacksItAndWhoBypassesTheFence(
      PostgresPair pair) throws Exception {
    String db = "cli_app_role";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE TABLE account (id bigserial PRIMARY KEY, name text NOT NULL)");
      for (String role : List.of("cli_app", "cli_reporting")) {
        sql(s, db, "DO $$ BEGIN CREATE ROLE " + role + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      }
      if (s.majorVersion() >= 15) {
        sql(s, db, "DO $$ BEGIN CREATE ROLE cli_setter LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
            + " GRANT SET ON PARAMETER session_replication_role TO cli_setter");
      }
    }
    String[] u = urls(pair, db);

    Run before = run(with(new String[] {"check", "--json", "--app-role", "cli_app", "--app-role", "cli_ghost"}, u));
    assertThat(before.code()).isEqualTo(6);
    assertThat(before.out()).contains("\"code\":\"app-role-missing\"").contains("role cli_ghost named by --app-role")
        .contains("start will grant the control plane to cli_app only");

    Run start = run(with(new String[] {"start", "--no-progress", "--app-role", "cli_app"}, u));
    assertThat(start.code()).as(start.err()).isZero();
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = s.connect(db); Statement st = c.createStatement();
          var rs = st.executeQuery("SELECT has_function_privilege('cli_app', 'cutover.write_barrier(text, text)', 'EXECUTE'),"
              + " has_function_privilege('cli_reporting', 'cutover.write_barrier(text, text)', 'EXECUTE')")) {
        rs.next();
        assertThat(List.of(rs.getBoolean(1), rs.getBoolean(2))).containsExactly(true, false);
      }
    }
    sql(pair.oldServer(), db, "GRANT EXECUTE ON FUNCTION cutover.lower_fence() TO PUBLIC"); // as a version-1 install left it
    // Left from a bulk load: these roles' sessions start in replica mode, where the fence does not fire.
    sql(pair.oldServer(), db, "ALTER ROLE cli_app IN DATABASE " + db + " SET session_replication_role = replica");
    sql(pair.newServer(), db, "ALTER ROLE cli_reporting IN DATABASE " + db + " SET session_replication_role = replica");
    // An XA transaction manager's transaction between its two phases.
    sql(pair.oldServer(), db, "BEGIN; INSERT INTO account (name) VALUES ('xa'); PREPARE TRANSACTION 'cli-xa-1'");

    Run after = run(with(new String[] {"check", "--app-role", "cli_app"}, u));
    sql(pair.oldServer(), db, "ROLLBACK PREPARED 'cli-xa-1'");
    assertThat(after.out())
        .containsPattern("INFO +old +roles that may use the control plane on old: .*cli_app")
        .containsPattern("INFO +new +roles that can connect to new but may not use the control plane .*cli_reporting")
        .containsPattern("WARNING old +1 function\\(s\\) of the control schema are executable by every role \\(PUBLIC\\):"
            + " cutover.lower_fence\\(\\)\n")
        .containsPattern("INFO +old +superusers can write past the fence on old .*" + pair.oldServer().user())
        .doesNotContain("app-role-not-granted").doesNotContain("cli_app (--app-role) may not use")
        .containsPattern("ERROR +old +sessions of role cli_app in this database start with session_replication_role = replica:"
            + " the fence does not fire for them")
        .contains("ALTER ROLE \"cli_app\" IN DATABASE \"" + db + "\" RESET session_replication_role")
        .containsPattern("WARNING new +sessions of role cli_reporting in this database start with session_replication_role ="
            + " replica: .*\\(if the application connects as cli_reporting\\)")
        .containsPattern("WARNING old +1 prepared transaction\\(s\\) in this database on old: 'cli-xa-1' of role "
            + pair.oldServer().user() + " since .*; a Cutover driver refuses to switch from old while any is there");
    if (pair.newServer().majorVersion() >= 15) {
      assertThat(after.out()).containsPattern("WARNING new +roles granted SET on session_replication_role on new skip"
          + " the fence and every trigger: cli_setter").contains("REVOKE SET ON PARAMETER session_replication_role FROM \"cli_setter\"");
    }
    sql(pair.oldServer(), db, "REVOKE EXECUTE ON FUNCTION cutover.lower_fence() FROM PUBLIC");
    assertThat(run(with(new String[] {"cleanup"}, u)).code()).isZero();
  }

  /**
   * Cleanup while the application still connects through a jdbc:cutover: URL: once the control
   * schema is gone, nothing fences old nor records that the service left it, and an instance started
   * later with the same configuration wrote on old (found by review: split brain after cleanup). It
   * refuses (exit 5, nothing removed) while an instance heartbeats on either side, naming it and the
   * remedy; a router that closes leaves the schema, and cleanup then goes ahead; {@code
   * --instances-gone} goes ahead past one still listed.
   */
  @Test
  void cleanup_driverInstanceStillHeartbeats_refusedNamingItUnlessInstancesGone(PostgresPair pair) throws Exception {
    String db = "cli_cleanup_live";
    String service = "cleanup-live";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE TABLE item (id bigserial PRIMARY KEY)");
    }
    String[] u = urls(pair, db);
    dev.cutover.flags.ManualFlag.named(service).set(dev.cutover.flags.Target.OLD);
    try {
      for (int round = 0; round < 2; round++) {
        for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
          try (Connection c = s.connect(db)) {
            dev.cutover.driver.control.ControlSchema.install(c);
          }
        }
        try (Connection app = appConnection(pair, db, service, "web-" + round)) {
          Run refused = run(with(new String[] {"cleanup"}, u));

          assertThat(refused.code()).as(refused.out() + refused.err()).isEqualTo(5);
          assertThat(refused.err()).contains("1 Cutover driver instance(s) heartbeat in the control schema")
              .containsPattern("instance web-" + round + "#[0-9a-f]+ of service " + service + " on old \\(\\d+ s ago\\)")
              .contains("plain jdbc:postgresql: URL").contains("redeploy").contains("--instances-gone")
              .contains("nothing was removed");
          for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
            try (Connection c = s.connect(db)) {
              assertThat(dev.cutover.driver.control.ControlSchema.installedVersion(c)).as("control schema kept").isPresent();
            }
          }
          if (round == 1) {
            Run gone = run(with(new String[] {"cleanup", "--instances-gone"}, u));
            assertThat(gone.code()).as(gone.err()).isZero();
            assertThat(gone.out()).contains("old: removed schema cutover").contains("new: removed schema cutover");
          }
        }
        dev.cutover.driver.CutoverDriver.shutdown(service);
        if (round == 0) {
          Run left = run(with(new String[] {"cleanup"}, u));
          assertThat(left.code()).as("the router left the control schema as it closed: " + left.err()).isZero();
          assertThat(left.out()).contains("old: removed schema cutover");
        }
      }
    } finally {
      dev.cutover.driver.CutoverDriver.shutdown(service);
    }
  }

  /**
   * An instance that started while new refused connections (new restarted for an upgrade) serves
   * old and heartbeats there from its start: switch-status lists it, and cleanup refuses while it
   * runs. Before, it never beat: switch-status did not show it, and cleanup removed old's fence and
   * control schema under it, after which its writes committed on the abandoned old (found by
   * review, r29).
   */
  @Test
  void switchStatusAndCleanup_instanceStartedWhileNewRefused_listedAndCleanupRefused(PostgresPair pair) throws Exception {
    String db = "cli_cleanup_late_new";
    String service = "cleanup-late-new";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE TABLE item (id bigserial PRIMARY KEY)");
      try (Connection c = s.connect(db)) {
        dev.cutover.driver.control.ControlSchema.install(c);
      }
    }
    String[] u = urls(pair, db);
    dev.cutover.flags.ManualFlag.named(service).set(dev.cutover.flags.Target.OLD);
    try (dev.cutover.testkit.TcpProxy proxy = dev.cutover.testkit.TcpProxy.in(pair.newServer())) {
      proxy.refuse(true);
      try (Connection app = appConnection(pair, db, service, "late", proxy.redirect(pair.newServer().jdbcUrl(db)))) {
        Run status = run(with(new String[] {"switch-status", "--service", service}, u));
        assertThat(status.code()).as(status.err()).isZero();
        assertThat(status.out()).contains("1 live instance(s)").containsPattern("late#[0-9a-f]+ +old ");

        Run refused = run(with(new String[] {"cleanup"}, u));
        assertThat(refused.code()).as(refused.out() + refused.err()).isEqualTo(5);
        assertThat(refused.err()).containsPattern("instance late#[0-9a-f]+ of service " + service + " on old")
            .contains("nothing was removed");
      }
    } finally {
      dev.cutover.driver.CutoverDriver.shutdown(service);
    }
  }

  /**
   * A table old has and new lacks is a difference whatever its rows: verify printed
   * {@code table-missing-on-target: *} and then "no differences", exit 0, when the table was empty
   * (found by review, r15), and exit 7 only once it held rows.
   */
  @Test
  void verify_emptyTableMissingOnNew_isADifference(PostgresPair pair) throws Exception {
    String db = "cli_verify_missing";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE TABLE item (id int PRIMARY KEY); INSERT INTO item VALUES (1)");
    }
    sql(pair.oldServer(), db, "CREATE TABLE t (id int PRIMARY KEY)");

    Run verify = run(with(new String[] {"verify"}, urls(pair, db)));

    assertThat(verify.out()).contains("table-missing-on-target").doesNotContain("no differences");
    assertThat(verify.code()).as(verify.out() + verify.err()).isEqualTo(7);
  }

  /**
   * A column old has and new lacks (added on old with {@code SET cutover.ddl_capture = off}, or on a
   * 9.6 source, where schema changes are not captured) holds data new would not have: verify
   * compared the columns both sides have and said {@code public.acct ... same}, "no differences",
   * exit 0 (r24). A column only the target has is listed and not counted: nothing of the source's
   * is missing.
   */
  @Test
  void verify_columnOnOneSideOnly_missingOnTargetIsADifferenceExtraIsListed(PostgresPair pair) throws Exception {
    String db = "cli_verify_columns";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE TABLE acct (id int PRIMARY KEY, name text); INSERT INTO acct VALUES (1, 'a'), (2, 'b');"
          + " CREATE TABLE item (id int PRIMARY KEY); INSERT INTO item VALUES (1)");
    }
    sql(pair.oldServer(), db, "ALTER TABLE acct ADD COLUMN extra text DEFAULT 'x'; UPDATE acct SET extra = 'important' WHERE id = 1");
    sql(pair.newServer(), db, "ALTER TABLE item ADD COLUMN note text");

    Run verify = run(with(new String[] {"verify"}, urls(pair, db)));
    assertThat(verify.code()).as(verify.out() + verify.err()).isEqualTo(7);
    assertThat(verify.out()).doesNotContain("no differences").contains("column-missing-on-target: extra").contains("column-extra-on-target: note");
    assertThat(verify.out().lines().filter(l -> l.startsWith("public.acct"))).singleElement().asString().doesNotEndWith("same");
    Run json = run(with(new String[] {"verify", "--json"}, urls(pair, db)));
    assertThat(json.code()).isEqualTo(7);
    JsonNode report = new ObjectMapper().readTree(json.out());
    for (JsonNode t : report.get("tables")) {
      String table = t.get("table").asText();
      assertThat(t.get("differenceCount").asLong()).as(table).isEqualTo(table.equals("public.acct") ? 1 : 0);
      assertThat(t.get("differences").toString()).as(table).isEqualTo(table.equals("public.acct")
          ? "[{\"key\":\"extra\",\"kind\":\"column-missing-on-target\"}]" : "[]");
      assertThat(t.get("columnsMissingOnTarget").toString()).as(table).isEqualTo(table.equals("public.acct") ? "[\"extra\"]" : "[]");
      assertThat(t.get("columnsExtraOnTarget").toString()).as(table).isEqualTo(table.equals("public.item") ? "[\"note\"]" : "[]");
    }

    // Only a column the target has alone: listed, exit 0.
    sql(pair.oldServer(), db, "ALTER TABLE acct DROP COLUMN extra");
    Run extraOnly = run(with(new String[] {"verify"}, urls(pair, db)));
    assertThat(extraOnly.code()).as(extraOnly.out() + extraOnly.err()).isZero();
    assertThat(extraOnly.out()).contains("no differences").contains("column-extra-on-target: note");
  }

  /**
   * After the switch the way back's source is new, and old is fenced: status --watch and heartbeat
   * beat on old, whose row nothing carries (r22), so status said "no heartbeat on new" while
   * --watch ran, and heartbeat said "beat(s) written on old", exit 0. Now both beat on the source of
   * each armed direction by default.
   */
  @Test
  void statusWatchAndHeartbeat_afterTheSwitch_beatOnTheWayBacksSource(PostgresPair pair) throws Exception {
    String db = "cli_way_back_beat";
    String[] u = servingNewWithTheWayBackArmed(pair, db, "beat-pair");

    Run status = run(with(new String[] {"status", "--watch", "--count", "3", "--interval", "500ms", "--heartbeat-interval", "100ms"}, u));
    assertThat(status.code()).as(status.err()).isZero();
    String last = status.out().substring(status.out().lastIndexOf("reverse (new -> old):"));
    assertThat(last).as(status.out()).doesNotContain("no heartbeat on new");
    try (Connection n = pair.newServer().connect(db)) {
      assertThat(dev.cutover.replicator.replication.Heartbeat.read(n, dev.cutover.replicator.Side.NEW)).isPresent();
    }

    Run heartbeat = run(with(new String[] {"heartbeat", "--interval", "100ms", "--duration", "500ms"}, u));
    assertThat(heartbeat.code()).as(heartbeat.err()).isZero();
    assertThat(heartbeat.out()).contains("beat(s) written on new").doesNotContain("on old");
  }

  /**
   * The way back's subscription dropped by hand on old (as status's remedy for a lost slot tells the
   * operator to): status went on printing "subscription: disabled, apply worker not running" and
   * "tables: 0 of 0 ready" for the way back, though no subscription existed (v1, r22). Now it says the
   * subscription is missing, and the problem given is the one for a slot without its subscription.
   */
  @Test
  void status_wayBacksSubscriptionDroppedByHand_saysItIsMissingNotDisabled(PostgresPair pair) throws Exception {
    String db = "cli_way_back_dropped";
    String[] u = servingNewWithTheWayBackArmed(pair, db, "dropped-pair");
    String sub = "cutover_rev_" + db;
    sql(pair.oldServer(), db, "ALTER SUBSCRIPTION " + sub + " DISABLE; ALTER SUBSCRIPTION " + sub + " SET (slot_name = NONE);"
        + " DROP SUBSCRIPTION " + sub);

    Run status = run(with(new String[] {"status"}, u));
    assertThat(status.code()).as(status.err()).isZero();
    String way = status.out().substring(status.out().indexOf("reverse (new -> old):"));
    assertThat(way).as(status.out()).contains("subscription: missing on old").doesNotContain("disabled")
        .doesNotContain("tables: 0 of 0").contains("run `cutover-replicator reverse`");
    Run json = run(with(new String[] {"status", "--json"}, u));
    assertThat(json.out()).contains("\"subscriptionExists\":false");
  }

  /**
   * {@code start --capture triggers --resume} where no trigger start left capture on old (it undid
   * itself, or never began): trigger capture's start keeps no slot and cannot be resumed, and start
   * says so; it said "there is no start to resume: old has no replication slot cutover_fwd_…".
   */
  @Test
  void start_resumeWithTriggerCapture_saysItsCopyStartsOverNamingNoSlot(PostgresPair pair) throws Exception {
    String db = "cli_resume_triggers";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE TABLE item (id int PRIMARY KEY)");
    }

    Run resumed = run(with(new String[] {"start", "--capture", "triggers", "--resume", "--no-progress"}, urls(pair, db)));

    assertThat(resumed.code()).as(resumed.out() + resumed.err()).isEqualTo(5);
    assertThat(resumed.err()).contains("a start with --capture triggers cannot be resumed: its copy starts over")
        .contains("`cutover-replicator start --capture triggers` without --resume")
        .doesNotContainIgnoringCase("slot").doesNotContainIgnoringCase("subscription");
  }

  /**
   * r26: two databases whose names differ only in characters the label replaces ({@code заказы} and
   * {@code клиент} both label {@code ______}). With the first started, start for the second said old
   * already had the slot "from an earlier start" and to run cleanup, which (in the second database)
   * found nothing of its own, and start said the same again. The slot is the other database's: start
   * now says so and asks for another --name, as check does; with one, it starts.
   */
  @Test
  void start_slotOfAnotherDatabaseWithTheSameLabel_namesTheDatabaseAndAsksForName(PostgresPair pair) throws Exception {
    String a = "cli_заказы";
    String b = "cli_клиент";
    for (String db : List.of(a, b)) {
      for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
        s.createDatabase(db);
        sql(s, db, "CREATE TABLE item (id bigint PRIMARY KEY)");
      }
    }
    Run first = run(with(new String[] {"start", "--no-progress"}, encodedUrls(pair, a)));
    assertThat(first.code()).as(first.out() + first.err()).isZero();

    Run second = run(with(new String[] {"start", "--no-progress"}, encodedUrls(pair, b)));

    assertThat(second.code()).as(second.out() + second.err()).isEqualTo(5);
    assertThat(second.err()).contains("old already has replication slot cutover_fwd_cli_______, which belongs to database " + a
        + " on old's server, not to " + b).contains("choose another --name").doesNotContain("from an earlier start")
        .doesNotContain("cleanup");
    Run named = run(with(new String[] {"start", "--no-progress", "--name", "klient"}, encodedUrls(pair, b)));
    assertThat(named.code()).as(named.out() + named.err()).isZero();
    for (String[] db : new String[][] {{a, "cli_______"}, {b, "klient"}}) {
      Run cleanup = run(with(new String[] {"cleanup", "--name", db[1]}, encodedUrls(pair, db[0])));
      assertThat(cleanup.code()).as(cleanup.out() + cleanup.err()).isZero();
    }
  }

  /** {@link #urls} with the database name percent-encoded, as a URL carries a name outside ASCII. */
  static String[] encodedUrls(PostgresPair pair, String db) {
    String encoded = java.net.URLEncoder.encode(db, java.nio.charset.StandardCharsets.UTF_8);
    return new String[] {"--old-url", pair.oldServer().jdbcUrl(encoded), "--new-url", pair.newServer().jdbcUrl(encoded),
        "--old-user", pair.oldServer().user(), "--new-user", pair.newServer().user()};
  }

  /**
   * Cleanup given a --new-url that is not this migration's new (found by review, r15: new's server,
   * its {@code postgres} database): the live-instance refusal looked only where the URLs point, found
   * none, and cleanup removed the way back (old's subscription), old's fence and its control schema,
   * exit 0, while the application served from new; writes on old were accepted again and every
   * instance started afterwards was refused. Now the pair is checked first: old is fenced, so the
   * service serves from the other side, whose control schema the database given lacks; and old's way
   * back streams from a slot in another database. Refused, exit 5, nothing removed. With the right
   * URLs, and the instance gone, cleanup goes ahead.
   */
  @Test
  void cleanup_newUrlOfAnotherDatabaseWhileServingFromNew_refusedNothingRemoved(PostgresPair pair) throws Exception {
    String db = "cli_cleanup_pair";
    String[] u = servingNewWithTheWayBackArmed(pair, db, "cleanup-pair");
    sql(pair.newServer(), db, "SELECT * FROM cutover.heartbeat('cleanup-pair', 'web-1', 'new', 'new', 'idle', 5000)");
    assertThat(run(with(new String[] {"cleanup"}, u)).code()).as("the instance heartbeats on new").isEqualTo(5);

    String[] wrong = urls(pair, db);
    wrong[3] = pair.newServer().jdbcUrl("postgres");
    Run refused = run(with(new String[] {"cleanup"}, wrong));

    assertThat(refused.code()).as(refused.out() + refused.err()).isEqualTo(5);
    assertThat(refused.err()).contains("are not the two sides of this migration")
        .contains("old is fenced (switch " + "fence-1 of service cleanup-pair to new, draining): the application serves from new,"
            + " but the database given as new (postgres) has no Cutover control schema")
        .contains("old's subscription cutover_rev_" + db + " streams from slot cutover_rev_" + db + ", which is in database " + db
            + " of the server given as new, not in postgres")
        .contains("not this migration's new").contains("check --new-url").contains("nothing was removed");
    try (Connection o = pair.oldServer().connect(db)) {
      assertThat(dev.cutover.replicator.replication.ReplicationObjects.subscriptionExists(o, "cutover_rev_" + db))
          .as("the way back kept").isTrue();
      assertThat(dev.cutover.driver.control.OperatorControl.fenceRaised(o)).as("old still fenced").isTrue();
      assertThat(dev.cutover.driver.control.ControlSchema.installedVersion(o)).as("old's control schema kept").isPresent();
    }

    sql(pair.newServer(), db, "SELECT cutover.leave('cleanup-pair', 'web-1')");
    Run cleanup = run(with(new String[] {"cleanup"}, u));
    assertThat(cleanup.code()).as(cleanup.out() + cleanup.err()).isZero();
    assertThat(cleanup.out()).contains("old: removed subscription cutover_rev_" + db).contains("old: removed schema cutover")
        .contains("new: removed schema cutover");
  }

  /**
   * Cleanup of a migration whose label another one shares (review r33: one old database to two new
   * ones, labels that were cut to the same 40 characters): the second's new holds no control schema
   * and no subscription, so every check passed, and cleanup waited, terminated the walsender of the
   * first's subscription and dropped its live slot and publication, exit 0; the first migration was
   * broken. Now old's record names the first's new, so cleanup refuses, naming it; and told that
   * database is gone, a slot a process holds, with no subscription of this migration on the other
   * side streaming from it, still refuses, naming the slot, the process and the remedy; nothing removed.
   */
  @Test
  void cleanup_slotStreamingToAnotherMigrationWithTheSameLabel_refusedNothingRemoved(PostgresPair pair) throws Exception {
    String db = "cli_shared_label";
    String second = db + "_t2";
    Two two = twoWithOneLabel(pair, db);

    Run elsewhere = run(with(new String[] {"cleanup", "--name", "shared"}, two.second()));
    assertThat(elsewhere.code()).as(elsewhere.out() + elsewhere.err()).isEqualTo(5);
    assertThat(elsewhere.err()).contains("old's objects belong to the migration into " + db + "_t1");
    Run refused = run(with(new String[] {"cleanup", "--name", "shared", "--paired-database-gone"}, two.second()));

    assertThat(refused.code()).as(refused.out() + refused.err()).isEqualTo(5);
    assertThat(refused.err()).contains("old's replication slot cutover_fwd_shared is in use by process ")
        .contains("but new (database " + second + ") has no subscription cutover_fwd_shared streaming from it")
        .contains("SELECT * FROM pg_stat_activity WHERE pid = ").contains("check --old-url, --new-url and --name")
        .contains("nothing was removed");
    try (Connection o = pair.oldServer().connect(db)) {
      assertThat(dev.cutover.replicator.replication.ReplicationObjects.ownSlotExists(o, "cutover_fwd_shared")).as("slot kept").isTrue();
      assertThat(dev.cutover.replicator.replication.ReplicationObjects.publicationExists(o, "cutover_fwd_shared"))
          .as("publication kept").isTrue();
    }
    Run cleanup = run(with(new String[] {"cleanup", "--name", "shared"}, two.first()));
    assertThat(cleanup.code()).as(cleanup.out() + cleanup.err()).isZero();
    assertThat(cleanup.out()).contains("old: removed replication slot cutover_fwd_shared");
  }

  /** The URLs of two migrations of one old database into two new ones. */
  private record Two(String[] first, String[] second) {}

  /**
   * Migration "shared" of old's {@code db} (table item) into new's {@code db}_t1, started and its
   * slot streaming, and new's {@code db}_t2 made with the table for a second given the same label.
   */
  private static Two twoWithOneLabel(PostgresPair pair, String db) throws Exception {
    Two two = two(pair, db);
    try (Connection o = pair.oldServer().connect(db)) {
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> dev.cutover.replicator.sql.Sql.bool(o,
          "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cutover_fwd_shared' AND active)"));
    }
    return two;
  }

  /**
   * Migration "shared" of old's {@code db} (table item) into new's {@code db}_t1, started with
   * {@code startOptions}, and new's {@code db}_t2 made with the table for a second migration.
   */
  private static Two two(PostgresPair pair, String db, String... startOptions) throws Exception {
    pair.oldServer().createDatabase(db);
    sql(pair.oldServer(), db, "CREATE TABLE item (id bigint PRIMARY KEY)");
    String[][] u = new String[2][];
    for (int i = 0; i < 2; i++) {
      String target = db + "_t" + (i + 1);
      pair.newServer().createDatabase(target);
      sql(pair.newServer(), target, "CREATE TABLE item (id bigint PRIMARY KEY)");
      u[i] = urls(pair, db);
      u[i][3] = pair.newServer().jdbcUrl(target);
    }
    Run start = run(with(with(new String[] {"start", "--no-progress", "--name", "shared"}, startOptions), u[0]));
    assertThat(start.code()).as(start.out() + start.err()).isZero();
    return new Two(u[0], u[1]);
  }

  /**
   * A second migration pointed at the old database of a first with trigger capture (found by g78):
   * its new ({@code _t2}) records nothing, which MigrationPair accepted as new made again, so cleanup
   * with the second's URLs exited 0 and removed the first's capture triggers, change log and old's
   * control schema. Now old's record names the new it pairs with: cleanup refuses, under this label
   * or another (capture is per database), naming that database and the remedy, and removes nothing;
   * where that database is gone for good, {@code --paired-database-gone} says so.
   */
  @Test
  void cleanup_triggerCaptureOfAMigrationIntoAnotherDatabase_refusedNothingRemoved(PostgresPair pair) throws Exception {
    String db = "cli_capture_elsewhere";
    Two two = two(pair, db, "--capture", "triggers");

    Run refused = run(with(new String[] {"cleanup", "--name", "shared"}, two.second()));

    assertThat(refused.code()).as(refused.out() + refused.err()).isEqualTo(5);
    assertThat(refused.err()).contains("labelled shared into new database " + db + "_t1 of the server with system identifier ")
        .contains("but new as given is database " + db + "_t2 of the server with system identifier ")
        .contains("old's objects belong to the migration into " + db + "_t1")
        .contains("run cleanup with that migration's --new-url (database " + db + "_t1")
        .contains("`cutover-replicator cleanup --paired-database-gone`").contains("cleanup changed nothing")
        .doesNotContain(pair.newServer().jdbcUrl(db + "_t1"));
    Run otherLabel = run(with(new String[] {"cleanup", "--name", "other"}, two.second()));
    assertThat(otherLabel.code()).as(otherLabel.out() + otherLabel.err()).isEqualTo(5);
    assertThat(otherLabel.err()).contains("old carries the trigger capture of another migration (migration ")
        .contains("labelled shared into database " + db + "_t1").contains("never run cleanup with these URLs")
        .contains("cleanup changed nothing");
    try (Connection o = pair.oldServer().connect(db)) {
      assertThat(dev.cutover.replicator.capture.CaptureSchema.installed(o)).as("the first migration's capture kept").isTrue();
      assertThat(dev.cutover.driver.control.ControlSchema.installedVersion(o)).as("old's control schema kept").isPresent();
    }

    sql(pair.newServer(), "postgres", "DROP DATABASE \"" + db + "_t1\"");
    Run gone = run(with(new String[] {"cleanup", "--name", "shared", "--paired-database-gone"}, two.second()));
    assertThat(gone.code()).as(gone.out() + gone.err()).isZero();
    assertThat(gone.out()).contains("old: removed schema cutover");
  }

  /**
   * The same new database, dropped and made again empty under its name (same server), records
   * nothing, and is still accepted as the migration's new: cleanup removes old's capture.
   */
  @Test
  void cleanup_triggerCaptureWithNewMadeAgainInPlace_accepted(PostgresPair pair) throws Exception {
    String db = "cli_capture_again";
    String[] first = two(pair, db, "--capture", "triggers").first();
    sql(pair.newServer(), "postgres", "DROP DATABASE \"" + db + "_t1\"");
    pair.newServer().createDatabase(db + "_t1");

    Run cleanup = run(with(new String[] {"cleanup", "--name", "shared"}, first));

    assertThat(cleanup.code()).as(cleanup.out() + cleanup.err()).isZero();
    assertThat(cleanup.out()).contains("old: removed schema cutover");
  }

  /**
   * check against the old database of a migration with trigger capture and another new (g78): a
   * warning, "trigger capture of an earlier run is installed", with the advice to run cleanup, which
   * removed that migration's capture. Now an error naming the migration and its new database, whose
   * remedy never recommends cleanup with these URLs.
   */
  @Test
  void check_triggerCaptureOfAMigrationIntoAnotherDatabase_errorNamingIt(PostgresPair pair) throws Exception {
    String db = "cli_capture_check";
    String[] other = two(pair, db, "--capture", "triggers").second();

    Run check = run(with(new String[] {"check", "--capture", "triggers", "--name", "other"}, other));

    assertThat(check.code()).as(check.out() + check.err()).isEqualTo(6);
    assertThat(check.out()).containsPattern("ERROR +old +old carries the trigger capture of another migration \\(migration"
        + " [0-9a-f]+ labelled shared into database " + db + "_t1 of the server with system identifier [0-9]+, cutover.migration_pair\\),"
        + " not one into the database given as new: one database carries one trigger-capture migration at a time")
        .contains("finish or clean up that migration with its own --old-url and --new-url")
        .contains("never run cleanup with these URLs").doesNotContain("trigger capture of an earlier run");
  }

  /**
   * start of that second migration refused (exit 5) with "old already has trigger capture from an
   * earlier start; ... or run `cutover-replicator cleanup` to start over" (g78), advice that removed
   * the first's capture. Now it names the migration the capture belongs to and never that advice.
   */
  @Test
  void start_triggerCaptureOfAMigrationIntoAnotherDatabase_refusedNamingIt(PostgresPair pair) throws Exception {
    String db = "cli_capture_start";
    String[] other = two(pair, db, "--capture", "triggers").second();

    Run start = run(with(new String[] {"start", "--no-progress", "--capture", "triggers", "--name", "other"}, other));

    assertThat(start.code()).as(start.out() + start.err()).isEqualTo(5);
    assertThat(start.err()).contains("old carries the trigger capture of another migration (migration ")
        .contains("labelled shared into database " + db + "_t1").contains("never run cleanup with these URLs")
        .contains("start changed nothing").doesNotContain("to start over");
  }

  /**
   * A second migration of one old database given the label of a first that streams from it (review
   * r33): check called the first's live slot and publication "objects of an earlier run" and
   * recommended cleanup, which would drop them. Now it is an error naming the slot, the process
   * that streams from it and the remedy, another --name.
   */
  @Test
  void check_sameLabelAsAMigrationStreamingFromOld_errorNamingTheSlotAndTheRemedy(PostgresPair pair) throws Exception {
    String db = "cli_label_check";
    String second = db + "_t2";
    String[] other = twoWithOneLabel(pair, db).second();

    Run check = run(with(new String[] {"check", "--name", "shared"}, other));

    assertThat(check.code()).as(check.out() + check.err()).isEqualTo(6);
    assertThat(check.out()).containsPattern("ERROR +old +replication slot cutover_fwd_shared \\(and publication cutover_fwd_shared\\)"
        + " is streaming to another migration: process [0-9]+ holds it \\(pg_replication_slots.active_pid\\), and new \\(database "
        + second + "\\) has no subscription cutover_fwd_shared streaming from it")
        .contains("give this migration another --name; never run cleanup with --name shared")
        .doesNotContainPattern("WARNING +old +objects of an earlier run");
  }

  /**
   * The same second migration's start (review r33) failed in its subscription probe with `schema
   * "cutover" does not exist`, which named neither the cause nor the remedy. Now it refuses with
   * check's error before it makes anything on new.
   */
  @Test
  void start_sameLabelAsAMigrationStreamingFromOld_refusedBeforeAnythingIsMade(PostgresPair pair) throws Exception {
    String db = "cli_label_start";
    String second = db + "_t2";
    String[] other = twoWithOneLabel(pair, db).second();

    Run start = run(with(new String[] {"start", "--no-progress", "--name", "shared"}, other));

    assertThat(start.code()).as(start.out() + start.err()).isEqualTo(5);
    assertThat(start.err()).containsPattern("old: replication slot cutover_fwd_shared \\(and publication cutover_fwd_shared\\)"
        + " is streaming to another migration: process [0-9]+ holds it")
        .contains("(start changed nothing)").contains("give this migration another --name; never run cleanup with --name shared")
        .doesNotContain("schema \"cutover\" does not exist");
    try (Connection n = pair.newServer().connect(second)) {
      assertThat(dev.cutover.replicator.sql.Sql.bool(n, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'cutover')"))
          .as("no control schema on new").isFalse();
      assertThat(dev.cutover.replicator.sql.Sql.bool(n, "SELECT EXISTS (SELECT 1 FROM pg_subscription"
          + " WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))")).as("no subscription").isFalse();
    }
    try (Connection o = pair.oldServer().connect(db)) {
      assertThat(dev.cutover.replicator.sql.Sql.bool(o,
          "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cutover_fwd_shared' AND active)"))
          .as("the first migration's slot still streams").isTrue();
    }
  }

  /**
   * With trigger capture, before any switch, cleanup had nothing but the fence to tell a pair by: two
   * migrations (old a -> new a, old b -> new b, the news on one server) and --new-url pointing at new b
   * passed every check, and cleanup removed old a's capture and new b's control schema (the other
   * migration's), exit 0. Start now records one migration id on both sides; cleanup compares them
   * first. Refused, exit 5, nothing removed on either; so are reverse and sync-large-objects; with
   * the right URLs cleanup goes ahead.
   */
  @Test
  void cleanup_triggerCaptureNewUrlOfAnotherMigration_refusedNothingRemoved(PostgresPair pair) throws Exception {
    String a = "cli_pairid_a";
    String b = "cli_pairid_b";
    for (String db : List.of(a, b)) {
      for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
        s.createDatabase(db);
        sql(s, db, "CREATE TABLE item (id bigserial PRIMARY KEY)");
      }
      Run start = run(with(new String[] {"start", "--capture", "triggers", "--no-progress"}, urls(pair, db)));
      assertThat(start.code()).as(start.err()).isZero();
    }
    String[] wrong = urls(pair, a);
    wrong[3] = pair.newServer().jdbcUrl(b);

    Run refused = run(with(new String[] {"cleanup"}, wrong));

    assertThat(refused.code()).as(refused.out() + refused.err()).isEqualTo(5);
    assertThat(refused.err()).contains("old (database " + a + ") and new (database " + b + ") as given are not the two sides of"
        + " one migration").contains("new records no migration labelled " + a + " as new, only ")
        .contains("check --old-url, --new-url and --name").contains("cleanup changed nothing");
    try (Connection o = pair.oldServer().connect(a); Connection n = pair.newServer().connect(b)) {
      assertThat(dev.cutover.replicator.capture.CaptureSchema.installed(o)).as("old a's capture kept").isTrue();
      assertThat(dev.cutover.driver.control.ControlSchema.installedVersion(n)).as("new b's control schema kept").isPresent();
      assertThat(dev.cutover.driver.control.ControlSchema.installedVersion(o)).as("old a's control schema kept").isPresent();
    }

    for (String command : List.of("reverse", "sync-large-objects")) {
      Run other = run(with(new String[] {command}, wrong));
      assertThat(other.code()).as(command + ": " + other.out() + other.err()).isEqualTo(5);
      assertThat(other.err()).contains("are not the two sides of one migration").contains(command + " changed nothing");
    }
    try (Connection n = pair.newServer().connect(b)) {
      assertThat(dev.cutover.replicator.capture.CaptureSchema.installed(n)).as("reverse armed no capture on new b").isFalse();
    }

    for (String db : List.of(a, b)) {
      Run cleanup = run(with(new String[] {"cleanup"}, urls(pair, db)));
      assertThat(cleanup.code()).as(cleanup.out() + cleanup.err()).isZero();
      assertThat(cleanup.out()).contains("old: removed schema cutover").contains("new: removed schema cutover");
    }
  }

  /**
   * r25: with two trigger-capture migrations on one server pair (a and b), apply given old b and new
   * a applied b's change log into a's new, trimmed b's log (b's own apply then refused for good) and
   * a's own apply skipped a's changes made meanwhile; adopt replaced a's new rows with b's. Every
   * command that writes from one side into the other, or reports on the pair, now refuses first,
   * naming both databases, with nothing written or trimmed; the right pair then applies b's change.
   */
  @Test
  void apply_triggerCaptureOldOfAnotherMigration_refusedNothingWrittenOrTrimmed(PostgresPair pair) throws Exception {
    String a = "cli_crossed_a";
    String b = "cli_crossed_b";
    for (String db : List.of(a, b)) {
      for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
        s.createDatabase(db);
        sql(s, db, "CREATE TABLE item (id int PRIMARY KEY, who text)");
      }
      Run start = run(with(new String[] {"start", "--capture", "triggers", "--no-progress"}, urls(pair, db)));
      assertThat(start.code()).as(start.err()).isZero();
    }
    sql(pair.newServer(), a, "INSERT INTO item VALUES (1, 'a')");
    sql(pair.oldServer(), b, "INSERT INTO item VALUES (2, 'b')");
    String[] crossed = urls(pair, b);
    crossed[3] = pair.newServer().jdbcUrl(a);
    String positionBefore = position(pair, a);
    String trimmedBefore = trimmedTo(pair, b);

    for (String[] command : List.of(new String[] {"apply", "--duration", "10s"}, new String[] {"adopt", "public.item"},
        new String[] {"catch-up", "--timeout", "10s"}, new String[] {"sequences"}, new String[] {"refresh"}, new String[] {"verify"},
        new String[] {"status"})) {
      Run refused = run(with(command, crossed));
      assertThat(refused.code()).as(command[0] + ": " + refused.out() + refused.err()).isEqualTo(5);
      assertThat(refused.err()).as(command[0]).contains("old (database " + b + ") and new (database " + a + ") as given are not the"
          + " two sides of one migration").contains("new records no migration labelled " + b + " as new, only ")
          .contains("check --old-url, --new-url and --name").contains(command[0] + " changed nothing")
          .doesNotContain("failover").doesNotContain("restore");
    }
    try (Connection n = pair.newServer().connect(a); Statement s = n.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT string_agg(id || ':' || who, ',' ORDER BY id) FROM item")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).as("new a's rows untouched").isEqualTo("1:a");
    }
    // Each applier checks again at each connection (a URL may lead elsewhere after a reconnect), not only the process's first look.
    dev.cutover.replicator.apply.Way way = dev.cutover.replicator.apply.Way.forward(
        dev.cutover.replicator.Endpoint.of(dev.cutover.replicator.Side.OLD, pair.oldServer().jdbcUrl(b), pair.oldServer().user(),
            pair.oldServer().password()),
        dev.cutover.replicator.Endpoint.of(dev.cutover.replicator.Side.NEW, pair.newServer().jdbcUrl(a), pair.newServer().user(),
            pair.newServer().password()));
    try (dev.cutover.replicator.apply.Applier applier = dev.cutover.replicator.apply.Applier.start(way,
        dev.cutover.replicator.Names.of(b), dev.cutover.replicator.apply.Applier.Options.defaults())) {
      assertThat(dev.cutover.common.Poll.every(java.time.Duration.ofMillis(50)).within(java.time.Duration.ofSeconds(20),
          () -> !applier.running())).as("the applier refused").isTrue();
      assertThat(applier.refusal()).isNotNull();
      assertThat(applier.refusal().getMessage()).contains("are not the two sides of one migration");
      assertThat(applier.batches()).isZero();
    }
    assertThat(position(pair, a)).as("new a's apply position").isEqualTo(positionBefore);
    assertThat(trimmedTo(pair, b)).as("old b's change log not trimmed").isEqualTo(trimmedBefore);

    Run right = run(with(new String[] {"apply", "--duration", "3s"}, urls(pair, b)));
    assertThat(right.code()).as(right.out() + right.err()).isZero();
    try (Connection n = pair.newServer().connect(b); Statement s = n.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT string_agg(id || ':' || who, ',' ORDER BY id) FROM item")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).as("b's change reached new b").isEqualTo("2:b");
    }
  }

  /**
   * r25: after start, each CREATE TABLE the application ran on old sent it five NOTICEs ("trigger
   * \"#cutover_capture…\" for relation … does not exist, skipping") from the event trigger's DROP
   * TRIGGER IF EXISTS. The table still gets its capture triggers, and the session hears nothing.
   */
  @Test
  void capture_applicationCreatesATableAfterStart_itsSessionSeesNoNotice(PostgresPair pair) throws Exception {
    String db = "cli_quiet_create";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE TABLE item (id int PRIMARY KEY)");
    }
    Run start = run(with(new String[] {"start", "--capture", "triggers", "--no-progress"}, urls(pair, db)));
    assertThat(start.code()).as(start.err()).isZero();

    try (Connection o = pair.oldServer().connect(db); Statement s = o.createStatement()) {
      s.execute("CREATE TABLE acct (id int PRIMARY KEY, balance int)");
      assertThat(notices(s.getWarnings())).as("the statement's notices").isEmpty();
      assertThat(notices(o.getWarnings())).as("the connection's notices").isEmpty();
      try (java.sql.ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'acct'::regclass"
          + " AND tgname LIKE '#cutover_capture%'")) {
        rs.next();
        assertThat(rs.getInt(1)).as("capture triggers on the new table").isEqualTo(5);
      }
    }
  }

  private static List<String> notices(java.sql.SQLWarning w) {
    List<String> out = new ArrayList<>();
    for (java.sql.SQLWarning n = w; n != null; n = n.getNextWarning()) {
      out.add(n.getMessage());
    }
    return out;
  }

  private static String position(PostgresPair pair, String db) throws Exception {
    try (Connection n = pair.newServer().connect(db); Statement s = n.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT string_agg(direction || '@' || snapshot, ',') FROM "
            + dev.cutover.replicator.apply.ApplyProgress.TABLE)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static String trimmedTo(PostgresPair pair, String db) throws Exception {
    try (Connection o = pair.oldServer().connect(db); Statement s = o.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT coalesce(to_jsonb(c) ->> 'trimmed_to', '-') || '/' || (SELECT count(*) FROM cutover.change_log_0)"
            + " || '/' || (SELECT count(*) FROM cutover.change_log_1) FROM cutover.capture_state c")) {
      rs.next();
      return rs.getString(1);
    }
  }

  /**
   * Database {@code db} on both servers with one table, started (logical), old fenced by a switch of
   * {@code service} as a driver's leader raises it, and the way back armed without a prepared slot:
   * the state after a switch to new. Returns the command line's URLs.
   */
  private static String[] servingNewWithTheWayBackArmed(PostgresPair pair, String db, String service) throws Exception {
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE TABLE item (id bigserial PRIMARY KEY)");
    }
    String[] u = urls(pair, db);
    Run start = run(with(new String[] {"start", "--capture", "logical", "--no-progress"}, u));
    assertThat(start.code()).as(start.err()).isZero();
    try (Connection o = pair.oldServer().connect(db)) {
      String id = dev.cutover.driver.internal.control.Coordination.begin(o, service, "fence-1",
          dev.cutover.flags.Target.OLD, dev.cutover.flags.Target.NEW);
      assertThat(dev.cutover.driver.internal.control.Coordination.tryLead(o, service, id)).isTrue();
      dev.cutover.driver.internal.control.Fence.raise(o, service, id, "test", java.time.Duration.ofSeconds(5));
    }
    Run reverse = run(with(new String[] {"reverse", "--accept-missing-writes"}, u));
    assertThat(reverse.code()).as(reverse.out() + reverse.err()).isZero();
    return u;
  }

  /**
   * An Error on the apply thread (r12: OutOfMemoryError in a batch too large for the heap) ended the
   * thread without a word: `apply` went on printing "0 batch(es)" with no connection left, and
   * exited 0 at --duration, so a supervisor saw a healthy process. It now exits 1 at once, naming
   * the direction and the cause. The Error is thrown where the apply thread announces where it
   * starts, by an appender of its log.
   */
  @Test
  void apply_applyThreadDiesOfAnError_exitsOneNamingTheDirectionAndTheCause(PostgresPair pair) throws Exception {
    String db = "cli_apply_dies";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE TABLE item (id int PRIMARY KEY)");
    }
    String[] u = urls(pair, db);
    Run start = run(with(new String[] {"start", "--capture", "triggers", "--no-progress"}, u));
    assertThat(start.code()).as(start.err()).isZero();
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        dev.cutover.replicator.apply.Applier.class);
    java.util.concurrent.atomic.AtomicBoolean thrown = new java.util.concurrent.atomic.AtomicBoolean();
    ch.qos.logback.core.AppenderBase<ch.qos.logback.classic.spi.ILoggingEvent> dies = new ch.qos.logback.core.AppenderBase<>() {
      @Override
      protected void append(ch.qos.logback.classic.spi.ILoggingEvent e) {
        if (e.getThreadName().startsWith("cutover-apply-") && e.getFormattedMessage().contains(" apply from ") && thrown.compareAndSet(false, true)) {
          throw new OutOfMemoryError("Java heap space (thrown by the test)");
        }
      }
    };
    dies.start();
    log.addAppender(dies);
    try {
      long began = System.nanoTime();
      Run r = run(with(new String[] {"apply", "--duration", "20s", "--progress", "100ms"}, u));

      assertThat(thrown).as("the apply thread announced where it starts").isTrue();
      assertThat(r.code()).as(r.err()).isEqualTo(1);
      assertThat(r.err()).contains("old -> new: the apply thread ended: OutOfMemoryError: Java heap space (thrown by the test)")
          .contains("Caused by: java.lang.OutOfMemoryError");
      assertThat(java.time.Duration.ofNanos(System.nanoTime() - began)).as("not at --duration").isLessThan(java.time.Duration.ofSeconds(15));
    } finally {
      log.detachAppender(dies);
    }
  }

  private static Connection appConnection(PostgresPair pair, String db, String service, String instance) throws Exception {
    return appConnection(pair, db, service, instance, pair.newServer().jdbcUrl(db));
  }

  /** As {@link #appConnection(PostgresPair, String, String, String)}, reaching new by {@code newUrl} (a proxy in front of it). */
  private static Connection appConnection(PostgresPair pair, String db, String service, String instance, String newUrl)
      throws Exception {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", pair.oldServer().user());
    return java.sql.DriverManager.getConnection("jdbc:cutover:postgresql://" + pair.oldServer().host() + ":"
        + pair.oldServer().port() + "/" + db + "?cutover.new.url=" + java.net.URLEncoder.encode(newUrl,
            java.nio.charset.StandardCharsets.UTF_8) + "&cutover.service=" + service + "&cutover.instance=" + instance
        + "&cutover.flag.provider=manual&cutover.flag.key=" + service, p);
  }
}
