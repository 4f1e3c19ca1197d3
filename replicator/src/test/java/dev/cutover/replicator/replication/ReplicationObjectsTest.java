package dev.cutover.replicator.replication;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.common.Poll;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;

/** Dropping replication slots, including one a walsender still reads. */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class ReplicationObjectsTest {
  private static final Poll POLL = Poll.every(Duration.ofMillis(5), Duration.ofMillis(100));
  private static final String SLOT_HOLDER = "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?";

  @Test
  void dropSlot_noSuchSlot_false(PostgresPair pair) throws Exception {
    try (Connection c = pair.oldServer().connect()) {
      assertThat(ReplicationObjects.dropSlot(c, "cutover_never_made", Duration.ofMillis(100))).isFalse();
    }
  }

  @Test
  void dropSlot_inactiveSlot_droppedAtOnce(PostgresPair pair) throws Exception {
    String db = pair.oldServer().createDatabase("drop_inactive");
    try (Connection c = pair.oldServer().connect(db)) {
      createSlot(c, "cutover_inactive");

      assertThat(ReplicationObjects.dropSlot(c, "cutover_inactive", Duration.ofSeconds(30))).isTrue();
      assertThat(Sql.string(c, SLOT_HOLDER, "cutover_inactive")).isNull();
      assertThat(Sql.bool(c, "SELECT count(*) = 0 FROM pg_replication_slots WHERE slot_name = 'cutover_inactive'")).isTrue();
    }
  }

  @Test
  void dropSlot_walsenderStillReadingPastTheWait_terminatesItAndDrops(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    String db = server.createDatabase("drop_held");
    try (Connection c = server.connect(db)) {
      Sql.execute(c, "CREATE PUBLICATION cutover_held FOR ALL TABLES");
      createSlot(c, "cutover_held");
      Connection walsender = replicationConnection(server, db);
      try {
        walsender.unwrap(PGConnection.class).getReplicationAPI().replicationStream().logical()
            .withSlotName("cutover_held").withSlotOption("proto_version", "1")
            .withSlotOption("publication_names", "cutover_held").start();
        assertThat(POLL.within(Duration.ofSeconds(30), () -> Sql.string(c, SLOT_HOLDER, "cutover_held") != null))
            .as("the walsender holds the slot").isTrue();
        String holder = Sql.string(c, SLOT_HOLDER, "cutover_held");

        assertThat(ReplicationObjects.dropSlot(c, "cutover_held", Duration.ofMillis(200))).isTrue();

        assertThat(Sql.bool(c, "SELECT count(*) = 0 FROM pg_replication_slots WHERE slot_name = 'cutover_held'")).isTrue();
        assertThat(POLL.within(Duration.ofSeconds(10),
            () -> Sql.bool(c, "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = ?", Integer.valueOf(holder))))
            .as("the walsender was terminated").isTrue();
      } finally {
        closeTerminated(walsender);
      }
    }
  }

  private static void closeTerminated(Connection walsender) {
    try {
      walsender.close();
    } catch (SQLException expected) {
      // its walsender is gone, so it cannot say goodbye; the socket is closed all the same
    }
  }

  private static void createSlot(Connection c, String slot) throws SQLException {
    Sql.bool(c, "SELECT pg_create_logical_replication_slot(?, 'pgoutput') IS NOT NULL", slot);
  }

  private static Connection replicationConnection(PostgresServer server, String db) throws SQLException {
    Properties properties = new Properties();
    PGProperty.REPLICATION.set(properties, "database");
    PGProperty.ASSUME_MIN_SERVER_VERSION.set(properties, "10");
    PGProperty.PREFER_QUERY_MODE.set(properties, "simple");
    return server.connect(db, properties);
  }
}
