package dev.cutover.micrometer;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.RouterListener;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.Phase;
import dev.cutover.driver.RouterMXBean;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The Cutover driver's switches and routers as Micrometer meters, for any {@link MeterRegistry}:
 * {@code new CutoverMetrics().bindTo(registry)}; close it to stop. Spring Boot's starter registers
 * one for you.
 *
 * <p>Per switch and instance (tags {@code service}, {@code instance}, {@code outcome} = {@code
 * completed}, {@code aborted} (after its gate closed) or {@code refused} (ended before its gate
 * closed, {@link SwitchEvent#gateClosed()} false: refused by its checks or its probe, nothing held;
 * the driver tries it again every {@code cutover.switch.retry-interval}); the router MBean's {@code
 * SwitchesCompleted}, {@code SwitchesAborted} and {@code SwitchesRefused} count the same)):
 *
 * <ul>
 *   <li>{@code cutover.switches}: counter of switches.
 *   <li>{@code cutover.switch.duration}: timer, gate closed to gate opened; for {@code refused},
 *       the time the switch ran before it was refused (its probe's wait, for one), so that
 *       refusals, which hold nothing, never add 0 ms samples to the pauses of real switches.
 *   <li>{@code cutover.switch.phase} (extra tag {@code phase}: each {@link Phase} the switch went
 *       through, as {@link Phase#tag()} names it: {@code drain}, {@code coordinate}, {@code fence},
 *       {@code barrier}, {@code sequences}, ...): timer per phase.
 *   <li>{@code cutover.gate.wait.max}: timer of the longest wait of any transaction at the gate;
 *       {@code cutover.gate.waits}: counter of transactions that waited.
 *   <li>{@code cutover.transactions.rolled.back}: counter of stragglers rolled back with 40001.
 * </ul>
 *
 * <p>A refused switch closed no gate: it has no gate or rollback meters, only the first three.
 *
 * <p>Per router (tags {@code service}, {@code instance}), as gauges read when the registry
 * publishes: {@code cutover.serving} (0 old, 1 new), {@code cutover.flag.health} (0 VALID, 1
 * INTERRUPTED, 2 OFF), {@code cutover.flag.disagrees} (1 while the router serves a side its own flag
 * does not ask for), {@code cutover.switch.active} (1 while a switch holds the gate), {@code
 * cutover.control.schema} (1 when both databases carry it). Gauges appear when a router starts and
 * go when it stops; routers that share the tags (one {@code cutover.instance} for two data sources)
 * share them, which read the oldest running one and stay while any runs.
 *
 * <p>One binder may be bound to several registries (a composite's members, two Spring contexts'):
 * each gets every meter, and each switch is counted once in each.
 *
 * <p>Timers publish a percentile histogram, so dashboards can show a phase's p99 across instances.
 * Listeners run on the switch thread and the driver's router registry: recording is a few
 * counter and timer updates, nothing blocks.
 */
public final class CutoverMetrics implements MeterBinder, SwitchListener, RouterListener, AutoCloseable {
  /** The registries bound, each once; read by the switch thread without a lock. */
  private final Set<MeterRegistry> registries = new CopyOnWriteArraySet<>();
  /** Whether this binder is among the driver's listeners: added at the first bindTo, once. */
  private final AtomicBoolean listening = new AtomicBoolean();
  /** The gauges of each router that has them (the oldest of its tags), per registry. Guarded by {@code this}. */
  private final Map<RouterMXBean, Map<MeterRegistry, List<Meter>>> routerMeters = new HashMap<>();
  /**
   * The running routers of each tag set, oldest first. Routers can share tags (two data sources
   * with one {@code cutover.instance}); a gauge is registered by its tags, so it reads the oldest
   * of them and moves to the next when that one stops. Guarded by {@code this}.
   */
  private final Map<Tags, Deque<RouterMXBean>> byTags = new HashMap<>();

  @Override
  public void bindTo(MeterRegistry registry) {
    synchronized (this) {
      if (!registries.add(registry)) {
        return;
      }
      // Routers already known get their gauges in this registry too.
      new ArrayList<>(routerMeters.keySet()).forEach(router -> register(router, registry));
    }
    // Outside the lock: the driver tells a new listener of the running routers while holding its own.
    if (listening.compareAndSet(false, true)) {
      CutoverDriver.addSwitchListener(this);
      CutoverDriver.addRouterListener(this);
    }
  }

  @Override
  public void onSwitch(SwitchEvent e) {
    for (MeterRegistry r : registries) {
      record(e, r);
    }
  }

  private static void record(SwitchEvent e, MeterRegistry r) {
    Tags tags = Tags.of("service", e.service(), "instance", e.instance(), "outcome", outcome(e));
    Counter.builder("cutover.switches").description("Switches that ended, by outcome").tags(tags).register(r).increment();
    timer("cutover.switch.duration", "A switch from gate closed to gate opened (outcome=refused: its start to its refusal,"
        + " no gate closed)", tags, r).record(e.total());
    e.timings().forEach((phase, spent) ->
        timer("cutover.switch.phase", "Time spent in one phase of a switch", tags.and("phase", phase.tag()), r)
            .record(spent));
    if (!e.gateClosed()) {
      return; // no gate, no rollback: zeros there would only drag those meters' percentiles down
    }
    timer("cutover.gate.wait.max", "The longest wait of any transaction at the gate during a switch", tags, r)
        .record(e.gateWaitMax());
    Counter.builder("cutover.gate.waits").description("Transactions that waited at the gate").tags(tags).register(r)
        .increment(e.gateWaits());
    Counter.builder("cutover.transactions.rolled.back")
        .description("Transactions still open after the drain timeout, rolled back with SQLState 40001")
        .tags(tags).register(r).increment(e.rolledBack());
  }

  /** {@code completed}, {@code aborted} once its gate closed, {@code refused} before. */
  private static String outcome(SwitchEvent e) {
    if (e.outcome() == Outcome.COMPLETED) {
      return "completed";
    }
    return e.gateClosed() ? "aborted" : "refused";
  }

  private static Timer timer(String name, String description, Tags tags, MeterRegistry r) {
    return Timer.builder(name).description(description).tags(tags).publishPercentileHistogram().register(r);
  }

  @Override
  public synchronized void started(RouterMXBean router) {
    if (registries.isEmpty()) {
      return;
    }
    Deque<RouterMXBean> sharing = byTags.computeIfAbsent(tags(router), t -> new ArrayDeque<>());
    sharing.add(router);
    if (sharing.size() == 1) {
      register(router);
    }
  }

  private static Tags tags(RouterMXBean router) {
    return Tags.of("service", router.getService(), "instance", router.getInstance());
  }

  /** Registers the per-router gauges of {@code router}, the oldest running one with its tags, in every registry. */
  private void register(RouterMXBean router) {
    for (MeterRegistry r : registries) {
      register(router, r);
    }
  }

  private void register(RouterMXBean router, MeterRegistry r) {
    Tags tags = tags(router);
    List<Meter> meters = new ArrayList<>();
    meters.add(Gauge.builder("cutover.serving", router, b -> "new".equals(b.getServing()) ? 1 : 0)
        .description("The database serving this router's connections: 0 old, 1 new").tags(tags).register(r));
    meters.add(Gauge.builder("cutover.flag.health", router, CutoverMetrics::flagHealth)
        .description("The routing flag's source: 0 VALID, 1 INTERRUPTED, 2 OFF (the last value stands)")
        .tags(tags).register(r));
    meters.add(Gauge.builder("cutover.flag.disagrees", router, b -> b.getFlagDisagreement().isEmpty() ? 0 : 1)
        .description("1 while this instance serves a side its own flag does not ask for (it joined a switch a peer's"
            + " flag asked for)").tags(tags).register(r));
    meters.add(Gauge.builder("cutover.switch.active", router, b -> b.isHolding() ? 1 : 0)
        .description("1 while a switch holds new transactions at the gate").tags(tags).register(r));
    meters.add(Gauge.builder("cutover.control.schema", router, b -> b.isControlSchemaPresent() ? 1 : 0)
        .description("1 when both databases carry the control schema (fence and barrier possible)")
        .tags(tags).register(r));
    meters.add(FunctionCounter.builder("cutover.flag.rejected.values", router, RouterMXBean::getFlagRejectedValues)
        .description("Flag values that were neither old nor new, ignored").tags(tags).register(r));
    routerMeters.computeIfAbsent(router, b -> new HashMap<>()).put(r, meters);
  }

  @Override
  public synchronized void stopped(RouterMXBean router) {
    Tags tags = tags(router);
    Deque<RouterMXBean> sharing = byTags.get(tags);
    if (sharing != null) {
      sharing.remove(router);
      if (sharing.isEmpty()) {
        byTags.remove(tags);
      }
    }
    Map<MeterRegistry, List<Meter>> meters = routerMeters.remove(router);
    if (meters != null) {
      meters.forEach((r, own) -> own.forEach(r::remove));
      if (sharing != null && !sharing.isEmpty()) {
        register(sharing.peek()); // another router with these tags still runs: the gauges follow it
      }
    }
  }

  private static double flagHealth(RouterMXBean router) {
    switch (router.getFlagHealth().toUpperCase(Locale.ROOT)) {
      case "VALID":
        return 0;
      case "INTERRUPTED":
        return 1;
      default:
        return 2;
    }
  }

  /** Stops listening and removes the per-router gauges; meters of past switches stay in the registry. */
  @Override
  public void close() {
    CutoverDriver.removeSwitchListener(this);
    CutoverDriver.removeRouterListener(this);
    listening.set(false);
    synchronized (this) {
      byTags.clear();
      new ArrayList<>(routerMeters.keySet()).forEach(this::stopped);
      registries.clear();
    }
  }
}
