package dev.cutover.driver.internal.switching;

import dev.cutover.driver.RouterMXBean;
import dev.cutover.driver.internal.config.CutoverSettings;
import dev.cutover.flags.RoutingFlag;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import java.net.InetAddress;
import java.net.UnknownHostException;
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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routing state of one service instance: the logical connections that share one setting set
 * (a pool's connections share one, so a switch moves the whole pool as one event), the side that
 * serves them and the gate of a running switch. Its jobs are each a class of its own: following the
 * flag ({@link FlagFollower}), running switches ({@link SwitchRunner}, {@link Switchover}), the
 * heartbeat ({@link Heartbeat}), connections opened ahead ({@link WarmConnections}), sessions'
 * reservations ({@link Handover}) and the MXBean ({@link RouterBean}). {@link Routers} starts and
 * closes routers.
 *
 * <p>Concurrency: sessions read {@link #route()} (one volatile read) at every transaction boundary
 * and take the slow path only when it changed. The switch thread is the only writer of the route;
 * it publishes a closed gate before it looks at sessions, and sessions announce a transaction
 * before they read the route, so either the switch sees the transaction or the transaction sees
 * the gate. {@link #control}, {@link #pending} and {@link #phase} are written by the switch thread
 * (and at start) and read by any.
 */
public final class Router implements Routing {
  private static final Logger LOG = LoggerFactory.getLogger(Router.class);
  private static final AtomicLong IDS = new AtomicLong();
  /** The phase an instance publishes when no switch runs. */
  static final String IDLE = dev.cutover.driver.Phase.IDLE.describe(Target.OLD);

  /**
   * The latest settings the application connected with: their router key is this router's, their
   * passwords the latest it was handed ({@link #credentials}).
   */
  private volatile CutoverSettings settings;
  private final String instance;
  /**
   * The id this router meets its peers under in the control schema (heartbeat, ready, drained,
   * fence and release rows): {@link #instance} when generated, else {@code cutover.instance} and a
   * random suffix, since two routers may share a configured one (a pool and a migration data source
   * in one JVM, pods given one cutover.properties) and each must drain for itself.
   */
  private final String member;
  /**
   * Where the switch's own sessions go (its control connections and heartbeats): a side's direct
   * URL when it has one, else the application's URL, with timeouts derived from the switch settings.
   */
  private final Map<Target, Endpoint> endpoints = new EnumMap<>(Target.class);
  /** Where the application's connections go (through a pooler, if there is one). */
  private final Map<Target, Endpoint> appEndpoints = new EnumMap<>(Target.class);
  private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
  private final Handover handover = new Handover(this);
  private final WarmConnections warm;
  private final SwitchRunner switches;
  private final FlagFollower follower;
  private final Heartbeat heartbeat;
  private final RouterBean bean;
  private volatile Route route = new Route(Target.OLD, null);
  /**
   * Whether both databases carried the control schema at the last check (start, the look at new once
   * it answers again, then every switch).
   */
  private volatile boolean control;
  /**
   * Whether new has not answered since the router started without it: it is looked at again every
   * {@code cutover.switch.retry-interval} ({@link #recheckNew}) until it does or a switch checked it.
   * The switch thread's once the router has started.
   */
  private boolean newUnanswered;
  /** What could not be checked or is refused, for operators (MBean {@code PendingGuarantees}). */
  private volatile List<String> pending = List.of();
  /** What the running switch is doing, published with the heartbeat. */
  private volatile String phase = IDLE;

  private Router(CutoverSettings settings, RoutingFlag flag) {
    this.settings = settings;
    this.warm = new WarmConnections(settings.barrierTimeout());
    appEndpoints.put(Target.OLD, new Endpoint(Target.OLD, settings.oldUrl(), settings.oldProperties()));
    appEndpoints.put(Target.NEW, new Endpoint(Target.NEW, settings.newUrl(), settings.newProperties()));
    for (Target side : Target.values()) {
      Endpoint direct = settings.directUrl(side)
          .map(url -> new Endpoint(side, "cutover." + side.value() + ".direct-url", url, settings.properties(side)))
          .orElse(appEndpoints.get(side));
      endpoints.put(side, direct.forSwitch(settings.barrierTimeout(), settings.gateMaxPause()));
    }
    long id = IDS.incrementAndGet();
    this.instance = settings.instance().orElse(defaultInstance(id));
    this.member = settings.instance().isPresent()
        ? instance + "#" + Integer.toHexString(ThreadLocalRandom.current().nextInt() | 0x10000000)
        : instance;
    this.switches = new SwitchRunner(settings.service(), "cutover-switch-" + settings.service() + "-" + id);
    this.follower = new FlagFollower(this, flag, switches);
    this.heartbeat = new Heartbeat(this, follower, "cutover-heartbeat-" + settings.service() + "-" + id);
    this.bean = new RouterBean(this, switches, id);
  }

  /**
   * Starts a router: opens the flag, checks the databases (only the one that serves must answer;
   * see {@link Startup}) and, when the flag already asks for the other side, switches before
   * serving. Use {@link Routers#acquire}, which shares one router per setting set.
   *
   * @throws SQLException 08001 when the database that must serve is unreachable, 08004 when the
   *     flag says new and old has no control schema (cleaned up, or never installed), 22023 for a bad
   *     flag setting
   */
  static Router start(CutoverSettings settings) throws SQLException {
    RoutingFlag flag;
    try {
      flag = RoutingFlags.open(settings.values());
    } catch (IllegalArgumentException e) {
      throw new SQLException("cutover: " + e.getMessage(), "22023", e);
    } catch (RuntimeException e) {
      throw new SQLException("cutover: cannot open the routing flag (" + RoutingFlags.PROVIDER + "="
          + settings.values().getOrDefault(RoutingFlags.PROVIDER, "none") + "): " + e.getMessage(), "22023", e);
    }
    Router router = new Router(settings, flag);
    try {
      // A default is no decision: until the flag delivers a value, start where the service serves.
      Startup found = Startup.probe(router, flag.delivered() ? flag.target() : null);
      router.control = found.control();
      router.pending = found.pending();
      router.newUnanswered = found.newUnanswered();
      router.route = new Route(found.serving(), null);
      router.begin(found.beats());
      return router;
    } catch (SQLException | RuntimeException e) {
      router.close();
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      router.close();
      throw new SQLException("cutover: interrupted while the router of " + settings.service() + " started", "08001", e);
    }
  }

  /** host:pid:router, unique in the service unless {@code cutover.instance} says otherwise. */
  private static String defaultInstance(long routerId) {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      host = "unknown-host";
    }
    return host + ":" + ProcessHandle.current().pid() + ":" + routerId;
  }

  /** @param beats whether the database that serves carries the control schema (then this instance heartbeats there) */
  private void begin(boolean beats) throws InterruptedException {
    for (String p : pending) {
      LOG.warn("cutover {}: {}", settings.service(), p);
    }
    bean.register();
    if (beats) {
      // Before serving, on this thread: peers see this instance from its first transaction, and
      // their switches drain it and are heard by it even while the other database does not answer.
      heartbeat.startNow();
    }
    if (newUnanswered) {
      switches.schedule(this::recheckNew, settings.retryInterval().toMillis());
    }
    follower.start();
    LOG.info("cutover {}: routing {} ({}); flag {}", settings.service(), route.serving().value(), settings,
        follower.flag());
  }

  /** Invariants a switch cannot give: without the control schema none; forced, not the barrier's. */
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

  @Override
  public Route route() {
    return route;
  }

  /** Publishes {@code next} to the sessions: a closed gate to hold them, or the side that serves and no gate. */
  void route(Route next) {
    route = next;
  }

  @Override
  public Duration gateMaxPause() {
    return settings.gateMaxPause();
  }

  @Override
  public Duration answerTimeout() {
    return settings.barrierTimeout();
  }

  @Override
  public String service() {
    return settings.service();
  }

  /** This instance's name among the service's instances: {@code cutover.instance}, or generated. */
  public String instance() {
    return instance;
  }

  /** This router's id in the control schema, unique even where routers share {@code cutover.instance}. */
  String member() {
    return member;
  }

  public CutoverSettings settings() {
    return settings;
  }

  /**
   * Takes the credentials of {@code latest}, settings of this router's key whose passwords differ
   * (rotated: the pool was handed a new one, or IAM a new token): every connection the router opens
   * from now on (the application's, those opened ahead for a switch, the switch's own sessions and
   * heartbeats) logs in with them; connections open already stay as they are. Called by {@link
   * Routers#acquire} under its entry's lock, so rotations apply in the order connections asked.
   */
  void credentials(CutoverSettings latest) {
    if (latest.equals(settings)) {
      return;
    }
    appEndpoints.get(Target.OLD).login(latest.oldUrl(), latest.oldProperties());
    appEndpoints.get(Target.NEW).login(latest.newUrl(), latest.newProperties());
    for (Target side : Target.values()) {
      // Without a direct URL the switch's endpoint shares the application's login, set above.
      latest.directUrl(side).ifPresent(url -> endpoints.get(side).login(url, latest.properties(side)));
    }
    settings = latest;
    // DEBUG: with IAM tokens every connection brings another password.
    LOG.debug("cutover {}: instance {} was handed other credentials (same URLs and users, another password);"
        + " the connections it opens from now on log in with them", latest.service(), instance);
  }

  /** The switch's own sessions to {@code side}. */
  Endpoint endpoint(Target side) {
    return endpoints.get(side);
  }

  /** A new application connection to {@code side}, through its pooler if it has one. */
  Connection openApp(Target side) throws SQLException {
    return appEndpoints.get(side).open();
  }

  /** A connection by the application's path to {@code side} for a switch's checks, bounded by the barrier timeout ({@link Endpoint#forCheck}). */
  Connection openAppCheck(Target side) throws SQLException {
    return appEndpoints.get(side).forCheck(settings.barrierTimeout(), settings.barrierTimeout()).open();
  }

  RoutingFlag flag() {
    return follower.flag();
  }

  /** Why this instance serves a side its own flag does not ask for, or empty ({@link FlagFollower#disagreement}). */
  String flagDisagreement() {
    return follower.disagreement();
  }

  String phase() {
    return phase;
  }

  /** What the running switch is doing now (or {@link #IDLE}), for the heartbeat and the MBean. */
  void phase(String now) {
    phase = now;
  }

  boolean control() {
    return control;
  }

  /**
   * Records what a switch found on both databases; a control schema installed after the router
   * started (the replicator started after the application) starts the heartbeat from then on.
   */
  void control(boolean present) {
    control = present;
    newUnanswered = false;
    if (present) {
      heartbeat.start();
    }
  }

  /**
   * On the switch thread: looks at new again, which has not answered since the router started
   * ({@link Startup#recheckNew}), so that {@link #control} and {@link #pending} (the MBean, the
   * health check) stop saying it does not answer once it does; again after {@code
   * cutover.switch.retry-interval} while it still does not.
   */
  private void recheckNew() {
    if (!newUnanswered) {
      return; // a switch checked both databases since
    }
    Optional<Startup> found;
    try {
      found = Startup.recheckNew(this, pending);
    } catch (SQLException e) {
      LOG.debug("cutover {}: the new database answers, but its control schema could not be read: {}", settings.service(),
          e.getMessage());
      found = Optional.empty();
    }
    if (found.isEmpty()) {
      switches.schedule(this::recheckNew, settings.retryInterval().toMillis());
      return;
    }
    pending = found.get().pending();
    control(found.get().control());
    LOG.info("cutover {}: the new database answers again; control schema on both databases: {}", settings.service(),
        control ? "yes" : "no");
    for (String p : pending) {
      LOG.warn("cutover {}: {}", settings.service(), p);
    }
  }

  /**
   * Whether this instance heartbeats, so that the database it serves has the control schema even
   * where {@link #control} is false (the other did not answer at start).
   */
  boolean beats() {
    return heartbeat.started();
  }

  List<String> pending() {
    return pending;
  }

  void pending(List<String> found) {
    pending = found;
  }

  Handover handover() {
    return handover;
  }

  WarmConnections warm() {
    return warm;
  }

  RouterMXBean bean() {
    return bean;
  }

  Collection<Session> sessions() {
    return sessions;
  }

  @Override
  public boolean pooled(Target side) {
    return handover.pooled(side);
  }

  @Override
  public List<String> customSettings() {
    return handover.customSettings();
  }

  @Override
  public void register(Session session) {
    Routers.retain(this);
    sessions.add(session);
  }

  @Override
  public void unregister(Session session) {
    sessions.remove(session);
    handover.drop(session);
    Routers.release(this);
  }

  /**
   * A connection for a new logical connection: one opened ahead that still answers (it idled since
   * the switch opened it, and the target may have ended it: its {@code idle_session_timeout}, a
   * restart, {@code pg_terminate_backend}), else a new one. The check is one round trip, less than a
   * login; a pool hands a new connection out without one, so a dead one would fail its first
   * transaction. Dead ones are closed on the way.
   */
  @Override
  public Connection connect(Target side) throws SQLException {
    Connection ahead;
    while ((ahead = warm.take(side)) != null) {
      if (answers(ahead, settings.barrierTimeout())) {
        return ahead;
      }
      LOG.debug("cutover {}: a connection opened ahead to the {} database no longer answers; closed",
          settings.service(), side.value());
      closeQuietly(ahead);
    }
    return openApp(side);
  }

  /** Whether {@code c} answers a round trip within {@code timeout} (at least a second). */
  private static boolean answers(Connection c, Duration timeout) {
    try {
      return c.isValid((int) Math.max(1, Math.min(Integer.MAX_VALUE, (timeout.toMillis() + 999) / 1000)));
    } catch (SQLException | RuntimeException e) {
      return false;
    }
  }

  @Override
  public Handover.Acquired acquire(Session session, Target side) throws SQLException {
    return handover.acquire(session, side);
  }

  @Override
  public void stay(Session session) {
    handover.drop(session);
  }

  /** Nothing uses the router any more: connections opened ahead would only wait to expire. */
  void idle() {
    warm.closeAll();
  }

  /** Stops following the flag and closes what the router holds; open logical connections keep working. */
  void close() {
    follower.close();
    switches.close();
    heartbeat.close();
    warm.closeAll();
    handover.closeAll();
    Gate gate = route.gate();
    route = new Route(route.serving(), null);
    if (gate != null) {
      gate.open();
    }
    bean.unregister();
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

  @Override
  public String toString() {
    return "Router[" + settings.service() + "/" + member + " serving " + route.serving().value() + "]";
  }
}
