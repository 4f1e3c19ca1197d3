package dev.cutover.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.cutover.testkit.LogicalReplication.InitialData;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

/**
 * {@link ReplicationTeardown} run through JUnit's own engine on a class that replicates in
 * {@code @BeforeAll} and in a test: the next test finds the test's subscription and slot gone and
 * the class's still there (and replicating).
 */
class ReplicationTeardownTest {

  @Test
  void afterEach_dropsWhatTheTestSetUp_keepsWhatTheClassSetUp() {
    EngineExecutionResults results = EngineTestKit.engine("junit-jupiter").selectors(selectClass(Replicates.class)).execute();
    assertThat(results.allEvents().failed().stream()
        .map(e -> e.getRequiredPayload(TestExecutionResult.class).getThrowable().map(Throwable::toString).orElse("?")))
        .isEmpty();
    results.testEvents().assertStatistics(stats -> stats.succeeded(2));
  }

  @ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class})
  @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
  static class Replicates {

    @BeforeAll
    static void replicateForTheClass(PostgresPair pair) throws Exception {
      replicate(pair, "by_class");
    }

    @Test
    @Order(1)
    void replicatesForItself(PostgresPair pair) throws Exception {
      replicate(pair, "by_test");
      assertThat(strings(pair.newServer(), "SELECT subname FROM pg_subscription")).contains("by_test_sub", "by_class_sub");
    }

    @Test
    @Order(2)
    void findsOnlyTheClasssReplication(PostgresPair pair) throws Exception {
      assertThat(strings(pair.newServer(), "SELECT subname FROM pg_subscription")).containsExactly("by_class_sub");
      assertThat(strings(pair.oldServer(), "SELECT slot_name FROM pg_replication_slots")).contains("by_class_sub")
          .noneMatch(slot -> slot.startsWith("by_test") || slot.contains("_sync_") && !slot.startsWith("by_class"));
      try (Connection o = pair.oldServer().connect("by_class"); Connection n = pair.newServer().connect("by_class")) {
        execute(o, "INSERT INTO t VALUES (1)");
        LogicalReplication.awaitSynced(o, n, "by_class_sub", java.time.Duration.ofSeconds(30));
        assertThat(strings(pair.newServer(), "by_class", "SELECT id::text FROM t")).containsExactly("1");
      }
    }

    private static void replicate(PostgresPair pair, String database) throws Exception {
      pair.oldServer().createDatabase(database);
      pair.newServer().createDatabase(database);
      try (Connection o = pair.oldServer().connect(database); Connection n = pair.newServer().connect(database)) {
        execute(o, "CREATE TABLE t (id int PRIMARY KEY)");
        execute(n, "CREATE TABLE t (id int PRIMARY KEY)");
        LogicalReplication.publishAll(o, database + "_pub");
        LogicalReplication.subscribe(n, database + "_sub", pair.oldServer().libpqConnection(database), database + "_pub",
            InitialData.COPY);
      }
    }
  }

  private static void execute(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static List<String> strings(PostgresServer server, String sql) throws SQLException {
    return strings(server, PostgresServer.DEFAULT_DATABASE, sql);
  }

  private static List<String> strings(PostgresServer server, String database, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = server.connect(database); Statement s = c.createStatement(); var rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }
}
