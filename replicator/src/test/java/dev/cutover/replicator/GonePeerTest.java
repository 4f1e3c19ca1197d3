package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.cli.ReplicatorCli;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.KeylessTables;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.TcpProxy;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A peer gone without a word (its host down, the network cut, the replicator killed) is noticed on
 * both ends of every replicator session: TCP keepalive probes from the replicator's socket and from
 * the server's after 30 s of silence (the kernel's timers, read from /proc/net/tcp, say when the
 * next probe goes), and on 14+ the server ends a statement whose client has gone (new here: 17). A
 * start whose connections to new are reset mid-copy says what failed and undoes what it did, once
 * new takes connections again; the command line says which side answers now.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class GonePeerTest {
  /** /proc/net/tcp gives timers in clock ticks, USER_HZ, which is 100 on Linux. */
  private static final long TICKS_PER_SECOND = 100;
  private static final String KEEPALIVE_TIMER = "02";
  /** Rows in the table whose copy is cut: about 25 MB. */
  private static final long ROWS = 100_000;
  /**
   * How long the proxy to new holds each chunk (64 KB at most) until the copy is cut: at that pace
   * the copy of {@link #ROWS} streams for seconds, as a table ten times larger would at full speed.
   */
  private static final Duration SLOW_LINK = Duration.ofMillis(10);

  @Test
  void idleSession_probesThePeerAfterThirtySeconds_fromTheReplicatorAndFromTheServer(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "keepalive");
    try (Connection c = AppDatabase.endpoint(pair.newServer(), Side.NEW, db.name).connect()) {
      int local = (int) Sql.number(c, "SELECT inet_client_port()");
      int server = (int) Sql.number(c, "SELECT inet_server_port()");
      assertThat(Sql.strings(c, "SELECT current_setting(name) FROM unnest(ARRAY['tcp_keepalives_idle', 'tcp_keepalives_interval',"
          + " 'tcp_keepalives_count', 'client_connection_check_interval']) WITH ORDINALITY u(name, o) ORDER BY o"))
          .containsExactly("30", "10", "3", "10s");

      // Right after an answer the socket may still wait for an acknowledgement; idle, the keepalive timer runs.
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        assertThat(timer(local, server)).as("the replicator's socket").hasValueSatisfying(t -> assertProbeWithin30s(t));
        assertThat(timer(server, local)).as("the server's socket").hasValueSatisfying(t -> assertProbeWithin30s(t));
      });
    }
  }

  @Test
  void replicatorGoneMidStatement_theServerEndsTheStatementWithinTheCheckInterval(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "gone");
    try (TcpProxy proxy = TcpProxy.in(pair.newServer());
        Connection watch = AppDatabase.endpoint(pair.newServer(), Side.NEW, db.name).connect();
        Connection c = Endpoint.of(Side.NEW, proxy.redirect(pair.newServer().jdbcUrl(db.name)), pair.newServer().user(),
            pair.newServer().password()).connect()) {
      long pid = Sql.number(c, "SELECT pg_backend_pid()");
      CompletableFuture<Void> statement = CompletableFuture.runAsync(() -> {
        try {
          Sql.execute(c, "SELECT pg_sleep(600)");
        } catch (SQLException expected) {
          // the connection was reset under it
        }
      });
      await().until(() -> Sql.bool(watch, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ? AND state = 'active')", pid));

      proxy.cut();

      // Without the check the statement would run its ten minutes.
      await().atMost(Duration.ofSeconds(60))
          .until(() -> !Sql.bool(watch, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ?)", pid));
      statement.join();
    }
  }

  /**
   * A server whose port takes the connection but that never answers the login (a frozen server, a
   * stalled proxy or pooler): the replicator gives up after its login timeout, naming the side,
   * instead of waiting for ever (PgJDBC's own default).
   */
  @Test
  void connect_serverTakesTheConnectionButNeverAnswersTheLogin_refusedNamingTheSide(PostgresPair pair) throws Exception {
    try (TcpProxy proxy = TcpProxy.in(pair.newServer())) {
      proxy.stall();
      Endpoint nw = Endpoint.of(Side.NEW, proxy.redirect(pair.newServer().jdbcUrl()), pair.newServer().user(), pair.newServer().password());

      ReplicatorException refused = assertTimeoutPreemptively(Duration.ofSeconds(60),
          () -> catchThrowableOfType(ReplicatorException.class, nw::connect));

      assertThat(refused.failure()).isEqualTo(Failure.CONNECTION);
      assertThat(refused.getMessage()).startsWith("new: no answer to the login within " + Endpoint.LOGIN_TIMEOUT.toSeconds() + " s");
      assertThat(refused.remedy()).contains("loginTimeout");
      proxy.resume();
    }
  }

  /**
   * Every connection to new reset while the copy streams: start reports the copy's own failure, not
   * the refusals of the cancel and rollback that follow on the dead connection, and undoes what it
   * did over new connections, so that start simply runs again (new's tables empty, its indexes
   * back, no slot or capture left on old).
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = Capture.class, names = {"LOGICAL", "TRIGGERS"})
  void start_newResetMidCopy_failsWithTheCopysFailureAndUndoesSoThatStartRunsAgain(Capture capture, PostgresPair pair)
      throws Exception {
    AppDatabase db = copyLost(pair);
    StartOptions options = StartOptions.defaults().withJobs(1).withKeyless(KeylessTables.ALL_FULL).withCapture(capture);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer()); Connection watch = db.nw()) {
      proxy.delay(SLOW_LINK);
      Replicator r = viaProxy(pair, db, proxy);
      CompletableFuture<Throwable> start = startUntilCopying(r, options, watch);
      try {
        proxy.cut();
        proxy.delay(Duration.ZERO);

        Throwable failed = start.get(60, TimeUnit.SECONDS);
        // The cut finds a chunk's COPY mid-stream, or (between chunks) the next one starting.
        assertThat(failed).as("start failed").isNotNull().satisfies(e -> assertThat(e.getMessage())
            .containsAnyOf("writing to copy", "when starting copy"));
        assertThat(failed.getSuppressed()).as("the refused cancel and rollback").isNotEmpty();
        assertNewAsBefore(db, watch);

        r.start(options, new CopyProgress(), CopyListener.NONE);
        assertThat(AppDatabase.count(watch, "SELECT count(*) FROM audit_log")).isEqualTo(ROWS);
      } finally {
        start.get(60, TimeUnit.SECONDS);
        r.cleanup();
      }
    }
  }

  /** The command line's word for it: exit 3, what failed, and that both sides answer now (start has undone itself). */
  @Test
  void startCommand_newResetMidCopy_exitsSayingSoAndThatBothAnswerNow(PostgresPair pair) throws Exception {
    AppDatabase db = copyLost(pair);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer()); Connection watch = db.nw()) {
      proxy.delay(SLOW_LINK);
      Map<String, String> env = new HashMap<>();
      Optional.ofNullable(pair.oldServer().password()).ifPresent(p -> env.put("CUTOVER_REPLICATOR_OLD_PASSWORD", p));
      Optional.ofNullable(pair.newServer().password()).ifPresent(p -> env.put("CUTOVER_REPLICATOR_NEW_PASSWORD", p));
      StringWriter err = new StringWriter();
      CompletableFuture<Integer> start = CompletableFuture.supplyAsync(() -> ReplicatorCli.run(new PrintWriter(new StringWriter()),
          new PrintWriter(err, true), env, false, "start", "--jobs", "1", "--replica-identity-full", "--no-progress",
          "--old-url", pair.oldServer().jdbcUrl(db.name), "--old-user", pair.oldServer().user(),
          "--new-url", proxy.redirect(pair.newServer().jdbcUrl(db.name)), "--new-user", pair.newServer().user()));
      try {
        awaitCopying(start, watch);
        proxy.cut();
        proxy.delay(Duration.ZERO);

        int code = start.get(60, TimeUnit.SECONDS);
        assertThat(code).as(err.toString()).isEqualTo(Failure.CONNECTION.exitCode());
        // The cut may meet PgJDBC starting the COPY or writing to it, as the slow link lets it get.
        assertThat(err.toString()).containsPattern("a connection was lost mid-command \\(Database connection failed when"
            + " (starting|writing to) copy").contains("old and new answer now").contains("run the command again");
        assertNewAsBefore(db, watch);
      } finally {
        start.get(60, TimeUnit.SECONDS);
        db.replicator().cleanup();
      }
    }
  }

  /** A side that takes no connection now is named, with the remedy to wait for it. */
  @Test
  void lostConnection_newTakesNoConnectionNow_namesNew(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "lostnow");
    TcpProxy gone = TcpProxy.in(pair.newServer());
    gone.close();
    Endpoint nw = Endpoint.of(Side.NEW, gone.redirect(pair.newServer().jdbcUrl(db.name)), pair.newServer().user(), null);

    ReplicatorException said = LostConnection.explain(new SQLException("An I/O error occurred while sending to the backend.", "08006",
        new SocketException("Connection reset")), AppDatabase.endpoint(pair.oldServer(), Side.OLD, db.name), nw);

    assertThat(said.failure()).isEqualTo(Failure.CONNECTION);
    assertThat(said.getMessage()).startsWith("new: a connection was lost mid-command (An I/O error occurred while sending to the backend.:"
        + " Connection reset); now new: cannot connect to ").doesNotContain("old:");
    assertThat(said.remedy()).startsWith("once new answers again, run the command again");
  }

  /**
   * New's connections reset mid-copy, and new down for a while after (each new connection reset at
   * once): start's undo tries again until new takes connections, then puts new back as it was.
   */
  @Test
  void start_newDownForAWhileAfterTheReset_undoesOnceNewAnswersAgain(PostgresPair pair) throws Exception {
    AppDatabase db = copyLost(pair);
    StartOptions options = StartOptions.defaults().withJobs(1).withKeyless(KeylessTables.ALL_FULL).withCapture(Capture.TRIGGERS);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer()); Connection watch = db.nw()) {
      proxy.delay(SLOW_LINK);
      Replicator r = viaProxy(pair, db, proxy);
      CompletableFuture<Throwable> start = startUntilCopying(r, options, watch);
      try {
        proxy.refuse(true);
        long accepted = proxy.acceptedConnections();
        proxy.cut();
        proxy.delay(Duration.ZERO);
        // Turned away twice: the undo waits for new, which is down.
        await().atMost(Duration.ofSeconds(60)).until(() -> proxy.acceptedConnections() >= accepted + 2);
        proxy.refuse(false);

        Throwable failed = start.get(60, TimeUnit.SECONDS);
        // The cut finds a chunk's COPY mid-stream, or (between chunks) the next one starting.
        assertThat(failed).as("start failed").isNotNull().satisfies(e -> assertThat(e.getMessage())
            .containsAnyOf("writing to copy", "when starting copy"));
        assertNewAsBefore(db, watch);
        r.start(options, new CopyProgress(), CopyListener.NONE);
      } finally {
        start.get(60, TimeUnit.SECONDS);
        r.cleanup();
      }
    }
  }

  /**
   * A database of {@link AppDatabase}'s schema, audit_log on old grown to {@link #ROWS} rows: a copy
   * that streams for seconds through a proxy holding each chunk {@link #SLOW_LINK}.
   */
  private static AppDatabase copyLost(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "copylost");
    try (Connection o = db.old()) {
      AppDatabase.execute(o, "INSERT INTO audit_log (at, message) SELECT now(), repeat('m', 200) FROM generate_series(1, "
          + (ROWS - AppDatabase.count(o, "SELECT count(*) FROM audit_log")) + ")");
    }
    return db;
  }

  /** The replicator, its connections to new through {@code proxy}. */
  private static Replicator viaProxy(PostgresPair pair, AppDatabase db, TcpProxy proxy) {
    return Replicator.builder()
        .old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db.name))
        .nw(Endpoint.of(Side.NEW, proxy.redirect(pair.newServer().jdbcUrl(db.name)), pair.newServer().user(),
            pair.newServer().password()))
        .build();
  }

  /** Runs start in the background and returns once it copies audit_log (or ended): what it threw, or null. */
  private static CompletableFuture<Throwable> startUntilCopying(Replicator r, StartOptions options, Connection watch) {
    CompletableFuture<Throwable> start = CompletableFuture.supplyAsync(() -> {
      try {
        r.start(options, new CopyProgress(), CopyListener.NONE);
        return null;
      } catch (Throwable failed) {
        return failed;
      }
    });
    awaitCopying(start, watch);
    return start;
  }

  private static void awaitCopying(CompletableFuture<?> started, Connection watch) {
    await().atMost(Duration.ofSeconds(60)).until(() -> started.isDone() || Sql.bool(watch, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity"
        + " WHERE query LIKE 'COPY %audit_log% FROM STDIN%' AND state = 'active')"));
  }

  /** New's indexes and keys are back and the copied rows gone: start can run again. */
  private static void assertNewAsBefore(AppDatabase db, Connection watch) throws Exception {
    String indexes = "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace";
    try (Connection o = db.old()) {
      assertThat(AppDatabase.count(watch, indexes)).as("new's indexes and keys back").isEqualTo(AppDatabase.count(o, indexes));
    }
    assertThat(AppDatabase.count(watch, "SELECT count(*) FROM audit_log")).as("new's copied rows removed").isZero();
  }

  private static void assertProbeWithin30s(String[] timer) {
    assertThat(timer[0]).as("timer kind (02: keepalive)").isEqualTo(KEEPALIVE_TIMER);
    assertThat(Long.parseLong(timer[1], 16)).as("ticks to the next probe").isBetween(1L, 30 * TICKS_PER_SECOND);
  }

  /**
   * The timer of the socket from {@code localPort} to {@code remotePort} on this machine: its kind
   * and ticks to expiry. Java's sockets are IPv6 ones where the machine has IPv6 (tcp6, the IPv4
   * address mapped), the server's listen on IPv4.
   */
  private static Optional<String[]> timer(int localPort, int remotePort) throws IOException {
    for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
      for (String line : Files.readAllLines(Path.of(table))) {
        String[] f = line.trim().split("\\s+");
        if (f.length > 5 && f[1].endsWith(String.format(":%04X", localPort)) && f[2].endsWith(String.format(":%04X", remotePort))) {
          return Optional.of(f[5].split(":"));
        }
      }
    }
    return Optional.empty();
  }
}
