package dev.cutover.driver.internal.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * The switch's comparison of the application role's table grants ({@link TablePrivileges}) on real
 * servers, as the role itself: what a revoke, or an ownership change that dropped the grants, takes
 * from it on the target; what it does not compare.
 */
@LeakCheckedPair
class TablePrivilegesTest {
  private static final String ROLE = "tp_app";
  private static final org.postgresql.Driver PG = new org.postgresql.Driver();

  private static void both(PostgresPair pair, String db, String sql) throws SQLException {
    for (PostgresServer server : new PostgresServer[] {pair.oldServer(), pair.newServer()}) {
      execute(server, db, sql);
    }
  }

  private static void execute(PostgresServer server, String db, String sql) throws SQLException {
    try (Connection c = server.connect(db); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static Connection asRole(PostgresServer server, String db) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", ROLE);
    return PG.connect(server.jdbcUrl(db), p); // server.connect logs in as its superuser, whatever the properties say
  }

  private static String database(PostgresPair pair, String name) throws SQLException {
    pair.oldServer().createDatabase(name);
    pair.newServer().createDatabase(name);
    both(pair, name, "DO $$ BEGIN CREATE ROLE " + ROLE + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    return name;
  }

  @Test
  void lacking_grantsTakenOnTheTarget_namesEachTableWithItsPrivilegesAndTheSchemaWithoutUsage(PostgresPair pair)
      throws Exception {
    String db = database(pair, "tp_lacking");
    both(pair, db, "CREATE TABLE events (id int); CREATE TABLE \"Odd Name\" (id int PRIMARY KEY); CREATE TABLE kept (id int);"
        + " CREATE VIEW recent AS SELECT id FROM events; CREATE SCHEMA billing; CREATE TABLE billing.invoice (id int);"
        + " GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES ON events, \"Odd Name\", kept TO " + ROLE + ";"
        + " GRANT SELECT ON recent TO " + ROLE + "; GRANT USAGE ON SCHEMA billing TO " + ROLE + ";"
        + " GRANT SELECT, INSERT ON billing.invoice TO " + ROLE);
    execute(pair.oldServer(), db, "CREATE TABLE only_old (id int); GRANT ALL ON only_old TO " + ROLE);
    execute(pair.newServer(), db, "REVOKE INSERT, TRUNCATE ON events FROM " + ROLE + "; REVOKE ALL ON \"Odd Name\" FROM " + ROLE
        + "; REVOKE SELECT ON recent FROM " + ROLE + "; REVOKE USAGE ON SCHEMA billing FROM " + ROLE
        // more on the target than on the source is no gap; a grant on a column makes up for none on its table
        + "; GRANT TRIGGER ON kept TO " + ROLE + "; REVOKE SELECT ON kept FROM " + ROLE + "; GRANT SELECT (id) ON kept TO " + ROLE);
    try (Connection old = asRole(pair.oldServer(), db); Connection nw = asRole(pair.newServer(), db)) {
      TablePrivileges.Lacking lacking = TablePrivileges.lacking(old, nw);

      assertThat(lacking.schemas()).containsExactly("billing");
      assertThat(lacking.tables()).isEqualTo(Map.of(
          "public.\"Odd Name\"", List.of("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES"),
          "public.events", List.of("INSERT", "TRUNCATE"),
          "public.kept", List.of("SELECT"),
          "public.recent", List.of("SELECT")));
      assertThat(TablePrivileges.lacking(nw, old).isEmpty()).as("new grants nothing old does not but TRIGGER, which is not compared")
          .isTrue();
    }
  }

  /**
   * The check runs before every switch's gate, on every table: its cost on a schema of 400 tables
   * (each granted, as the role, both round trips), printed rather than asserted.
   */
  @Test
  void lacking_fourHundredTables_findsTheOneRevokedAndPrintsItsCost(PostgresPair pair) throws Exception {
    String db = database(pair, "tp_many");
    both(pair, db, "DO $$ BEGIN FOR i IN 1..400 LOOP EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text);"
        + " GRANT SELECT, INSERT, UPDATE, DELETE ON t%s TO " + ROLE + "', i, i); END LOOP; END $$");
    execute(pair.newServer(), db, "REVOKE INSERT ON t217 FROM " + ROLE);
    try (Connection old = asRole(pair.oldServer(), db); Connection nw = asRole(pair.newServer(), db)) {
      TablePrivileges.lacking(old, nw); // warm: plans and catalog caches, as a second switch finds them
      long start = System.nanoTime();
      TablePrivileges.Lacking lacking = TablePrivileges.lacking(old, nw);
      long micros = (System.nanoTime() - start) / 1000;
      System.out.println("TablePrivileges.lacking over 400 tables (1,600 grants): " + micros + " µs");

      assertThat(lacking.schemas()).isEmpty();
      assertThat(lacking.tables()).isEqualTo(Map.of("public.t217", List.of("INSERT")));
    }
  }
}
