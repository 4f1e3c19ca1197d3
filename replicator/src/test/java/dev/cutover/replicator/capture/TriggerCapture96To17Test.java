package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Trigger capture from PostgreSQL 9.6, which has no logical decoding at all, to 17. */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 17)
class TriggerCapture96To17Test extends TriggerCaptureFlow {

  /**
   * {@code cutover-replicator apply} in a JVM of its own, killed with SIGKILL while it applies one
   * batch of 100,000 rows into a table without a key (where a batch applied twice would leave every
   * row twice): new holds none of the batch afterwards, and the next apply brings every row once.
   */
  @Test
  void apply_killedWithSigkillMidBatch_restartLosesAndRepeatsNothing(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "kill");
    Replicator r = db.replicator();
    r.start(options(), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
    }
    long before;
    try (Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO keyless SELECT g % 10, 'big ' || g FROM generate_series(1, 100000) g");
      before = OwnedDatabase.count(n, "SELECT count(*) FROM keyless");
    }
    Path log = Files.createTempFile("cutover-apply-", ".log");
    Process process = db.applyJvm(log);
    try (Connection n = db.nw()) {
      await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(20)).until(() -> !process.isAlive() || OwnedDatabase.count(n,
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cutover-replicator'"
              + " AND backend_xid IS NOT NULL") > 0);
      assertThat(process.isAlive()).as("apply runs (its output: %s)", log).isTrue();
      process.destroyForcibly();
      assertThat(process.waitFor()).as("killed by SIGKILL").isEqualTo(137);
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM keyless")).as("rows of the batch killed mid-way").isEqualTo(before);
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers().get(0).missing()).isZero();
    }
    try (Connection o = db.old(); Connection n = db.nw()) {
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM keyless WHERE b LIKE 'big %'")).isEqualTo(100_000);
      assertThat(OwnedDatabase.count(n, "SELECT count(DISTINCT b) FROM keyless WHERE b LIKE 'big %'")).isEqualTo(100_000);
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM keyless")).isEqualTo(OwnedDatabase.count(o, "SELECT count(*) FROM keyless"));
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
  }
}
