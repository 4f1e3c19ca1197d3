package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.testkit.PostgresPair;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * In steady state the driver sends the server exactly what plain PgJDBC sends: no extra round trip.
 * At login it reads its backend's identity once (the switch terminates a straggler's process only
 * on that server, see {@code StragglerServerTest}).
 */
@LeakCheckedPair
class RoundTripTest {

  @Test
  void steadyState_sendsTheSameStatementsAsPlainPgJdbc(PostgresPair pair) throws Exception {
    String db = pair.oldServer().createDatabase("roundtrips");
    pair.newServer().createDatabase("roundtrips");
    try (Connection admin = pair.oldServer().connect(db); Statement s = admin.createStatement()) {
      s.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      s.execute("CREATE TABLE t (id serial PRIMARY KEY, v int NOT NULL)");
    }
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    String plainUrl = pair.oldServer().jdbcUrl(db);
    String cutoverUrl = "jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/" + db
        + "?cutover.service=roundtrips&cutover.new.url="
        + URLEncoder.encode(pair.newServer().jdbcUrl(db), StandardCharsets.UTF_8);
    DriverManager.getConnection(cutoverUrl, p).close(); // the router's one-time checks happen here

    long plain = statementsFor(() -> DriverManager.getConnection(plainUrl, p), pair, db);
    long cutover = statementsFor(() -> DriverManager.getConnection(cutoverUrl, p), pair, db);

    System.out.printf("[round trips] plain PgJDBC: %d statements, Cutover: %d statements%n", plain, cutover);
    assertThat(plain).isGreaterThanOrEqualTo(300);
    assertThat(cutover).as("plain PgJDBC's statements and the one read at login").isEqualTo(plain + 1);
  }

  private interface Opener {
    Connection open() throws SQLException;
  }

  /** Runs 100 autocommit inserts, 50 two-statement transactions and 50 selects; counts server calls. */
  private static long statementsFor(Opener opener, PostgresPair pair, String db) throws SQLException {
    try (Connection admin = pair.oldServer().connect(db); Statement s = admin.createStatement()) {
      s.execute("SELECT pg_stat_statements_reset()");
    }
    try (Connection c = opener.open();
        PreparedStatement insert = c.prepareStatement("INSERT INTO t (v) VALUES (?)");
        PreparedStatement select = c.prepareStatement("SELECT v FROM t WHERE id = ?")) {
      for (int i = 0; i < 100; i++) {
        insert.setInt(1, i);
        insert.executeUpdate();
      }
      c.setAutoCommit(false);
      for (int i = 0; i < 50; i++) {
        insert.setInt(1, i);
        insert.executeUpdate();
        insert.executeUpdate();
        c.commit();
      }
      c.setAutoCommit(true);
      for (int i = 0; i < 50; i++) {
        select.setInt(1, i + 1);
        try (ResultSet rs = select.executeQuery()) {
          rs.next();
        }
      }
    }
    try (Connection admin = pair.oldServer().connect(db); Statement s = admin.createStatement();
        ResultSet rs = s.executeQuery("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
            + " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            + " AND query NOT ILIKE '%pg_stat_statements%'")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
