package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A pool's password rotated at runtime (Secrets Manager, Vault static roles; RDS IAM hands every
 * connection a new token): the pool stays one router, which opens every connection from then on
 * (the switch's own sessions, connections opened ahead, heartbeats) with the latest password.
 */
@LeakCheckedPair
class CredentialRotationTest {
  private static final String ROLE = "rotating_app";

  /** Makes both servers ask {@link #ROLE} for its password over TCP; returns what to put back. */
  private static Map<PostgresServer, String> passwordsRequired(PostgresPair pair) throws Exception {
    Map<PostgresServer, String> before = new LinkedHashMap<>();
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = server.connect(); Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE " + ROLE + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        s.execute("ALTER ROLE " + ROLE + " PASSWORD 'first-secret'");
        Path hba;
        try (ResultSet rs = s.executeQuery("SHOW hba_file")) {
          rs.next();
          hba = Path.of(rs.getString(1));
        }
        String original = Files.readString(hba);
        before.put(server, original);
        Files.writeString(hba, "host all " + ROLE + " all md5\n" + original);
        s.execute("SELECT pg_reload_conf()");
      }
    }
    return before;
  }

  private static void restore(Map<PostgresServer, String> hba) throws Exception {
    for (Map.Entry<PostgresServer, String> e : hba.entrySet()) {
      try (Connection c = e.getKey().connect(); Statement s = c.createStatement()) {
        Path file;
        try (ResultSet rs = s.executeQuery("SHOW hba_file")) {
          rs.next();
          file = Path.of(rs.getString(1));
        }
        Files.writeString(file, e.getValue());
        s.execute("SELECT pg_reload_conf()");
      }
    }
  }

  /**
   * As a reviewer found (r21 #1): the pool's second password made a second router in the same
   * JVM; the first, still holding a connection, could no longer log in ("password authentication
   * failed"), never got ready, and every switch of the service was held 8 s and aborted "instances
   * [...] did not drain within 8000 ms". Now the pool stays one router and the switch completes
   * with the new password.
   */
  @Test
  void passwordRotatedInThePool_oneRouterStays_andTheSwitchLogsInWithTheNewPassword(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    for (Connection c : new Connection[] {db.oldDirect(), db.newDirect()}) {
      try (c; Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE " + ROLE + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        s.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + ROLE);
        s.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO " + ROLE);
        ControlSchema.install(c, List.of(ROLE));
      }
    }
    Map<PostgresServer, String> hba = passwordsRequired(pair);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.url("cutover.drain.timeout=2s", "cutover.switch.retry-interval=1s"));
    config.setUsername(ROLE);
    config.setPassword("first-secret");
    config.setMaximumPoolSize(2);
    config.setMinimumIdle(2);
    config.setPoolName("rotating-" + db.database);
    try (SwitchEvents events = new SwitchEvents(db.database); HikariDataSource pool = new HikariDataSource(config);
        Connection held = pool.getConnection()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> pool.getHikariPoolMXBean().getTotalConnections() == 2);

      for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
        try (Connection c = server.connect(); Statement s = c.createStatement()) {
          s.execute("ALTER ROLE " + ROLE + " PASSWORD 'second-secret'");
        }
      }
      pool.getHikariConfigMXBean().setPassword("second-secret");
      pool.getHikariPoolMXBean().softEvictConnections();
      try (Connection fresh = pool.getConnection()) {
        assertThat(DrainTest.sideOf(fresh)).isEqualTo(pair.oldServer().port());
      }
      assertThat(CutoverDriver.routers()).filteredOn(r -> r.getService().equals(db.database))
          .as("one pool, one router, whatever its password").hasSize(1);

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.summary()).doesNotContain("second-secret").doesNotContain("first-secret");
      try (Connection c = pool.getConnection()) {
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.newServer().port());
      }
      assertThat(DrainTest.sideOf(held)).isEqualTo(pair.newServer().port());
    } finally {
      restore(hba);
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }
}
