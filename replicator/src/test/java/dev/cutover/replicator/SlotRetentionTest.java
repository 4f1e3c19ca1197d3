package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresPairExtension.OwnPair;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.ServerProcess;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A slot whose apply has stopped keeps its source's WAL without end where {@code
 * max_slot_wal_keep_size} is -1 (or below 13, where there is no such limit), until the source's disk
 * is full and it stops, production database and all (r28 #1: relay, apply stopped, old PANICked and
 * could not restart). Check, start and reverse (for the way back's slot) warn of it beforehand, status measures what each slot retains
 * and says when it is too much, and the login refused while the source recovers is not blamed on
 * the credentials.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SlotRetentionTest {
  private static final Duration CATCH_UP = Duration.ofSeconds(60);

  /** Old 12 has no limit for a slot's WAL, new 17 has none set: both get a slot of native replication (new's for the way back). */
  @Test
  void check_noLimitOnAslotsWal_warnsOnEachSideThatGetsASlot(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "slotlimit");
    CheckReport report = db.replicator().check();
    List<Finding> limits = report.findings().stream().filter(f -> f.code().equals("slot-wal-limit")).toList();
    assertThat(limits).anySatisfy(f -> {
      assertThat(f.side()).isEqualTo("old");
      assertThat(f.severity()).isEqualTo(Finding.Severity.WARNING);
      assertThat(f.message()).contains("PostgreSQL 12 has no max_slot_wal_keep_size").contains("fill old's disk");
      assertThat(f.remedy()).contains("keep subscription " + db.replicator().names().forward() + " on new running")
          .contains("13");
    });
    assertThat(limits).anySatisfy(f -> {
      assertThat(f.side()).isEqualTo("new");
      assertThat(f.message()).contains("max_slot_wal_keep_size is -1").contains("fill new's disk");
      assertThat(f.remedy()).contains("ALTER SYSTEM SET max_slot_wal_keep_size").contains("lost")
          .contains("start again");
    });
  }

  /**
   * Reverse makes the way back's slot on new (17, no limit set): it warns of it in check's words,
   * as start does of old's; it said nothing, and new's disk was left to fill unwatched.
   */
  @Test
  void reverse_noLimitOnNewsSlotWal_warnsAsCheckDoes(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "slotlimitrev");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    String warning = "warning: max_slot_wal_keep_size is -1 (no limit) on new: while the way back's subscription "
        + r.names().reverse() + " on old does not confirm";
    if (pair.oldServer().majorVersion() < 16 || pair.newServer().majorVersion() < 16) {
      assertThat(r.prepareReverse()).anySatisfy(step -> assertThat(step).startsWith(warning)
          .contains("slot " + r.names().reverseSlot()).contains("ALTER SYSTEM SET max_slot_wal_keep_size"));
      try (Connection o = db.old()) {
        AppDatabase.fenceAsASwitch(o);
      }
    }

    Reverse.Report report = r.reverse(new Reverse.Options(Duration.ZERO, CATCH_UP, true));

    assertThat(report.steps()).anySatisfy(step -> assertThat(step).startsWith(warning)
        .contains("slot " + r.names().reverseSlot()).contains("ALTER SYSTEM SET max_slot_wal_keep_size"));
  }

  /**
   * Forward's subscription disabled, and old writes past its max_wal_size: status gives the WAL the
   * slot retains from its restart_lsn and calls it a problem, with the remedy; start warned of it.
   */
  @Test
  void status_subscriptionDisabledAndSlotPastMaxWalSize_reportsRetainedWalAsAProblem(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "slotwal");
    Replicator r = db.replicator();
    StartReport started = ReplicationFlowTest.start(r);
    assertThat(started.warnings()).anyMatch(w -> w.contains("max_slot_wal_keep_size"));
    try (Connection o = db.old(); Connection n = db.nw()) {
      AppDatabase.execute(n, "ALTER SUBSCRIPTION " + r.names().forward() + " DISABLE");
      AppDatabase.execute(o, "ALTER SYSTEM SET max_wal_size = '32MB'");
      AppDatabase.execute(o, "SELECT pg_reload_conf()");
      try {
        await().atMost(CATCH_UP).until(() -> AppDatabase.strings(o, "SHOW max_wal_size").get(0).equals("32MB"));
        for (int i = 0; i < 3; i++) {
          AppDatabase.execute(o, "INSERT INTO audit_log (message) VALUES ('wal " + i + "')");
          AppDatabase.execute(o, "SELECT pg_switch_wal()");
        }
        StatusReport.Direction forward = r.status().forward();
        assertThat(forward.slot().retainedBytes()).isGreaterThan(32L * 1024 * 1024);
        assertThat(forward.problems()).anySatisfy(p -> assertThat(p)
            .contains("slot " + r.names().forwardSlot() + " on old retains")
            .contains("more than max_wal_size (32 MB)")
            .contains("PostgreSQL 12 has no max_slot_wal_keep_size")
            .contains("ALTER SUBSCRIPTION " + r.names().forward() + " ENABLE"));
      } finally {
        AppDatabase.execute(o, "ALTER SYSTEM RESET max_wal_size");
        AppDatabase.execute(o, "SELECT pg_reload_conf()");
      }
    }
  }

  /**
   * A server that refuses logins while it shuts down (as while it recovers or starts: SQLState
   * 57P03) is not a wrong password: the failure says it is not accepting connections and to look at
   * its log. It said "check --new-url, --new-user and CUTOVER_REPLICATOR_NEW_PASSWORD" (r28, old
   * recovering from a full disk). A smart shutdown held open by one session refuses every new login
   * (17; before 14 it let superusers in).
   */
  @Test
  void connect_serverShuttingDown_saysItAcceptsNoConnectionsNotCredentials(@OwnPair PostgresPair pair) throws Exception {
    ServerProcess server = ServerProcess.of(pair.newServer(), Files.createTempFile("shutting-down-", ".log"));
    Endpoint nw = AppDatabase.endpoint(pair.newServer(), Side.NEW, "postgres");
    Connection held = pair.newServer().connect("postgres");
    try {
      assertThat(ProcessHandle.of(server.postmasterPid()).orElseThrow().destroy()).as("SIGTERM: a smart shutdown").isTrue();
      await().atMost(CATCH_UP).untilAsserted(() -> assertThatThrownBy(() -> nw.connect().close())
          .isInstanceOfSatisfying(ReplicatorException.class, e -> {
            assertThat(e.failure()).isEqualTo(Failure.CONNECTION);
            assertThat(e.getMessage()).contains("new: cannot connect to").contains("shutting down");
            assertThat(e.remedy()).doesNotContain("PASSWORD").doesNotContain("--new-user")
                .contains("not accepting connections").contains("recover").contains("server log").contains("disk");
          }));
    } finally {
      server.restart(CATCH_UP);
      closeQuietly(held);
    }
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException e) {
      // the restart ended its session
    }
  }
}
