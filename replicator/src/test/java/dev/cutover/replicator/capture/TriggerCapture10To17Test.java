package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Trigger capture from PostgreSQL 10, the first version with {@code pg_sequences}, partitioning and
 * schema change capture ({@code cutover.ddl_log}), to 17.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 10, newMajor = 17)
class TriggerCapture10To17Test extends TriggerCaptureFlow {

  /** PostgreSQL 10 decodes no TRUNCATE: relayed replication would lose them, so check and start refuse it. */
  @Test
  void relay_from10_refusedByCheckAndStart(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "relay10");
    CheckReport report = db.replicator().check(List.of(), Capture.RELAY);
    assertThat(report.findings()).filteredOn(f -> f.code().equals("unsupported-version")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Finding.Severity.ERROR);
      assertThat(f.message()).contains("11, the oldest source relayed replication supports");
      assertThat(f.remedy()).contains("--capture triggers");
    });
    assertThatThrownBy(() -> db.replicator().start(StartOptions.defaults().withCapture(Capture.RELAY), new CopyProgress(),
        CopyListener.NONE)).isInstanceOf(ReplicatorException.class).hasMessageContaining("older than 11");
  }
}
