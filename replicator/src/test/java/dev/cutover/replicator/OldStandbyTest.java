package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.check.PhysicalStandbys;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.Standby;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Old has a physical streaming standby (HA). Before PostgreSQL 17 a logical slot lives on the
 * primary only, so a failover of old to that standby loses the slot of native replication and of
 * the relay, and the migration must be cleaned up and started again ({@link OldFailoverTest});
 * trigger capture's change log is replicated with the data and survives it. Before, check and start
 * said nothing of it. The standby is a real one, made by Debian's {@code pg_basebackup} 15, so old is
 * 15 (the newest it backs up; a 12 standby cannot use the {@code channel_binding} it writes into
 * {@code primary_conninfo}, and never streams).
 */
@PostgresVersions(oldMajor = 15, newMajor = 17)
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class OldStandbyTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void checkAndStart_oldHasAPhysicalStandby_warnNamingItForTheEnginesWithASlotOnOldOnly(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "standby");
    Replicator r = db.replicator();
    String slot = r.names().forwardSlot();
    assertThat(standbyFindings(r, Capture.LOGICAL)).as("old has no standby").isEmpty();
    try (Standby standby = Standby.of(pair.oldServer()); Connection o = db.old()) {
      await().atMost(WAIT).until(() -> AppDatabase.strings(o, "SELECT application_name || ' ' || coalesce(state, '?') FROM pg_stat_replication"),
          rows -> rows.size() == 1 && rows.get(0).endsWith(" streaming"));
      String name = AppDatabase.strings(o, "SELECT application_name FROM pg_stat_replication").get(0);
      for (Capture engine : List.of(Capture.LOGICAL, Capture.RELAY)) {
        assertThat(standbyFindings(r, engine)).as("%s", engine).singleElement().satisfies(f -> {
          assertThat(f.severity()).isEqualTo(Finding.Severity.WARNING);
          assertThat(f.side()).isEqualTo("old");
          assertThat(f.message()).contains("old has a physical standby: '" + name + "' (").contains(", streaming, no replication slot)")
              .contains("PostgreSQL 15 keeps logical slots on the primary only").contains("slot " + slot + " is gone there")
              .contains(engine == Capture.RELAY ? "`cutover-replicator apply` cannot resume" : "subscription " + r.names().forward());
          assertThat(f.remedy()).contains("`cutover-replicator cleanup` and start again")
              .contains("--capture triggers, which survives it");
        });
      }
      assertThat(standbyFindings(r, Capture.TRIGGERS)).as("trigger capture survives a failover").isEmpty();

      // A role without pg_read_all_stats sees the walsender, not its state: it says it cannot tell.
      String reader = db.name + "_reader";
      AppDatabase.execute(o, "CREATE ROLE " + reader + " LOGIN");
      Properties p = new Properties();
      p.setProperty("user", reader);
      try (Connection plain = DriverManager.getConnection(pair.oldServer().jdbcUrl(db.name), p)) {
        assertThat(PhysicalStandbys.warnings(plain, r.names(), false)).singleElement().satisfies(w -> assertThat(w)
            .contains("1 physical walsender(s) ('" + name + "') whose state this role may not read")
            .contains("cannot tell a physical standby from a base backup in progress").contains("slot " + slot + " is gone there")
            .contains("remedy: run check as a role with pg_monitor"));
      } finally {
        AppDatabase.execute(o, "DROP ROLE " + reader);
      }

      StartReport started = ReplicationFlow.start(r);
      assertThat(started.warnings()).anySatisfy(w -> assertThat(w).contains("old has a physical standby: '" + name + "'")
          .contains("remedy: a failover of old during the window means `cutover-replicator cleanup` and start again"));
    }
  }

  /**
   * From PostgreSQL 17 on, start makes old's slot a failover slot, of which a standby that
   * synchronizes slots keeps a copy through a promotion, and check's remedy names the settings for
   * that. Old is the pair's 17 server here, new its 15 one: pg_basebackup 15 cannot make a standby
   * of 17, so a physical replication stream stands for one in old's pg_stat_replication. Before,
   * the slot was made without the flag (failover false).
   */
  @Test
  void checkAndStart_old17OrLater_remedyNamesSlotSyncAndTheSlotIsAFailoverSlot(PostgresPair pair) throws Exception {
    String database = "failover_slot";
    pair.newServer().createDatabase(database);
    pair.oldServer().createDatabase(database);
    for (PostgresServer server : List.of(pair.newServer(), pair.oldServer())) {
      try (Connection c = server.connect(database)) {
        AppDatabase.execute(c, "CREATE TABLE booking (id int PRIMARY KEY, guest text)");
      }
    }
    Replicator r = Replicator.builder().old(AppDatabase.endpoint(pair.newServer(), Side.OLD, database))
        .nw(AppDatabase.endpoint(pair.oldServer(), Side.NEW, database)).build();
    try (Connection physical = physicalStream(pair.newServer(), "replica_17")) {
      assertThat(standbyFindings(r, Capture.LOGICAL)).singleElement().satisfies(f -> {
        assertThat(f.message()).contains("old has a physical standby: 'replica_17' (")
            .contains("PostgreSQL 17 copies a logical slot to a standby only where the standby synchronizes slots");
        assertThat(f.remedy()).contains("start makes " + r.names().forwardSlot() + " a failover slot")
            .contains("synchronized_standby_slots").contains("primary_slot_name").contains("hot_standby_feedback = on")
            .contains("sync_replication_slots = on").contains("--capture triggers");
      });
    }
    ReplicationFlow.start(r);
    try (Connection o = pair.newServer().connect(database)) {
      AppDatabase.execute(o, "INSERT INTO booking VALUES (1, 'after start')");
      assertThat(AppDatabase.strings(o, "SELECT failover::text FROM pg_replication_slots WHERE slot_name = '"
          + r.names().forwardSlot() + "'")).containsExactly("true");
    }
    r.awaitCaughtUp(WAIT);
  }

  /** A physical replication stream from {@code server}'s current WAL position, as a standby's walreceiver opens one, awaited until it streams. */
  private static Connection physicalStream(PostgresServer server, String applicationName) throws Exception {
    Properties p = new Properties();
    PGProperty.REPLICATION.set(p, "true");
    PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "10");
    PGProperty.PREFER_QUERY_MODE.set(p, "simple");
    PGProperty.APPLICATION_NAME.set(p, applicationName);
    Connection c = server.connect(PostgresServer.DEFAULT_DATABASE, p);
    try (Connection watch = server.connect()) {
      LogSequenceNumber now = LogSequenceNumber.valueOf(AppDatabase.strings(watch, "SELECT pg_current_wal_lsn()::text").get(0));
      c.unwrap(PGConnection.class).getReplicationAPI().replicationStream().physical().withStartPosition(now).start();
      await().atMost(WAIT).until(() -> AppDatabase.strings(watch, "SELECT state FROM pg_stat_replication WHERE application_name = '"
          + applicationName + "'"), rows -> rows.equals(List.of("streaming")));
      return c;
    } catch (Exception e) {
      c.close();
      throw e;
    }
  }

  private static List<Finding> standbyFindings(Replicator r, Capture engine) throws Exception {
    return r.check(List.of(), engine).findings().stream().filter(f -> f.code().equals("physical-standby")).toList();
  }
}
