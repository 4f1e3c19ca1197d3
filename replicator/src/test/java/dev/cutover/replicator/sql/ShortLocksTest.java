package dev.cutover.replicator.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
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
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
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
}
