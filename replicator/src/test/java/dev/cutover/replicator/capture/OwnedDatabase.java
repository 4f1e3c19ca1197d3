package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.cli.ReplicatorCli;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ServerProcess;
import dev.cutover.testkit.TcpProxy;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * One application database on both servers of a pair, owned by a role like the ones managed
 * providers give: LOGIN, owner of its database and of every table in it, and nothing else (no
 * superuser, no REPLICATION, no event triggers). The schema covers what must round-trip exactly
 * through trigger capture on every source from 9.6: numeric, floats, timestamps and intervals,
 * bytea, arrays, json kept as written and jsonb, an enum, a composite type, a domain, a range,
 * NULLs, the JSON value null in json, jsonb, a NOT NULL domain over jsonb and one whose CHECK
 * refuses NULL (row_to_json prints it as it prints SQL NULL), a foreign key with ON DELETE CASCADE, a composite key, and a table without a key.
 */
final class OwnedDatabase {
  static final String ROLE = "app_owner";
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final org.postgresql.Driver PGJDBC = new org.postgresql.Driver();

  static final String SCHEMA = String.join("\n",
      "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');",
      "CREATE TYPE price AS (amount numeric(12,2), currency char(3));",
      "CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);",
      "CREATE DOMAIN settings AS jsonb NOT NULL;",
      "CREATE DOMAIN audit_doc AS jsonb CHECK (VALUE IS NOT NULL);",
      "CREATE TABLE account (id serial PRIMARY KEY, email text NOT NULL UNIQUE, balance numeric(14,4) NOT NULL DEFAULT 0,",
      "  ratio double precision, small real, created timestamptz NOT NULL DEFAULT now(), birthday date, wake time,",
      "  span interval, photo bytea, tags text[], scores int[], doc json, meta jsonb, mood mood, price price,",
      "  level positive_int, active boolean, uid uuid, addr inet, during tstzrange, bits bit varying(16), nums numeric[],",
      "  prefs settings DEFAULT 'null', audit audit_doc DEFAULT 'null');",
      "CREATE TABLE entry (account_id int NOT NULL REFERENCES account ON DELETE CASCADE, n int NOT NULL,",
      "  amount numeric(12,2) NOT NULL, note text, PRIMARY KEY (account_id, n));",
      "CREATE INDEX entry_amount ON entry (amount);",
      "CREATE TABLE counter (name text PRIMARY KEY, value bigint NOT NULL);",
      "CREATE TABLE scratch (id int PRIMARY KEY, payload text);",
      "CREATE TABLE keyless (a int, b text, j jsonb);");

  static final String SEED = String.join("\n",
      "INSERT INTO account (email, balance, ratio, small, birthday, wake, span, photo, tags, scores, doc, meta, mood, price,",
      "  level, active, uid, addr, during, bits, nums, prefs)",
      "SELECT 'a' || g || '@example.com', g * 1.0001, g / 7.0::float8, g / 3.0::real, date '2000-01-01' + g, time '06:30' + g * interval '1 s',",
      "  g * interval '1 day 3 hours', decode(md5(g::text), 'hex'), ARRAY['t' || g, NULL, 'x y'], ARRAY[g, -g],",
      "  CASE WHEN g % 6 = 0 THEN 'null' ELSE '{ \"g\" : ' || g || ',  \"k\": [1, 2] }' END::json,",
      "  CASE WHEN g % 4 = 0 THEN 'null' ELSE jsonb_build_object('g', g) END, (ARRAY['sad', 'ok', 'happy']::mood[])[1 + g % 3],",
      "  ROW(g * 2.5, 'EUR')::price, 1 + g % 9, g % 2 = 0, md5(g::text)::uuid, ('10.0.' || g % 250 || '.1')::inet,",
      "  tstzrange(timestamptz '2024-01-01 00:00+00' + g * interval '1 h', NULL), B'1011', ARRAY[g * 0.5, NULL],",
      "  CASE WHEN g % 5 = 0 THEN '{\"p\": null}' ELSE 'null' END::settings",
      "FROM generate_series(1, 400) g;",
      "INSERT INTO account (email) VALUES ('nulls@example.com');",
      "INSERT INTO entry SELECT a.id, k, a.id * k / 10.0, CASE WHEN k = 2 THEN NULL ELSE 'note ' || k END FROM account a, generate_series(1, 3) k;",
      "INSERT INTO counter SELECT 'c' || g, 0 FROM generate_series(1, 4) g;",
      "INSERT INTO scratch SELECT g, repeat('s', g) FROM generate_series(1, 50) g;",
      "INSERT INTO keyless SELECT g % 10, 'k' || g % 10, CASE g % 3 WHEN 0 THEN 'null' WHEN 1 THEN '{\"k\": 1}' END::jsonb",
      "  FROM generate_series(1, 60) g;",
      "ANALYZE;");


