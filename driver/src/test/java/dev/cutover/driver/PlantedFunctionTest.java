package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * r27 D1: before PostgreSQL 15 every role may create in {@code public} (and so may it in a database
 * upgraded from one), which the application role's default path names. A function there whose
 * argument types match exactly where the built-in needs a cast wins over the built-in
 * (CVE-2018-1058): the switch's sessions, which kept the application's path, ran another role's
 * code as the application's role and moved the sequences by the values it forged.
 */
@LeakCheckedPair
@PostgresVersions(oldMajor = 13, newMajor = 17)
class PlantedFunctionTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";
  private static final String PLANTER = "planter";
  /** What the planted functions do first, as whichever role runs them: take every table of public. */
  private static final String TAKE_TABLES = "BEGIN BEGIN EXECUTE 'GRANT ALL ON ALL TABLES IN SCHEMA public TO " + PLANTER
      + "'; EXCEPTION WHEN OTHERS THEN NULL; END;";

  @Test
  void flip_anotherRolePlantedLookalikesOfTheBuiltInsInPublic_switchRunsNoneAndMovesSequencesPastOldsValues(PostgresPair pair)
      throws Exception {
    for (PostgresServer server : new PostgresServer[] {pair.oldServer(), pair.newServer()}) {
      try (Connection c = server.connect(); Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE " + PLANTER + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      }
    }
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Connection n = db.newDirect(); Statement s = n.createStatement()) {
      s.execute("GRANT CREATE ON SCHEMA public TO PUBLIC"); // as a database upgraded from 14 or older still has it
    }
    // The sequence move reads old's last values and moves new's: every built-in it calls, planted where each side runs it.
    plant(pair.oldServer(), db.database, "pg_sequence_last_value(oid)", "1");
    plant(pair.newServer(), db.database, "pg_sequence_last_value(oid)", "1");
    plant(pair.newServer(), db.database, "nextval(oid)", "1");
    plant(pair.newServer(), db.database, "setval(oid, bigint, boolean)", "$2");
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(db.url())) {
      for (int i = 0; i < 50; i++) {
        DrainTest.insert(app, "before " + i);
      }
      db.awaitReplicated();

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
      try (Connection n = db.newDirect(); Statement s = n.createStatement();
          ResultSet rs = s.executeQuery("SELECT min(id), count(*) FROM note WHERE body = 'after'")) {
        rs.next();
        assertThat(rs.getLong(1)).as("new's first id past old's 50").isGreaterThan(50);
      }
      for (Connection c : new Connection[] {db.oldDirect(), db.newDirect()}) {
        try (c; Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT has_table_privilege('" + PLANTER + "', 'public.note', 'INSERT')")) {
          rs.next();
          assertThat(rs.getBoolean(1)).as("the planted code ran on %s", c.getMetaData().getURL()).isFalse();
        }
      }
    }
  }

  /** Creates {@code public.<signature>} as the planter: it takes the tables, then returns {@code result}. */
  private static void plant(PostgresServer server, String database, String signature, String result) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", PLANTER);
    try (Connection c = DriverManager.getConnection(server.jdbcUrl(database), p); Statement s = c.createStatement()) {
      s.execute("CREATE FUNCTION public." + signature + " RETURNS bigint LANGUAGE plpgsql AS $$ " + TAKE_TABLES + " RETURN "
          + result + "; END $$");
    }
  }
}
