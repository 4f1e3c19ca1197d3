package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.KeylessTables;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link RelayFlow}'s tests from PostgreSQL 11, the oldest source relayed replication
 * supports: logical decoding, but older than the native engine's 12, so {@code --capture auto}
 * relays. Before 12 a float printed with fewer than three extra digits loses precision, so the
 * replication session sets them.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 11, newMajor = 17)
class Relay11To17Test extends RelayFlow {

  @Override
  Capture autoEngine() {
    return Capture.RELAY;
  }

  /**
   * check and start with {@code --capture auto} relay from 11 and say why (check's findings are
   * the relay's: only the table without a key is an error), and apply brings new level with old.
   */
  @Test
  void start_auto_relaysAndSaysWhy(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "auto_start");
    Replicator r = db.replicator();
    CheckReport check = r.check(List.of(), Capture.AUTO);
    assertThat(check.findings()).filteredOn(f -> f.code().equals("engine")).singleElement().satisfies(f -> {
      assertThat(f.message()).contains("logical decoding relayed").contains("because old runs PostgreSQL 11");
      assertThat(f.remedy()).as("nothing to fix: the engine was chosen for it").isEmpty();
    });
    assertThat(check.findings()).filteredOn(f -> f.severity() == Finding.Severity.ERROR).as("%s", check.findings())
        .extracting(Finding::code).containsExactly("table-without-key");
    StartReport report = r.start(StartOptions.defaults().withJobs(2).withKeyless(KeylessTables.ALL_FULL), new CopyProgress(),
        CopyListener.NONE);
    assertThat(report.engine()).isEqualTo(Capture.RELAY);
    assertThat(report.engineReason()).contains("logical decoding relayed").contains("because old runs PostgreSQL 11");
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      try (java.sql.Connection o = db.old()) {
        OwnedDatabase.execute(o, "UPDATE counter SET value = value + 7 WHERE name = 'c1'");
      }
      r.awaitCaughtUp(Duration.ofSeconds(60));
      db.assertConverged(r);
    }
    r.cleanup();
  }
}