  static final List<String> TABLES = List.of("public.account", "public.entry", "public.counter", "public.scratch", "public.keyless");

  final PostgresPair pair;
  final String name;
  /** The local address every connection to old comes from (null: the system's choice). */
  private final String oldFrom;

  private OwnedDatabase(PostgresPair pair, String name, String oldFrom) {
    this.pair = pair;
    this.name = name;
    this.oldFrom = oldFrom;
  }

  /** A new database of that schema on both servers, owned by {@link #ROLE}, seeded on old. */
  static OwnedDatabase create(PostgresPair pair, String prefix) throws SQLException {
    return create(pair, prefix, SCHEMA, SEED);
  }

  /** A new database of {@code schema} on both servers, owned by {@link #ROLE}, {@code seed} run on old. */
  static OwnedDatabase create(PostgresPair pair, String prefix, String schema, String seed) throws SQLException {
    return create(pair, prefix, schema, seed, null);
  }

  /**
   * The same, every connection to old (the test's, the replicator's) made from the local address
   * {@code oldFrom}, e.g. {@code 127.0.0.2}, so that old's pg_hba.conf can admit it alone.
   */
  static OwnedDatabase create(PostgresPair pair, String prefix, String schema, String seed, String oldFrom) throws SQLException {
    OwnedDatabase db = new OwnedDatabase(pair, prefix + "_" + IDS.incrementAndGet(), oldFrom);
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection admin = admin(server, server == pair.oldServer() ? oldFrom : null); Statement s = admin.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE " + ROLE + " LOGIN NOSUPERUSER NOREPLICATION; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        s.execute("CREATE DATABASE " + Sql.ident(db.name) + " OWNER " + ROLE);
      }
    }
    try (Connection o = db.old(); Connection n = db.nw(); Statement so = o.createStatement(); Statement sn = n.createStatement()) {
      so.execute(schema);
      sn.execute(schema);
      so.execute(seed);
    }
    return db;
  }

  Connection old() throws SQLException {
    return connect(pair.oldServer());
  }

  Connection nw() throws SQLException {
    return connect(pair.newServer());
  }

  Connection connect(PostgresServer server) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", ROLE);
    // The test's own sessions are not capped by capTimeouts.
    p.setProperty("options", "-c statement_timeout=0 -c idle_in_transaction_session_timeout=0");
    return PGJDBC.connect(url(server), p);
  }

  /** The JDBC URL of this database on {@code server} (from {@code oldFrom} for old). */
  String url(PostgresServer server) {
    return server.jdbcUrl(name) + (server == pair.oldServer() && oldFrom != null ? "?localSocketAddress=" + oldFrom : "");
  }

  /** A superuser connection to {@code server}'s postgres database, from {@code from} when given. */
  static Connection admin(PostgresServer server, String from) throws SQLException {
    if (from == null) {
      return server.connect();
    }
    Properties p = new Properties();
    p.setProperty("user", server.user());
    p.setProperty("localSocketAddress", from);
    return PGJDBC.connect(server.jdbcUrl(), p);
  }

  /** A superuser connection to this database on old (from {@code oldFrom} when given). */
  Connection oldAsSuperuser() throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", pair.oldServer().user());
    if (oldFrom != null) {
      p.setProperty("localSocketAddress", oldFrom);
    }
    return PGJDBC.connect(pair.oldServer().jdbcUrl(name), p);
  }

  /** A superuser connection to this database on new. */
  Connection nwAsSuperuser() throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", pair.newServer().user());
    return PGJDBC.connect(pair.newServer().jdbcUrl(name), p);
  }

  /** Work a test runs while a setting holds. */
  @FunctionalInterface
  interface Body {
    void run() throws Exception;
  }

  /**
   * Runs {@code body} with {@code side}'s database committing asynchronously and its server's WAL
   * writer slowed to 10 s, so that a crash ({@link #crash}) loses the commits of the last seconds;
   * the WAL writer is put back after.
   */
  void committingAsynchronously(Side side, Body body) throws Exception {
    try (Connection admin = side == Side.OLD ? oldAsSuperuser() : nwAsSuperuser()) {
      execute(admin, "ALTER DATABASE " + Sql.ident(name) + " SET synchronous_commit = off");
      execute(admin, "ALTER SYSTEM SET wal_writer_delay = '10s'"); // not in a multi-statement string
      execute(admin, "SELECT pg_reload_conf()");
    }
    try {
      body.run();
    } finally {
      try (Connection admin = side == Side.OLD ? oldAsSuperuser() : nwAsSuperuser()) {
        execute(admin, "ALTER SYSTEM RESET wal_writer_delay");
        execute(admin, "SELECT pg_reload_conf()");
      }
    }
  }

  /** Kills {@code side}'s server as a machine losing power would, and starts it again on its data. */
  void crash(Side side) throws Exception {
    PostgresServer server = side == Side.OLD ? pair.oldServer() : pair.newServer();
    ServerProcess process = ServerProcess.of(server, Files.createTempFile("crash-" + side.label() + "-", ".log"));
    assertThat(process.kill()).isTrue();
    process.restart(Duration.ofSeconds(60));
  }

  Endpoint endpoint(Side side) {
    PostgresServer server = side == Side.OLD ? pair.oldServer() : pair.newServer();
    return Endpoint.of(side, url(server), ROLE, null);
  }

  /** Old's end of this database as the replicator reaches it through {@code proxy} (every connection, replication ones too). */
  Endpoint oldVia(TcpProxy proxy) {
    return Endpoint.of(Side.OLD, proxy.redirect(url(pair.oldServer())), ROLE, null);
  }

  /**
   * Once {@code r}'s start ran: {@code cutover-replicator apply} in a JVM of its own, killed with
   * SIGKILL while it applies one batch of 100,000 rows into the table without a key (where a batch
   * applied twice would leave every row twice); new holds none of the batch afterwards, and the next
   * apply brings every row once, verify finding no difference.
   */
  void killApplyMidBatchAndRestart(Replicator r, Duration wait) throws Exception {
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(wait);
    }
    long before;
    try (Connection o = old(); Connection n = nw()) {
      execute(o, "INSERT INTO keyless SELECT g % 10, 'big ' || g FROM generate_series(1, 100000) g");
      before = count(n, "SELECT count(*) FROM keyless");
    }
    Path log = Files.createTempFile("cutover-apply-", ".log");
    Process process = applyJvm(log);
    try (Connection n = nw()) {
      await().atMost(wait).pollInterval(Duration.ofMillis(20)).until(() -> !process.isAlive() || count(n,
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cutover-replicator'"
              + " AND backend_xid IS NOT NULL") > 0);
      assertThat(process.isAlive()).as("apply runs (its output: %s)", log).isTrue();
      process.destroyForcibly();
      assertThat(process.waitFor()).as("killed by SIGKILL").isEqualTo(137);
      assertThat(count(n, "SELECT count(*) FROM keyless")).as("rows of the batch killed mid-way").isEqualTo(before);
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(wait);
      assertThat(apply.appliers().get(0).missing()).isZero();
    }
    try (Connection o = old(); Connection n = nw()) {
      assertThat(count(n, "SELECT count(*) FROM keyless WHERE b LIKE 'big %'")).isEqualTo(100_000);
      assertThat(count(n, "SELECT count(DISTINCT b) FROM keyless WHERE b LIKE 'big %'")).isEqualTo(100_000);
      assertThat(count(n, "SELECT count(*) FROM keyless")).isEqualTo(count(o, "SELECT count(*) FROM keyless"));
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
  }

  /**
   * Once writes stopped and replication caught up: verify finds no difference in every table, and
   * each table holds as many rows on new as on old, the counters the same values.
   */
  void assertConverged(Replicator r) throws Exception {
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
    assertThat(verify.tables()).extracting(VerifyReport.TableResult::table).containsAll(TABLES);
    try (Connection o = old(); Connection n = nw()) {
      for (String t : TABLES) {
        assertThat(count(n, "SELECT count(*) FROM " + t)).as(t).isEqualTo(count(o, "SELECT count(*) FROM " + t));
      }
      assertThat(strings(n, "SELECT name || '=' || value FROM counter ORDER BY 1"))
          .isEqualTo(strings(o, "SELECT name || '=' || value FROM counter ORDER BY 1"));
    }
  }

  /** Waits for {@code apply} to fail a batch (it then retries it), and returns why. */
  static String awaitApplyFailure(ApplyProcess apply, Duration within) {
    await().atMost(within).until(() -> apply.appliers().stream().anyMatch(a -> a.lastError() != null));
    return apply.appliers().stream().map(Applier::lastError).filter(Objects::nonNull).findFirst().orElseThrow();
  }

  /** What {@code cutover-replicator status} prints for this database (its exit code asserted 0). */
  String statusCli() {
    return cli("status");
  }

  /** What {@code cutover-replicator} prints for {@code args} against this database (its exit code asserted 0). */
  String cli(String... args) {
    return cliExiting(0, args);
  }

  /** What {@code cutover-replicator} prints, out and err, for {@code args} against this database, its exit code asserted. */
  String cliExiting(int exitCode, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--old-url", url(pair.oldServer()), "--new-url", url(pair.newServer()), "--old-user", ROLE, "--new-user", ROLE));
    int code = ReplicatorCli.run(new PrintWriter(out), new PrintWriter(err), Map.of(), false, all.toArray(String[]::new));
    assertThat(code).as(err.toString()).isEqualTo(exitCode);
    return out.toString() + err;
  }

  /**
   * Makes {@code server}'s pg_hba.conf admit connections, replication ones included, from {@code
   * address} only (and its local socket), so that no other server on this machine reaches it.
   */
  static void admitOnlyFrom(PostgresServer server, String address) throws SQLException, IOException {
    try (Connection admin = server.connect()) {
      Path hba = Path.of(strings(admin, "SHOW hba_file").get(0));
      Files.writeString(hba, "local all all trust\n"
          + "host all all " + address + "/32 trust\n"
          + "host replication all " + address + "/32 trust\n"
          + "host all all 0.0.0.0/0 reject\n"
          + "host all all ::/0 reject\n"
          + "host replication all 0.0.0.0/0 reject\n");
      execute(admin, "SELECT pg_reload_conf()");
    }
  }

  /** {@code cutover-replicator apply} for this database, in a JVM of its own, its output going to {@code log}. */
  Process applyJvm(Path log) throws IOException {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder b = new ProcessBuilder(List.of(javaBin, "-cp", classpath, "dev.cutover.replicator.cli.ReplicatorCli", "apply",
        "--old-url", url(pair.oldServer()), "--new-url", url(pair.newServer()), "--old-user", ROLE, "--new-user", ROLE,
        "--progress", "1s"));
    b.redirectErrorStream(true);
    b.redirectOutput(log.toFile());
    return b.start();
  }

  Replicator replicator() {
    return replicator(List.of());
  }

  /** The replicator, as {@link #ROLE}, granting the control plane to {@code appRoles} at start. */
  Replicator replicator(List<String> appRoles) {
    return Replicator.builder().old(endpoint(Side.OLD)).nw(endpoint(Side.NEW)).appRoles(appRoles).build();
  }

  /**
   * A login role of the application on both servers, neither owner nor superuser: the DML and
   * sequence privileges of schema public, granted by {@link #ROLE}.
   */
  void applicationRole(String role) throws SQLException {
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection admin = admin(server, server == pair.oldServer() ? oldFrom : null); Statement s = admin.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE " + role + " LOGIN NOSUPERUSER NOREPLICATION; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      }
      try (Connection c = connect(server); Statement s = c.createStatement()) {
        s.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role);
        s.execute("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO " + role);
      }
    }
  }

  /**
   * What relayed replication ({@code start --capture relay}) asks of {@link #ROLE} beyond owning
   * the tables: REPLICATION on old and SET on {@code session_replication_role} on new (15+).
   */
  void ownerMayRelay() throws SQLException {
    try (Connection old = admin(pair.oldServer(), oldFrom); Connection nw = admin(pair.newServer(), null)) {
      execute(old, "ALTER ROLE " + ROLE + " REPLICATION");
      execute(nw, "GRANT SET ON PARAMETER session_replication_role TO " + ROLE);
    }
  }

  /**
   * Old's database prints intervals the SQL standard's way (ALTER DATABASE SET IntervalStyle =
   * sql_standard, as a legacy application's database may have it) from before start, new the
   * default way, which reads such text otherwise: -1 day -2 hours prints as -1 2:00:00, read as -1
   * day +2 hours. The copy (text COPY, for a table of user-defined types), the capture and the apply
   * carry negative intervals unchanged: verify finds no difference, and they are on new as written.
   * (DateStyle needs no such test: PgJDBC asks for ISO when it connects, and refuses a session that
   * changes it.)
   */
  void assertIntervalsPrintedTheSqlStandardWayArrive(StartOptions options) throws Exception {
    setDefaults(pair.oldServer(), "IntervalStyle = 'sql_standard'");
    try (Connection o = old()) {
      assertThat(strings(o, "SELECT interval '-1 day -2 hours'")).as("old's sessions print the other way").containsExactly("-1 2:00:00");
      execute(o, "UPDATE account SET span = interval '-3 days -4 hours' WHERE id BETWEEN 11 AND 20");
    }
    Replicator r = replicator();
    r.start(options, new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      try (Connection o = old()) {
        execute(o, "UPDATE account SET span = interval '-1 day -2 hours' WHERE id <= 10");
        execute(o, "INSERT INTO account (email, span) VALUES ('sql-standard@example.com', interval '-1 day -2 hours')");
      }
      r.awaitCaughtUp(Duration.ofSeconds(60));
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
    }
    assertConverged(r);
    try (Connection n = nw()) {
      assertThat(count(n, "SELECT count(*) FROM account WHERE span = interval '-3 days -4 hours'")).as("copied").isEqualTo(10);
      assertThat(count(n, "SELECT count(*) FROM account WHERE span = interval '-1 day -2 hours'")).as("applied").isEqualTo(11);
    }
  }

  /**
   * A key of an extension's type (ltree) in a schema the replicator's sessions leave out of their
   * path (public, where every role may create, granted here on both sides): the capture triggers'
   * WHEN clauses and the apply compare it with its index's operators (pg_catalog has no {@code =}
   * for ltree, nor a cast that would reach one), so an update, a key change and a delete arrive and
   * verify compares the sides.
   */
  void assertKeyOfAnExtensionTypeOffThePathArrives(StartOptions options) throws Exception {
    for (Connection admin : List.of(oldAsSuperuser(), nwAsSuperuser())) {
      try (admin) {
        execute(admin, "CREATE EXTENSION ltree SCHEMA public; GRANT CREATE ON SCHEMA public TO PUBLIC");
      }
    }
    executeOnBoth("CREATE TABLE node (path public.ltree PRIMARY KEY, v int)");
    try (Connection o = old()) {
      execute(o, "INSERT INTO node VALUES ('top', 1), ('top.a', 2), ('top.b', 3), ('top.c', 4)");
    }
    Replicator r = replicator();
    r.start(options, new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = old()) {
      execute(o, "UPDATE node SET v = 20 WHERE v = 2; UPDATE node SET path = 'top.d' WHERE v = 4; DELETE FROM node WHERE v = 3");
      r.awaitCaughtUp(Duration.ofSeconds(60));
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
    try (Connection n = nw()) {
      assertThat(strings(n, "SELECT path::text || '=' || v FROM node ORDER BY v")).containsExactly("top=1", "top.d=4", "top.a=20");
    }
  }

  /**
   * Old's database has a default path ({@code ALTER DATABASE ... SET search_path = app, public}), and
   * a table holds names of objects as values (regclass, regtype): old's sessions print
   * {@code app.thing} as {@code thing}, which new, whose database has no such default, would resolve
   * to {@code public.thing}, or to nothing for {@code app.kind}. Rows copied and applied keep the
   * object they name: verify finds no difference, and the apply never stops; status names the
   * default new lacks, with the statement that sets it there. Before, the relay's
   * walsender printed with the database's path: row 2 arrived naming public.thing, and a regtype
   * stopped the apply for good on "type "kind" does not exist".
   */
  void assertObjectNamesHeldAsValuesArriveUnderADatabasePath(StartOptions options) throws Exception {
    executeOnBoth("CREATE SCHEMA app; CREATE TABLE app.thing (id int PRIMARY KEY); CREATE TABLE public.thing (id int PRIMARY KEY);"
        + " CREATE TYPE app.kind AS ENUM ('a'); CREATE TABLE app.refs (id int PRIMARY KEY, r regclass, t regtype)");
    try (Connection o = old()) {
      execute(o, "INSERT INTO app.refs VALUES (1, 'app.thing', 'app.kind')");
    }
    setDefaults(pair.oldServer(), "search_path = app, public");
    try (Connection o = old()) {
      assertThat(strings(o, "SELECT r::text FROM app.refs")).as("old's sessions print the name without its schema").containsExactly("thing");
    }
    String refs = "SELECT pg_catalog.string_agg(id || '=' || r || '/' || coalesce(t::text, '-'), ' ' ORDER BY id) FROM app.refs";
    Replicator r = replicator();
    r.start(options, new CopyProgress(), CopyListener.NONE);
    assertThat(statusCli()).as("status names the default new lacks").contains("database default search_path = app, public is set on old"
        + " but not on new").contains("ALTER DATABASE " + Sql.ident(name) + " SET \"search_path\" TO 'app', 'public'");
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = old(); Connection n = nw()) {
      execute(n, "SET search_path = pg_catalog");
      execute(o, "INSERT INTO app.refs VALUES (2, 'app.thing', NULL), (3, 'public.thing', NULL)");
      await().atMost(Duration.ofSeconds(60)).until(() -> count(n, "SELECT count(*) FROM app.refs") == 3);
      assertThat(strings(n, refs)).as("regclass applied").containsExactly("1=app.thing/app.kind 2=app.thing/- 3=public.thing/-");
      execute(o, "UPDATE app.refs SET t = 'app.kind' WHERE id = 2");
      await().atMost(Duration.ofSeconds(60)).until(() -> count(n, "SELECT count(*) FROM app.refs WHERE t IS NOT NULL") == 2
          || apply.appliers().stream().anyMatch(a -> a.lastError() != null));
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).as("regtype applied").isNull());
      assertThat(strings(n, refs)).containsExactly("1=app.thing/app.kind 2=app.thing/app.kind 3=public.thing/-");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * Tables with a {@code GENERATED ALWAYS AS IDENTITY} column, as the key ({@code acct}) and beside
   * it ({@code ledger}), updated with {@code options} started and the apply running: ordinary
   * updates one at a time and several of one transaction, the identity moved to its next value
   * ({@code SET id = DEFAULT}) as the key, beside an unchanged key and beside a key change, and an
   * insert. New must end as old, verify finding no difference. Before, every UPDATE put the
   * identity column in its SET and new refused it ("column "id" can only be updated to DEFAULT"):
   * the apply retried that batch for ever.
   */
  void assertIdentityAlwaysUpdatesArrive(StartOptions options) throws Exception {
    executeOnBoth("CREATE TABLE acct (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, balance int);"
        + " CREATE TABLE ledger (k int PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY, note text UNIQUE)");
    try (Connection o = old()) {
      execute(o, "INSERT INTO acct (balance) VALUES (100), (200), (300);"
          + " INSERT INTO ledger (k, note) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')");
    }
    Replicator r = replicator();
    r.start(options, new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = old(); Connection n = nw()) {
      execute(o, "UPDATE acct SET balance = balance + 1 WHERE id = 1");
      execute(o, "BEGIN; UPDATE acct SET balance = balance + 10; UPDATE acct SET balance = balance + 5 WHERE id = 2; COMMIT");
      execute(o, "UPDATE acct SET id = DEFAULT, balance = 7 WHERE id = 3");
      execute(o, "UPDATE ledger SET note = 'a2' WHERE k = 1");
      execute(o, "UPDATE ledger SET n = DEFAULT WHERE k = 2");
      execute(o, "UPDATE ledger SET k = 30, n = DEFAULT, note = 'c2' WHERE k = 3");
      execute(o, "UPDATE ledger SET k = 40 WHERE k = 4");
      execute(o, "INSERT INTO acct (balance) VALUES (400)");
      try {
        r.awaitCaughtUp(Duration.ofSeconds(60));
      } finally {
        // Where it never catches up, why: the apply's error.
        assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      }
      for (String q : List.of("SELECT id || '=' || balance FROM acct ORDER BY id", "SELECT k || ' ' || n || ' ' || note FROM ledger ORDER BY k")) {
        assertThat(strings(n, q)).as(q).isEqualTo(strings(o, q));
      }
      assertThat(strings(n, "SELECT id || '=' || balance FROM acct ORDER BY id")).containsExactly("1=111", "2=215", "4=7", "5=400");
      assertThat(strings(n, "SELECT k || ' ' || n || ' ' || note FROM ledger ORDER BY k")).containsExactly("1 1 a2", "2 5 b", "30 6 c2", "40 4 d");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * New's database reads strings and arrays the legacy way (ALTER DATABASE SET
   * standard_conforming_strings = off, array_nulls = off, as a database that served an application
   * from before PostgreSQL 9.1 may still have it): a backslash in a string literal escapes the next
   * character, and an unquoted NULL in an array is the text NULL. Backslashes in text, json and
   * arrays, and arrays with a NULL element, copied and applied, arrive unchanged: verify finds no
   * difference, and they are on new as written.
   */
  void assertLegacyStringReadingOnNewChangesNothing(StartOptions options) throws Exception {
    String legacy = "UPDATE account SET email = 'back\\slash' || id || '@example.com', tags = ARRAY['a\\b', NULL, 'NULL'],"
        + " doc = '{\"p\": \"C:\\\\new \\\"q\\\"\"}', meta = '{\"p\": \"x\\\\y\"}', nums = ARRAY[NULL, 1.5]";
    setDefaults(pair.newServer(), "standard_conforming_strings = off", "array_nulls = off");
    try (Connection o = old(); Connection n = nw()) {
      assertThat(strings(n, "SELECT 'a\\q' || ('{NULL}'::text[])[1]")).as("new's sessions read the legacy way").containsExactly("aqNULL");
      execute(o, legacy + " WHERE id BETWEEN 21 AND 30");
    }
    Replicator r = replicator();
    r.start(options, new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      try (Connection o = old()) {
        execute(o, legacy + " WHERE id BETWEEN 31 AND 40");
        execute(o, "INSERT INTO account (email) VALUES ('legacy@example.com')");
        execute(o, legacy + " WHERE email = 'legacy@example.com'");
        execute(o, "INSERT INTO scratch VALUES (1000, 'C:\\temp\\' || 'new')");
      }
      r.awaitCaughtUp(Duration.ofSeconds(60));
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
    }
    assertConverged(r);
    try (Connection n = nw()) {
      execute(n, "SET standard_conforming_strings = on; SET array_nulls = on");
      assertThat(count(n, "SELECT count(*) FROM account WHERE left(email, 10) = 'back\\slash' AND tags[1] = 'a\\b' AND tags[2] IS NULL"
          + " AND tags[3] = 'NULL' AND doc ->> 'p' = 'C:\\new \"q\"' AND meta ->> 'p' = 'x\\y' AND nums[1] IS NULL")).isEqualTo(21);
      assertThat(strings(n, "SELECT payload FROM scratch WHERE id = 1000")).containsExactly("C:\\temp\\new");
    }
  }

  /**
   * Both databases are read-only by default (ALTER DATABASE SET default_transaction_read_only = on,
   * as an operator keeps the application off new until the switch, or off old after it), and run
   * transactions SERIALIZABLE by default: the copy, the control schema, the ticks and the apply
   * still write, the replicator's sessions run READ COMMITTED, and the writes old's application
   * makes (its sessions turn the default off, as an application allowed to write would) arrive.
   * Before, start stopped at its first write on new.
   */
  void assertReadOnlyByDefaultStillReplicates(StartOptions options) throws Exception {
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      setDefaults(server, "default_transaction_read_only = on", "default_transaction_isolation = serializable");
    }
    try (Connection session = Endpoint.of(Side.NEW, url(pair.newServer()), ROLE, null).connect()) {
      assertThat(strings(session, "SHOW transaction_isolation")).as("a replicator session").containsExactly("read committed");
    }
    try (Connection n = nw()) {
      assertThatThrownBy(() -> execute(n, "UPDATE counter SET value = 1")).as("new's sessions are read-only")
          .hasMessageContaining("read-only transaction");
    }
    Replicator r = replicator();
    r.start(options, new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = old()) {
      execute(o, "SET default_transaction_read_only = off");
      execute(o, "UPDATE counter SET value = value + 5; INSERT INTO scratch SELECT g, 'read-only ' || g FROM generate_series(100, 199) g");
      r.awaitCaughtUp(Duration.ofSeconds(60));
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
    }
    assertConverged(r);
    try (Connection n = nw()) {
      assertThat(count(n, "SELECT count(*) FROM scratch WHERE payload LIKE 'read-only %'")).isEqualTo(100);
    }
  }

  /**
   * Caps this database's timeouts on both servers for every later session that does not set its
   * own (ALTER DATABASE SET): statements 100 ms, idle in a transaction 500 ms, and on 17+
   * transactions 300 ms.
   */
  void capTimeouts() throws SQLException {
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      setDefaults(server, "statement_timeout = '100ms'", "idle_in_transaction_session_timeout = '500ms'");
      if (server.majorVersion() >= 17) {
        setDefaults(server, "transaction_timeout = '300ms'");
      }
    }
  }

  /** This database's defaults on {@code server} for every later session (ALTER DATABASE SET), each {@code name = value}. */
  void setDefaults(PostgresServer server, String... assignments) throws SQLException {
    try (Connection c = connect(server)) {
      for (String assignment : assignments) {
        execute(c, "ALTER DATABASE " + Sql.ident(name) + " SET " + assignment);
      }
    }
  }

  /**
   * A table whose row-level security applies to the replicator's role (here its owner, with FORCE
   * ROW LEVEL SECURITY; a multi-tenant application's policy, say): check refuses it, naming the
   * table and the remedies, and so do start and start --resume, before they change anything. Without both, start
   * copied only the rows the policy showed, and verify, seeing the same rows, found no difference. A
   * trigger capture's start cannot be resumed at all, which its --resume says first.
   */
  void assertRowSecurityThatAppliesIsRefused(StartOptions options) throws Exception {
    try (Connection o = old()) {
      execute(o, "ALTER TABLE scratch ENABLE ROW LEVEL SECURITY; ALTER TABLE scratch FORCE ROW LEVEL SECURITY;"
          + " CREATE POLICY tenant ON scratch USING (id <= 10)");
    }
    Replicator r = replicator();
    assertThat(r.check().findings()).filteredOn(f -> f.code().equals("row-level-security")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Finding.Severity.ERROR);
      assertThat(f.side()).isEqualTo("old");
      assertThat(f.message()).contains("public.scratch");
      assertThat(f.remedy()).contains("BYPASSRLS").contains("ALTER TABLE \"public\".\"scratch\" NO FORCE ROW LEVEL SECURITY");
    });
    assertThatThrownBy(() -> r.start(options, new CopyProgress(), CopyListener.NONE)).isInstanceOf(ReplicatorException.class)
        .hasMessageContaining("row-level security").hasMessageContaining("public.scratch").hasMessageContaining("start changed nothing");
    // Policies enabled while a start was interrupted would cut the tables it copies again.
    if (options.capture() == Capture.TRIGGERS) {
      assertThatThrownBy(() -> r.start(options.withResume(true), new CopyProgress(), CopyListener.NONE))
          .isInstanceOf(ReplicatorException.class).hasMessageContaining("a start with --capture triggers cannot be resumed");
    } else {
      assertThatThrownBy(() -> r.start(options.withResume(true), new CopyProgress(), CopyListener.NONE))
          .isInstanceOf(ReplicatorException.class).hasMessageContaining("public.scratch").hasMessageContaining("start --resume changed nothing");
    }
    try (Connection o = old(); Connection n = nw()) {
      assertThat(count(o, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'")).isZero();
      assertThat(count(n, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'")).isZero();
    }
  }

  /** Runs {@code sql} on new, then on old: a schema change made by hand, new first so that it can take old's rows. */
  void executeOnBoth(String sql) throws SQLException {
    for (Connection c : List.of(nw(), old())) {
      try (c) {
        execute(c, sql);
      }
    }
  }

  static long count(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  static List<String> strings(Connection c, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /**
   * Runs on {@code c} the statements status prints for new on each line {@code which} picks: what
   * follows "run on new: " (or "Run"), up to "; if new's is" where the line offers the other way too.
   */
  static void runPrintedForNew(Connection c, String status, Predicate<String> which) throws SQLException {
    String marker = "un on new: ";
    for (String line : status.lines().filter(l -> l.contains(marker + "SET") && which.test(l)).toList()) {
      String statement = line.substring(line.indexOf(marker + "SET") + marker.length());
      int otherWay = statement.indexOf("; if new's is");
      execute(c, otherWay < 0 ? statement : statement.substring(0, otherWay));
    }
  }

  /**
   * Runs {@code sql} on old as {@link #ROLE} with psql, for sessions PgJDBC refuses (a DateStyle
   * that does not begin with ISO); fails with psql's output when psql does.
   */
  void psqlOnOld(String sql) throws IOException, InterruptedException {
    PostgresServer server = pair.oldServer();
    Process p = new ProcessBuilder("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", server.host(), "-p", String.valueOf(server.port()),
        "-U", ROLE, "-d", name, "-c", sql).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("psql on old: %s", out).isZero();
  }

  static void execute(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
