package dev.cutover.driver.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.driver.internal.control.Sequences;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * The switch's sequence move ({@link Sequences#advance}) on real servers, for the states a
 * sequence's {@code last_value} alone does not tell: not yet called ({@code ALTER SEQUENCE ...
 * RESTART}, {@code setval(s, n, false)}), near its bound, and hidden from the role.
 */
@LeakCheckedPair
class SequenceMoveTest {
  private static void execute(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static long value(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void both(PostgresPair pair, String db, String sql) throws SQLException {
    for (PostgresServer server : new PostgresServer[] {pair.oldServer(), pair.newServer()}) {
      try (Connection c = server.connect(db)) {
        execute(c, sql);
      }
    }
  }

  private static String database(PostgresPair pair, String name) throws SQLException {
    pair.oldServer().createDatabase(name);
    pair.newServer().createDatabase(name);
    return name;
  }

  /**
   * Reviewer r14: rows imported with explicit ids, then {@code RESTART WITH 501}, and a ticket
   * sequence set with {@code setval(..., 1000, false)}: both were skipped (pg_sequences shows no
   * last value until the next nextval), so new handed out 1.. again.
   */
  @Test
  void advance_sourceSequencesNotYetCalled_moveTargetPastTheirNextValue(PostgresPair pair) throws Exception {
    String db = database(pair, "seq_uncalled");
    both(pair, db, "CREATE TABLE orders (id serial PRIMARY KEY, who text); CREATE SEQUENCE ticket_seq;"
        + " CREATE SEQUENCE down_seq INCREMENT BY -1 MINVALUE -100000 MAXVALUE -1 START WITH -1");
    try (Connection old = pair.oldServer().connect(db); Connection nw = pair.newServer().connect(db)) {
      execute(old, "INSERT INTO orders (id, who) SELECT g, 'imported' FROM generate_series(1, 500) g;"
          + " ALTER SEQUENCE orders_id_seq RESTART WITH 501; SELECT setval('ticket_seq', 1000, false);"
          + " SELECT setval('down_seq', -400, false)");
      execute(nw, "INSERT INTO orders (id, who) SELECT g, 'imported' FROM generate_series(1, 500) g");

      Sequences.Result result = Sequences.advance(old, nw, 10);

      assertThat(result.examined()).isEqualTo(3);
      assertThat(result.moved()).as("%s", result).isEqualTo(3);
      assertThat(value(nw, "SELECT nextval('orders_id_seq')")).as("old's next order id is 501").isEqualTo(501 + 10);
      assertThat(value(nw, "SELECT nextval('ticket_seq')")).as("old's next ticket is 1000").isEqualTo(1000 + 10);
      assertThat(value(nw, "SELECT nextval('down_seq')")).as("old's next value going down is -400").isEqualTo(-400 - 10);
      execute(nw, "INSERT INTO orders (who) VALUES ('first on new')");
    }
  }

  /**
   * r27 D1: functions in public whose argument types match exactly where the built-in the move
   * calls needs a cast ({@code pg_sequence_last_value(oid)}, {@code nextval(oid)}, {@code
   * setval(oid, bigint, boolean)}, CVE-2018-1058) won over the built-ins on a session with the
   * default path, as a caller of {@link SequenceMove} may have: the move read old's value as 1 and
   * left new's sequence at 1. It calls the built-ins by their schema with their own argument types.
   */
  @Test
  void advance_lookalikesOfTheBuiltInsInPublic_readsAndMovesTheTrueValues(PostgresPair pair) throws Exception {
    String db = database(pair, "seq_planted");
    both(pair, db, "CREATE TABLE orders (id serial PRIMARY KEY, who text);"
        + " CREATE FUNCTION public.pg_sequence_last_value(oid) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';"
        + " CREATE FUNCTION public.nextval(oid) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';"
        + " CREATE FUNCTION public.setval(oid, bigint, boolean) RETURNS bigint LANGUAGE sql AS 'SELECT $2'");
    try (Connection old = pair.oldServer().connect(db); Connection nw = pair.newServer().connect(db)) {
      execute(old, "INSERT INTO orders (who) SELECT 'on old' FROM generate_series(1, 500)");

      Sequences.Result result = Sequences.advance(old, nw, 10);

      assertThat(result.moved()).as("%s", result).isEqualTo(1);
      assertThat(value(nw, "SELECT pg_catalog.nextval('orders_id_seq')")).as("old handed out 500").isEqualTo(500 + 10 + 1);
    }
  }

  /**
   * Reviewer r14: a target sequence restarted ahead of the source (not yet called), or one whose
   * value the role cannot see, was taken as MINVALUE - 1 and set back to the source's value plus
   * the margin: new went from 1,000,000 to 1070.
   */
  @Test
  void advance_targetAheadButUncalledOrHidden_neverMovesItBackwards(PostgresPair pair) throws Exception {
    String db = database(pair, "seq_backwards");
    both(pair, db, "CREATE TABLE c (id serial PRIMARY KEY); CREATE SEQUENCE standalone;"
        + " DO $$ BEGIN CREATE ROLE seq_ops LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
        + " GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO seq_ops");
    try (Connection admin = pair.newServer().connect(db)) {
      execute(admin, "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM seq_ops;"
          + " GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public TO seq_ops;"
          + " SELECT setval('standalone', 200000); ALTER SEQUENCE c_id_seq RESTART WITH 1000000");
    }
    try (Connection admin = pair.oldServer().connect(db)) {
      execute(admin, "SELECT setval('c_id_seq', 70); SELECT setval('standalone', 5000)");
    }
    try (Connection old = ControlPlaneSecurityTest.as(pair.oldServer(), db, "seq_ops");
        Connection nw = ControlPlaneSecurityTest.as(pair.newServer(), db, "seq_ops")) {
      Sequences.Result result = Sequences.advance(old, nw, 1000);
      assertThat(result.moved()).as("%s", result).isZero();
    }
    try (Connection nw = pair.newServer().connect(db)) {
      assertThat(value(nw, "SELECT nextval('c_id_seq')")).as("new's next id, restarted at 1000000").isBetween(1_000_000L, 1_000_001L);
      assertThat(value(nw, "SELECT nextval('standalone')")).as("new's, at 200000").isBetween(200_001L, 200_002L);
    }
  }

  /**
   * Reviewer r14: the margin was clamped to the sequence's bound, which used up new's remaining
   * values (a serial with 646 ids left on old had none on new) or wrapped a CYCLE sequence at once.
   * Where the margin does not fit, new continues where old would, and the sequence is named.
   */
  @Test
  void advance_marginPastTheBound_continuesAtTheSourcesValueAndNamesTheSequence(PostgresPair pair) throws Exception {
    String db = database(pair, "seq_clamp");
    both(pair, db, "CREATE TABLE tk (id serial PRIMARY KEY); CREATE SEQUENCE ring_seq MAXVALUE 1000 CYCLE;"
        + " CREATE TABLE ring (id int PRIMARY KEY DEFAULT nextval('ring_seq'))");
    try (Connection old = pair.oldServer().connect(db); Connection nw = pair.newServer().connect(db)) {
      execute(old, "SELECT setval('tk_id_seq', 2147483000); INSERT INTO tk DEFAULT VALUES;"
          + " INSERT INTO ring SELECT g FROM generate_series(1, 900) g; SELECT setval('ring_seq', 900)");
      execute(nw, "INSERT INTO ring SELECT g FROM generate_series(1, 900) g");

      Sequences.Result result = Sequences.advance(old, nw, 1000);

      assertThat(result.nearLimit()).containsExactly("public.ring_seq", "public.tk_id_seq");
      assertThat(value(nw, "INSERT INTO tk DEFAULT VALUES RETURNING id")).isEqualTo(2147483002L);
      assertThat(value(nw, "INSERT INTO ring DEFAULT VALUES RETURNING id")).isEqualTo(901);
    }
  }

  /** Reviewer r14: a sequence whose value the role cannot read was skipped without a word. */
  @Test
  void advance_sourceSequenceHiddenFromTheRole_failsNamingItAndTheGrant(PostgresPair pair) throws Exception {
    String db = database(pair, "seq_hidden");
    both(pair, db, "CREATE SEQUENCE visible; CREATE SEQUENCE hidden;"
        + " DO $$ BEGIN CREATE ROLE seq_reader LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
        + " GRANT SELECT, UPDATE ON SEQUENCE visible TO seq_reader; GRANT UPDATE ON SEQUENCE hidden TO seq_reader;"
        + " SELECT setval('hidden', 90000); SELECT setval('visible', 10)");
    try (Connection old = ControlPlaneSecurityTest.as(pair.oldServer(), db, "seq_reader");
        Connection nw = ControlPlaneSecurityTest.as(pair.newServer(), db, "seq_reader")) {
      assertThat(Sequences.unreadable(old)).containsExactly("public.hidden");
      SQLException e = catchThrowableOfType(SQLException.class, () -> Sequences.advance(old, nw, 1000));
      assertThat((Throwable) e).isNotNull();
      assertThat(e.getSQLState()).isEqualTo("42501");
      assertThat(e.getMessage()).contains("public.hidden").contains("GRANT SELECT ON SEQUENCE public.hidden TO seq_reader");
    }
  }

  /** From 10, USAGE shows a called sequence's value but not an uncalled one's: the guard says so. */
  @Test
  void unreadable_usageOnlyOnAnUncalledSequence_isListed(PostgresPair pair) throws Exception {
    String db = database(pair, "seq_usage");
    both(pair, db, "CREATE SEQUENCE called_seq; CREATE SEQUENCE restarted_seq;"
        + " DO $$ BEGIN CREATE ROLE seq_user LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
        + " GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO seq_user;"
        + " SELECT setval('called_seq', 10); SELECT setval('restarted_seq', 700, false)");
    try (Connection old = ControlPlaneSecurityTest.as(pair.oldServer(), db, "seq_user")) {
      assertThat(Sequences.unreadable(old)).containsExactly("public.restarted_seq");
    }
  }
}
