package dev.cutover.replicator.operator;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.driver.control.SwitchState;
import dev.cutover.replicator.BoundedRead;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * Reads {@link SwitchStatus} from both databases through the control schema's operator view
 * ({@link OperatorControl}): the services each knows, their instances, switches, leaders and force
 * settings, and the fence. Read-only; any role granted the control plane may, as may the installer.
 */
public final class SwitchStatusReader {
  /** As the driver's {@code Router.INSTANCE_TTL}: an older heartbeat no longer holds a switch back. */
  static final long LIVE_MILLIS = 5_000;
  private static final String READY = "ready:";

  private SwitchStatusReader() {}

  /**
   * Reads both sides; {@code services} limits the view (empty: every service found).
   *
   * @param networkTimeout how long each statement may wait for its answer
   * @param option the setting that gives it longer, named when a side stays silent
   */
  public static SwitchStatus read(Endpoint old, Endpoint nw, List<String> services, Duration networkTimeout, String option)
      throws ReplicatorException {
    SideView o = side(old, services, networkTimeout, option);
    SideView n = side(nw, services, networkTimeout, option);
    TreeSet<String> names = new TreeSet<>(services);
    if (names.isEmpty()) {
      names.addAll(o.instances.keySet());
      names.addAll(n.instances.keySet());
      names.addAll(o.switches.keySet());
      names.addAll(n.switches.keySet());
      names.addAll(o.forced.keySet());
      names.addAll(n.forced.keySet());
    }
    List<SwitchStatus.Service> out = new ArrayList<>();
    for (String service : names) {
      SwitchStatus.Switch current = latest(o.switches.get(service), o.order.get(service), n.switches.get(service),
          n.order.get(service));
      out.add(new SwitchStatus.Service(service, SwitchStatus.sides(o.forced(service), n.forced(service)),
          instances(service, o, n, current), current));
    }
    return new SwitchStatus(SwitchStatus.sides(o.version, n.version), SwitchStatus.sides(o.fenced, n.fenced),
        List.copyOf(out));
  }

  /**
   * One side's rows: instances by service (then by name), switches, what orders them against the
   * other side's ({@link SwitchOrder}) and force settings by service.
   */
  private record SideView(Integer version, Boolean fenced, Map<String, Map<String, Row>> instances,
      Map<String, SwitchStatus.Switch> switches, Map<String, SwitchOrder.Record> order, Map<String, Boolean> forced) {
    /** Whether {@code service} is forced here; null without a control schema. */
    Boolean forced(String service) {
      return version == null ? null : forced.getOrDefault(service, false);
    }
  }

  /**
   * @param ageMillis as the server's clock has it; negative for a heartbeat stamped in the future
   *     (the clock stepped back since), which counts as not live here: a live instance rewrites it
   *     within a second, while a dead one's would otherwise show live for as long as the step
   */
  private record Row(long ageMillis, String drainedFor) {
    boolean live() {
      return ageMillis >= 0 && ageMillis < LIVE_MILLIS;
    }
  }

  private static SideView side(Endpoint endpoint, List<String> services, Duration networkTimeout, String option)
      throws ReplicatorException {
    String side = endpoint.side().label();
    try (Connection c = endpoint.connect()) {
      return BoundedRead.within(networkTimeout, option, Map.of(side, c), () -> view(c, side, services));
    } catch (SQLException e) {
      throw ControlPlaneFailure.of(side, "read the control schema", ControlPlaneFailure.GRANT, e);
    }
  }

