package dev.cutover.replicator.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.cutover.common.Poll;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
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
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
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
      assertThat(Sql.bool(c, "SELECT count(*) = 0 FROM pg_replication_slots WHERE slot_name = 'cutover_inactive'")).isTrue();
    }
  }

  @Test
  void dropSlot_walsenderStillReadingPastTheWait_terminatesItAndDrops(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    String db = server.createDatabase("drop_held");
    try (Connection c = server.connect(db)) {
      Connection walsender = holdWithWalsender(c, server, db, "cutover_held");
      try {
        String holder = Sql.string(c, SLOT_HOLDER, "cutover_held");

        assertThat(ReplicationObjects.dropSlot(c, "cutover_held", Duration.ofMillis(200))).isTrue();

        assertThat(Sql.bool(c, "SELECT count(*) = 0 FROM pg_replication_slots WHERE slot_name = 'cutover_held'")).isTrue();
        assertThat(POLL.within(Duration.ofSeconds(10),
            () -> Sql.bool(c, "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = ?", Integer.valueOf(holder))))
            .as("the walsender was terminated").isTrue();
      } finally {
        closeWalsender(walsender);
      }
    }
  }

  @Test
  void dropSlot_holderThisRoleMayNotTerminate_fails55006NamingTheSlotAndTheRemedy(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    String db = server.createDatabase("drop_refused");
    try (Connection c = server.connect(db)) {
      Sql.execute(c, "CREATE ROLE cutover_slot_dropper LOGIN REPLICATION");
      Connection walsender = holdWithWalsender(c, server, db, "cutover_refused");
      try (Connection dropper = connectAs(server, db, "cutover_slot_dropper")) {
        SQLException e = catchThrowableOfType(SQLException.class,
            () -> ReplicationObjects.dropSlot(dropper, "cutover_refused", Duration.ofMillis(100)));

        assertThat(e.getSQLState()).isEqualTo("55006");
        assertThat(e.getMessage()).contains("Replication slot cutover_refused is still held by process",
            "which this role may not terminate", "run cleanup again");
      } finally {
        closeWalsender(walsender);
      }
      assertThat(ReplicationObjects.dropSlot(c, "cutover_refused", Duration.ofSeconds(30))).isTrue();
    }
  }

  /** Creates {@code slot} and a publication of its name, and a walsender that reads the slot, returned once it holds it. */
  private static Connection holdWithWalsender(Connection c, PostgresServer server, String db, String slot) throws SQLException {
    Sql.execute(c, "CREATE PUBLICATION " + slot + " FOR ALL TABLES");
    createSlot(c, slot);
    Connection walsender = replicationConnection(server, db);
    walsender.unwrap(PGConnection.class).getReplicationAPI().replicationStream().logical()
        .withSlotName(slot).withSlotOption("proto_version", "1").withSlotOption("publication_names", slot).start();
    assertThat(POLL.within(Duration.ofSeconds(30), () -> Sql.string(c, SLOT_HOLDER, slot) != null))
        .as("the walsender holds the slot").isTrue();
    return walsender;
  }

  private static Connection connectAs(PostgresServer server, String db, String role) throws SQLException {
    Properties properties = new Properties();
    properties.setProperty("user", role);
    return new org.postgresql.Driver().connect(server.jdbcUrl(db), properties);
  }

  private static void closeWalsender(Connection walsender) {
    try {
      walsender.close();
    } catch (SQLException expected) {
      // a walsender that streams or was terminated cannot always say goodbye; the socket is closed all the same
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
