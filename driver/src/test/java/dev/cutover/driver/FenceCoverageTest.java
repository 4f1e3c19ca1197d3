package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The fence covers what the application or its migration tool creates after the install. */
@LeakCheckedPair
class FenceCoverageTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";
  private static final String LATE = "CREATE TABLE late (id int PRIMARY KEY, body text)";
  private static final org.postgresql.Driver PG = new org.postgresql.Driver();

  private static void sql(Connection c, String sql) throws SQLException {
    try (c; Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static Connection as(PostgresServer server, String database, String role) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", role);
    return PG.connect(server.jdbcUrl(database), p);
  }

  @Test
  void flip_tableCreatedOnOldAfterTheInstall_isRefusedWritesOnceOldIsFenced(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    // As after an install by a role that may not create event triggers: only the raise can guard it.
    sql(db.oldDirect(), "ALTER EVENT TRIGGER cutover_guard_new_tables DISABLE");
    sql(db.newDirect(), LATE);
    sql(db.oldDirect(), LATE);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url());
        Connection old = db.oldDirect()) {
      try (Statement s = old.createStatement()) {
        assertThat(s.executeUpdate("INSERT INTO late VALUES (1, 'before the switch')")).isEqualTo(1);
      }
      db.flip(Target.NEW);
      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);

      try (Statement s = old.createStatement()) {
        SQLException refused = catchThrowableOfType(SQLException.class,
            () -> s.executeUpdate("INSERT INTO late VALUES (2, 'after the switch')"));
        assertThat(refused.getSQLState()).isEqualTo("25006");
        assertThat(refused.getMessage()).contains("INSERT on public.late refused");
        // A write through the driver meets the fence too, where its instance did not follow the switch (r29).
        assertThat(((org.postgresql.util.PSQLException) refused).getServerErrorMessage().getHint())
            .contains("Write through the Cutover driver").contains("came through it").contains("has not followed the switch")
            .contains("PendingGuarantees").contains("switch-status");
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void flip_tableTheInstallerCannotGuard_abortsBeforeFencingAndNamesTheTableAndTheRemedy(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, false);
    for (PostgresServer server : new PostgresServer[] {pair.oldServer(), pair.newServer()}) {
      try (Connection c = server.connect(); Statement s = c.createStatement()) {
        for (String role : new String[] {"fc_owner", "fc_other"}) {
          s.execute("DO $$ BEGIN CREATE ROLE " + role + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        }
      }
      sql(server.connect(db.database), "ALTER TABLE note OWNER TO fc_owner; GRANT CREATE ON SCHEMA public TO fc_owner,"
          + " fc_other; GRANT CREATE ON DATABASE " + db.database + " TO fc_owner");
      try (Connection owner = as(server, db.database, "fc_owner")) {
        ControlSchema.install(owner); // not a superuser: no event trigger
      }
      sql(as(server, db.database, "fc_other"), LATE); // a migration tool's own role, after the install
    }
    db.refreshForward();
    Properties asOwner = new Properties();
    asOwner.setProperty("user", "fc_owner");
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DriverManager.getConnection(db.url(), asOwner);
        Connection old = db.oldDirect()) {
      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("cannot fence old").contains("public.late")
          .contains("GRANT TRIGGER, UPDATE ON public.late TO fc_owner");
      assertThat(Fence.isRaised(old)).isFalse();
      DrainTest.insert(app, "still on old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * r34 D4: a table given to another role on old after the install (ALTER TABLE ... OWNER TO, as
   * a DBA does mid-window). The fence locks as the installer, which lost its right to, and the
   * switch aborted "cannot fence old: permission denied for table note", naming neither the owner,
   * the role, the remedy nor that the switch was not tried again. It names all four; once the
   * remedy is run, flipping the flag back and forth switches.
   */
  @Test
  void flip_tableGivenToAnotherRoleOnOldSinceTheInstall_abortNamesTableOwnerInstallerAndRemedy(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, false);
    for (PostgresServer server : new PostgresServer[] {pair.oldServer(), pair.newServer()}) {
      try (Connection c = server.connect(); Statement s = c.createStatement()) {
        for (String role : new String[] {"fc_owner", "fc_other"}) {
          s.execute("DO $$ BEGIN CREATE ROLE " + role + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        }
      }
      sql(server.connect(db.database), "ALTER TABLE note OWNER TO fc_owner; GRANT CREATE ON DATABASE " + db.database
          + " TO fc_owner");
      try (Connection owner = as(server, db.database, "fc_owner")) {
        ControlSchema.install(owner);
      }
    }
    // The application keeps its grants; the installer no longer owns the table.
    sql(db.oldDirect(), "ALTER TABLE note OWNER TO fc_other; GRANT SELECT, INSERT ON note TO fc_owner;"
        + " GRANT USAGE, SELECT ON SEQUENCE note_id_seq TO fc_owner");
    db.refreshForward();
    Properties asOwner = new Properties();
    asOwner.setProperty("user", "fc_owner");
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DriverManager.getConnection(db.url(), asOwner);
        Connection old = db.oldDirect()) {
      DrainTest.insert(app, "before");
      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).startsWith("cannot fence old: cutover: the fence may not lock table public.note, owned by"
              + " fc_other: it runs as role fc_owner, which installed the control schema")
          .contains("ALTER TABLE public.note OWNER TO fc_owner, or GRANT fc_other TO fc_owner")
          .contains("not tried again").contains("set the flag back to old and then to new again");
      assertThat(Fence.isRaised(old)).isFalse();
      DrainTest.insert(app, "still on old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());

      sql(db.oldDirect(), "GRANT fc_other TO fc_owner");
      db.flip(Target.OLD);
      db.flip(Target.NEW);
      event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "on new");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }
}
