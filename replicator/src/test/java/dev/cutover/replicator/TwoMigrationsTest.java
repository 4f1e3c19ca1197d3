package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.cleanup.Cleanup;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two migrations on one pair of servers, each of its own database: every object carries the
 * migration's label, and status, verify and cleanup of one never read or touch the other's.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class TwoMigrationsTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private static Replicator migrate(PostgresPair pair, String db) throws Exception {
    for (var server : java.util.List.of(pair.oldServer(), pair.newServer())) {
      server.createDatabase(db);
      try (Connection c = server.connect(db)) {
        AppDatabase.execute(c, "CREATE TABLE account (id int PRIMARY KEY, owner text NOT NULL)");
      }
    }
    try (Connection o = pair.oldServer().connect(db)) {
      AppDatabase.execute(o, "INSERT INTO account SELECT g, 'o' || g FROM generate_series(1, 100) g");
    }
    Replicator r = Replicator.builder()
        .old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db))
        .build();
    ReplicationFlowTest.start(r);
    return r;
  }

  @Test
  void status_twoMigrationsOnOneServerPair_eachReportsItsOwnApplyStateAndErrors(PostgresPair pair) throws Exception {
    Replicator healthy = migrate(pair, "two_healthy");
    Replicator failing = migrate(pair, "two_failing");
    assertThat(healthy.names().forward()).isEqualTo("cutover_fwd_two_healthy");
    assertThat(failing.names().forward()).isEqualTo("cutover_fwd_two_failing");

    // A row written on new by hand makes the failing migration's apply hit a duplicate key.
    try (Connection n = pair.newServer().connect("two_failing"); Connection o = pair.oldServer().connect("two_failing")) {
      AppDatabase.execute(n, "INSERT INTO account VALUES (1000, 'written on new')");
      AppDatabase.execute(o, "INSERT INTO account VALUES (1000, 'written on old')");
    }
    try (Connection o = pair.oldServer().connect("two_healthy")) {
      AppDatabase.execute(o, "INSERT INTO account VALUES (1000, 'written on old')");
    }
    healthy.awaitCaughtUp(WAIT);

    boolean errorCounts = pair.newServer().majorVersion() >= 15;
    await().atMost(WAIT).untilAsserted(() -> {
      StatusReport.Direction bad = failing.status().forward();
      assertThat(bad.state()).isEqualTo("stopped");
      assertThat(bad.applyWorkerRunning()).isFalse();
      if (errorCounts) {
        assertThat(bad.applyErrors()).isPositive();
        assertThat(bad.problems()).anyMatch(p -> p.contains("apply error"));
      }
    });
    StatusReport.Direction good = healthy.status().forward();
    assertThat(good.state()).isEqualTo("streaming");
    assertThat(good.applyWorkerRunning()).isTrue();
    assertThat(good.slot().name()).isEqualTo("cutover_fwd_two_healthy");
    if (errorCounts) {
      assertThat(good.applyErrors()).isZero();
    }
    assertThat(good.problems()).noneMatch(p -> p.contains("apply") || p.contains("worker"));

    Cleanup.Report cleaned = healthy.cleanup();
    assertThat(cleaned.removedOnNew()).contains("subscription cutover_fwd_two_healthy");
    assertThat(failing.status().forward()).as("the other migration is untouched").isNotNull()
        .satisfies(d -> assertThat(d.slot()).isNotNull());
    failing.cleanup();
  }
}
