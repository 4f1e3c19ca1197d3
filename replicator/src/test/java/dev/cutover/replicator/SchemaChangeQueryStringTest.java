package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * How the schema change capture reads a client's query string (as {@code psql -c} sends it, several
 * statements in one): which text is a statement, and which statement an event trigger fired for.
 * Text inside a literal is never a statement, whatever {@code standard_conforming_strings} says;
 * a statement that fires no event trigger (a role grant, a comment on a role) is never taken for
 * the next one that does. Both engines, since both carry what the capture logged.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SchemaChangeQueryStringTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @FunctionalInterface
  interface OnOld {
    void run(Replicator r) throws Exception;
  }

  /** {@code db} set up as {@link SchemaChangeFlowTest#database}, replicated by {@code capture} while {@code body} runs (the trigger engine's apply running). */
  private static void replicated(PostgresPair pair, String db, Capture capture, OnOld body) throws Exception {
    SchemaChangeFlowTest.database(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withCapture(capture), new CopyProgress(), CopyListener.NONE);
    ApplyProcess apply = capture == Capture.TRIGGERS ? r.apply(Applier.Options.defaults()) : null;
    try {
      body.run(r);
      if (apply != null) {
        assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.refusal()).as("%s", a.lastError()).isNull());
      }
    } finally {
      if (apply != null) {
        apply.close();
      }
    }
    r.cleanup();
  }

  /** A connection that sends a string of statements as one query, as psql does (simple protocol). */
  private static Connection asPsql(PostgresServer s, String db, boolean superuser) throws SQLException {
    if (!superuser) {
      return SchemaChangeFlowTest.appAsPsql(s, db);
    }
    Properties p = new Properties();
    p.setProperty("preferQueryMode", "simple");
    return s.connect(db, p);
  }

  private static List<String> loggedCommands(PostgresServer old, String db) throws SQLException {
    try (Connection o = old.connect(db)) {
      return AppDatabase.strings(o, "SELECT coalesce(command, '(none) ' || tag) FROM cutover.ddl_log ORDER BY at");
    }
  }

  /**
   * With {@code standard_conforming_strings = off} in the writer's session, {@code \'} inside a
   * plain literal is a quote of the text, so the semicolons and the ALTER TABLE after it are text
   * too: the capture once ended the literal there and logged {@code ALTER TABLE account DROP COLUMN
   * legacy} for the ALTER that followed, dropping a column and its data on new. E'' strings and
   * dollar quotes hold text alike. And the capture's own patterns, read under the session's setting,
   * no longer took CONCURRENTLY out, which stopped the apply on new.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = Capture.class, names = {"LOGICAL", "TRIGGERS"})
  void capture_literalsUnderNonStandardStrings_neverTakenForStatements(Capture capture, PostgresPair pair) throws Exception {
    String db = "ddl_scs_off_" + capture.name().toLowerCase();
    replicated(pair, db, capture, r -> {
      try (Connection o = asPsql(pair.oldServer(), db, false)) {
        AppDatabase.execute(o, "CREATE TABLE notes (id serial PRIMARY KEY, body text)");
        AppDatabase.execute(o, "SET standard_conforming_strings = off");
        AppDatabase.execute(o, "INSERT INTO notes (body) VALUES ('it\\'s; ALTER TABLE account DROP COLUMN legacy; x');"
            + " ALTER TABLE account ADD COLUMN z int");
        AppDatabase.execute(o, "INSERT INTO notes (body) VALUES (E'\\'; DROP TABLE notes; '), ($q$'; ALTER TABLE account DROP COLUMN balance; $q$);"
            + " ALTER TABLE account ADD COLUMN y text DEFAULT 'a\\\\b'");
        assertThat(AppDatabase.strings(o, "SELECT y FROM account LIMIT 1")).containsExactly("a\\b");
      }
      // In a session that never ran the capture with the setting on (PL/pgSQL keeps what it parsed once per session).
      Properties off = new Properties();
      off.setProperty("user", SchemaChangeFlowTest.ROLE);
      off.setProperty("options", "-c standard_conforming_strings=off");
      try (Connection o = new org.postgresql.Driver().connect(pair.oldServer().jdbcUrl(db), off)) {
        AppDatabase.execute(o, "CREATE INDEX CONCURRENTLY account_owner ON account (owner)");
      }
      assertThat(loggedCommands(pair.oldServer(), db)).containsExactly(
          "CREATE TABLE notes (id serial PRIMARY KEY, body text)",
          "ALTER TABLE account ADD COLUMN z int",
          "ALTER TABLE account ADD COLUMN y text DEFAULT 'a\\\\b'",
          "CREATE INDEX account_owner ON account (owner)");
      r.awaitCaughtUp(WAIT);
      try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
        for (String catalog : List.of(SchemaChangeFlowTest.COLUMNS, SchemaChangeFlowTest.INDEXES)) {
          assertThat(AppDatabase.strings(n, catalog)).as(catalog).isEqualTo(AppDatabase.strings(o, catalog));
        }
        assertThat(AppDatabase.strings(n, "SELECT body FROM notes ORDER BY id"))
            .containsExactly("it's; ALTER TABLE account DROP COLUMN legacy; x", "'; DROP TABLE notes; ",
                "'; ALTER TABLE account DROP COLUMN balance; ");
      }
      VerifyReport verify = r.verify(Verifier.Options.defaults());
      assertThat(verify.differences()).as("%s", verify.tables()).isZero();
    });
  }

  /**
   * Statements that fire no event trigger (a role granted or revoked, a grant on the database, a
   * comment on a role) before one that does, in one query string: the event was matched to the
   * first statement with its keywords, so new ran {@code GRANT reporting TO alice} (role membership,
   * never carried) and never got the table's grant; {@code REVOKE reporting FROM alice} took the
   * place of {@code REVOKE SELECT ON secret FROM PUBLIC}, and PUBLIC kept reading secret on new.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = Capture.class, names = {"LOGICAL", "TRIGGERS"})
  void capture_statementsWithoutEventTrigger_neverTakenForTheNextOne(Capture capture, PostgresPair pair) throws Exception {
    String db = "ddl_no_event_" + capture.name().toLowerCase();
    String reporting = db + "_reporting";
    String alice = db + "_alice";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = s.connect()) {
        AppDatabase.execute(c, "CREATE ROLE " + reporting + "; CREATE ROLE " + alice);
      }
    }
    String member = "SELECT count(*) FROM pg_auth_members WHERE roleid = '" + reporting + "'::regrole AND member = '" + alice + "'::regrole";
    replicated(pair, db, capture, r -> {
      try (Connection o = asPsql(pair.oldServer(), db, true)) {
        AppDatabase.execute(o, "CREATE TABLE secret (id int PRIMARY KEY); GRANT SELECT ON secret TO PUBLIC");
        AppDatabase.execute(o, "GRANT " + reporting + " TO " + alice + "; GRANT SELECT ON account TO " + reporting);
        AppDatabase.execute(o, "GRANT CONNECT ON DATABASE " + db + " TO " + alice + "; GRANT SELECT ON secret TO " + alice);
        AppDatabase.execute(o, "COMMENT ON ROLE " + alice + " IS 'role note'; COMMENT ON TABLE account IS 'accounts'");
        AppDatabase.execute(o, "REVOKE " + reporting + " FROM " + alice + "; REVOKE SELECT ON secret FROM PUBLIC");
        assertThat(AppDatabase.count(o, member)).isZero();
        // Forms beside these, matched or not by the capture's own functions: the tag and object
        // type the event trigger reports, and the statement.
        assertThat(AppDatabase.strings(o, "SELECT s FROM (VALUES"
            + " ('GRANT', 'TABLE', 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO x', true),"
            + " ('GRANT', 'SEQUENCE', 'GRANT USAGE ON SEQUENCE s TO x', true),"
            + " ('GRANT', 'FUNCTION', 'GRANT EXECUTE ON FUNCTION f(int) TO x', true),"
            + " ('GRANT', 'SCHEMA', 'GRANT USAGE, CREATE ON SCHEMA \"on\" TO x', true),"
            + " ('REVOKE', 'TABLE', 'REVOKE GRANT OPTION FOR SELECT (a) ON TABLE t FROM x', true),"
            + " ('GRANT', 'TABLE', 'GRANT USAGE ON SCHEMA s TO x', false),"
            + " ('GRANT', 'TABLE', 'GRANT \"on\" TO x', false),"
            + " ('GRANT', 'TABLE', '/* ON t */ GRANT r TO x', false),"
            + " ('COMMENT', 'table column', 'COMMENT ON COLUMN t.a IS ''on''', true),"
            + " ('COMMENT', 'table', 'COMMENT ON DATABASE d IS ''ON TABLE t''', false),"
            + " ('SECURITY LABEL', 'table', 'SECURITY LABEL FOR p ON ROLE r IS ''x''', false),"
            + " ('SELECT INTO', NULL, 'SELECT 1 AS x INTO t', true),"
            + " ('SELECT INTO', NULL, 'SELECT ''into'' AS x', false),"
            + " ('SELECT INTO', NULL, 'WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a', false),"
            + " ('ALTER TABLE', NULL, 'ALTER ROLE x SET search_path = a', false)) v(tag, type, s, expected)"
            + " WHERE cutover.ddl_matches(tag, type, (cutover.ddl_split(s, true)).shapes[1]) IS DISTINCT FROM expected")).isEmpty();
      }
      assertThat(loggedCommands(pair.oldServer(), db)).containsExactly(
          "CREATE TABLE secret (id int PRIMARY KEY)",
          "GRANT SELECT ON secret TO PUBLIC",
          "GRANT SELECT ON account TO " + reporting,
          "GRANT SELECT ON secret TO " + alice,
          "COMMENT ON TABLE account IS 'accounts'",
          "REVOKE SELECT ON secret FROM PUBLIC");
      r.awaitCaughtUp(WAIT);
      try (Connection n = pair.newServer().connect(db)) {
        assertThat(AppDatabase.count(n, member)).as("role membership is not carried").isZero();
        assertThat(AppDatabase.strings(n, "SELECT grantee || ' ' || table_name FROM information_schema.role_table_grants"
            + " WHERE table_name IN ('account', 'secret') AND privilege_type = 'SELECT' AND grantee <> '" + SchemaChangeFlowTest.ROLE + "'"
            + " AND grantee <> current_user ORDER BY 1"))
            .containsExactly(alice + " secret", reporting + " account");
        assertThat(AppDatabase.strings(n, "SELECT coalesce(obj_description('account'::regclass, 'pg_class'), '-')"
            + " || ' ' || coalesce(shobj_description('" + alice + "'::regrole, 'pg_authid'), '-')"
            + " || ' ' || (SELECT count(*) FROM pg_database, aclexplode(datacl) a WHERE datname = current_database()"
            + " AND a.grantee = '" + alice + "'::regrole)"))
            .as("the table's comment; none on the role, no grant on the database").containsExactly("accounts - 0");
      }
    });
  }
}
