package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.Standby;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * A new URL that reaches a standby of the new database (its reader endpoint, a read replica) is
 * refused at every switch, whatever cutover.switch.force says, and named before any flip: the
 * replicated rows, the barrier included, arrive there too, so a switch would otherwise fence old and
 * leave the application on a database that refuses every write.
 */
@LeakCheckedPair
@PostgresVersions(oldMajor = 12, newMajor = 15) // Debian 12's pg_basebackup (15) backs up 15 and older
class StandbyTargetTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void flip_newUrlReachesAStandbyOfNew_refusedNamingTheSettingAndOldStaysWritable(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Standby reader = Standby.of(pair.newServer());
        SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.urlWithNew(reader.jdbcUrl(db.database), "cutover.switch.force=true"))) {
      DrainTest.insert(app, "before");
      assertThat((String[]) RouterBean.attribute(db.database, "PendingGuarantees"))
          .anySatisfy(p -> assertThat(p).contains("the new database is a standby"));

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("the new database is a standby (a server in recovery, read-only")
          .contains("point cutover.new.url (and cutover.new.direct-url, where set) at the primary");
      assertThat(event.gateWaits()).isZero();
      DrainTest.insert(app, "still on old, unfenced");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
    try (Connection o = db.oldDirect(); Statement s = o.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM note")) {
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(2);
    }
  }
}
