package dev.cutover.replicator.replication;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Which side's released switch moved the application last, when the two servers' clocks disagree
 * (r18): ReleasedSwitch compared old's updated_at with new's, each written by its own clock, so
 * with new's clock an hour behind a release back to old a minute ago looked older than the
 * release to new ten minutes ago, and sync-large-objects refused because "new serves" while old
 * did, advising to copy new's large objects onto old's current ones by hand (and reverse
 * --prepare said a switch long released "will create" a slot). The fence epochs both record
 * order them now.
 */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class ReleasedSwitchTest {

  @Test
  void toward_newsClockAnHourBehind_theReleaseBackAMinuteAgoIsTheLater(PostgresPair pair) throws Exception {
    String db = released(pair, "released_behind", "1 hour", "10 minutes", "1 minute", "1, 0", "3, 1");
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(ReleasedSwitch.toward(o, n, "new")).as("the release to new was followed by one back to old").isEmpty();
      assertThat(ReleasedSwitch.toward(n, o, "old")).map(r -> r.view().id()).contains("s-back");
      assertThat(NewServes.why(o, n, Names.of("rs"))).as("old serves").isEmpty();
    }
  }

  @Test
  void toward_newsClockAnHourAhead_theReleaseToNewAMinuteAgoIsTheLater(PostgresPair pair) throws Exception {
    String db = released(pair, "released_ahead", "-1 hour", "1 minute", "10 minutes", "3, 1", "1, 0");
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(ReleasedSwitch.toward(o, n, "new")).map(r -> r.view().id()).contains("s-there");
      assertThat(ReleasedSwitch.toward(n, o, "old")).as("the release back to old was followed by one to new").isEmpty();
      assertThat(NewServes.why(o, n, Names.of("rs"))).hasValueSatisfying(why ->
          assertThat(why).contains("records switch s-there of service billing to new as released"));
    }
  }

  /**
   * {@code db} on both sides with the control schema; billing's switch s-there (old -> new)
   * released on old {@code oldAge} ago and s-back (new -> old) released on new {@code newAge} ago,
   * as a clock {@code newBehind} behind old's writes it there (the servers share this machine's
   * clock: the skew is written into updated_at); each with its fence epoch and target epoch
   * ({@code "fence, target"}) as a switch writes them: the later one's fence epoch is above the
   * earlier one's target epoch, both on the later one's side.
   */
  private static String released(PostgresPair pair, String db, String newBehind, String oldAge, String newAge,
      String oldEpochs, String newEpochs) throws Exception {
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      try (Connection c = s.connect(db)) {
        ControlSchema.install(c);
      }
    }
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      Sql.execute(o, "INSERT INTO cutover.switch (service, id, source, target, state, updated_at, fence_epoch, target_epoch)"
          + " VALUES ('billing', 's-there', 'old', 'new', 'released', clock_timestamp() - interval '" + oldAge + "', "
          + oldEpochs + ")");
      Sql.execute(n, "INSERT INTO cutover.switch (service, id, source, target, state, updated_at, fence_epoch, target_epoch)"
          + " VALUES ('billing', 's-back', 'new', 'old', 'released', clock_timestamp() - interval '" + newAge + "', "
          + newEpochs + ")");
      Sql.execute(n, "UPDATE cutover.switch SET updated_at = updated_at - interval '" + newBehind + "'");
    }
    return db;
  }
}
