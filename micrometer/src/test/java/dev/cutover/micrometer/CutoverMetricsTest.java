package dev.cutover.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.Phase;
import dev.cutover.driver.RouterMXBean;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The binder without Spring: a switch event and a router become the documented meters. */
class CutoverMetricsTest {

  @Test
  void onSwitch_completedEvent_countsAndTimesEveryPhase() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (CutoverMetrics metrics = new CutoverMetrics()) {
      metrics.bindTo(registry);

      metrics.onSwitch(event(Outcome.COMPLETED));

      assertThat(registry.get("cutover.switches").tags("service", "booking", "outcome", "completed").counter().count())
          .isEqualTo(1);
      assertThat(registry.get("cutover.switch.duration").tag("instance", "web-1").timer().totalTime(TimeUnit.MILLISECONDS))
          .isEqualTo(42);
      assertThat(registry.get("cutover.switch.phase").tag("phase", "barrier").timer().totalTime(TimeUnit.MILLISECONDS))
          .isEqualTo(7);
      assertThat(registry.get("cutover.switch.phase").timers()).hasSize(5);
      assertThat(registry.get("cutover.gate.wait.max").timer().max(TimeUnit.MILLISECONDS)).isEqualTo(31);
      assertThat(registry.get("cutover.gate.waits").counter().count()).isEqualTo(12);
    }
  }

  @Test
  void onSwitch_abortedEvent_countedApart() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (CutoverMetrics metrics = new CutoverMetrics()) {
      metrics.bindTo(registry);
      metrics.onSwitch(event(Outcome.COMPLETED));
      metrics.onSwitch(event(Outcome.ABORTED));

      assertThat(registry.get("cutover.switches").tag("outcome", "aborted").counter().count()).isEqualTo(1);
      assertThat(registry.get("cutover.switches").tag("outcome", "completed").counter().count()).isEqualTo(1);
    }
  }

  /**
   * A switch refused before its gate (its probe waited 10 s, nothing was held) is counted and timed
   * under outcome=refused with the time it ran; the aborted and completed switches' durations and
   * the gate's meters get nothing from it.
   */
  @Test
  void onSwitch_refusedBeforeTheGate_timedApartWithTheTimeItRan() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (CutoverMetrics metrics = new CutoverMetrics()) {
      metrics.bindTo(registry);
      metrics.onSwitch(event(Outcome.ABORTED));
      metrics.onSwitch(SwitchEvent.builder().instance("booking", "web-1").switchOf("s-2", Target.OLD, Target.NEW)
          .gateClosed(false).timing(Phase.CONNECT, Duration.ofMillis(4)).timing(Phase.CHECK, Duration.ofMillis(6))
          .timing(Phase.PROBE, Duration.ofMillis(10_000)).total(Duration.ofMillis(10_012))
          .aborted("replication from old to new is not delivering").at(Instant.now()).build());

      assertThat(registry.get("cutover.switches").tag("outcome", "refused").counter().count()).isEqualTo(1);
      assertThat(registry.get("cutover.switches").tag("outcome", "aborted").counter().count()).isEqualTo(1);
      assertThat(registry.get("cutover.switch.duration").tag("outcome", "refused").timer().totalTime(TimeUnit.MILLISECONDS))
          .isEqualTo(10_012);
      assertThat(registry.get("cutover.switch.duration").tag("outcome", "aborted").timer().count()).isEqualTo(1);
      assertThat(registry.get("cutover.switch.duration").tag("outcome", "aborted").timer().totalTime(TimeUnit.MILLISECONDS))
          .isEqualTo(42);
      assertThat(registry.get("cutover.switch.phase").tags("outcome", "refused", "phase", "probe").timer()
          .totalTime(TimeUnit.MILLISECONDS)).isEqualTo(10_000);
      assertThat(registry.find("cutover.gate.wait.max").tag("outcome", "refused").timer()).isNull();
      assertThat(registry.find("cutover.gate.waits").tag("outcome", "refused").counter()).isNull();
      assertThat(registry.find("cutover.transactions.rolled.back").tag("outcome", "refused").counter()).isNull();
    }
  }

  @Test
  void started_router_gaugesFollowItUntilStopped() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    FakeRouter router = new FakeRouter();
    RouterMXBean bean = router.bean();
    try (CutoverMetrics metrics = new CutoverMetrics()) {
      metrics.bindTo(registry);
      metrics.started(bean);

      assertThat(registry.get("cutover.serving").tag("service", "booking").gauge().value()).isZero();
      router.serving = "new";
      router.health = "INTERRUPTED";
      router.holding = true;
      assertThat(registry.get("cutover.serving").gauge().value()).isEqualTo(1);
      assertThat(registry.get("cutover.flag.health").gauge().value()).isEqualTo(1);
      assertThat(registry.get("cutover.switch.active").gauge().value()).isEqualTo(1);
      router.health = "OFF";
      assertThat(registry.get("cutover.flag.health").gauge().value()).isEqualTo(2);
      assertThat(registry.get("cutover.flag.disagrees").gauge().value()).isZero();
      router.disagreement = "serves old while its own flag asks for new";
      assertThat(registry.get("cutover.flag.disagrees").gauge().value()).isEqualTo(1);

      metrics.stopped(bean);
      assertThat(registry.find("cutover.serving").gauges()).isEmpty();
    }
  }

  /**
   * Two routers with the same service and instance (a pool and a migration data source sharing
   * cutover.instance): the gauges stay while either runs and read the one still running. Before,
   * the second router's registration returned the first's gauges, and stopping the first removed
   * them while the second still served.
   */
  @Test
  void stopped_oneOfTwoRoutersWithTheSameTags_gaugesFollowTheOtherOne() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    FakeRouter migration = new FakeRouter();
    FakeRouter app = new FakeRouter();
    try (CutoverMetrics metrics = new CutoverMetrics()) {
      metrics.bindTo(registry);
      metrics.started(migration.bean());
      metrics.started(app.bean());
      app.serving = "new";

      metrics.stopped(migration.bean());

      assertThat(registry.find("cutover.serving").gauges()).as("the app's router still runs").hasSize(1);
      assertThat(registry.get("cutover.serving").gauge().value()).isEqualTo(1);
      metrics.stopped(app.bean());
      assertThat(registry.find("cutover.serving").gauges()).isEmpty();
    }
  }

  /**
   * One binder bound to two registries (MeterBinder allows it): each counts the switch once and
   * carries the router's gauges until it stops. Before, the second bindTo replaced the first
   * registry, which kept nothing, and added the binder to the driver's listeners a second time, so
   * the second registry counted each switch twice.
   */
  @Test
  void bindTo_twoRegistries_eachCountsTheSwitchOnceAndCarriesTheGauges() {
    SimpleMeterRegistry first = new SimpleMeterRegistry();
    SimpleMeterRegistry second = new SimpleMeterRegistry();
    FakeRouter router = new FakeRouter();
    try (CutoverMetrics metrics = new CutoverMetrics()) {
      metrics.bindTo(first);
      metrics.started(router.bean());
      metrics.bindTo(second);

      metrics.onSwitch(event(Outcome.COMPLETED));

      for (SimpleMeterRegistry registry : List.of(first, second)) {
        String which = registry == first ? "the first registry" : "the second registry";
        assertThat(registry.find("cutover.switches").counters()).as(which).hasSize(1);
        assertThat(registry.get("cutover.switches").counter().count()).as(which).isEqualTo(1);
        assertThat(registry.find("cutover.serving").gauges()).as(which).hasSize(1);
      }
      router.serving = "new";
      assertThat(first.get("cutover.serving").gauge().value()).isEqualTo(1);
      assertThat(second.get("cutover.serving").gauge().value()).isEqualTo(1);

      metrics.stopped(router.bean());
      assertThat(first.find("cutover.serving").gauges()).isEmpty();
      assertThat(second.find("cutover.serving").gauges()).isEmpty();
    }
  }

  /** Binding the same registry again changes nothing: the switch is counted once. */
  @Test
  void bindTo_sameRegistryTwice_countsTheSwitchOnce() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    FakeRouter router = new FakeRouter();
    try (CutoverMetrics metrics = new CutoverMetrics()) {
      metrics.bindTo(registry);
      metrics.started(router.bean());
      metrics.bindTo(registry);
      metrics.onSwitch(event(Outcome.COMPLETED));

      assertThat(registry.get("cutover.switches").counter().count()).isEqualTo(1);
      assertThat(registry.find("cutover.serving").gauges()).hasSize(1);
      metrics.stopped(router.bean());
      assertThat(registry.find("cutover.serving").gauges()).isEmpty();
    }
  }

  private static SwitchEvent event(Outcome outcome) {
    SwitchEvent.Builder b = SwitchEvent.builder().instance("booking", "web-1").switchOf("s-1", Target.OLD, Target.NEW)
        .leader(true).gateWaits(12, Duration.ofMillis(31), Duration.ofMillis(30))
        .timing(Phase.DRAIN, Duration.ofMillis(3)).timing(Phase.COORDINATE, Duration.ofMillis(20))
        .timing(Phase.FENCE, Duration.ofMillis(2)).timing(Phase.BARRIER, Duration.ofMillis(7))
        .timing(Phase.SEQUENCES, Duration.ofMillis(1)).total(Duration.ofMillis(42))
        .rolledBack(0).sequencesMoved(2).prewarmed(10).notGuaranteed(List.of()).at(Instant.now());
    return (outcome == Outcome.COMPLETED ? b.completed() : b.aborted("barrier timeout")).build();
  }

  /**
   * A router as the MXBean shows it, with values a test can change; a proxy, so that attributes
   * the MXBean gains later need no change here.
   */
  static final class FakeRouter {
    private RouterMXBean bean;
    volatile String serving = "old";
    volatile String health = "VALID";
    volatile boolean holding;
    volatile String disagreement = "";

    /** The same proxy each time, as the driver hands the same MXBean to started and stopped. */
    synchronized RouterMXBean bean() {
      if (bean == null) {
        bean = newBean();
      }
      return bean;
    }

    private RouterMXBean newBean() {
      return (RouterMXBean) java.lang.reflect.Proxy.newProxyInstance(RouterMXBean.class.getClassLoader(),
          new Class<?>[] {RouterMXBean.class}, (proxy, method, args) -> switch (method.getName()) {
            case "getService" -> "booking";
            case "getInstance" -> "web-1";
            case "getServing", "getFlagTarget" -> serving;
            case "getFlagHealth" -> health;
            case "getFlagDisagreement" -> disagreement;
            case "isHolding" -> holding;
            case "isControlSchemaPresent" -> true;
            case "hashCode" -> System.identityHashCode(proxy);
            case "equals" -> proxy == args[0];
            case "toString" -> "FakeRouter";
            default -> method.getReturnType() == long.class ? 0L : method.getReturnType() == int.class ? 0
                : method.getReturnType() == boolean.class ? false : "";
          });
    }
  }
}
