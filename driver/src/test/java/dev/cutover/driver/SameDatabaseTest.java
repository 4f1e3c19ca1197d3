package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * A new URL that reaches the database the application runs on (a copied setting, a DNS name not yet
 * moved) is refused at every switch, whatever cutover.switch.force says: the switch would fence it,
 * find its own barrier there at once, lower the same fence as "new" and report traffic moved while
 * nothing moved.
 */
@LeakCheckedPair
class SameDatabaseTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void flip_newUrlReachesTheOldDatabase_refusedNamingTheSettingAndOldStaysWritable(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    // The same database under another name: a plain TCP relay would do as well; here 127.0.0.1 for localhost.
    String sameAsOld = "jdbc:postgresql://127.0.0.1:" + pair.oldServer().port() + "/" + db.database;
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.urlVia(pair.oldServer().jdbcUrl(db.database), sameAsOld, "cutover.switch.force=true"))) {
      DrainTest.insert(app, "before");

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("the old and the new database are one and the same")
          .contains("point cutover.new.url (and cutover.new.direct-url, where set) at the new database");
      assertThat(event.gateWaits()).isZero();
      DrainTest.insert(app, "still on old, unfenced");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
    try (Connection o = db.oldDirect(); Statement s = o.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM note")) {
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(2);
    }
  }

  /**
   * An instance whose new URL reaches old, started beside one serving old, is not taken for a
   * swapped URL pair (its peer serving old beats in what it calls new): it starts on old, and its
   * switches are refused as above.
   */
  @Test
  void start_newUrlReachesTheOldDatabaseBesideAnInstanceServingOld_startsOnOld(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    String sameAsOld = "jdbc:postgresql://127.0.0.1:" + pair.oldServer().port() + "/" + db.database;
    try (Connection a = DrainTest.connect(db.url("cutover.instance=a"))) {
      DrainTest.insert(a, "a");
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> {
        try (Connection o = db.oldDirect(); Statement s = o.createStatement(); ResultSet rs = s.executeQuery(
            "SELECT count(*) FROM cutover.instance WHERE serving = 'old'")) {
          rs.next();
          return rs.getLong(1) == 1;
        }
      });
      try (Connection b = DrainTest.connect(db.urlVia(pair.oldServer().jdbcUrl(db.database), sameAsOld,
          "cutover.instance=b"))) {
        DrainTest.insert(b, "b");
        assertThat(DrainTest.sideOf(b)).isEqualTo(pair.oldServer().port());
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }
}

