package dev.cutover.replicator.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Publishing a table takes SHARE UPDATE EXCLUSIVE on it, which a VACUUM, a CREATE INDEX
 * CONCURRENTLY or a transaction that altered the table holds while it runs; here another session
 * holds that lock the same way. {@code start} and {@code reverse} publish through {@link ShortLocks}.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class ShortLocksTest {
  private static final TableName T = new TableName("public", "t");

  @Test
  void run_lockHeldThroughEveryTry_refusedNamingSideTablesAndPurpose(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    String db = server.createDatabase("short_locks_held");
    try (Connection c = server.connect(db); Connection vacuum = server.connect(db); Statement v = vacuum.createStatement()) {
      Sql.execute(c, "CREATE TABLE t (id int PRIMARY KEY)");
      vacuum.setAutoCommit(false);
      v.execute("LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE");

      ReplicatorException refused = catchThrowableOfType(ReplicatorException.class, () -> ShortLocks.run(c, "old", List.of(T),
          "to publish them", Duration.ofSeconds(1), () -> {
            Sql.execute(c, "CREATE PUBLICATION p FOR TABLE t");
            return null;
          }));
      vacuum.rollback();

      assertThat(refused.failure()).isEqualTo(Failure.TIMEOUT);
      assertThat(refused.getMessage()).contains("old: could not lock public.t to publish them")
          .contains("at every try (for 1 s)");
      assertThat(Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'p')")).isFalse();
    }
  }

  @Test
  void run_lockLetGoBetweenTries_succeeds(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    String db = server.createDatabase("short_locks_let_go");
    try (Connection c = server.connect(db); Connection vacuum = server.connect(db); Statement v = vacuum.createStatement();
        Connection watch = server.connect(db)) {
      Sql.execute(c, "CREATE TABLE t (id int PRIMARY KEY)");
      vacuum.setAutoCommit(false);
      v.execute("LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE");

      CompletableFuture<Void> publishing = CompletableFuture.runAsync(() -> {
        try {
          ShortLocks.run(c, "old", List.of(T), "to publish them", Duration.ofMinutes(1), () -> {
            Sql.execute(c, "CREATE PUBLICATION p FOR TABLE t");
            return null;
          });
        } catch (Exception e) {
          throw new CompletionException(e);
        }
      });
      await().until(() -> Sql.bool(watch, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 't'::regclass AND NOT granted)"));
      vacuum.rollback();

      publishing.join();
      assertThat(Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = 'p' AND tablename = 't')"))
          .isTrue();
    }
  }

  /**
   * The copy's exclusive lock on a table of new, asked for as the first statement of the chunk's
   * transaction while a reader on new holds the table: refused after the tries, and the transaction
   * it leaves holds nothing, so the connection goes on.
   */
  @Test
  void first_readerHoldsTheTableThroughEveryTry_refusedLeavingNothingHeld(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    String db = server.createDatabase("short_locks_first_held");
    try (Connection c = server.connect(db); Connection reader = readingT(server, db, c); Connection watch = server.connect(db)) {

      ReplicatorException refused = catchThrowableOfType(ReplicatorException.class, () -> ShortLocks.first(c, "new", T,
          "ACCESS EXCLUSIVE", "to empty it for the copy", Duration.ofSeconds(1)));

      assertThat(refused.failure()).isEqualTo(Failure.TIMEOUT);
      assertThat(refused.getMessage()).contains("new: could not lock public.t to empty it for the copy")
          .contains("at every try (for 1 s)");
      assertThat(Sql.bool(watch, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 't'::regclass AND mode = 'AccessExclusiveLock')"))
          .isFalse();
      assertThat(Sql.number(c, "SELECT count(*) FROM t")).as("the connection goes on").isZero();
      reader.rollback();
      c.rollback();
    }
  }

  /**
   * A try left unanswered past the connection's network timeout (here shorter than a try): PgJDBC
   * closes the connection, which then refuses the rollback; the timeout is what the caller sees.
   */
  @Test
  void first_tryUnansweredPastTheNetworkTimeout_throwsTheTimeoutNotTheRefusedRollback(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    String db = server.createDatabase("short_locks_first_unanswered");
    try (Connection c = server.connect(db); Connection reader = readingT(server, db, c)) {
      Sql.answerWithin(Duration.ofMillis(50), c);

      SQLException failed = catchThrowableOfType(SQLException.class, () -> ShortLocks.first(c, "new", T,
          "ACCESS EXCLUSIVE", "to empty it for the copy", Duration.ofSeconds(1)));

      assertThat(Sql.unanswered(failed)).as("the timeout, not \"This connection has been closed\"").isTrue();
      assertThat(failed.getSuppressed()).as("the refused rollback").isNotEmpty();
      reader.rollback();
    }
  }

  /** Let go between tries: the lock is taken and held in the caller's transaction, under the default lock timeout. */
  @Test
  void first_readerLetsGoBetweenTries_holdsTheLockInTheCallersTransaction(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    String db = server.createDatabase("short_locks_first_let_go");
    try (Connection c = server.connect(db); Connection reader = readingT(server, db, c); Connection watch = server.connect(db)) {
      long pid = Sql.number(c, "SELECT pg_backend_pid()");
      c.rollback();

      CompletableFuture<Void> locking = CompletableFuture.runAsync(() -> {
        try {
          ShortLocks.first(c, "new", T, "ACCESS EXCLUSIVE", "to empty it for the copy", Duration.ofMinutes(1));
        } catch (Exception e) {
          throw new CompletionException(e);
        }
      });
      await().until(() -> Sql.bool(watch, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 't'::regclass AND NOT granted)"));
      reader.rollback();
      locking.join();

      assertThat(Sql.bool(watch, "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 't'::regclass"
          + " AND mode = 'AccessExclusiveLock' AND granted AND pid = ?)", pid)).isTrue();
      assertThat(Sql.string(c, "SHOW lock_timeout")).isEqualTo("0");
      c.rollback();
    }
  }

  /**
   * Makes table t through {@code c}, then turns {@code c}'s autocommit off (the copy's worker
   * connection); returns a session reading t in a transaction it leaves open.
   */
  private static Connection readingT(PostgresServer server, String db, Connection c) throws SQLException {
    Sql.execute(c, "CREATE TABLE t (id int PRIMARY KEY)");
    c.setAutoCommit(false);
    Connection reader = server.connect(db);
    reader.setAutoCommit(false);
    Sql.number(reader, "SELECT count(*) FROM t");
    return reader;
  }
}
