package dev.cutover.replicator.cli;

import static dev.cutover.replicator.cli.CliTest.run;
import static dev.cutover.replicator.cli.CliTest.sql;
import static dev.cutover.replicator.cli.CliTest.urls;
import static dev.cutover.replicator.cli.CliTest.with;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.cli.CliTest.Run;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Old in LATIN1, new in UTF8 (the server's default): schema copies the schema, and verify compares
 * text by its characters, not by each server's bytes for them.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class Latin1SourceTest {
  private static final String TABLE = "CREATE TABLE p (name text PRIMARY KEY, n int, label varchar(20) DEFAULT 'Straße',"
      + " code char(6), doc jsonb); COMMENT ON COLUMN p.name IS 'Schlüssel'";
  private static final String ROWS = "INSERT INTO p (name, n, code, doc) VALUES ('café', 1, 'ñ', '{\"k\": \"été\"}'),"
      + " ('naïve', 2, 'ß', '{}'), ('Ärger', 3, NULL, NULL), ('été', 4, 'é ', '[\"ü\"]'), ('plain', 5, 'a', '{}'),"
      + " ('zz', 6, NULL, '{\"ö\": 1}')";

  private static String latin1Pair(PostgresPair pair, String db) throws Exception {
    try (Connection c = pair.oldServer().connect(); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + db + " ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
    }
    pair.newServer().createDatabase(db);
    try (Connection c = pair.newServer().connect(db); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW server_encoding")) {
      rs.next();
      assertThat(rs.getString(1)).as("new's encoding").isEqualTo("UTF8");
    }
    return db;
  }

  /**
   * pg_dump wrote the dump in old's encoding with {@code SET client_encoding = 'LATIN1'}, which made
   * PgJDBC close the connection, and the RESET after it reported "connection lost ... network reset".
   */
  @Test
  void schema_latin1Old_copiesTheSchemaWithItsNonAsciiText_thenLogicalReplicationVerifiesClean(PostgresPair pair) throws Exception {
    String db = latin1Pair(pair, "lat_schema");
    sql(pair.oldServer(), db, TABLE + "; " + ROWS);
    String[] u = urls(pair, db);

    Run schema = run(with(new String[] {"schema"}, u));

    assertThat(schema.code()).as(schema.err()).isZero();
    assertThat(schema.out()).contains("1 table(s) on new");
    try (Connection c = pair.newServer().connect(db); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT col_description('p'::regclass, 1), pg_get_expr(adbin, adrelid) FROM pg_attrdef"
            + " WHERE adrelid = 'p'::regclass")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("Schlüssel");
      assertThat(rs.getString(2)).contains("Straße");
    }

    Run start = run(with(new String[] {"start", "--capture", "logical"}, u));
    assertThat(start.code()).as(start.err()).isZero();
    sql(pair.oldServer(), db, "INSERT INTO p (name, n, code, doc) VALUES ('Übermut', 7, 'ç', '{\"à\": \"î\"}')");
    assertThat(run(with(new String[] {"catch-up", "--timeout", "30s"}, u)).code()).isZero();

    Run clean = run(with(new String[] {"verify"}, u));
    assertThat(clean.code()).as(clean.out() + clean.err()).isZero();
    assertThat(clean.out()).contains("no differences");

    sql(pair.newServer(), db, "UPDATE p SET label = 'Strasse' WHERE name = 'café'");
    Run differs = run(with(new String[] {"verify"}, u));
    assertThat(differs.code()).as(differs.out() + differs.err()).isEqualTo(7);
    assertThat(differs.out()).contains("different: name=café").contains("1 difference(s)");
  }

  @Test
  void verify_latin1OldWithTriggerCapture_findsNoDifferenceButARowChangedOnNew(PostgresPair pair) throws Exception {
    String db = latin1Pair(pair, "lat_triggers");
    sql(pair.oldServer(), db, TABLE + "; " + ROWS);
    sql(pair.newServer(), db, TABLE);
    String[] u = urls(pair, db);

    Run start = run(with(new String[] {"start", "--capture", "triggers"}, u));
    assertThat(start.code()).as(start.err()).isZero();
    // Trigger capture has no slot (r30: its progress said "copying 4 table(s) under the slot's snapshot").
    assertThat(start.out()).contains("trigger capture old -> new started").contains("the copy is old's snapshot");
    assertThat(start.err()).contains("copying 4 table(s) under one snapshot of old");
    assertThat(start.out() + start.err()).doesNotContainIgnoringCase("slot").doesNotContainIgnoringCase("subscription");

    Run clean = run(with(new String[] {"verify"}, u));
    assertThat(clean.code()).as(clean.out() + clean.err()).isZero();
    assertThat(clean.out()).contains("no differences");

    sql(pair.newServer(), db, "UPDATE p SET doc = '{\"k\": \"ete\"}' WHERE name = 'café'");
    Run differs = run(with(new String[] {"verify"}, u));
    assertThat(differs.code()).as(differs.out() + differs.err()).isEqualTo(7);
    assertThat(differs.out()).contains("different: name=café");
  }

  /**
   * Key and json columns named "é" and "Straße" in a LATIN1 database (r33): their triggers'
   * arguments, LATIN1 bytes, are current, so start and the application's CREATE TABLE on old end
   * (old's stack is small here, so the recursion a mismatch caused fails at once).
   */
  @Test
  void start_latin1OldKeyAndJsonColumnsNamedOutsideAscii_triggersCurrent(PostgresPair pair) throws Exception {
    String db = latin1Pair(pair, "lat_key_names");
    sql(pair.oldServer(), db, "ALTER DATABASE " + db + " SET max_stack_depth = '100kB'");
    String table = "CREATE TABLE k (\"é\" int PRIMARY KEY, \"Straße\" jsonb)";
    sql(pair.oldServer(), db, table + "; INSERT INTO k VALUES (1, '{\"ü\": null}')");
    sql(pair.newServer(), db, table);

    Run start = run(with(new String[] {"start", "--capture", "triggers"}, urls(pair, db)));

    assertThat(start.code()).as(start.err()).isZero();
    sql(pair.oldServer(), db, "CREATE TABLE \"Kunde\" (\"Straße\" int PRIMARY KEY)");
    try (Connection c = pair.oldServer().connect(db)) {
      assertThat(CaptureSchema.staleTables(c)).as("tables whose capture triggers are not current").isEmpty();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_trigger"
          + " WHERE tgname = '#cutover_capture_key' AND tgrelid IN ('k'::regclass, '\"Kunde\"'::regclass)")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(2);
      }
    }
  }

  @Test
  void check_encodingsDiffer_warnsNamingBoth(PostgresPair pair) throws Exception {
    String db = latin1Pair(pair, "lat_check");
    sql(pair.oldServer(), db, TABLE);
    sql(pair.newServer(), db, TABLE);

    Run check = run(with(new String[] {"check", "--json"}, urls(pair, db)));

    assertThat(check.out()).contains("\"code\":\"encoding\"").contains("LATIN1").contains("UTF8");
  }
}
