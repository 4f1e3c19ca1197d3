package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.testkit.PgBouncer;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

/**
 * The switch under load as in {@link SwitchUnderLoadTest}, with the application's traffic going
 * through PgBouncer in transaction mode in front of both databases (PgJDBC without server-side
 * prepared statements, which PgBouncer 1.18 cannot pool), and the switch's own sessions through
 * cutover.old.direct-url and cutover.new.direct-url.
 */
class SwitchUnderLoadThroughPgBouncerTest extends SwitchUnderLoadTest {
  private PgBouncer bouncer;

  @Override
  String applicationUrl() throws Exception {
    bouncer = PgBouncer.start(Map.of(
        "app_old", new PgBouncer.Backend(db.pair.oldServer(), db.database),
        "app_new", new PgBouncer.Backend(db.pair.newServer(), db.database)));
    return db.urlVia(bouncer.jdbcUrl("app_old") + "?prepareThreshold=0", bouncer.jdbcUrl("app_new") + "?prepareThreshold=0",
        "cutover.old.direct-url=" + URLEncoder.encode(db.pair.oldServer().jdbcUrl(db.database), StandardCharsets.UTF_8),
        "cutover.new.direct-url=" + URLEncoder.encode(db.pair.newServer().jdbcUrl(db.database), StandardCharsets.UTF_8));
  }

  @Test
  @Order(0)
  void pool_connectsThroughPgBouncer() throws Exception {
    try (Connection c = pool.getConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      assertThat(rs.getInt(1)).as("PgBouncer reports a process id of its own at connect")
          .isNotEqualTo(c.unwrap(PGConnection.class).getBackendPID());
    }
  }

  @Override
  @AfterAll
  void tearDown() {
    try {
      super.tearDown();
    } finally {
      if (bouncer != null) {
        bouncer.close();
      }
    }
  }
}
