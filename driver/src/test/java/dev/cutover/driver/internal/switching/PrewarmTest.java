package dev.cutover.driver.internal.switching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The wait for the connections a switch opens ahead, against a real server, on a clock the test
 * moves: one executor thread opens them one after another, so the test decides how long each took.
 */
@LeakCheckedPair
class PrewarmTest {
  private static final Duration QUIET = Duration.ofSeconds(10);

  private final AtomicLong clock = new AtomicLong();
  private final ExecutorService oneAtATime = Executors.newSingleThreadExecutor();
  private final List<Connection> everOpened = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() {
    oneAtATime.shutdownNow();
  }

  /** Eight connections, each taking 0.6 of the quiet period: the whole takes 4.8 of them and completes. */
  @Test
  void await_eachOpensWithinTheQuietPeriod_waitsPastItUntilAllAreOpen(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    Prewarm prewarm = new Prewarm(8, Prewarm.LANES, () -> {
      clock.addAndGet(QUIET.toNanos() * 6 / 10);
      return open(server);
    }, oneAtATime, clock::get);

    List<Connection> opened = prewarm.await(QUIET, () -> false);

    assertThat(opened).hasSize(8).allSatisfy(c -> assertThat(c.isValid(1)).isTrue());
    assertThat(clock.get()).isGreaterThan(QUIET.toNanos() * 4);
    opened.forEach(Router::closeQuietly);
  }

  /**
   * Three open, the fourth never answers (a silent server): the wait ends once the quiet period
   * passes with none more, saying how many opened; those, and the one that opens later, are closed,
   * and the last two are never asked for.
   */
  @Test
  void await_noneOpensForTheQuietPeriod_stallsSayingHowManyOpenedAndDiscardClosesEvenLateOnes(PostgresPair pair)
      throws Exception {
    PostgresServer server = pair.newServer();
    CountDownLatch silent = new CountDownLatch(1);
    AtomicInteger asked = new AtomicInteger();
    Prewarm prewarm = new Prewarm(6, Prewarm.LANES, () -> {
      if (asked.incrementAndGet() > 3) {
        hold(silent);
      }
      return open(server);
    }, oneAtATime, clock::get);
    CompletableFuture<List<Connection>> waiting = CompletableFuture.supplyAsync(() -> {
      try {
        return prewarm.await(QUIET, () -> false);
      } catch (SQLException | InterruptedException e) {
        throw new CompletionException(e);
      }
    });
    await().until(() -> prewarm.opened() == 3);
    clock.addAndGet(QUIET.toNanos() - 1);
    await().during(Duration.ofMillis(200)).until(() -> !waiting.isDone());

    clock.addAndGet(1);
    ExecutionException ended = catchThrowableOfType(ExecutionException.class, waiting::get);
    prewarm.discard();
    silent.countDown();

    assertThat(ended.getCause()).isInstanceOfSatisfying(Prewarm.Stalled.class, s -> {
      assertThat(s.opened()).isEqualTo(3);
      assertThat(s.count()).isEqualTo(6);
    });
    await().until(() -> everOpened.size() == 4 && everOpened.stream().allMatch(PrewarmTest::closed));
    await().during(Duration.ofMillis(200)).until(() -> asked.get() == 4);
  }

  /** One refused: the wait ends at once with the refusal, whatever the quiet period; no more are opened. */
  @Test
  void await_oneRefused_endsAtOnceWithTheRefusal(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    AtomicInteger asked = new AtomicInteger();
    Prewarm prewarm = new Prewarm(4, Prewarm.LANES, () -> {
      if (asked.incrementAndGet() == 2) {
        throw new SQLException("FATAL: sorry, too many clients already", "53300");
      }
      return open(server);
    }, oneAtATime, clock::get);

    SQLException refused = catchThrowableOfType(SQLException.class, () -> prewarm.await(Duration.ofDays(1), () -> false));
    prewarm.discard();

    assertThat((Throwable) refused).isNotInstanceOf(Prewarm.Stalled.class).hasMessageContaining("too many clients");
    assertThat(refused.getSQLState()).isEqualTo("53300");
    assertThat(asked).hasValue(2);
    assertThat(everOpened).hasSize(1).allSatisfy(c -> assertThat(closed(c)).isTrue());
  }

  /** The switch's deadline passed: the wait ends though a connection is still opening; no more are opened. */
  @Test
  void await_abandoned_endsWithoutWaitingForTheRest(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    CountDownLatch silent = new CountDownLatch(1);
    AtomicInteger asked = new AtomicInteger();
    Prewarm prewarm = new Prewarm(2, Prewarm.LANES, () -> {
      asked.incrementAndGet();
      hold(silent);
      return open(server);
    }, oneAtATime, clock::get);

    SQLException abandoned = catchThrowableOfType(SQLException.class, () -> prewarm.await(QUIET, () -> true));
    prewarm.discard();
    silent.countDown();

    assertThat((Throwable) abandoned).isNotInstanceOf(Prewarm.Stalled.class).hasMessageContaining("abandoned while 0 of 2");
    await().until(() -> everOpened.size() == 1 && everOpened.stream().allMatch(PrewarmTest::closed));
    assertThat(asked).hasValue(1);
  }

  /**
   * Twelve on as many threads as they ask for, three lanes: three are being opened at a time, never
   * a fourth, and all twelve open.
   */
  @Test
  void await_manyThreads_opensOnlyLanesAtATime(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    ExecutorService anyNumber = Executors.newCachedThreadPool();
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    Semaphore answers = new Semaphore(0);
    try {
      Prewarm prewarm = new Prewarm(12, 3, () -> {
        most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        try {
          answers.acquire();
          return open(server);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new SQLException("interrupted", e);
        } finally {
          inFlight.decrementAndGet();
        }
      }, anyNumber, clock::get);
      await().until(() -> inFlight.get() == 3);
      await().during(Duration.ofMillis(200)).until(() -> inFlight.get() == 3);

      answers.release(12);
      List<Connection> opened = prewarm.await(QUIET, () -> false);

      assertThat(opened).hasSize(12).doesNotHaveDuplicates();
      assertThat(most).hasValue(3);
      opened.forEach(Router::closeQuietly);
    } finally {
      anyNumber.shutdownNow();
    }
  }

  private Connection open(PostgresServer server) throws SQLException {
    Connection c = server.connect();
    everOpened.add(c);
    return c;
  }

  /** A server that does not answer until {@code silent} is counted down. */
  private static void hold(CountDownLatch silent) throws SQLException {
    try {
      silent.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SQLException("interrupted", e);
    }
  }

  private static boolean closed(Connection c) {
    try {
      return c.isClosed();
    } catch (SQLException e) {
      return false;
    }
  }
}
