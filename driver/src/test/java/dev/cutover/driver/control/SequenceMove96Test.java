package dev.cutover.driver.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.driver.internal.control.Sequences;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * The sequence move with a 9.6 side, which has no {@code pg_sequences}: each sequence is read from
 * its own relation, which takes SELECT (USAGE only lets the role call nextval).
 */
@LeakCheckedPair
@PostgresVersions(oldMajor = 9, newMajor = 17)
class SequenceMove96Test {
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
      try (Connection c = server.connect()) {
        execute(c, "DO $$ BEGIN CREATE ROLE seq_app96 LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      }
      server.createDatabase(db);
      try (Connection c = server.connect(db)) {
        execute(c, sql);
      }
    }
  }

  /**
   * Reviewer r14: with the usual {@code GRANT USAGE ON ALL SEQUENCES} on a 9.6 source, the guard
   * passed (USAGE counted) while the read kept only sequences with SELECT: the switch moved none
   * and every insert on new failed on its key.
   */
  @Test
  void unreadable_usageOnlyOn96_isListedAndTheMoveFailsNamingIt(PostgresPair pair) throws Exception {
    String db = "seq96usage";
    both(pair, db, "CREATE TABLE orders (id serial PRIMARY KEY); CREATE SEQUENCE ticket_seq;"
        + " GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO seq_app96; GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public TO seq_app96");
    try (Connection admin = pair.oldServer().connect(db)) {
      execute(admin, "INSERT INTO orders SELECT g FROM generate_series(1, 300) g; SELECT setval('orders_id_seq', 300);"
          + " SELECT setval('ticket_seq', 42)");
    }
    try (Connection old = ControlPlaneSecurityTest.as(pair.oldServer(), db, "seq_app96");
        Connection nw = ControlPlaneSecurityTest.as(pair.newServer(), db, "seq_app96")) {
      assertThat(Sequences.unreadable(old)).containsExactly("public.orders_id_seq", "public.ticket_seq");
      SQLException e = catchThrowableOfType(SQLException.class, () -> Sequences.advance(old, nw, 1000));
      assertThat((Throwable) e).as("the move, which would leave them behind").isNotNull();
      assertThat(e.getMessage()).contains("GRANT SELECT ON SEQUENCE public.orders_id_seq, public.ticket_seq TO seq_app96");
    }
  }

  /** A 9.6 source's uncalled sequence (RESTART after an import) moves new; a 9.6 target ahead but uncalled stays. */
  @Test
  void advance_uncalledSequencesOn96_movedPastFromTheSourceAndNeverBackOnTheTarget(PostgresPair pair) throws Exception {
    String db = "seq96uncalled";
    both(pair, db, "CREATE TABLE orders (id serial PRIMARY KEY); GRANT SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO seq_app96");
    try (Connection admin = pair.oldServer().connect(db)) {
      execute(admin, "INSERT INTO orders SELECT g FROM generate_series(1, 500) g; ALTER SEQUENCE orders_id_seq RESTART WITH 501");
    }
    try (Connection old = ControlPlaneSecurityTest.as(pair.oldServer(), db, "seq_app96");
        Connection nw = ControlPlaneSecurityTest.as(pair.newServer(), db, "seq_app96")) {
      Sequences.Result forward = Sequences.advance(old, nw, 10);
      assertThat(forward.moved()).as("%s", forward).isEqualTo(1);
      assertThat(value(nw, "SELECT last_value FROM orders_id_seq")).isEqualTo(510);

      // The way back: old (9.6) restarted far ahead is not set back to new's value.
      try (Connection admin = pair.oldServer().connect(db)) {
        execute(admin, "ALTER SEQUENCE orders_id_seq RESTART WITH 900000");
      }
      Sequences.Result backward = Sequences.advance(nw, old, 10);
      assertThat(backward.moved()).as("%s", backward).isZero();
      assertThat(value(old, "SELECT nextval('orders_id_seq')")).isEqualTo(900_000);
    }
  }

  /**
   * r22: the sequences a switch's source has and its target lacks, which refuse the switch before
   * its gate, asked of a 9.6 side as source and as target. A sequence owned by an unlogged table
   * (which replication never carries) is not counted on either side.
   */
  @Test
  void missing_eitherWayWith96_namesTheSequencesTheTargetLacksButNotAnUnloggedTables(PostgresPair pair) throws Exception {
    String db = "seq96missing";
    both(pair, db, "CREATE TABLE orders (id serial PRIMARY KEY)");
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      execute(o, "CREATE SEQUENCE \"Old Only\"; CREATE UNLOGGED TABLE scratch_old (id serial PRIMARY KEY)");
      execute(n, "CREATE SEQUENCE invoice_no START 5000; CREATE UNLOGGED TABLE scratch_new (id serial PRIMARY KEY)");

      assertThat(Sequences.missing(n, o)).as("a flip back from 17 into 9.6").containsExactly("public.invoice_no");
      assertThat(Sequences.missing(o, n)).as("a switch from 9.6 to 17").containsExactly("public.\"Old Only\"");

      execute(o, "CREATE SEQUENCE invoice_no START 5000");
      assertThat(Sequences.missing(n, o)).isEmpty();
    }
  }
}
