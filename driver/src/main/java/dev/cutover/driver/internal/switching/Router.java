package dev.cutover.driver.internal.switching;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.RouterMXBean;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchListener;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.internal.config.CutoverSettings;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.flags.FlagListener;
import dev.cutover.flags.RoutingFlag;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.ObjectName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes the logical connections that share one configuration to the database that serves, and
 * runs their switches on its own thread. One router per distinct setting set: a pool's
 * connections all share one, so a switch moves the whole pool as one event.
 *
 * <p>Concurrency: sessions read {@link #route()} (one volatile read) at every transaction
 * boundary and take the slow path only when it changed. The switch thread is the only writer of
 * the route; it publishes a closed gate before it looks at sessions, and sessions announce a
 * transaction before they read the route, so either the switch sees the transaction or the
 * transaction sees the gate.
 */
public final class Router implements RouterMXBean {
  private static final Logger LOG = LoggerFactory.getLogger(Router.class);
  private static final AtomicLong IDS = new AtomicLong();
  private static final List<SwitchListener> LISTENERS = new CopyOnWriteArrayList<>();
  private static final long WARM_TTL_SECONDS = 60;
  private static final long HEARTBEAT_MILLIS = 1000;
  private static final long FIRST_VALUE_POLL_MILLIS = 250;
  private static final long CATCH_UP_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(10);
  /** An instance whose heartbeat is older than this no longer holds a switch back (it is fenced out). */
  static final Duration INSTANCE_TTL = Duration.ofSeconds(5);
  /** The phase an instance publishes when no switch runs. */
  static final String IDLE = "idle";

  private final CutoverSettings settings;
  /**
   * Where the switch's own sessions go (its control connections and heartbeats): a side's direct
   * URL when it has one, else the application's URL, with timeouts derived from the switch settings.
   */
  private final Map<Target, Endpoint> endpoints = new EnumMap<>(Target.class);
  /** Where the application's connections go (through a pooler, if there is one). */
  private final Map<Target, Endpoint> appEndpoints = new EnumMap<>(Target.class);
  private final RoutingFlag flag;
  private final FlagListener flagListener = target -> schedule(this::flagChanged);
  /** Whether both databases carried the control schema at the last check (start, then every switch). */
  private volatile boolean control;
  private final Handover handover = new Handover(this);
  private final java.util.concurrent.atomic.AtomicBoolean heartbeating = new java.util.concurrent.atomic.AtomicBoolean();
  /** What could not be checked or is refused, for operators (MBean {@code PendingGuarantees}). */
  private volatile List<String> pending = List.of();
  private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
  private final ConcurrentLinkedQueue<Warm> warm = new ConcurrentLinkedQueue<>();
  private final ScheduledExecutorService switcher;
  private final ScheduledExecutorService heartbeats;
  private final String instance;
  /** The flag value to ignore after joining a switch the flag has not announced yet (switch thread only). */
  private Target staleFlag;
  /** Whether the switch thread runs a switch now: the heartbeat then schedules no join. */
  private volatile boolean switching;
  /** The switch a join or catch-up was scheduled for and has not started yet (heartbeat writes, switch thread clears). */
  private volatile String pendingJoin;
  /** The released switch this instance last tried to catch up with, and when (switch thread only). */
  private String caughtUp;
  private long caughtUpAt;
  /** The heartbeat's connection and its side (heartbeat thread only). */
  private Connection beat;
  private Target beatSide;
  /** Whether the last heartbeat failed, so an outage is logged once (heartbeat thread only). */
  private boolean beatFailing;
  private final long gateMaxPauseNanos;
  private final ObjectName name;
  private volatile Route route = new Route(Target.OLD, null);
  /** What the running switch is doing, published with the heartbeat (switch thread writes). */
  private volatile String phase = IDLE;
  private volatile SwitchEvent last;
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong aborted = new AtomicLong();
  private final AtomicLong rolledBack = new AtomicLong();
  private final AtomicLong gateWaits = new AtomicLong();

  private record Warm(Target side, Connection connection, long bornNanos) {}

  private Router(CutoverSettings settings, RoutingFlag flag) {
    this.settings = settings;
    this.flag = flag;
    this.gateMaxPauseNanos = settings.gateMaxPause().toNanos();
    appEndpoints.put(Target.OLD, new Endpoint(Target.OLD, settings.oldUrl(), settings.oldProperties()));
    appEndpoints.put(Target.NEW, new Endpoint(Target.NEW, settings.newUrl(), settings.newProperties()));
    endpoints.put(Target.OLD, controlTimeouts(settings.directUrl(Target.OLD)
        .map(url -> new Endpoint(Target.OLD, url, settings.oldProperties())).orElse(appEndpoints.get(Target.OLD)), settings));
    endpoints.put(Target.NEW, controlTimeouts(settings.directUrl(Target.NEW)
        .map(url -> new Endpoint(Target.NEW, url, settings.newProperties())).orElse(appEndpoints.get(Target.NEW)), settings));
    long id = IDS.incrementAndGet();
    this.instance = settings.values().getOrDefault(RoutingFlags.INSTANCE, defaultInstance(id));
    this.switcher = daemonThread("cutover-switch-" + settings.service() + "-" + id);
    this.heartbeats = daemonThread("cutover-heartbeat-" + settings.service() + "-" + id);
    this.name = objectName(settings.service(), instance, id);
  }

  /**
   * Starts a router: opens the flag, checks the databases (only the one that serves must answer;
   * see {@link Startup}) and, when the flag already asks for new, switches before serving.
   *
   * @throws SQLException 08001 when the database that must serve is unreachable, 22023 for a bad
   *     flag setting
   */
  public static Router start(CutoverSettings settings) throws SQLException {
    RoutingFlag flag;
    try {
      flag = RoutingFlags.open(settings.values());
    } catch (IllegalArgumentException e) {
      throw new SQLException("cutover: " + e.getMessage(), "22023", e);
    } catch (RuntimeException e) {
      throw new SQLException("cutover: cannot open the routing flag (" + RoutingFlags.PROVIDER + "="
          + settings.values().getOrDefault(RoutingFlags.PROVIDER, "fixed") + "): " + e.getMessage(), "22023", e);
    }
    Router router = new Router(settings, flag);
    try {
      // A default is no decision: until the flag delivers a value, start where the service serves.
      Startup found = Startup.probe(router, flag.delivered() ? flag.target() : null);
      router.control = found.control();
      router.pending = found.pending();
      router.route = new Route(found.serving(), null);
      router.begin();
      return router;
    } catch (SQLException | RuntimeException e) {
      router.switcher.shutdownNow();
      router.heartbeats.shutdownNow();
      flag.close();
      throw e;
    }
  }

  private static ScheduledExecutorService daemonThread(String name) {
    return Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
  }

  /** host:pid:router, unique in the service unless {@code cutover.instance} says otherwise. */
  private static String defaultInstance(long routerId) {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      host = "unknown-host";
    }
    return host + ":" + ProcessHandle.current().pid() + ":" + routerId;
  }

  /**
   * The timeouts of a switch's own connections: connecting (and logging in) within the barrier
   * timeout, and no single read outlasting the gate's maximum pause, however silent the network.
   */
  static Endpoint controlTimeouts(Endpoint side, CutoverSettings settings) {
    return side.withTimeouts(settings.barrierTimeout(), settings.gateMaxPause());
  }

  private void begin() {
    for (String p : pending) {
      LOG.warn("cutover {}: {}", settings.service(), p);
    }
    try {
      ManagementFactory.getPlatformMBeanServer().registerMBean(this, name);
    } catch (Exception e) {
      LOG.warn("cutover {}: cannot register MBean {}", settings.service(), name, e);
    }
    if (control && heartbeating.compareAndSet(false, true)) {
      heartbeat(); // before serving, on this thread: the heartbeat thread has not started yet
      heartbeats.scheduleWithFixedDelay(this::heartbeat, HEARTBEAT_MILLIS, HEARTBEAT_MILLIS, TimeUnit.MILLISECONDS);
    }
    flag.addListener(flagListener);
    if (!flag.delivered()) {
      // Its default is no decision: serve where the service serves now, and follow the flag
      // once it delivers a value (the listener hears only changes, so look for it).
      LOG.warn("cutover {}: the flag has delivered no value yet ({}); routing to {}, where the service serves now,"
          + " not to cutover.flag.default, until it does", settings.service(), flag, route.serving().value());
      awaitFirstValue();
    } else if (flag.target() != route.serving()) {
      try {
        switcher.submit(this::converge).get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (java.util.concurrent.ExecutionException e) {
        LOG.error("cutover {}: the initial switch failed", settings.service(), e.getCause());
      }
    }
    LOG.info("cutover {}: routing {} ({}); flag {}", settings.service(), route.serving().value(), settings, flag);
  }

  /** Polls (on the switch thread) until the flag has delivered a value, then follows it. */
  private void awaitFirstValue() {
    try {
      switcher.schedule(() -> {
        if (flag.delivered()) {
          LOG.info("cutover {}: the flag delivered its first value: {}", settings.service(), flag.target().value());
          flagChanged();
        } else {
          awaitFirstValue();
        }
      }, FIRST_VALUE_POLL_MILLIS, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException closed) {
      LOG.debug("cutover {}: router closed before the flag delivered a value", settings.service());
    }
  }

  List<String> notGuaranteed() {
    return notGuaranteed(settings.force());
  }

  /** @param force whether the switch went without the probe and the barrier */
  List<String> notGuaranteed(boolean force) {
    if (!control) {
      return List.of("I1/I4 replication caught up (no barrier)", "I2 single writer (source not fenced)");
    }
    if (!force) {
      return List.of();
    }
    return List.of(settings.force() ? "I1/I4 replication caught up (cutover.switch.force=true)"
        : "I1/I4 replication caught up (forced by an operator in the control schema)");
  }

  private void schedule(Runnable task) {
    try {
      switcher.execute(task);
    } catch (RejectedExecutionException closed) {
      LOG.debug("cutover {}: router closed, flag change ignored", settings.service());
    }
  }

  private void flagChanged() {
    staleFlag = null;
    converge();
  }

  /** Switches toward the flag's current value if it differs from the serving side. */
  private void converge() {
    Target desired = flag.target();
    if (desired != staleFlag) {
      switchTo(desired);
    }
  }

  /**
   * Joins a switch the service's other instances have started, even if this instance's flag has
   * not announced it (a stream interrupted, a slower poll): holding back would leave the leader
   * waiting, and beginning transactions on a database about to be fenced would fail them. The
   * heartbeat calls this only when a live peer reports that its own flag asks for {@code target}
   * (control-table data alone never starts a switch), and such a joiner never leads. The flag's
   * stale value is then ignored until the flag changes.
   */
  private void join(String switchId, Target target) {
    pendingJoin = null;
    if (target == route.serving()) {
      return;
    }
    SwitchEvent event = run(new Switchover(this, route.serving(), target, switchId, false));
    if (event != null) {
      Target flagged = flag.target();
      staleFlag = flagged == target ? null : flagged;
      publish(event);
    }
  }

  /**
   * Follows a switch that its leader released while this instance stayed behind (it gave up
   * waiting, or its network failed), once it has verified the release for itself: the fence still
   * stands on the side it routes to, so staying would only fail its writes.
   */
  private void catchUp(String switchId, Target target) {
    pendingJoin = null;
    long now = System.nanoTime();
    if (switchId.equals(caughtUp) && now - caughtUpAt < CATCH_UP_BACKOFF_NANOS) {
      return; // tried a moment ago (the other side unreachable?): not every second
    }
    caughtUp = switchId;
    caughtUpAt = now;
    if (target != route.serving()) {
      SwitchEvent event = run(new Switchover(this, route.serving(), target, switchId, true));
      if (event != null) {
        Target flagged = flag.target();
        staleFlag = flagged == target ? null : flagged;
        publish(event);
      }
    }
  }

  private void switchTo(Target target) {
    if (target != route.serving()) {
      publish(run(new Switchover(this, route.serving(), target)));
    }
  }

  /** Runs a switch on the switch thread; the heartbeat schedules no join meanwhile. */
  private SwitchEvent run(Switchover switchover) {
    switching = true;
    try {
      return switchover.run();
    } finally {
      switching = false;
    }
  }

  /**
   * Tells the serving database this instance is alive, and learns of switches its peers began.
   * Runs on its own thread, with its own connection, so that it goes on during a switch.
   */
  private void heartbeat() {
    Target side = route.serving();
    try {
      if (beat == null || beatSide != side) {
        closeQuietly(beat);
        beat = null;
        beat = endpoint(side).open();
        beatSide = side;
      }
      Optional<Coordination.Running> running = Coordination.heartbeat(beat, settings.service(), instance,
          new Coordination.Beat(flag.delivered() ? flag.target() : null, side, phase), INSTANCE_TTL);
      if (running.isPresent() && running.get().target() != side && !switching
          && !running.get().id().equals(pendingJoin)) {
        Coordination.Running r = running.get();
        if (r.released()) {
          pendingJoin = r.id();
          schedule(() -> catchUp(r.id(), r.target()));
        } else if (r.peerAsks() || flagAsks(r.target())) {
          pendingJoin = r.id();
          schedule(() -> join(r.id(), r.target()));
        }
      }
      if (beatFailing) {
        beatFailing = false;
        LOG.info("cutover {}: heartbeat of instance {} on the {} database works again", settings.service(), instance,
            side.value());
      }
    } catch (SQLException | RuntimeException e) {
      if (!beatFailing) {
        beatFailing = true;
        LOG.warn("cutover {}: heartbeat of instance {} on the {} database failed: {}; retrying every second",
            settings.service(), instance, side.value(), e.getMessage());
      }
      closeQuietly(beat);
      beat = null;
    }
  }

  private void publish(SwitchEvent event) {
    last = event;
    (event.outcome() == Outcome.COMPLETED ? completed : aborted).incrementAndGet();
    rolledBack.addAndGet(event.rolledBack());
    gateWaits.addAndGet(event.gateWaits());
    if (event.outcome() == Outcome.COMPLETED) {
      LOG.info("cutover: {}", event.summary());
    } else {
      LOG.error("cutover: {}", event.summary());
    }
    for (SwitchListener listener : LISTENERS) {
      try {
        listener.onSwitch(event);
      } catch (RuntimeException e) {
        LOG.error("cutover: switch listener {} failed", listener, e);
      }
    }
  }

  /** Registers a listener told about every switch of every router in this JVM. */
  public static void addListener(SwitchListener listener) {
    LISTENERS.add(listener);
  }

  public static void removeListener(SwitchListener listener) {
    LISTENERS.remove(listener);
  }

  /** The route sessions must obey now. */
  public Route route() {
    return route;
  }

  public long gateMaxPauseNanos() {
    return gateMaxPauseNanos;
  }

  /** This instance's name among the service's instances. */
  public String instance() {
    return instance;
  }

  public CutoverSettings settings() {
    return settings;
  }

  Endpoint endpoint(Target side) {
    return endpoints.get(side);
  }

  /** Whether this instance's own flag has delivered a value and asks for {@code side}. */
  boolean flagAsks(Target side) {
    return flag.delivered() && flag.target() == side;
  }

  void phase(String now) {
    phase = now;
  }

  boolean control() {
    return control;
  }

  /**
   * Records what the last switch found; a control schema installed after the router started
   * (the replicator started after the application) starts the heartbeats from then on.
   */
  void control(boolean present) {
    control = present;
    if (present && heartbeating.compareAndSet(false, true)) {
      heartbeats.scheduleWithFixedDelay(this::heartbeat, 0, HEARTBEAT_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  void pending(List<String> found) {
    pending = found;
  }

  /** How this router's sessions keep their locks and channels across a switch. */
  public Handover handover() {
    return handover;
  }

  /**
   * Checks both databases before a switch holds anything (see {@link SwitchCheck}).
   *
   * @return why the switch must be refused, or empty
   */
  Optional<String> check(Target from, Target to, Connection source, Connection target) throws SQLException {
    return SwitchCheck.run(this, from, to, source, target);
  }

  Collection<Session> sessions() {
    return sessions;
  }

  public void register(Session session) {
    sessions.add(session);
  }

  public void unregister(Session session) {
    sessions.remove(session);
    handover.drop(session);
  }

  /** A physical connection to {@code side}: one opened ahead by the last switch, or a new one. */
  public Connection acquire(Target side) throws SQLException {
    Warm w;
    while ((w = warm.poll()) != null) {
      if (w.side() == side) {
        return w.connection();
      }
      closeQuietly(w.connection());
    }
    return openApp(side);
  }

  /**
   * The physical connection for {@code session} moving to {@code side}: the one the last switch
   * reserved for it (holding its locks, listening on its channels), else as {@link #acquire}.
   */
  public Handover.Acquired acquire(Session session, Target side) throws SQLException {
    return handover.acquire(session, side);
  }

  /** Releases what a switch reserved for {@code session}, which stays on the side it is on. */
  public void stay(Session session) {
    handover.drop(session);
  }

  /** A new application connection to {@code side}, through its pooler if it has one. */
  Connection openApp(Target side) throws SQLException {
    return appEndpoints.get(side).open();
  }

  void closeGate(Gate gate) {
    route = new Route(route.serving(), gate);
  }

  /** Makes {@code serving} the route, hands out the pre-opened connections and opens the gate. */
  void release(Target serving, List<Connection> prewarmed) {
    handover.discard(serving);
    Warm stale;
    while ((stale = warm.poll()) != null) {
      closeQuietly(stale.connection());
    }
    long now = System.nanoTime();
    for (Connection c : prewarmed) {
      warm.add(new Warm(serving, c, now));
    }
    Gate gate = route.gate();
    route = new Route(serving, null);
    if (gate != null) {
      gate.open();
    }
    if (!prewarmed.isEmpty()) {
      try {
        switcher.schedule(this::expireWarm, WARM_TTL_SECONDS, TimeUnit.SECONDS);
      } catch (RejectedExecutionException closed) {
        expireWarm();
      }
    }
  }

  /** Closes pre-opened connections nobody claimed, so an idle pool does not hold them forever. */
  private void expireWarm() {
    long cutoff = System.nanoTime() - TimeUnit.SECONDS.toNanos(WARM_TTL_SECONDS) + 1;
    warm.removeIf(w -> {
      if (w.bornNanos() - cutoff <= 0) {
        closeQuietly(w.connection());
        return true;
      }
      return false;
    });
  }

  /** Stops following the flag and closes what the router holds; open logical connections keep working. */
  public void close() {
    flag.removeListener(flagListener);
    flag.close();
    switcher.shutdownNow();
    heartbeats.shutdownNow();
    try {
      heartbeats.awaitTermination(5, TimeUnit.SECONDS);
      if (beat != null) {
        Coordination.leave(beat, settings.service(), instance);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SQLException e) {
      LOG.debug("cutover {}: could not deregister instance {}: {}", settings.service(), instance, e.getMessage());
    }
    closeQuietly(beat);
    release(route.serving(), List.of());
    handover.closeAll();
    try {
      ManagementFactory.getPlatformMBeanServer().unregisterMBean(name);
    } catch (Exception e) {
      LOG.debug("cutover: MBean {} already gone", name);
    }
  }

  static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      LOG.debug("cutover: closing {} failed: {}", c, e.toString());
    }
  }

  private static ObjectName objectName(String service, String instance, long id) {
    return RouterNames.of(service, instance, id);
  }

  @Override
  public String getService() {
    return settings.service();
  }

  @Override
  public String getInstance() {
    return instance;
  }

  @Override
  public String getServing() {
    return route.serving().value();
  }

  @Override
  public String getFlagTarget() {
    return flag.target().value();
  }

  @Override
  public String getFlagHealth() {
    return flag.health().name();
  }

  @Override
  public long getFlagRejectedValues() {
    return flag.rejectedValues();
  }

  @Override
  public boolean isHolding() {
    return route.gate() != null;
  }

  @Override
  public String getPhase() {
    return phase;
  }

  @Override
  public boolean isControlSchemaPresent() {
    return control;
  }

  @Override
  public List<String> getPendingGuarantees() {
    return pending;
  }

  @Override
  public int getLogicalConnections() {
    return sessions.size();
  }

  @Override
  public long getSwitchesCompleted() {
    return completed.get();
  }

  @Override
  public long getSwitchesAborted() {
    return aborted.get();
  }

  @Override
  public long getTransactionsRolledBack() {
    return rolledBack.get();
  }

  @Override
  public long getGateWaits() {
    return gateWaits.get();
  }

  @Override
  public String getLastSwitch() {
    SwitchEvent e = last;
    return e == null ? "" : e.summary();
  }

  @Override
  public String toString() {
    return "Router[" + settings.service() + "/" + instance + " serving " + route.serving().value() + "]";
  }
}
