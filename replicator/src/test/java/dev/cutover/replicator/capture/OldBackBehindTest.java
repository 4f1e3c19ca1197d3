package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.internal.control.WayIn;
import dev.cutover.flags.Target;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.Standby;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Trigger capture's source fails over to an asynchronous standby that was behind (r31): new already
 * holds the last batches old's primary committed, which the promoted old lacks, and the promoted
 * old hands their transaction ids out again. Once those ids pass new's position, the check by ids
 * alone no longer sees old behind; a restarted apply resumed and skipped the transactions that
 * reused them, and status, catch-up and the switch saw nothing.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 12, newMajor = 17) // Debian 12's pg_basebackup (15) backs up 15 and older
class OldBackBehindTest {
  private static final Duration CATCH_UP = Duration.ofSeconds(60);

  @Test
  void apply_oldFailedOverToAStandbyBehindNewsPosition_refusedForGoodAfterOldsIdsPassIt(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "failover");
    Replicator r = TriggerCaptureFlow.started(db);
    Standby standby = null;
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('on the standby', 1)");
      r.awaitCaughtUp(CATCH_UP);
      // A base backup holds what old committed until it ended; halted, the standby falls behind from there.
      standby = Standby.of(pair.oldServer());
      standby.halt();
      // The primary's last seconds: applied on new, never on the standby.
      for (int i = 0; i < 50; i++) {
        OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('lost " + i + "', " + i + ")");
      }
      r.awaitCaughtUp(CATCH_UP);
    } catch (Exception e) {
      if (standby != null) {
        standby.close();
      }
      throw e;
    }
    try (Standby failedOver = standby) {
      failedOver.startPromoted();
      Replicator promoted = Replicator.builder().old(Endpoint.of(Side.OLD, failedOver.jdbcUrl(db.name), OwnedDatabase.ROLE, null))
          .nw(db.endpoint(Side.NEW)).build();
      long position;
      try (Connection n = db.nw()) {
        position = TxidSnapshot.parse(OwnedDatabase.strings(n, "SELECT snapshot FROM cutover.apply_progress WHERE direction = 'forward'")
            .get(0)).xmax();
      }
      // The apply of the report, reconnecting right after the failover: refused while old's ids are behind.
      refused(promoted);
      int written = 0;
      try (Connection o = standbyConnection(failedOver, db)) {
        while (OwnedDatabase.count(o, "SELECT txid_current()") < position + 20) {
          OwnedDatabase.execute(o, "INSERT INTO counter VALUES ('after the failover " + written + "', 1)");
          written++;
        }
      }
      // Restarted once old's ids passed the position: before, it resumed and skipped the transactions that reused the lost ids.
      try (ApplyProcess apply = promoted.apply(Applier.Options.defaults()); Connection n = db.nw()) {
        Applier forward = apply.appliers().get(0);
        await().atMost(CATCH_UP).until(() -> forward.refusal() != null || caughtUp(promoted));
        long arrived = OwnedDatabase.count(n, "SELECT count(*) FROM counter WHERE name LIKE 'after the failover %'");
        assertThat(forward.refusal()).as("apply resumed on the promoted old: " + arrived + " of its " + written + " rows arrived on new")
            .isNotNull();
        assertThat(forward.refusal().failure()).isEqualTo(Failure.PRECONDITION);
        assertThat(forward.refusal().getMessage()).contains("old is behind new's apply position");
      }
      StatusReport.Direction status = promoted.status().forward();
      assertThat(status.state()).as(String.join("; ", status.problems())).isEqualTo("broken");
      assertThat(status.problems()).anySatisfy(p -> assertThat(p).contains("old is behind new's apply position")
          .contains("cannot resume").contains("run `cutover-replicator cleanup`"));
      assertThat(String.join("; ", status.problems())).doesNotContain("loses nothing").doesNotContain("start it");
      ReplicatorException catchUp = catchThrowableOfType(ReplicatorException.class, () -> promoted.awaitCaughtUp(CATCH_UP));
      assertThat(catchUp).isNotNull();
      assertThat(catchUp.getMessage()).contains("old is behind new's apply position").contains("cannot resume");
      try (Connection n = db.nwAsSuperuser(); Connection o = standbyConnection(failedOver, db)) {
        Optional<WayIn> wayIn = WayIn.read(n, o, Target.NEW);
        assertThat(WayIn.remedy(wayIn, Target.OLD, Target.NEW, false)).contains("stopped for good")
            .contains("old is behind new's apply position").contains("do not switch").doesNotContain("start `cutover-replicator apply`");
      }
    }
  }

  /** An apply of {@code r} stops at once, refusing: old is behind new's position. */
  private static void refused(Replicator r) throws Exception {
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      Applier forward = apply.appliers().get(0);
      await().atMost(CATCH_UP).until(() -> forward.refusal() != null);
      assertThat(forward.refusal().getMessage()).contains("old is behind new's apply position");
    }
  }

  private static boolean caughtUp(Replicator r) {
    try {
      r.awaitCaughtUp(Duration.ofSeconds(2));
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private static Connection standbyConnection(Standby standby, OwnedDatabase db) throws Exception {
    Properties p = new Properties();
    p.setProperty("user", OwnedDatabase.ROLE);
    return DriverManager.getConnection(standby.jdbcUrl(db.name), p);
  }
}
