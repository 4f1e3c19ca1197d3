package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.testkit.PgBouncer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
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
    bouncer = db.pgBouncer();
    return db.urlThrough(bouncer, db.directUrls());
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
