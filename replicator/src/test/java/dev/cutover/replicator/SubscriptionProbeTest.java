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

  /**
   * A table created on old while the subscription was disabled is in old's publication and missing
   * on new: the probe's CREATE SUBSCRIPTION fails on new for that, not for the login. Check said
   * new could not log in to old and advised pg_hba.conf and the network.
   */
  @Test
  void check_tableOfThePublicationMissingOnNew_reportsTheTableNotTheLogin(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "probegap");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    try (java.sql.Connection o = db.old(); java.sql.Connection n = db.nw()) {
      String sub = AppDatabase.strings(n, "SELECT subname FROM pg_subscription WHERE subdbid"
          + " = (SELECT oid FROM pg_database WHERE datname = current_database())").get(0);
      AppDatabase.execute(n, "ALTER SUBSCRIPTION " + sub + " DISABLE");
      AppDatabase.execute(o, "CREATE TABLE junk (x text)");
    }

    CheckReport report = r.check();

    assertThat(report.findings()).noneMatch(f -> f.code().equals("subscription-login"));
    assertThat(report.findings()).filteredOn(f -> f.code().equals("subscription-tables")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Severity.ERROR);
      assertThat(f.side()).isEqualTo("new");
      assertThat(f.message()).contains("a subscription on new cannot subscribe to old's publication").contains("\"public.junk\" does not exist");
      assertThat(f.remedy()).contains("missing-table").doesNotContain("pg_hba.conf").doesNotContain("reachable");
    });
    assertThat(report.findings()).filteredOn(f -> f.code().equals("missing-table")).singleElement()
        .satisfies(f -> assertThat(f.message()).contains("public.junk"));
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
