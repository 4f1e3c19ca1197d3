package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.cli.ReplicatorCli;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.TcpProxy;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The operator's commands that change things, when the network to a side goes silent mid-command
 * (no reset, no close: a stalled proxy, NAT or firewall, which TCP keepalive does not notice).
 * {@code reverse --prepare}, {@code reverse}, {@code ddl-done} and {@code cleanup} await each
 * answer {@code --network-timeout}; so do {@code refresh} and {@code sync-large-objects}, whose REFRESH and
 * checksums, which may rightly run longer, are watched instead ({@link SilenceWatch}), as every
 * statement of {@code start} and {@code verify} is. Each ends within its timeout (start: and its
 * undo), exit code 3, naming the side; before, each waited for ever. A refresh or an index build
 * longer than the timeout is not cut. Every command's connections are watched, so the session a
 * lost one leaves running on the server is ended, or named with the statement that ends it.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SilentCommandTest {
  private static final Duration NETWORK_TIMEOUT = Duration.ofSeconds(2);
  /**
   * The timeout of a command the test must first see waiting for a lock: that wait counts against
   * it, so the command ends that long after it began to wait, silence or not; 2 s was too short a
   * window for the test to see the wait on a loaded host (CI: the await ran out once in ten runs).
   */
  private static final Duration LOCK_WAIT_TIMEOUT = Duration.ofSeconds(6);
  /** How long a command may take to end once its side went silent: the timeout, and the watch's half of it, with room to spare. */
  private static final Duration ENDS_WITHIN = Duration.ofSeconds(10);
  /** The same with {@link #LOCK_WAIT_TIMEOUT}. */
  private static final Duration LOCK_WAIT_ENDS_WITHIN = Duration.ofSeconds(20);
  /**
   * The same for start, whose undo then asks the silent side's connection not given up, with 5 s to
   * answer (UndoConnection), and puts new back.
   */
  private static final Duration START_ENDS_WITHIN = Duration.ofSeconds(30);
  /** How long a test waits for what a command should have done long before. */
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private static final String BIG_TABLE = "CREATE TABLE big (id int PRIMARY KEY, pad text)";
  /** About 20 MB: its copy through the slowed proxy is still streaming when the proxy goes silent. */
  private static final String FILL_BIG = "INSERT INTO big SELECT i, repeat('x', 100) FROM generate_series(1, 150000) i";
  private static final AtomicInteger IDS = new AtomicInteger();

  /**
   * Each command waits on old for a table a superuser session holds; old goes silent, then the lock
   * is let go: old answers, but nothing of it arrives. Silent altogether, old answers no new login
   * either: each command names its session left running there and the statement that ends it.
   * Where only the open flows are dropped, the session is ended.
   */
  @ParameterizedTest(name = "{0}, {3}")
  @CsvSource(delimiter = '|', value = {
      "reverse --prepare|pg_catalog.pg_subscription|reverse|all",
      "reverse|pg_catalog.pg_subscription|reverse|all",
      "ddl-done 42|cutover.ddl_done|ddl-done|all",
      "cleanup|pg_catalog.pg_subscription|cleanup|all",
      "reverse|pg_catalog.pg_subscription|reverse|open flows",
      "ddl-done 42|cutover.ddl_done|ddl-done|open flows"})
  void command_oldGoesSilentMidCommand_failsNamingOldWithinItsTimeout(String command, String table, String option, String silenced,
      PostgresPair pair) throws Throwable {
    AppDatabase db = AppDatabase.create(pair, "silent_command");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection locker = db.old(); Connection watch = db.old()) {
      locker.setAutoCommit(false);
      Sql.execute(locker, "LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
      CompletableFuture<Run> running = CompletableFuture.supplyAsync(
          () -> cli(pair, db.name, Side.OLD, proxy, LOCK_WAIT_TIMEOUT, command.split(" ")));
      awaitLockWait(watch, running);

      if (silenced.equals("all")) {
        assertThat(assertSilenceEndsIt(proxy::stall, locker::rollback, running, "old", option, LOCK_WAIT_ENDS_WITHIN))
            .contains("; its session on old (process ").contains(") may still be running")
            .contains("end it there (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE (pid, backend_start) IN ((");
      } else {
        assertThat(assertSilenceEndsIt(proxy::stallOpen, locker::rollback, running, "old", option, LOCK_WAIT_ENDS_WITHIN))
            .contains("; its session left running on old (process ").contains(") was ended");
      }
    } finally {
      r.cleanup();
    }
  }

  @Test
  void refresh_newGoesSilentMidRefresh_failsNamingNewWithinItsTimeout(PostgresPair pair) throws Throwable {
    String db = slowView(pair, 5);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer()); Connection watch = pair.newServer().connect(db)) {
      CompletableFuture<Run> running = CompletableFuture.supplyAsync(() -> cli(pair, db, Side.NEW, proxy, "refresh"));
      await().atMost(PATIENCE).until(() -> replicatorWaits(watch, "query LIKE 'REFRESH MATERIALIZED VIEW%' AND state = 'active'"));

      assertSilenceEndsIt(proxy::stall, () -> { }, running, "new", "refresh");
    }
  }

  /**
   * The copy of a large object new lacks waits on new for a session that creates one of the same oid
   * and has not committed; new goes silent, then that session rolls back.
   */
  @Test
  void syncLargeObjects_newGoesSilentMidCopy_failsNamingNewWithinItsTimeout(PostgresPair pair) throws Throwable {
    String db = database(pair, "SELECT lo_from_bytea(424242, 'made on old')", "SELECT 1");
    try (TcpProxy proxy = TcpProxy.in(pair.newServer()); Connection creator = pair.newServer().connect(db);
        Connection watch = pair.newServer().connect(db)) {
      creator.setAutoCommit(false);
      Sql.execute(creator, "SELECT lo_create(424242)");
      CompletableFuture<Run> running = CompletableFuture.supplyAsync(
          () -> cli(pair, db, Side.NEW, proxy, LOCK_WAIT_TIMEOUT, "sync-large-objects"));
      awaitLockWait(watch, running);

      assertSilenceEndsIt(proxy::stall, creator::rollback, running, "new", "sync-large-objects", LOCK_WAIT_ENDS_WITHIN);
    }
  }

  /** A refresh is not a statement whose answer is due promptly: one longer than the timeout runs to its end. */
  @Test
  void refresh_viewTakesLongerThanTheTimeout_refreshesIt(PostgresPair pair) throws Exception {
    String db = slowView(pair, 2 * NETWORK_TIMEOUT.toSeconds());

    Run run = cli(pair, db, Side.NEW, null, "refresh");

    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.out()).contains("refreshed 1 materialized view(s) on new: public.slow");
  }

  /**
   * Start's copy streams a table from old while old goes silent: old's backend blocks writing to the
   * replicator, which waits reading from it. Start stops, naming old, and undoes what it did on new
   * although it cannot undo anything on old: new's tables are empty and have their primary keys.
   */
  @ParameterizedTest(name = "--capture {0}")
  @ValueSource(strings = {"logical", "triggers"})
  void start_oldGoesSilentMidCopy_failsNamingOldAndUndoesNew(String capture, PostgresPair pair) throws Throwable {
    String schema = BIG_TABLE + "; CREATE TABLE small (id int PRIMARY KEY)";
    String db = database(pair, schema + "; INSERT INTO small SELECT generate_series(1, 10); " + FILL_BIG, schema);
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection watch = pair.oldServer().connect(db)) {
      proxy.delay(Duration.ofMillis(10));
      CompletableFuture<Run> running = CompletableFuture.supplyAsync(() -> cli(pair, db, Side.OLD, proxy, "start", "--capture", capture));
      await().atMost(PATIENCE).until(() -> replicatorWaits(watch, "query LIKE 'COPY%big%' AND state = 'active'"));

      assertSilenceEndsIt(proxy::stall, () -> { }, running, "old", "start", START_ENDS_WITHIN);
      try (Connection n = pair.newServer().connect(db)) {
        assertThat(Sql.number(n, "SELECT (SELECT count(*) FROM big) + (SELECT count(*) FROM small)")).isZero();
        assertThat(Sql.number(n, "SELECT count(*) FROM pg_index WHERE indrelid IN ('big'::regclass, 'small'::regclass) AND indisprimary"))
            .as("primary keys put back").isEqualTo(2);
      }
    } finally {
      cleanup(pair, db);
    }
  }

  /**
   * Start's copy streams a table into new while new goes silent: the replicator blocks writing to
   * new, whose backend waits reading from it. Start stops, naming new.
   */
  @Test
  void start_newGoesSilentMidCopy_failsNamingNew(PostgresPair pair) throws Throwable {
    String db = database(pair, BIG_TABLE + "; " + FILL_BIG, BIG_TABLE);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer()); Connection watch = pair.newServer().connect(db)) {
      proxy.delay(Duration.ofMillis(10));
      CompletableFuture<Run> running = CompletableFuture.supplyAsync(() -> cli(pair, db, Side.NEW, proxy, "start"));
      await().atMost(PATIENCE).until(() -> replicatorWaits(watch, "query LIKE 'COPY%' AND state = 'active'"));

      assertSilenceEndsIt(proxy::stall, () -> { }, running, "new", "start", START_ENDS_WITHIN);
    } finally {
      cleanup(pair, db);
    }
  }

  /**
   * Start's copy streams a table into new while that one flow to new is dropped, new connections
   * still passing: start stops, naming new, and undoes what it did there.
   */
  @ParameterizedTest(name = "--capture {0}")
  @ValueSource(strings = {"logical", "triggers"})
  void start_newFlowDroppedMidCopy_failsNamingNewAndUndoesNew(String capture, PostgresPair pair) throws Throwable {
    String db = database(pair, BIG_TABLE + "; " + FILL_BIG, BIG_TABLE);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer()); Connection watch = pair.newServer().connect(db)) {
      proxy.delay(Duration.ofMillis(10));
      CompletableFuture<Run> running = CompletableFuture.supplyAsync(() -> cli(pair, db, Side.NEW, proxy, "start", "--capture", capture));
      await().atMost(PATIENCE).until(() -> replicatorWaits(watch, "query LIKE 'COPY%' AND state = 'active'"));

      String err = assertSilenceEndsIt(proxy::stallOpen, () -> { }, running, "new", "start", START_ENDS_WITHIN);
      Sql.execute(watch, "SET lock_timeout = '5s'");
      assertThat(Sql.number(watch, "SELECT count(*) FROM big")).as(err).isZero();
      assertThat(Sql.number(watch, "SELECT count(*) FROM pg_index WHERE indrelid = 'big'::regclass AND indisprimary"))
          .as("primary key put back").isOne();
    } finally {
      cleanup(pair, db);
    }
  }

  /**
   * An index build on new (new's own index) longer than the timeout is work, not silence: start
   * completes. The build pauses 4 s in all, longer than the timeout and the watch's half of it; so
   * does the ANALYZE after it, which samples every row.
   */
  @Test
  void start_indexBuildLongerThanTheTimeout_completes(PostgresPair pair) throws Exception {
    String slow = BIG_TABLE + "; CREATE FUNCTION slowly(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS"
        + " $$ BEGIN IF i % 3000 = 0 THEN PERFORM pg_sleep(0.4); END IF; RETURN i; END $$; CREATE INDEX big_slow ON big (slowly(id))";
    String db = database(pair, BIG_TABLE + "; INSERT INTO big SELECT i, 'x' FROM generate_series(1, 30000) i", slow);
    try {
      Run run = cli(pair, db, Side.NEW, null, "start", "--no-progress");

      assertThat(run.code()).as(run.err()).isZero();
      try (Connection n = pair.newServer().connect(db)) {
        assertThat(Sql.number(n, "SELECT count(*) FROM big")).isEqualTo(30000);
        assertThat(Sql.bool(n, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_slow'::regclass")).isTrue();
      }
    } finally {
      cleanup(pair, db);
    }
  }

  /**
   * Verify's first statement on a table waits for a lock held on old, which is work, not silence;
   * old goes silent, then the lock is let go: old answers, but nothing of it arrives.
   */
  @Test
  void verify_oldGoesSilentMidHash_failsNamingOld(PostgresPair pair) throws Throwable {
    String db = database(pair, BIG_TABLE + "; INSERT INTO big SELECT i, 'x' FROM generate_series(1, 1000) i",
        BIG_TABLE + "; INSERT INTO big SELECT i, 'x' FROM generate_series(1, 1000) i");
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection locker = pair.oldServer().connect(db);
        Connection watch = pair.oldServer().connect(db)) {
      locker.setAutoCommit(false);
      Sql.execute(locker, "LOCK TABLE big IN ACCESS EXCLUSIVE MODE");
      CompletableFuture<Run> running = CompletableFuture.supplyAsync(() -> cli(pair, db, Side.OLD, proxy, "verify"));
      await().atMost(PATIENCE).until(() -> replicatorWaits(watch, "wait_event_type = 'Lock'"));

      assertSilenceEndsIt(proxy::stall, locker::rollback, running, "old", "verify");
    }
  }

  /**
   * Adopt's copy streams a table created on old after start while the one flow to old is dropped (a
   * NAT entry lost), new connections still passing. Adopt stops, naming old, and ends the session it
   * left running there, which held the table against the application's writers: they go on at once,
   * the table is as it was on both sides, and adopting it again brings it in.
   */
  @Test
  void adopt_oldFlowDroppedMidCopy_endsItsSessionThereSoWritersGoOn(PostgresPair pair) throws Throwable {
    String db = adoptable(pair);
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection watch = pair.oldServer().connect(db);
        Connection writer = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      CompletableFuture<Run> running = adoptingBig(pair, db, proxy, watch);

      assertThat(assertSilenceEndsIt(proxy::stallOpen, () -> { }, running, "old", "adopt"))
          .contains("; its session left running on old (process ").contains(") was ended, and with it its transaction and its locks");
      Sql.execute(writer, "SET lock_timeout = '" + PATIENCE.toSeconds() + "s'; INSERT INTO big VALUES (0, 'written after')");
      assertThat(captureTriggersOnBig(watch)).isZero();
      assertThat(Sql.bool(n, "SELECT to_regclass('public.big') IS NULL")).isTrue();
      Run again = cli(pair, db, Side.OLD, null, "adopt", "public.big");
      assertThat(again.code()).as(again.err()).isZero();
      assertThat(again.out()).contains("150001 row(s) copied");
    } finally {
      cleanup(pair, db);
    }
  }

  /**
   * The same, old silent altogether: adopt cannot reach it to end its session, and says so with the
   * statement that ends that very session, which lets the writers go on.
   */
  @Test
  void adopt_oldGoesSilentMidCopy_namesTheStatementThatEndsItsSessionThere(PostgresPair pair) throws Throwable {
    String db = adoptable(pair);
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer()); Connection watch = pair.oldServer().connect(db);
        Connection writer = pair.oldServer().connect(db)) {
      CompletableFuture<Run> running = adoptingBig(pair, db, proxy, watch);

      String err = assertSilenceEndsIt(proxy::stall, () -> { }, running, "old", "adopt");
      assertThat(err).contains("; its session on old (process ").contains(") may still be running, in its transaction and with its"
          + " locks, until old notices the connection gone");
      Matcher end = Pattern.compile("end it there \\((SELECT pg_terminate_backend\\(pid\\) FROM pg_stat_activity WHERE \\(pid,"
          + " backend_start\\) IN \\(\\(\\d+, '[^']+'::timestamptz\\)\\))\\)").matcher(err);
      assertThat(end.find()).as(err).isTrue();
      assertThat(Sql.number(watch, "SELECT count(*) FROM pg_locks WHERE relation = 'big'::regclass AND granted"
          + " AND mode = 'ShareRowExclusiveLock'")).as("the session left running holds the table").isOne();
      assertThat(Sql.bool(watch, end.group(1))).isTrue();
      Sql.execute(writer, "SET lock_timeout = '" + PATIENCE.toSeconds() + "s'; INSERT INTO big VALUES (0, 'written after')");
      assertThat(captureTriggersOnBig(watch)).isZero();
    } finally {
      cleanup(pair, db);
    }
  }

  /** {@code adopt public.big} through {@code proxy}, slowed, once its copy streams from old (seen on {@code watch}). */
  private static CompletableFuture<Run> adoptingBig(PostgresPair pair, String db, TcpProxy proxy, Connection watch) {
    proxy.delay(Duration.ofMillis(10));
    CompletableFuture<Run> running = CompletableFuture.supplyAsync(() -> cli(pair, db, Side.OLD, proxy, "adopt", "public.big"));
    await().atMost(PATIENCE).until(() -> running.isDone() || replicatorWaits(watch, "query LIKE 'COPY%big%' AND state = 'active'"));
    assertThat(running).as(() -> running.join().toString()).isNotDone();
    return running;
  }

  /** Awaits {@code running}'s command waiting for a lock (seen on {@code watch}); fails with what it printed if it ended first. */
  private static void awaitLockWait(Connection watch, CompletableFuture<Run> running) {
    await().atMost(PATIENCE).until(() -> running.isDone() || replicatorWaits(watch, "wait_event_type = 'Lock'"));
    assertThat(running).as(() -> running.join().toString()).isNotDone();
  }

  private static long captureTriggersOnBig(Connection c) throws Exception {
    return Sql.number(c, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'big'::regclass AND tgname LIKE '#cutover\\_capture%'");
  }

  /**
   * A database under trigger capture whose table {@code big}, about 20 MB, was made and filled on old
   * after start, as a role that may not create event triggers would (which leaves it uncaptured).
   */
  private static String adoptable(PostgresPair pair) throws Exception {
    String db = database(pair, "CREATE TABLE small (id int PRIMARY KEY)", "CREATE TABLE small (id int PRIMARY KEY)");
    Run start = cli(pair, db, Side.OLD, null, "start", "--capture", "triggers", "--no-progress");
    assertThat(start.code()).as(start.err()).isZero();
    try (Connection o = pair.oldServer().connect(db)) {
      Sql.execute(o, "ALTER EVENT TRIGGER cutover_capture_new DISABLE; " + BIG_TABLE + "; " + FILL_BIG
          + "; ALTER EVENT TRIGGER cutover_capture_new ENABLE");
    }
    return db;
  }

  private record Run(int code, String out, String err, Duration timeout) {}

  /**
   * Runs {@code silence} (the proxy's stall of every flow, or of those open), then {@code meanwhile}
   * (lets go of what the command waits for): the command must end within {@link #ENDS_WITHIN}, exit
   * 3, naming {@code side} and the option of {@code command} that allows longer; returns what it
   * printed on stderr.
   */
  private static String assertSilenceEndsIt(Executable silence, Executable meanwhile, CompletableFuture<Run> running,
      String side, String command) throws Throwable {
    return assertSilenceEndsIt(silence, meanwhile, running, side, command, ENDS_WITHIN);
  }

  private static String assertSilenceEndsIt(Executable silence, Executable meanwhile, CompletableFuture<Run> running,
      String side, String command, Duration endsWithin) throws Throwable {
    long stalled = System.nanoTime();
    silence.execute();
    meanwhile.execute();
    Run run = running.get(endsWithin.plus(PATIENCE).toSeconds(), TimeUnit.SECONDS);

    assertThat(Duration.ofNanos(System.nanoTime() - stalled)).isLessThan(endsWithin);
    assertThat(run.code()).as(run.err()).isEqualTo(Failure.CONNECTION.exitCode());
    assertThat(run.err()).contains(side + ": no answer for " + run.timeout().toMillis() + "ms")
        .contains(command + " --network-timeout");
    return run.err();
  }

  /** The command line with {@code --network-timeout} 2s, reaching {@code silent} through {@code proxy} (none: directly). */
  private static Run cli(PostgresPair pair, String database, Side silent, TcpProxy proxy, String... args) {
    return cli(pair, database, silent, proxy, NETWORK_TIMEOUT, args);
  }

  private static Run cli(PostgresPair pair, String database, Side silent, TcpProxy proxy, Duration timeout, String... args) {
    String oldUrl = pair.oldServer().jdbcUrl(database);
    String newUrl = pair.newServer().jdbcUrl(database);
    if (proxy != null) {
      oldUrl = silent == Side.OLD ? proxy.redirect(oldUrl) : oldUrl;
      newUrl = silent == Side.NEW ? proxy.redirect(newUrl) : newUrl;
    }
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--network-timeout", timeout.toSeconds() + "s", "--old-url", oldUrl, "--old-user",
        pair.oldServer().user(), "--new-url", newUrl, "--new-user", pair.newServer().user()));
    Map<String, String> env = new HashMap<>();
    Optional.ofNullable(pair.oldServer().password()).ifPresent(p -> env.put("CUTOVER_REPLICATOR_OLD_PASSWORD", p));
    Optional.ofNullable(pair.newServer().password()).ifPresent(p -> env.put("CUTOVER_REPLICATOR_NEW_PASSWORD", p));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = ReplicatorCli.run(new PrintWriter(out, true), new PrintWriter(err, true), env, false, all.toArray(String[]::new));
    return new Run(code, out.toString(), err.toString(), timeout);
  }

  /** Removes what start left in {@code database}, over a network that answers. */
  private static void cleanup(PostgresPair pair, String database) {
    Run run = cli(pair, database, Side.NEW, null, "cleanup");
    assertThat(run.code()).as(run.err()).isZero();
  }

  /** Whether a session of the replicator on {@code c}'s database is in the state {@code condition} says. */
  private static boolean replicatorWaits(Connection c, String condition) throws Exception {
    return Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = ?"
        + " AND " + condition + ")", Endpoint.APPLICATION_NAME);
  }

  /**
   * A new database on both servers with materialized view {@code public.slow}, populated on old at
   * once; refreshing it on new takes {@code seconds}.
   */
  private static String slowView(PostgresPair pair, long seconds) throws Exception {
    String schema = "CREATE TABLE pause (seconds float8); CREATE MATERIALIZED VIEW slow AS SELECT 1 AS n FROM pause, pg_sleep(pause.seconds)";
    return database(pair, schema, schema + "; INSERT INTO pause VALUES (" + seconds + ")");
  }

  /** A new database on both servers, {@code onOld} run in old's and {@code onNew} in new's. */
  private static String database(PostgresPair pair, String onOld, String onNew) throws Exception {
    String db = "silent_side_" + IDS.incrementAndGet();
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      server.createDatabase(db);
      try (Connection c = server.connect(db)) {
        Sql.execute(c, server == pair.oldServer() ? onOld : onNew);
      }
    }
    return db;
  }
}
