package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

/**
 * {@link LeakCheckedPair} closes routers before the leak check, so a router that lingers by design
 * passes, while a logical connection left open is still reported: its physical connection stays.
 * The nested class is not run by Surefire itself (it skips nested classes).
 */
class LeakCheckedPairTest {
  private static Connection leaked;

  @AfterAll
  static void closeLeaked() throws SQLException {
    if (leaked != null) {
      leaked.close();
    }
  }

  @Test
  void leakCheck_routerLingersButLogicalConnectionLeft_onlyTheConnectionReported() {
    EngineExecutionResults results = EngineTestKit.engine("junit-jupiter").selectors(selectClass(Leaks.class)).execute();

    results.testEvents().assertStatistics(stats -> stats.succeeded(1).failed(1));
    String message = results.testEvents().failed().stream()
        .map(event -> event.getRequiredPayload(TestExecutionResult.class).getThrowable().orElseThrow().getMessage())
        .findFirst().orElseThrow();
    assertThat(message).contains("Leaks.leavesALogicalConnectionOpen left physical connections open", "query 'SELECT 4242'")
        .doesNotContain("heartbeat");
  }

  @LeakCheckedPair
  static class Leaks {
    @Test
    void closesItsConnectionWhileItsRouterLingers(PostgresPair pair) throws Exception {
      Replicated db = Replicated.create(pair, "CREATE TABLE note (id serial PRIMARY KEY)", true);
      try (Connection c = DrainTest.connect(db.url())) {
        select(c, "SELECT 1");
      }
    }

    @Test
    void leavesALogicalConnectionOpen(PostgresPair pair) throws Exception {
      Replicated db = Replicated.create(pair, "CREATE TABLE note (id serial PRIMARY KEY)", true);
      leaked = DrainTest.connect(db.url());
      select(leaked, "SELECT 4242");
    }

    private static void select(Connection c, String sql) throws SQLException {
      try (Statement s = c.createStatement()) {
        s.execute(sql);
      }
    }
  }
}
