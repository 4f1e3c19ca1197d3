package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.apply.ApplyProgress;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.HeartbeatWriter;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.TcpProxy;
import dev.cutover.replicator.cli.ReplicatorCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The replicator's long-running parts when a peer stops answering. An apply: a source behind a
 * network that went silent (no reset, no close), and a target statement that waits longer than
 * {@code networkTimeout}. Either way the applier gives its connection up, says which side, and
 * starts over from the target's position; the session it left on the target, which still holds the
 * apply lock, is ended by the next one; once the peer answers, everything arrives once, also what
 * was read ahead while the target waited. An applier stopped while its read waits on the source
 * stops at once. Catch-up,
 * whose marker cannot be written, fails within its timeout rather than wait past it, and so does
 * verify's recheck. A heartbeat writer gives a silent write up and beats again once its database
 * answers. {@code status} and {@code switch-status} name the side that answers nothing within
 * their {@code --network-timeout}, and a {@code --watch} goes on watching through it.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SilentPeerTest {
  private static final Duration CATCH_UP = Duration.ofSeconds(60);
  private static final Applier.Options OPTIONS = Applier.Options.defaults().withNetworkTimeout(Duration.ofSeconds(2));

  @Test
  void apply_sourceGoesSilent_givesItsConnectionUpAndCatchesUpOnceItAnswers(PostgresPair pair) throws Exception {
    withCapture(pair, "silent_old", (db, r) -> {
      try (TcpProxy proxy = TcpProxy.in(pair.oldServer())) {
        Endpoint old = db.oldVia(proxy);
        try (Applier forward = Applier.start(Way.forward(old, db.endpoint(Side.NEW)), OPTIONS)) {
          bump(db, 1);
          awaitCounter(db, 1);

          proxy.stall();
          bump(db, 5);
          await().atMost(CATCH_UP).until(() -> String.valueOf(forward.lastError()).contains("no answer from old for 2000ms"));
          proxy.resume();

          awaitRecovered(forward, db, 6);
        }
      }
    });
  }

  /**
   * One change waits at the batch's commit; 600 in one transaction wait as the batch is read, since
   * a full group of changes is written to new meanwhile (and the batch's rollback is then refused
   * by the connection PgJDBC closed, which must not hide the timeout).
   */
  @ParameterizedTest(name = "{0} change(s) in one transaction")
  @ValueSource(ints = {1, 600})
  void apply_targetStatementWaitsPastTheTimeout_endsItsOwnLeftSessionAndCatchesUp(int changes, PostgresPair pair) throws Exception {
    withCapture(pair, "silent_new", (db, r) -> {
      try (Applier forward = Applier.start(Way.forward(db.endpoint(Side.OLD), db.endpoint(Side.NEW)), OPTIONS)) {
        bump(db, 1);
        awaitCounter(db, 1);

        try (Connection locker = db.nw()) {
          locker.setAutoCommit(false);
          OwnedDatabase.execute(locker, "LOCK TABLE counter IN ACCESS EXCLUSIVE MODE");
          bumpInOne(db, changes);
          // The batch waits for the lock, longer than the network timeout lets it.
          await().atMost(CATCH_UP).until(() -> waiting(db).size() == 1);
          long first = waiting(db).get(0);
          // Given up, it keeps waiting on the server, holding the apply lock; the next session ends it
          // and waits in turn, all while the lock is still held.
          await().atMost(CATCH_UP).until(() -> {
            List<Long> now = waiting(db);
            return !now.isEmpty() && !now.contains(first) && gone(db, first);
          });
          assertThat(forward.lastError()).contains("no answer from new for ");
          locker.rollback();
        }

        awaitRecovered(forward, db, 1 + changes);
      }
    });
  }

  /**
   * With a backlog the source is read a batch ahead of the target (ReadAhead): while a batch of
   * 1,000 changes waits on new, the next read runs on old (caught waiting for a lock on the log
   * table that is not written now); when the waiting session is lost, what was read ahead is
   * dropped and read again from new's position, so every change arrives once.
   */
  @Test
  void apply_targetLostWhileTheNextBatchIsReadAhead_readsAgainFromTheTargetsPosition(PostgresPair pair) throws Exception {
    withCapture(pair, "read_ahead", (db, r) -> {
      Applier.Options patient = OPTIONS.withNetworkTimeout(Duration.ofMinutes(5));
      try (Applier forward = Applier.start(Way.forward(db.endpoint(Side.OLD), db.endpoint(Side.NEW)), patient)) {
        bump(db, 1);
        awaitCounter(db, 1);

        try (Connection locker = db.nw(); Connection logLocker = db.old(); Connection o = db.old(); Connection n = db.nw()) {
          locker.setAutoCommit(false);
          OwnedDatabase.execute(locker, "LOCK TABLE counter IN ACCESS EXCLUSIVE MODE");
          bumpInOne(db, 1000);
          await().atMost(CATCH_UP).until(() -> waiting(db).size() == 1);
          long first = waiting(db).get(0);
          logLocker.setAutoCommit(false);
          long current = OwnedDatabase.count(logLocker, "SELECT current_log FROM cutover.capture_state");
          OwnedDatabase.execute(logLocker, "LOCK TABLE cutover.change_log_" + (1 - current) + " IN ACCESS EXCLUSIVE MODE");
          await().atMost(CATCH_UP).until(() -> readsWaiting(o) == 1);
          assertThat(waiting(db)).as("the batch before still waits on new").containsExactly(first);
          bumpInOne(db, 5);
          logLocker.rollback();

          assertThat(OwnedDatabase.count(n, "SELECT pg_terminate_backend(?)::int", (int) first)).isEqualTo(1);
          locker.rollback();
        }

        awaitRecovered(forward, db, 1006);
      }
    });
  }

  /**
   * Stopping an applier while writes keep coming faster than the target takes them (a trigger on
   * new that takes 20 ms a row), so that a backlog builds and is read ahead: it stops after the
   * batch in flight, and the next applier brings the rest, once.
   */
  @Test
  void apply_stoppedWithABacklogReadAhead_stopsAfterTheBatchInFlight(PostgresPair pair) throws Exception {
    withCapture(pair, "stop_busy", (db, r) -> {
      try (Connection n = db.nw()) {
        OwnedDatabase.execute(n, "CREATE FUNCTION slow_apply() RETURNS trigger LANGUAGE plpgsql AS"
            + " $$ BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END $$");
        OwnedDatabase.execute(n, "CREATE TRIGGER slow_apply AFTER UPDATE ON counter FOR EACH ROW EXECUTE PROCEDURE slow_apply()");
        OwnedDatabase.execute(n, "ALTER TABLE counter ENABLE ALWAYS TRIGGER slow_apply");
      }
      Applier forward = Applier.start(Way.forward(db.endpoint(Side.OLD), db.endpoint(Side.NEW)), OPTIONS);
      AtomicBoolean writing = new AtomicBoolean(true);
      CompletableFuture<Long> writes = CompletableFuture.supplyAsync(() -> {
        long written = 0;
        try (Connection o = db.old()) {
          while (writing.get()) {
            OwnedDatabase.execute(o, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
            written++;
            LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
        return written;
      });
      try {
        await().atMost(CATCH_UP).until(() -> forward.batches() >= 6);
        forward.close();
        assertThat(forward.running()).as("stopped while writes went on").isFalse();
      } finally {
        writing.set(false);
        forward.close();
      }
      long written = writes.get(1, TimeUnit.MINUTES);
      try (Connection n = db.nw()) {
        OwnedDatabase.execute(n, "DROP TRIGGER slow_apply ON counter");
      }
      try (Applier again = Applier.start(Way.forward(db.endpoint(Side.OLD), db.endpoint(Side.NEW)), OPTIONS)) {
        awaitCounter(db, written);
      }
    });
  }

  /** Stopping an applier whose read waits on old (here for a lock) gives the read up rather than wait out the network timeout. */
  @Test
  void apply_stoppedWhileItsReadWaitsOnOld_stopsWithoutWaitingForTheNetworkTimeout(PostgresPair pair) throws Exception {
    withCapture(pair, "stop_reading", (db, r) -> {
      Applier forward = Applier.start(Way.forward(db.endpoint(Side.OLD), db.endpoint(Side.NEW)),
          OPTIONS.withNetworkTimeout(Duration.ofMinutes(5)));
      try (Connection locker = db.old(); Connection o = db.old()) {
        bump(db, 1);
        awaitCounter(db, 1);
        locker.setAutoCommit(false);
        OwnedDatabase.execute(locker, "LOCK TABLE cutover.change_log_0, cutover.change_log_1 IN ACCESS EXCLUSIVE MODE");
        await().atMost(CATCH_UP).until(() -> readsWaiting(o) == 1);

        forward.close();
        assertThat(forward.running()).as("stopped, its read on old given up").isFalse();
        locker.rollback();
      } finally {
        forward.close();
      }
    });
  }

  /**
   * Old takes connections but answers nothing (a silent network, a frozen server): catch-up's own
   * login to it gives up within {@code --timeout}, not PgJDBC's login timeout of 20 s, naming old.
   */
  @Test
  void catchUp_oldSilentBeforeItConnects_failsWithinItsTimeoutNamingOld(PostgresPair pair) throws Exception {
    withCapture(pair, "silent_login", (db, r) -> {
      try (TcpProxy proxy = TcpProxy.in(pair.oldServer())) {
        Replicator viaProxy = Replicator.builder().old(db.oldVia(proxy)).nw(db.endpoint(Side.NEW)).build();
        proxy.stall();
        long started = System.nanoTime();
        ReplicatorException refused = assertTimeoutPreemptively(CATCH_UP,
            () -> catchThrowableOfType(() -> viaProxy.awaitCaughtUp(Duration.ofSeconds(2)), ReplicatorException.class));
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        System.out.printf("catch-up --timeout 2s with old silent took %d ms: %s%n", took.toMillis(), refused);
        assertThat(refused).as("catch-up's outcome while old is silent").isNotNull();
        assertThat(refused.getMessage()).startsWith("old: no answer");
        assertThat(took).isLessThan(Duration.ofSeconds(5));
      }
    });
  }

  /**
   * A statement catch-up runs before its marker (where it finds which way runs) waits past
   * {@code --timeout}, for a lock on new here: it ends with exit 8 in time naming new, as a marker
   * that cannot be written does, not with the connection error PgJDBC gives up with.
   */
  @Test
  void catchUp_newSilentBeforeTheMarker_failsWithinItsTimeoutNamingNew(PostgresPair pair) throws Exception {
    withCapture(pair, "silent_lookup", (db, r) -> {
      try (Connection locker = pair.newServer().connect(db.name)) {
        locker.setAutoCommit(false);
        OwnedDatabase.execute(locker, "LOCK TABLE " + ApplyProgress.TABLE + " IN ACCESS EXCLUSIVE MODE");
        Exception refused = assertTimeoutPreemptively(CATCH_UP,
            () -> catchThrowableOfType(() -> r.awaitCaughtUp(Duration.ofSeconds(2)), Exception.class));
        System.out.println("catch-up while new's apply position is locked: " + refused);
        assertThat(refused).isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.TIMEOUT);
          assertThat(e.getMessage()).startsWith("new: no answer within 2000 ms while catching up");
        });
        locker.rollback();
      }
    });
  }

  @Test
  void catchUp_markerWriteBlockedOnOld_failsWithinItsTimeout(PostgresPair pair) throws Exception {
    withCapture(pair, "silent_catchup", (db, r) -> {
      try (ApplyProcess apply = r.apply(OPTIONS)) {
        try (Connection locker = barrierLocked(pair, db)) {
          ReplicatorException refused = assertTimeoutPreemptively(CATCH_UP,
              () -> catchThrowableOfType(() -> r.awaitCaughtUp(Duration.ofSeconds(2)), ReplicatorException.class));
          assertThat(refused).as("catch-up's outcome while its marker cannot be written").isNotNull();
          assertThat(refused.failure()).isEqualTo(Failure.TIMEOUT);
          assertThat(refused.getMessage()).startsWith("old: no answer within 2000 ms while catching up");
          locker.rollback();
        }
        assertThat(r.awaitCaughtUp(CATCH_UP)).as("once the lock is gone").isNotNull();
      }
    });
  }

  @Test
  void verify_recheckBarrierBlockedOnOld_reportsTheDifferenceAsFoundWithinItsTimeout(PostgresPair pair) throws Exception {
    withCapture(pair, "silent_verify", (db, r) -> {
      try (ApplyProcess apply = r.apply(OPTIONS)) {
        r.awaitCaughtUp(CATCH_UP);
        try (Connection n = db.nw()) {
          OwnedDatabase.execute(n, "UPDATE counter SET value = 99 WHERE name = 'c2'");
        }
        try (Connection locker = barrierLocked(pair, db)) {
          Verifier.Options quick = Verifier.Options.defaults();
          Verifier.Options options = new Verifier.Options(quick.chunkRows(), quick.leafRows(), quick.maxKeysPerTable(),
              Duration.ofSeconds(2), quick.recheckRounds(), quick.jobs());
          VerifyReport report = assertTimeoutPreemptively(CATCH_UP, () -> r.verify(options));
          assertThat(report.rechecked()).isFalse();
          assertThat(report.note()).startsWith("old did not answer within 2000 ms during the recheck");
          assertThat(report.differences()).isOne();
          locker.rollback();
        }
      }
    });
  }

  @Test
  void heartbeat_sourceGoesSilent_givesTheWriteUpAndBeatsAgainOnceItAnswers(PostgresPair pair) throws Exception {
    withCapture(pair, "silent_beat", (db, r) -> {
      try (TcpProxy proxy = TcpProxy.in(pair.oldServer())) {
        Replicator viaProxy = Replicator.builder()
            .old(db.oldVia(proxy))
            .nw(db.endpoint(Side.NEW)).build();
        try (HeartbeatWriter beat = viaProxy.heartbeat(Duration.ofMillis(100))) {
          await().atMost(CATCH_UP).until(() -> beat.beats() > 0);

          proxy.stall();
          await().atMost(CATCH_UP).until(() -> beat.lastError() != null);
          proxy.resume();

          long beats = beat.beats();
          await().atMost(CATCH_UP).until(() -> beat.beats() > beats && beat.lastError() == null);
        }
      }
    });
  }

  /** Each operator read against old with the tables it reads locked: old is named within the timeout. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "status|cutover.change_log_0, cutover.change_log_1",
      "switch-status|cutover.instance, cutover.switch",
      "check|pg_catalog.pg_largeobject_metadata"})
  void operatorRead_oldAnswersNothingInTime_failsNamingOldWithinItsTimeout(String command, String tables, PostgresPair pair)
      throws Exception {
    withCapture(pair, "silent_" + command.replace('-', '_'), (db, r) -> {
      try (Connection locker = locked(pair, db, tables)) {
        Run read = assertTimeoutPreemptively(CATCH_UP, () -> cli(pair, db, command, "--network-timeout", "1s"));

        assertThat(read.code()).as(read.err()).isEqualTo(Failure.CONNECTION.exitCode());
        assertThat(read.err()).contains("old: no answer for 1000ms").contains(command + " --network-timeout");
        locker.rollback();
      }
    });
  }

  /**
   * A watch says a side went silent, keeps watching, and ends on a good print once the side answers
   * again. Old stays silent until only a few of the watch's rounds remain: the rounds before the
   * silence do not use up the count, and what is left after it is a few rounds however slow each is
   * on a loaded machine (there, the 60 rounds a watch ran in all outlasted the wait for its end).
   */
  @Test
  void statusWatch_oldSilentForAWhile_saysSoAndGoesOnWatching(PostgresPair pair) throws Exception {
    withCapture(pair, "silent_watch", (db, r) -> {
      int count = 24;
      int left = 8;
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      CompletableFuture<Run> watching = CompletableFuture.supplyAsync(() -> cli(pair, db, out, err, "status", "--watch", "--count",
          String.valueOf(count), "--interval", "100ms", "--network-timeout", "2s"));
      await().atMost(CATCH_UP).until(() -> out.toString().contains("forward (old -> new): "));
      try (Connection locker = locked(pair, db, "cutover.change_log_0, cutover.change_log_1")) {
        // Each silent round waits out the network timeout: the rounds left give time to answer again before the last
        // (2 s each, not 500 ms: on a loaded machine a status that old answers took longer than 500 ms).
        await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(10)).until(() -> err.toString().contains("old: no answer for 2000ms")
            && prints(out) + retries(err) >= count - left);
        locker.rollback();
      }
      int printsBefore = prints(out);
      Run watched = watching.get(CATCH_UP.toSeconds(), TimeUnit.SECONDS);

      assertThat(watched.code()).as(watched.err()).isZero();
      assertThat(watched.err()).contains("(trying again in 100 ms)");
      assertThat(prints(out)).as("prints once old answered again").isGreaterThan(printsBefore);
    });
  }

  /** A watch whose first print fails ends there: a wrong URL or a side down from the start is not waited out. */
  @Test
  void statusWatch_oldSilentFromTheStart_failsAtOnce(PostgresPair pair) throws Exception {
    withCapture(pair, "silent_watch_first", (db, r) -> {
      try (Connection locker = locked(pair, db, "cutover.change_log_0, cutover.change_log_1")) {
        Run watched = assertTimeoutPreemptively(CATCH_UP, () -> cli(pair, db, "status", "--watch", "--network-timeout", "500ms"));

        assertThat(watched.code()).isEqualTo(Failure.CONNECTION.exitCode());
        assertThat(watched.err()).contains("old: no answer for 500ms").doesNotContain("trying again");
        locker.rollback();
      }
    });
  }

  private static int prints(StringWriter out) {
    return out.toString().split("forward \\(old -> new\\): ", -1).length - 1;
  }

  /** Rounds of a watch that found a side silent and went on. */
  private static int retries(StringWriter err) {
    return err.toString().split("\\(trying again in ", -1).length - 1;
  }

  private record Run(int code, String out, String err) {}

  private static Run cli(PostgresPair pair, OwnedDatabase db, String... args) {
    return cli(pair, db, new StringWriter(), new StringWriter(), args);
  }

  /** The command line as {@link OwnedDatabase#ROLE}, printing into {@code out} and {@code err} as it goes. */
  private static Run cli(PostgresPair pair, OwnedDatabase db, StringWriter out, StringWriter err, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--old-url", db.url(pair.oldServer()), "--new-url", db.url(pair.newServer()),
        "--old-user", OwnedDatabase.ROLE, "--new-user", OwnedDatabase.ROLE));
    int code = ReplicatorCli.run(new PrintWriter(out, true), new PrintWriter(err, true), Map.of(), false, all.toArray(String[]::new));
    return new Run(code, out.toString(), err.toString());
  }

  /** A superuser session on old holding {@code cutover.barrier} locked in an open transaction: no marker can be written. */
  private static Connection barrierLocked(PostgresPair pair, OwnedDatabase db) throws Exception {
    return locked(pair, db, "cutover.barrier");
  }

  /** A superuser session on old holding {@code tables} locked in an open transaction: no one can read or write them. */
  private static Connection locked(PostgresPair pair, OwnedDatabase db, String tables) throws Exception {
    Connection locker = pair.oldServer().connect(db.name);
    locker.setAutoCommit(false);
    OwnedDatabase.execute(locker, "LOCK TABLE " + tables + " IN ACCESS EXCLUSIVE MODE");
    return locker;
  }

  /** What a test does with its database and replicator. */
  @FunctionalInterface
  interface WithCapture {
    void run(OwnedDatabase db, Replicator r) throws Exception;
  }

  /** Runs {@code test} on a new database whose trigger capture is started, and cleans the capture up after. */
  private static void withCapture(PostgresPair pair, String prefix, WithCapture test) throws Exception {
    withStarted(OwnedDatabase.create(pair, prefix), TriggerCaptureFlow.options(), test);
  }

  /** Runs {@code test} on {@code db} once {@code start} with {@code options} is done, and cleans up after. */
  static void withStarted(OwnedDatabase db, StartOptions options, WithCapture test) throws Exception {
    Replicator r = db.replicator();
    r.start(options, new CopyProgress(), CopyListener.NONE);
    try {
      test.run(db, r);
    } finally {
      r.cleanup();
    }
  }

  private static void bump(OwnedDatabase db, int transactions) throws Exception {
    try (Connection o = db.old()) {
      for (int i = 0; i < transactions; i++) {
        OwnedDatabase.execute(o, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
      }
    }
  }

  /** {@code changes} increments of the counter in one transaction on old. */
  private static void bumpInOne(OwnedDatabase db, int changes) throws Exception {
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "DO $$ BEGIN FOR i IN 1.." + changes + " LOOP UPDATE counter SET value = value + 1 WHERE name = 'c1';"
          + " END LOOP; END $$");
    }
  }

  /** Waits until the applier has applied up to {@code counter} and gone on without an error, still running, nothing missing. */
  private static void awaitRecovered(Applier forward, OwnedDatabase db, long counter) throws Exception {
    awaitCounter(db, counter);
    await().atMost(CATCH_UP).until(() -> forward.lastError() == null);
    assertThat(forward.running()).as("not stopped for good").isTrue();
    assertThat(forward.missing()).isZero();
  }

  /** Waits until new's counter shows exactly {@code value}: every change applied, none twice. */
  private static void awaitCounter(OwnedDatabase db, long value) throws Exception {
    try (Connection n = db.nw()) {
      await().atMost(CATCH_UP).until(() -> OwnedDatabase.count(n, "SELECT value FROM counter WHERE name = 'c1'") >= value);
      assertThat(OwnedDatabase.count(n, "SELECT value FROM counter WHERE name = 'c1'")).isEqualTo(value);
    }
  }

  /** The applier's reads of the change log on old ({@code o}) that wait for a lock. */
  private static long readsWaiting(Connection o) throws Exception {
    return OwnedDatabase.count(o, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        + " AND application_name = 'cutover-replicator' AND query LIKE 'WITH e AS%' AND wait_event_type = 'Lock'");
  }

  /** The replicator's sessions on new that wait for a lock. */
  private static List<Long> waiting(OwnedDatabase db) throws Exception {
    try (Connection n = db.nw()) {
      return OwnedDatabase.strings(n, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
          + " AND application_name = 'cutover-replicator'").stream().map(Long::valueOf).toList();
    }
  }

  private static boolean gone(OwnedDatabase db, long pid) throws Exception {
    try (Connection n = db.nw()) {
      return OwnedDatabase.count(n, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", (int) pid) == 0;
    }
  }
}
