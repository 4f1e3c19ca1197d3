package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.switching.Outcome;
import dev.cutover.driver.switching.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Rollback by flag: lossless while reverse replication runs, refused without it unless forced. */
@ExtendWith(PostgresPairExtension.class)
class RollbackTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void flipBack_withoutReverseReplication_isRefusedAndSaysHowToArmIt(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.barrier.timeout=1s"))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "written on new");

      db.flip(Target.OLD);
      SwitchEvent back = events.next();

      assertThat(back.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(back.reason()).contains("from new to old is not delivering")
          .contains("arm reverse replication (cutover-replicator reverse)")
          .contains("cutover.switch.force=true");
      assertThat(back.gateWaits()).isZero();
      DrainTest.insert(app, "still on new");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
    }
  }

  @Test
  void flipBack_forced_switchesWithoutProofAndSaysSo(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.switch.force=true"))) {
      db.flip(Target.NEW);
      SwitchEvent there = events.next();
      assertThat(there.outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "written on new");

      db.flip(Target.OLD);
      SwitchEvent back = events.next();

      assertThat(back.outcome()).isEqualTo(Outcome.COMPLETED);
      assertThat(back.notGuaranteed()).anyMatch(s -> s.contains("cutover.switch.force=true"));
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
      try (Connection old = db.oldDirect(); Statement s = old.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body = 'written on new'")) {
        rs.next();
        assertThat(rs.getInt(1)).as("forced without reverse replication: the write on new stayed there").isZero();
      }
    }
  }
}
