package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.TcpProxy;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code check} tries the login a subscription on new would make to old. The server's attempt has
 * no timeout of its own: behind something that accepts and then answers nothing (a stalled proxy
 * here; a firewall that drops packets waits minutes the same way) it waited for ever, and check
 * with it.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SubscriptionProbeTest {
  @Test
  void check_oldSilentToNewsServer_reportsItUnreachableAfterTheProbeTimeout(PostgresPair pair) throws Exception {
    assertProbeReportsOldUnreachable(pair, Replicator.READ_TIMEOUT);
  }

  /**
   * A {@code --network-timeout} shorter than the probe's timeout does not cut the probe short: the
   * server may rightly still be trying to reach old, which says nothing of the network to new.
   * Before, check reported new as silent, or its login to old as failed on a closed connection.
   */
  @Test
  void check_networkTimeoutShorterThanTheProbes_stillWaitsForTheProbe(PostgresPair pair) throws Exception {
    assertProbeReportsOldUnreachable(pair, Duration.ofSeconds(2));
  }

  private static void assertProbeReportsOldUnreachable(PostgresPair pair, Duration networkTimeout) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "probe");
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer())) {
      proxy.stall();
      Endpoint old = AppDatabase.endpoint(pair.oldServer(), Side.OLD, db.name)
          .withConninfo("host=" + proxy.host() + " port=" + proxy.port() + " dbname=" + db.name + " user=" + pair.oldServer().user());
      Replicator r = Replicator.builder().old(old).nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db.name)).build();

      CheckReport report = assertTimeoutPreemptively(Duration.ofSeconds(60),
          () -> r.check(List.of(), Capture.AUTO, networkTimeout));

      assertThat(report.findings()).filteredOn(f -> f.code().equals("subscription-login")).singleElement().satisfies(f -> {
        assertThat(f.severity()).isEqualTo(Severity.ERROR);
        assertThat(f.side()).isEqualTo("new");
        assertThat(f.message()).contains("a subscription on new cannot log in to old: new's server did not reach old within 10 s");
        assertThat(f.remedy()).contains("make old reachable from new's server");
      });
    }
  }
}