  private static SideView view(Connection c, String side, List<String> services) throws SQLException {
    OptionalInt version = ControlSchema.installedVersion(c);
    if (version.isEmpty()) {
      return new SideView(null, null, Map.of(), Map.of(), Map.of(), Map.of());
    }
    Map<String, Map<String, Row>> instances = new HashMap<>();
    Map<String, SwitchStatus.Switch> switches = new HashMap<>();
    Map<String, OperatorControl.SwitchView> last = new HashMap<>();
    Map<String, Boolean> forced = new HashMap<>();
    for (String service : services.isEmpty() ? OperatorControl.services(c) : services) {
      OperatorControl.ServiceView view = OperatorControl.read(c, service);
      forced.put(service, view.forced());
      for (OperatorControl.InstanceView i : view.instances()) {
        instances.computeIfAbsent(service, k -> new LinkedHashMap<>())
            .put(i.instance(), new Row(i.heartbeatAge().toMillis(), i.drainedFor()));
      }
      view.lastSwitch().ifPresent(s -> last.put(service, s));
      Optional<OperatorControl.SwitchView> led = view.lastSwitch()
          .filter(s -> s.leaderBackend().isPresent() && s.state() == SwitchState.DRAINING);
      String stalled = led.isEmpty() ? null
          : OperatorControl.stalledLeader(c, service).map(OperatorControl.StalledLeader::describe).orElse(null);
      view.lastSwitch().ifPresent(s -> switches.put(service, new SwitchStatus.Switch(s.id(), side, s.source(),
          s.target(), s.state().value(), s.reason(), s.updatedAt(), s.leaderBackend()
              .map(l -> new SwitchStatus.Leader(l.pid(), l.applicationName(), l.clientAddress(), stalled)).orElse(null))));
    }
    Map<String, SwitchOrder.Record> order = new HashMap<>();
    SwitchOrder.Clock clock = last.isEmpty() ? null : SwitchOrder.Clock.read(c);
    for (Map.Entry<String, OperatorControl.SwitchView> e : last.entrySet()) {
      order.put(e.getKey(), SwitchOrder.record(c, e.getKey(), e.getValue(), clock));
    }
    return new SideView(version.getAsInt(), OperatorControl.fenceRaised(c), instances, switches, order, forced);
  }


  /**
   * The later of the two sides' records of a service's switch ({@link SwitchOrder}: the one in
   * progress, else by fence epochs, else the younger on its own server; never old's updated_at
   * against new's).
   */
  private static SwitchStatus.Switch latest(SwitchStatus.Switch o, SwitchOrder.Record oOrder, SwitchStatus.Switch n,
      SwitchOrder.Record nOrder) {
    if (o == null || n == null) {
      return o != null ? o : n;
    }
    return SwitchOrder.later(oOrder, nOrder) ? o : n;
  }

  /** Each instance once, on the side of its freshest heartbeat, which is the side that serves it. */
  private static List<SwitchStatus.Instance> instances(String service, SideView o, SideView n, SwitchStatus.Switch current) {
    Map<String, SwitchStatus.Instance> byName = new LinkedHashMap<>();
    for (SideView view : List.of(o, n)) {
      String side = view == o ? Side.OLD.label() : Side.NEW.label();
      for (Map.Entry<String, Row> e : view.instances.getOrDefault(service, Map.of()).entrySet()) {
        SwitchStatus.Instance candidate = new SwitchStatus.Instance(e.getKey(), side, e.getValue().ageMillis(),
            e.getValue().live(), phase(e.getValue().drainedFor(), current));
        byName.merge(e.getKey(), candidate, (a, b) -> a.live() != b.live() ? (a.live() ? a : b)
            : a.heartbeatAgeMillis() <= b.heartbeatAgeMillis() ? a : b);
      }
    }
    List<SwitchStatus.Instance> list = new ArrayList<>(byName.values());
    list.sort(Comparator.comparingLong(SwitchStatus.Instance::heartbeatAgeMillis).thenComparing(SwitchStatus.Instance::name));
    return List.copyOf(list);
  }

  private static String phase(String drainedFor, SwitchStatus.Switch current) {
    if (drainedFor == null || current == null || !current.inProgress()) {
      return "idle";
    }
    if (drainedFor.equals(READY + current.id())) {
      return "ready";
    }
    return drainedFor.equals(current.id()) ? "drained" : "idle";
  }
}
