package dev.cutover.replicator.apply;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.control.ControlSchema;
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
 * on it until cleanup, so nothing may turn it into a retried failure.
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
   * The way back's apply (new into old) whose login new refuses: noted on old, its target, it says
   * that an apply runs and cannot reach new, and names new's password (r34 #2: the source side had
   * no such note, and status said "NOT running … start it").
   */
  @Test
  void recordSourceUnreached_theWayBack_saysItRunsAndNamesNewsPassword(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    try (Connection o = server.connect(server.createDatabase("source_unreached"))) {
      ControlSchema.install(o);
      ApplyFailures.recordSourceUnreached(o, Way.REVERSE, "new: cannot connect to jdbc:postgresql://new/app (FATAL: password"
          + " authentication failed for user \"app\")");

      assertThat(ApplyFailures.read(o, Way.REVERSE)).hasValueSatisfying(f -> {
        assertThat(f.sourceUnreached()).isTrue();
        assertThat(f.describe("old")).startsWith(ApplyFailures.unreachedLead("old", "new") + " (since ")
            .contains("password authentication failed").contains("do not start another")
            .contains("restart it with the new one (CUTOVER_REPLICATOR_NEW_PASSWORD)").doesNotContain("cannot reach its source:");
      });
    }
  }
}
