package dev.cutover.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;

/**
 * {@link NoLeakedConnections} run on small test classes that leak on purpose, through JUnit's own
 * engine: a check that never fails would pass every other test class too. The nested classes are
 * not run by Surefire itself (it skips nested classes).
 */
class NoLeakedConnectionsTest {

  /** What the nested classes leak, closed at the end so that their servers stop cleanly. */
  private static final List<Connection> LEAKED = new CopyOnWriteArrayList<>();

  @AfterAll
  static void closeLeaked() throws SQLException {
    for (Connection connection : LEAKED) {
      connection.close();
    }
  }

  @Test
  void afterEach_testLeavesConnectionOpen_testFailsNamingTheSession() {
    EngineExecutionResults results = run(LeaksInATest.class);

    results.testEvents().assertStatistics(stats -> stats.succeeded(1).failed(1));
    assertThat(failureMessage(results.testEvents()))
        .contains("test LeaksInATest.leavesAConnectionOpen left physical connections open")
        .contains("application_name 'leaky-test'", "state idle", "query 'SELECT 42'");
    // Reported once, by the test: the check at the class's end does not report it again.
    results.containerEvents().assertStatistics(stats -> stats.failed(0));
  }

  @Test
  void afterAll_perClassSharesAConnectionItNeverCloses_classFailsButNotItsTests() {
    EngineExecutionResults results = run(SharesAcrossTests.class);

    results.testEvents().assertStatistics(stats -> stats.succeeded(2).failed(0));
    results.containerEvents().assertStatistics(stats -> stats.failed(1));
    assertThat(failureMessage(results.containerEvents()))
        .contains("test class SharesAcrossTests left physical connections open")
        .contains("application_name 'shared-by-class'");
  }

  @Test
  void afterEach_testLeavesConnectionOpenOnItsOwnPair_testFailsBeforeThePairStops() {
    EngineExecutionResults results = run(LeaksOnItsOwnPair.class);

    results.testEvents().assertStatistics(stats -> stats.failed(1));
    assertThat(failureMessage(results.testEvents()))
        .contains("test LeaksOnItsOwnPair.leavesAConnectionOpen left physical connections open")
        .contains("application_name 'leaky-own-pair'");
  }

  private static EngineExecutionResults run(Class<?> testClass) {
    return EngineTestKit.engine("junit-jupiter").selectors(selectClass(testClass)).execute();
  }

  private static String failureMessage(Events events) {
    return events.failed().stream()
        .map(event -> event.getRequiredPayload(TestExecutionResult.class).getThrowable().orElseThrow().getMessage())
        .findFirst().orElseThrow();
  }

  private static Connection open(PostgresServer server, String applicationName) throws SQLException {
    Properties properties = new Properties();
    properties.setProperty("ApplicationName", applicationName);
    Connection connection = server.connect(PostgresServer.DEFAULT_DATABASE, properties);
    LEAKED.add(connection);
    return connection;
  }

  private static void select42(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("SELECT 42");
    }
  }

  @ExtendWith(PostgresPairExtension.class)
  static class LeaksInATest {
    @RegisterExtension
    static final NoLeakedConnections LEAKS = NoLeakedConnections.waitingAtMost(Duration.ofMillis(500));

    @Test
    void leavesAConnectionOpen(PostgresPair pair) throws SQLException {
      select42(open(pair.newServer(), "leaky-test"));
    }

    @Test
    void closesItsConnection(PostgresPair pair) throws SQLException {
      try (Connection connection = pair.oldServer().connect()) {
        select42(connection);
      }
    }
  }

  @ExtendWith(PostgresPairExtension.class)
  @NoLeakedConnections.PerClass
  static class SharesAcrossTests {
    @RegisterExtension
    static final NoLeakedConnections LEAKS = NoLeakedConnections.waitingAtMost(Duration.ofMillis(500));

    private static Connection shared;

    @BeforeAll
    static void openShared(PostgresPair pair) throws SQLException {
      shared = open(pair.oldServer(), "shared-by-class");
    }

    @Test
    void first() throws SQLException {
      select42(shared);
    }

    @Test
    void second() throws SQLException {
      select42(shared);
    }
  }

  @ExtendWith(PostgresPairExtension.class)
  static class LeaksOnItsOwnPair {
    @RegisterExtension
    static final NoLeakedConnections LEAKS = NoLeakedConnections.waitingAtMost(Duration.ofMillis(500));

    @Test
    void leavesAConnectionOpen(@PostgresPairExtension.OwnPair PostgresPair pair) throws SQLException {
      select42(open(pair.oldServer(), "leaky-own-pair"));
    }
  }
}
