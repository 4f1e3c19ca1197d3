package dev.cutover.testkit;

import static dev.cutover.testkit.ReplicationScenario.execute;
import static dev.cutover.testkit.ReplicationScenario.queryRows;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.common.Poll;
import java.sql.Connection;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.PGReplicationStream;

/**
 * An embedded server writes the WAL record logical replication waits for while it waits for one:
 * a table sync worker catching up, a slot building its snapshot.
 */
class ReplicationNudgerTest {

  private static final Poll POLL = Poll.every(Duration.ofMillis(50));
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void tableSyncSlotInUse_logicalMessagesAreWrittenOnTheServer() throws Exception {
    try (PostgresPair pair = PostgresPair.start(12, 17); Connection old = pair.oldServer().connect()) {
      execute(old, "SELECT pg_create_logical_replication_slot('watch', 'test_decoding')");
      execute(old, "SELECT pg_create_logical_replication_slot('sub_16400_sync_16384', 'test_decoding')");
      assertThat(nudges(old)).isEqualTo("0");

      try (Connection walsender = replicationConnection(pair.oldServer());
          PGReplicationStream stream = walsender.unwrap(PGConnection.class).getReplicationAPI().replicationStream()
              .logical().withSlotName("sub_16400_sync_16384").start()) {
        assertThat(POLL.within(WAIT, () -> !nudges(old).equals("0")))
            .as("a logical message of the nudger while a table sync slot streams").isTrue();
      }
    }
  }

  @Test
  void slotBuildingBehindATransaction_checkpointsAreAskedForUntilItIsReady() throws Exception {
    try (PostgresPair pair = PostgresPair.start(12, 17); Connection old = pair.oldServer().connect();
        Connection holder = pair.oldServer().connect(); Connection creator = pair.oldServer().connect()) {
      holder.setAutoCommit(false);
      execute(holder, "SELECT txid_current()");
      long before = Long.parseLong(queryRows(old, "SELECT checkpoints_req FROM pg_stat_bgwriter"));
      CompletableFuture<Void> created = CompletableFuture.runAsync(() -> {
        try {
          execute(creator, "SELECT pg_create_logical_replication_slot('behind', 'test_decoding')");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });

      assertThat(POLL.within(WAIT, () -> Long.parseLong(queryRows(old, "SELECT checkpoints_req FROM pg_stat_bgwriter")) > before))
          .as("a checkpoint asked for while the slot waits for the open transaction").isTrue();
      assertThat(created).isNotDone();
      holder.rollback();
      created.get();
      assertThat(queryRows(old, "SELECT confirmed_flush_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'behind'"))
          .isEqualTo("t");
      execute(old, "SELECT pg_drop_replication_slot('behind')");
    }
  }

  private static Connection replicationConnection(PostgresServer server) throws Exception {
    Properties properties = new Properties();
    PGProperty.USER.set(properties, server.user());
    PGProperty.PASSWORD.set(properties, server.password());
    PGProperty.REPLICATION.set(properties, "database");
    PGProperty.ASSUME_MIN_SERVER_VERSION.set(properties, "9.4");
    PGProperty.PREFER_QUERY_MODE.set(properties, "simple");
    return Sql.DRIVER.connect(server.jdbcUrl(), properties);
  }

  /** How many of the nudger's messages the watching slot has seen. */
  private static String nudges(Connection old) throws Exception {
    return queryRows(old, "SELECT count(*) FROM pg_logical_slot_peek_changes('watch', NULL, NULL)"
        + " WHERE data LIKE 'message: transactional: 0 prefix: cutover-testkit%'");
  }
}
