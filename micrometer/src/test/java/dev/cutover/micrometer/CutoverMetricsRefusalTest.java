package dev.cutover.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.RouterMXBean;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.testkit.LogicalReplication;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The binder with a real switch that is refused before its gate: nothing replicates from old to
 * new, so the probe waits the whole {@code cutover.barrier.timeout} and no transaction is held.
 */
@ExtendWith(PostgresPairExtension.class)
class CutoverMetricsRefusalTest {
  private static final String DATABASE = "metrics_refusal";
  private static final String MBEAN_DATABASE = "metrics_refusal_mbean";

  @AfterEach
  void closeRouters() {
    CutoverDriver.shutdown();
  }

  /**
   * The refusal is counted and timed under {@code outcome=refused}, with the time it took; the
   * duration timer of real switches ({@code outcome=aborted}, {@code completed}) gets no sample.
   * Before, the refusal was recorded as an aborted switch of 0 ms (its total counted from a gate
   * that never closed), which dragged that timer's percentiles towards 0.
   */
  @Test
  void onSwitch_refusedBeforeTheGate_timedWithItsRealTimeUnderOutcomeRefused(PostgresPair pair) throws Exception {
    String url = refusingService(pair, DATABASE);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (CutoverMetrics metrics = new CutoverMetrics(); SwitchEventQueue events = new SwitchEventQueue(DATABASE);
        Connection app = DriverManager.getConnection(url, login(pair)); Statement s = app.createStatement()) {
      metrics.bindTo(registry);
      s.execute("INSERT INTO note (body) VALUES ('before')");

      ManualFlag.named(DATABASE + "-flag").set(Target.NEW);
      SwitchEvent event = events.next(Duration.ofSeconds(60));

      assertThat(event).as("a switch event within 60 s").isNotNull();
      System.out.println("[switch] " + event.summary());
      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("not delivering");
      awaitRecorded(registry);
      assertThat(registry.find("cutover.switch.duration").tag("outcome", "aborted").timer())
          .as("a 0 ms sample among the aborted switches' durations").isNull();
      assertThat(registry.get("cutover.switch.duration").tag("outcome", "refused").timer().count()).isEqualTo(1);
      assertThat(registry.get("cutover.switch.duration").tag("outcome", "refused").timer().totalTime(TimeUnit.MILLISECONDS))
          .as("the refusal's time: the probe waited cutover.barrier.timeout").isGreaterThanOrEqualTo(1000);
      assertThat(registry.get("cutover.switch.phase").tags("outcome", "refused", "phase", "probe").timer()
          .totalTime(TimeUnit.MILLISECONDS)).isGreaterThanOrEqualTo(1000);
      assertThat(registry.get("cutover.switches").tag("outcome", "refused").counter().count()).isEqualTo(1);
      assertThat(registry.find("cutover.gate.wait.max").timer()).as("no gate closed").isNull();
    }
  }

  /**
   * The router's MBean counts the refusal where the binder does: as refused, not aborted. Before,
   * its {@code SwitchesAborted} (and the health component's {@code switchesAborted}, read from it)
   * counted refusals, so an alert on aborted switches there fired while the binder showed none.
   */
  @Test
  void onSwitch_refusedBeforeTheGate_countedApartFromAbortedAsTheRouterMBeanCountsIt(PostgresPair pair) throws Exception {
    String url = refusingService(pair, MBEAN_DATABASE);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (CutoverMetrics metrics = new CutoverMetrics(); SwitchEventQueue events = new SwitchEventQueue(MBEAN_DATABASE);
        Connection app = DriverManager.getConnection(url, login(pair))) {
      metrics.bindTo(registry);

      ManualFlag.named(MBEAN_DATABASE + "-flag").set(Target.NEW);
      SwitchEvent event = events.next(Duration.ofSeconds(60));

      assertThat(event).as("a switch event within 60 s").isNotNull();
      assertThat(event.gateClosed()).as(event.summary()).isFalse();
      awaitRecorded(registry);
      RouterMXBean router = CutoverDriver.routers().stream().filter(r -> r.getService().equals(MBEAN_DATABASE))
          .findFirst().orElseThrow();
      assertThat(registry.find("cutover.switches").tag("outcome", "aborted").counter()).isNull();
      assertThat(router.getSwitchesAborted()).as("SwitchesAborted, where the binder counts no aborted switch").isZero();
      assertThat(registry.get("cutover.switches").tag("outcome", "refused").counter().count()).isEqualTo(1);
      assertThat(router.getSwitchesRefused()).isEqualTo(1);
    }
  }

  /**
   * Waits for the binder to record the switch: the event queue may hear of it before the binder's
   * listener, which runs after it (CI once found no meter at all right after the event).
   */
  private static void awaitRecorded(SimpleMeterRegistry registry) {
    await().atMost(Duration.ofSeconds(10))
        .until(() -> registry.find("cutover.switches").tag("outcome", "refused").counter() != null);
  }

  /**
   * A service in {@code database} (created on both servers, control schema on both) whose switches
   * to new are refused by their probe: old publishes, but nothing subscribes on new. Its flag is the
   * manual flag {@code <database>-flag}, at old; returns the application's URL.
   */
  private static String refusingService(PostgresPair pair, String database) throws Exception {
    pair.oldServer().createDatabase(database);
    pair.newServer().createDatabase(database);
    for (Connection c : new Connection[] {pair.oldServer().connect(database), pair.newServer().connect(database)}) {
      try (c; Statement s = c.createStatement()) {
        s.execute("CREATE TABLE note (id serial PRIMARY KEY, body text)");
        ControlSchema.install(c);
      }
    }
    try (Connection o = pair.oldServer().connect(database)) {
      LogicalReplication.publishAll(o, database + "_pub"); // published, but no subscription on new: nothing arrives
    }
    String flag = database + "-flag";
    ManualFlag.named(flag).set(Target.OLD);
    return "jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/" + database
        + "?cutover.new.url=" + URLEncoder.encode(pair.newServer().jdbcUrl(database), StandardCharsets.UTF_8)
        + "&cutover.flag.provider=manual&cutover.flag.key=" + flag + "&cutover.service=" + database
        + "&cutover.barrier.timeout=1s&cutover.switch.retry-interval=1h";
  }

  private static Properties login(PostgresPair pair) {
    Properties login = new Properties();
    login.setProperty("user", pair.oldServer().user());
    login.setProperty("password", pair.oldServer().password());
    return login;
  }
}
