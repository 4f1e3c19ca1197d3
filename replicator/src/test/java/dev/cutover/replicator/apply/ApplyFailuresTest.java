package dev.cutover.replicator.apply;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The one note of an apply that stopped for good, on the way's own row of {@code
 * cutover.apply_failure}: every later apply, status, catch-up and the driver's probe refuse the way
 * on it until cleanup, so nothing may turn it into a retried failure, and the note an earlier build
 * kept under a key of its own (a lost source, {@code <way>:source-lost}) reads as the same stop.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class ApplyFailuresTest {

  /**
   * An apply started again that fails before it holds the way (a connection reset while it checks
   * the pair) notes a retried failure. Before, that replaced the stop: a later apply resumed, and
   * status said "it retries the batch and loses nothing".
   */
  @Test
  void record_aRetriedFailureAfterAStop_theStopStays(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection n = server.connect(server.createDatabase("stop_stays"))) {
      ControlSchema.install(n);
      ApplyFailures.recordStop(n, Way.FORWARD, "old is behind new's apply position; run `cutover-replicator cleanup`");

      ApplyFailures.record(n, Way.FORWARD, "An I/O error occurred while sending to the backend.");

      assertThat(ApplyFailures.read(n, Way.FORWARD)).hasValueSatisfying(f -> {
        assertThat(f.stopped()).isTrue();
        assertThat(f.describe("new")).startsWith("the apply into new stopped for good at ").contains("cannot resume")
            .contains("old is behind new's apply position").doesNotContain("I/O error").doesNotContain("loses nothing");
      });
    }
  }

  /**
   * A target an earlier build wrote: its apply noted the lost source under {@code forward:source-lost}
   * (the message alone), and a retried failure sits on the way's own row. Read as the way's stop,
   * with the remedy the earlier build's status gave it.
   */
  @Test
  void read_aLostSourceAnEarlierBuildNotedUnderItsOwnKey_readsAsTheWaysStop(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection n = server.connect(server.createDatabase("lost_before"))) {
      ControlSchema.install(n);
      ApplyFailures.record(n, Way.FORWARD, "An I/O error occurred while sending to the backend.");
      Sql.execute(n, "INSERT INTO cutover.apply_failure (way, message) VALUES ('forward:source-lost',"
          + " 'old is behind new''s apply position: old lacks the tick new applied up to')");

      assertThat(ApplyFailures.read(n, Way.FORWARD)).hasValueSatisfying(f -> {
        assertThat(f.stopped()).isTrue();
        assertThat(f.describe("new")).startsWith("the apply into new stopped for good at ").contains("cannot resume")
            .contains("old is behind new's apply position: old lacks the tick new applied up to")
            .contains("run `cutover-replicator cleanup`, empty new's tables and start again").doesNotContain("I/O error");
      });
      assertThat(ApplyFailures.read(n, Way.REVERSE)).isEmpty();
    }
  }
}
