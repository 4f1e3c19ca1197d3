package dev.cutover.replicator.cli;

import static dev.cutover.replicator.cli.CliTest.run;
import static dev.cutover.replicator.cli.CliTest.sql;
import static dev.cutover.replicator.cli.CliTest.urls;
import static dev.cutover.replicator.cli.CliTest.with;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** switch-abort where aborting would lower a fence the service depends on. */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SwitchAbortTest {

  /**
   * Old failed over to a standby that missed the release of a switch to new (r19 scen6): it holds
   * the switch as draining, its fence raised and its barrier marker written under it, and nothing
   * leads it; new holds the marker (the barrier passed there) and serves. Before, switch-abort
   * printed "the switch of billing is aborted and its fence lowered" (exit 0) and the next instance
   * served old, without the writes made on new. Now it refuses (exit 5), naming the marker and the
   * standby, with the remedy, and old's fence and switch stay as they were.
   */
  @Test
  void switchAbort_oldBackFromAStandbyThatMissedTheRelease_refusesAndKeepsTheFence(PostgresPair pair) throws Exception {
    String db = "abort_past_barrier";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      try (Connection c = s.connect(db)) {
        ControlSchema.install(c);
      }
    }
    // What the promoted standby of old holds: the fence raised by switch s-1, its record draining, its marker.
    sql(pair.oldServer(), db, "SELECT setval('cutover.fence_epoch', 1, true);"
        + " INSERT INTO cutover.fence (singleton, settled_epoch) VALUES (true, 1)"
        + " ON CONFLICT (singleton) DO UPDATE SET settled_epoch = 1;"
        + " INSERT INTO cutover.switch (service, id, source, target, state, fence_epoch, began_at)"
        + " VALUES ('billing', 's-1', 'old', 'new', 'draining', 1, clock_timestamp());"
        + " INSERT INTO cutover.barrier (marker) VALUES ('barrier:s1marker');"
        + " INSERT INTO cutover.marker_log (marker, service, switch_id, fence_epoch) VALUES ('barrier:s1marker', 'billing', 's-1', 1)");
    // New received the marker before the primary of old was lost.
    sql(pair.newServer(), db, "INSERT INTO cutover.barrier (marker) VALUES ('barrier:s1marker')");

    CliTest.Run abort = run(with(new String[] {"switch-abort", "--service", "billing"}, urls(pair, db)));

    assertThat(abort.code()).as(abort.out() + abort.err()).isEqualTo(5);
    assertThat(abort.err()).contains("draining with no leader").contains("new holds its barrier marker barrier:s1marker")
        .contains("come back from a standby").contains("missed its release").contains("its fence is not lowered")
        .contains("switch-force --service billing on").contains("cutover.lower_fence()");
    try (Connection o = pair.oldServer().connect(db); Statement s = o.createStatement();
        ResultSet rs = s.executeQuery("SELECT cutover.fence_raised(), (SELECT state FROM cutover.switch)")) {
      rs.next();
      assertThat(rs.getBoolean(1)).as("old's fence").isTrue();
      assertThat(rs.getString(2)).as("the switch on old").isEqualTo("draining");
    }
  }

  /**
   * r23: the leader stalled behind its fence (its session alive and holding the lock, its instance
   * without a heartbeat: a frozen JVM, a silent link). Before, switch-status showed its backend and
   * nothing else, and switch-abort printed "abort of billing's switch requested: its leader aborts at
   * its next step" (exit 0) while old stayed fenced. Now switch-status says it stalled and what to
   * do, and switch-abort ends its session and aborts the switch, lowering the fence.
   */
  @Test
  void switchAbort_leaderStalledBehindItsFence_endsItsSessionAndLowersTheFence(PostgresPair pair) throws Exception {
    String db = "abort_stalled_leader";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      try (Connection c = s.connect(db)) {
        ControlSchema.install(c);
      }
    }
    try (Connection leader = pair.oldServer().connect(db); Statement l = leader.createStatement()) {
      l.execute("SELECT cutover.begin_switch('billing', 's-1', 'old', 'new'); SELECT cutover.take_lead('billing', 's-1');"
          + " SELECT cutover.raise_fence('billing', 's-1', 'i0', 5000)");
      sql(pair.oldServer(), db, "INSERT INTO cutover.instance (service, instance, heartbeat_at)"
          + " VALUES ('billing', 'i0', clock_timestamp() - interval '67 seconds')");

      CliTest.Run status = run(with(new String[] {"switch-status", "--service", "billing"}, urls(pair, db)));
      assertThat(status.out()).as(status.out() + status.err()).contains("STALLED: the leader, instance i0 (backend ")
          .contains("switch-abort --service billing");

      CliTest.Run abort = run(with(new String[] {"switch-abort", "--service", "billing"}, urls(pair, db)));

      assertThat(abort.code()).as(abort.out() + abort.err()).isZero();
      assertThat(abort.out()).contains("instance i0 (backend ").contains("had stalled behind the fence")
          .contains("its session was ended, the switch is aborted and its fence lowered");
      try (Connection o = pair.oldServer().connect(db); Statement s = o.createStatement();
          ResultSet rs = s.executeQuery("SELECT cutover.fence_raised(), (SELECT state FROM cutover.switch)")) {
        rs.next();
        assertThat(rs.getBoolean(1)).as("old's fence").isFalse();
        assertThat(rs.getString(2)).as("the switch on old").isEqualTo("aborted");
      }
      assertThat(leader.isValid(2)).as("the stalled leader's session").isFalse();
    }
  }
}
