package dev.cutover.replicator.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The apply token: made by two sessions at once (an apply connecting while {@code reverse} installs
 * capture on the same side), both end with one token, the one whose transaction committed first;
 * never published; after a crash, made again as the capture knows it.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class ApplyTokenTest {

  @Test
  void ensure_whileAnotherSessionIsMakingIt_takesThatSessionsToken(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    String db = server.createDatabase("apply_token_race");
    try (Connection first = server.connect(db); Connection second = server.connect(db); Connection watch = server.connect(db)) {
      Sql.execute(first, "CREATE SCHEMA cutover");
      first.setAutoCommit(false);
      ApplyToken.create(first);
      long pid = Sql.number(second, "SELECT pg_backend_pid()");

      CompletableFuture<Void> ensured = CompletableFuture.runAsync(() -> {
        try {
          ApplyToken.ensure(second);
        } catch (SQLException e) {
          throw new CompletionException(e);
        }
      });
      await().atMost(Duration.ofSeconds(30)).until(() -> Sql.bool(watch,
          "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = ? AND NOT granted)", pid));
      first.commit();
      ensured.get(30, TimeUnit.SECONDS);

      String token = Sql.string(watch, "SELECT token FROM " + ApplyToken.TABLE);
      assertThat(token).hasSize(48);
      assertThat(Sql.string(second, "SELECT token FROM " + ApplyToken.TABLE)).isEqualTo(token);
      assertThat(Sql.number(watch, "SELECT count(*) FROM " + ApplyToken.TABLE)).isEqualTo(1);
    }
  }

  /**
   * Never published (a side's token must not reach the other side, where it would collide with
   * that side's own), and so UNLOGGED: emptied by a crash, it is made again from the capture's copy,
   * which the capture function checks against.
   */
  @Test
  void ensure_afterACrashEmptiedTheTable_takesTheCapturesTokenBackAndNoPublicationCarriesIt(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection c = server.connect(server.createDatabase("apply_token_crash"))) {
      ControlSchema.install(c);
      CaptureSchema.install(c);
      Sql.execute(c, "CREATE PUBLICATION everything FOR ALL TABLES");
      String captures = Sql.string(c, "SELECT apply_token FROM cutover.capture_state");
      assertThat(Sql.string(c, "SELECT token FROM " + ApplyToken.TABLE)).isEqualTo(captures);
      assertThat(Sql.number(c, "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'everything'"
          + " AND schemaname = 'cutover' AND tablename = 'apply_token'")).isZero();

      Sql.execute(c, "TRUNCATE " + ApplyToken.TABLE); // what a crash leaves of an unlogged table
      ApplyToken.ensure(c);

      assertThat(Sql.string(c, "SELECT token FROM " + ApplyToken.TABLE)).isEqualTo(captures);
    }
  }
}
