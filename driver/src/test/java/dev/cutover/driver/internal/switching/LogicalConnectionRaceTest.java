package dev.cutover.driver.internal.switching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.driver.internal.jdbc.Connections;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Begin against doom, interleaved deterministically: a {@link Routing} stand-in runs the switch's
 * steps (close the gate, doom every busy session) inside the route read that {@code begin()} makes
 * right after it announced the transaction, which is the window a real switch thread can hit.
 */
@LeakCheckedPair
class LogicalConnectionRaceTest {

  @Test
  void begin_doomedBeforeItWaitsAtTheGate_runsOnARecoveredSession(PostgresPair pair) throws Exception {
    SwitchingStandIn routing = new SwitchingStandIn(pair.oldServer());
    ExecutorService application = Executors.newSingleThreadExecutor();
    try (Connection app = Connections.open(routing)) {
      Statement statement = app.createStatement();
      statement.execute("SET application_name = 'race'");
      int before = pid(statement);
      Gate gate = new Gate();
      routing.switchOnNextRoute(gate);

      Future<String> query = application.submit(() -> text(statement,
          "SELECT pg_catalog.current_setting('application_name') || ' ' || pg_catalog.pg_backend_pid()"));
      await().atMost(Duration.ofSeconds(10)).until(() -> gate.waits().getTotalCount() == 1);
      routing.route = new Route(Target.OLD, null);
      gate.open();

      String[] result = query.get(10, TimeUnit.SECONDS).split(" ");
      assertThat(result[0]).isEqualTo("race");
      assertThat(Integer.parseInt(result[1])).isNotEqualTo(before);
      assertThat(routing.doomed).isEqualTo(before);
    } finally {
      application.shutdownNow();
    }
  }

  private static int pid(Statement s) throws SQLException {
    return Integer.parseInt(text(s, "SELECT pg_catalog.pg_backend_pid()"));
  }

  private static String text(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** A router serving one server whose next route read, once armed, is where a switch cuts in. */
  private static final class SwitchingStandIn implements Routing {
    private final PostgresServer server;
    volatile Route route = new Route(Target.OLD, null);
    private volatile Gate switchGate;
    private volatile Session session;
    volatile int doomed;

    SwitchingStandIn(PostgresServer server) {
      this.server = server;
    }

    /** The next route read closes {@code gate} and dooms the busy session, as a switch does, before it returns. */
    void switchOnNextRoute(Gate gate) {
      switchGate = gate;
    }

    @Override
    public Route route() {
      Gate gate = switchGate;
      if (gate != null) {
        switchGate = null;
        route = new Route(Target.OLD, gate);
        doomed = session.doom("switch under test", TimeUnit.SECONDS.toNanos(5));
      }
      return route;
    }

    @Override
    public Duration gateMaxPause() {
      return Duration.ofSeconds(10);
    }

    @Override
    public String service() {
      return "race";
    }

    @Override
    public boolean pooled(Target side) {
      return false;
    }

    @Override
    public List<String> customSettings() {
      return null;
    }

    @Override
    public Connection connect(Target side) throws SQLException {
      return server.connect();
    }

    @Override
    public Handover.Acquired acquire(Session s, Target side) throws SQLException {
      return new Handover.Acquired(connect(side), false);
    }

    @Override
    public void stay(Session s) {}

    @Override
    public void register(Session s) {
      session = s;
    }

    @Override
    public void unregister(Session s) {}
  }
}
