package dev.cutover.replicator.cli;

import static dev.cutover.replicator.cli.CliTest.run;
import static dev.cutover.replicator.cli.CliTest.sql;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.cli.CliTest.Run;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PgBouncer;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A URL that reaches a connection pooler (PgBouncer in transaction mode here) is refused at once,
 * naming the side and the option, before anything is changed: the replicator's session settings
 * (search path, no DDL capture, no timeouts), its advisory locks and the copy's shared snapshot
 * hold only for the server session they were made in, which a pooler hands to other clients.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class PoolerTest {
  private static final String SCHEMA = "CREATE TABLE account (id bigint PRIMARY KEY, balance int NOT NULL)";

  @Test
  void start_oldThroughPgBouncer_refusedNamingOldBeforeAnythingChanges(PostgresPair pair) throws Exception {
    String db = "pooled_start";
    setUp(pair, db);
    try (PgBouncer bouncer = bouncer(pair, db)) {
      Run r = run("start", "--capture", "triggers", "--old-url", bouncer.jdbcUrl("app_old") + "?prepareThreshold=0",
          "--new-url", pair.newServer().jdbcUrl(db), "--old-user", pair.oldServer().user(), "--new-user", pair.newServer().user());

      assertThat(r.code()).as(r.err()).isEqualTo(3);
      assertThat(r.err().strip()).doesNotContain("\n")
          .contains("old: --old-url reaches a connection pooler or proxy")
          .contains("point --old-url at the database server itself (127.0.0.1:" + pair.oldServer().port() + ")");
    }
    assertThat(count(pair.oldServer(), db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'")).as("nothing made on old").isZero();
    assertThat(count(pair.newServer(), db, "SELECT count(*) FROM account")).as("nothing copied").isZero();
  }

  @Test
  void checkAndApply_newThroughPgBouncer_refusedNamingNew(PostgresPair pair) throws Exception {
    String db = "pooled_apply";
    setUp(pair, db);
    try (PgBouncer bouncer = bouncer(pair, db)) {
      String[] urls = {"--old-url", pair.oldServer().jdbcUrl(db), "--new-url", bouncer.jdbcUrl("app_new") + "?prepareThreshold=0",
          "--old-user", pair.oldServer().user(), "--new-user", pair.newServer().user()};
      for (String command : List.of("check", "apply")) {
        Run r = run(CliTest.with(new String[] {command}, urls));
        assertThat(r.code()).as(command + ": " + r.err()).isEqualTo(3);
        assertThat(r.err().strip()).as(command).doesNotContain("\n")
            .contains("new: --new-url reaches a connection pooler or proxy")
            .contains("point --new-url at the database server itself");
      }
    }
  }

  private static void setUp(PostgresPair pair, String db) throws Exception {
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, SCHEMA);
    }
    sql(pair.oldServer(), db, "INSERT INTO account SELECT g, g FROM generate_series(1, 100) g");
  }

  private static PgBouncer bouncer(PostgresPair pair, String db) throws Exception {
    return PgBouncer.start(Map.of("app_old", new PgBouncer.Backend(pair.oldServer(), db),
        "app_new", new PgBouncer.Backend(pair.newServer(), db)));
  }

  private static long count(PostgresServer server, String db, String sql) throws Exception {
    try (Connection c = server.connect(db); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
