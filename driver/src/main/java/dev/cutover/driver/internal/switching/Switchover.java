package dev.cutover.driver.internal.switching;

import dev.cutover.common.Poll;
import dev.cutover.common.Secrets;
import dev.cutover.driver.Phase;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.driver.control.SwitchState;
import dev.cutover.driver.internal.control.Barrier;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.internal.control.Sequences;
import dev.cutover.driver.internal.control.WayIn;
import dev.cutover.driver.internal.session.Backend;
import dev.cutover.flags.Target;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;
import org.postgresql.PGConnection;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.Utils;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One switch of one router from {@code from} to {@code to}. {@link #run()} reads as the protocol
 * does (docs/driver.md), one method per {@link Phase}, in order, below it:
 *
 * <ol start="0">
 *   <li>{@link #check}: both databases, before anything is held; then, traffic still flowing,
 *       {@link #ready}: replication probed, the switch joined, connections to the target opened,
 *       the service's other instances ready.
 *   <li>{@link #closeGate}: new transactions wait.
 *   <li>{@link #drain}: this instance's transactions finish or are rolled back; sessions' locks and
 *       channels are taken on the target.
 *   <li>{@link #coordinate}: the instances meet in the source's control schema; each says it
 *       drained, one leads. The leader then goes through {@link #fence}, {@link #barrier} and
 *       {@link #moveSequences}, opens the target and publishes the release ({@link #lead}); a
 *       follower {@link #follow}s the release only once it has verified the fence and the barrier
 *       itself.
 *   <li>{@link #release}: sessions move onto the connections opened ahead, the gate opens.
 * </ol>
 *
 * <p>Any failure before release aborts ({@link #abort}): an instance that led lowers the fence it
 * raised and publishes the abort, traffic stays on {@code from} and the event says why. Without
 * the control schema an instance switches alone: it drains and moves sequences, and the event says
 * what was not guaranteed.
 *
 * <p>Who leads: an advisory lock whose key only the control plane knows, taken only once every
 * live instance has drained, and only by an instance whose own flag asks for {@code to}; one that
 * joined because a peer's flag asks only follows. If the leader's session dies, its lock is free
 * and the next instance to try (this one again, on a fresh session) repeats the idempotent steps.
 *
 * <p>Every wait is bounded: the switch's connections carry connect, login and socket timeouts,
 * and a {@link SwitchWatchdog} aborts the connections of a switch that outlives its budget
 * (before the gate closes) or {@code cutover.gate.max-pause} (after), and of a step that outlives
 * its own timeout. Runs on the router's switch thread; every field is that thread's.
 */
final class Switchover {
  private static final Logger LOG = LoggerFactory.getLogger(Switchover.class);
  /** How often the drain looks at its sessions, and how long a terminated backend may take to go. */
  private static final Poll DRAIN_POLL = Poll.every(Duration.ofNanos(100_000));
  private static final Poll BACKEND_POLL = Poll.every(Duration.ofMillis(1));
  private static final Duration BACKEND_EXIT = Duration.ofSeconds(5);
  /** How long a live peer may take, beyond the drain timeout, to hear of the switch and drain. */
  private static final Duration PEER_SLACK = Duration.ofSeconds(3);
  /** What a step may take beyond its own timeout before the watchdog ends it (a round trip, a busy machine). */
  static final Duration STEP_SLACK = Duration.ofMillis(500);
  /** At most this long for each transaction the way back's slot waits for as the target opens (see {@link #slotWait}). */
  private static final Duration SLOT_WAIT = Duration.ofSeconds(1);
  /** What an abort may take, at most, between the switch giving up and the gate opening. */
  private static final Duration ABORT_MARGIN = Duration.ofSeconds(1);
  /**
   * SQLState of a step refused because an operator asked to abort the switch (query_canceled,
   * with the control schema's message; see {@link #abortedByOperator}).
   */
  private static final String OPERATOR_ABORT = "57014";
  /** How often an instance that joined on a peer's word checks that some live instance's flag still asks. */
  private static final long ASKING_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
  /** SQLState of a step refused because another session leads the switch, or of a backend this role may not end. */
  private static final String INSUFFICIENT_PRIVILEGE = "42501";
  /** SQLState of a login refused for a connection limit (a role's, a database's, or max_connections). */
  private static final String TOO_MANY_CONNECTIONS = "53300";
  /** How often a leader waiting for its peers or the barrier looks for an operator's abort. */
  private static final Duration ABORT_CHECK = Duration.ofMillis(100);

  private final Router router;
  private final FlagFollower follower;
  private final Target from;
  private final Target to;
  /** The switch of the service this one joins, or {@code null} for a switch of its own. */
  private final String joined;
  /** Whether {@link #joined} was released already and is only followed (caught up with). */
  private final boolean caughtUp;
  private final Gate gate = new Gate();
  private final SwitchWatchdog watchdog;
  private final PhaseClock clock = new PhaseClock();

  private String switchId;
  private Connection source;
  /**
   * The backend {@link #source} reaches, read once per connection: the check, the drain, the
   * hand-over and the leader's lock each ask which server and process it is.
   */
  private Backend sourceBackend;
  private Connection target;
  private Prewarm warming;
  /** When {@link #run} began: the start of a switch's time when it ends before its gate closes. */
  private long started;
  private List<Connection> prewarmed = List.of();
  private long gateClosed;
  /** The guarantee this switch could not give because it opened the target without the way back's slot, or null. */
  private String wayBackMissed;
  private boolean leader;
  /** Whether this instance tried to raise the source's fence, so that an abort must see it lowered. */
  private boolean fenceAttempted;
  /** The leader's barrier marker, written after the fence: once it is on the target, every earlier write is too. */
  private String marker;
  /** The backend of the session that holds the leader's lock, to end it if it outlives its connection. */
  private int leaderPid;
  /** When that backend started (UTC, to the microsecond): with the pid, what tells it from a later one that reuses the pid. */
  private String leaderStart;
  /** Whether this switch goes without the probe and the barrier (the setting, or the operator's). */
  private boolean force;
  /** Whether this switch was recorded in the control schema (begun or joined): until then, an abort is a refusal. */
  private boolean began;
  /** Whether it ended refused before any gate closed ({@link #refuse}, {@link #refuseBegun}): the follower tries it again. */
  private boolean refused;
  /** Whether a wait ended because the router is closing ({@link #stopIfClosing}): no retry follows. */
  private boolean closing;
  /** Whether the switch ended because another instance or an operator ended it ({@link #stillOn}): theirs to say why. */
  private boolean endedElsewhere;
  /** Whether the switch ended because a peer said it cannot get ready ({@link #refuseForUnreadyPeers}). */
  private boolean peerNotReady;
  /** Whether the source's control schema predates {@code not_ready_peers}: no peer can say why it is not ready. */
  private boolean peersCannotSay;
  private int rolledBack;
  private int sequencesMoved;

  /** The switch to join ended before this instance could: nothing was held or changed. */
  private static final class NothingToJoin extends Exception {
    NothingToJoin() {
      super(null, null, false, false);
    }
  }

  /**
   * Why the switch cannot go on, found by the switch itself; its message becomes the event's reason.
   * An {@link SQLException} so that it leaves a wait on the databases like their own errors do.
   */
  static final class Abort extends SQLException {
    Abort(String message) {
      super(message);
    }
  }

  /**
   * @param joined a switch of the service from {@code from} to {@code to} that a peer runs, or
   *     {@code null} to begin one: this instance joins it only while it is in progress (never
   *     starting one of its own), or, when {@code caughtUp}, follows its release once verified
   *     (it missed it)
   */
  Switchover(Router router, FlagFollower follower, Target from, Target to, String joined, boolean caughtUp) {
    this.router = router;
    this.follower = follower;
    this.from = from;
    this.to = to;
    this.joined = joined;
    this.caughtUp = caughtUp;
    this.switchId = joined != null ? joined : UUID.randomUUID().toString();
    this.watchdog = new SwitchWatchdog(router.service() + "/" + router.instance() + " " + from.value() + " -> "
        + to.value());
  }

  /**
   * Runs the switch to its end.
   *
   * @return how it ended, or {@code null} when the switch it was to join had ended before (nothing
   *     was held or changed)
   */
  SwitchEvent run() {
    started = System.nanoTime();
    LOG.info("cutover {}: switch {} {} -> {} begins on instance {}", router.service(), switchId, from.value(),
        to.value(), router.member());
    String reason = "";
    boolean done = false;
    Duration budget = preGateBudget();
    watchdog.deadline(budget, () -> "stuck for " + budget.toMillis() + " ms before closing its gate, while "
        + router.phase() + " (no transaction was held); is the network to the " + to.value() + " database silent?");
    try {
      // 0. Before anything is held: both databases, then readiness while traffic flows.
      check();
      ready();
      // 1. Gate: new transactions wait from here on.
      closeGate();
      // 2. Drain this instance's transactions; take its sessions' locks and channels on the target.
      drain();
      // 3-5. Coordinate with the service's other instances: the leader fences, waits for the
      // barrier and moves sequences; a follower verifies what the leader released. Without the
      // control schema this instance acts alone, and the event says what it could not guarantee.
      if (!router.control()) {
        moveSequences();
      } else {
        Role role = coordinate();
        if (role.leader()) {
          lead();
        } else {
          follow(role);
        }
      }
      // 6. Release onto the connections opened ahead.
      release(to, prewarmed);
      done = true;
    } catch (NothingToJoin e) {
      LOG.info("cutover {}: switch {} ended before instance {} could join it", router.service(), joined,
          router.instance());
      done = true;
      switchId = null;
    } catch (Abort e) {
      reason = e.getMessage();
    } catch (SQLException e) {
      reason = watchdog.reason() != null ? watchdog.reason()
          : (abortedByOperator(e) ? "aborted on request while " : "failed while ")
              + router.phase() + ": " + serverMessage(e);
      LOG.debug("cutover {}: switch {} failed", router.service(), switchId, e);
    } catch (RuntimeException e) {
      reason = watchdog.reason() != null ? watchdog.reason()
          : "failed while " + router.phase() + ": " + (e.getMessage() == null ? e.toString() : e.getMessage());
      LOG.debug("cutover {}: switch {} failed", router.service(), switchId, e);
    } finally {
      watchdog.close();
    }
    if (!done) {
      if (reason.isEmpty()) {
        reason = "failed while " + router.phase();
      }
      if (joined == null && !began && !closing) {
        reason = refuse(reason);
      } else if (notReady()) {
        reason = refuseBegun(reason);
      }
      abort(reason);
    }
    Router.closeQuietly(source);
    Router.closeQuietly(target);
    clock.stop();
    router.phase(Router.IDLE);
    return switchId == null ? null : event(reason);
  }

  /**
   * Asks the server to notice within seconds when the client of the switch's session has gone (a
   * link cut without a reset, a host that died): TCP keepalives every second after 5 s of silence,
   * given up after 3, and, from 14, a look at the socket every second while a statement runs. The
   * session holds the leader's lock; without this a silent network kept it, and the source fenced,
   * for the kernel's keepalive time (2 h 11 min by Linux defaults). No effect over a local socket.
   */
  private static void keepAlive(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SELECT set_config('tcp_keepalives_idle', '5', false), set_config('tcp_keepalives_interval', '1', false),"
          + " set_config('tcp_keepalives_count', '3', false)");
      if (c.getMetaData().getDatabaseMajorVersion() >= 14 && c.getAutoCommit()) {
        try {
          s.execute("SET client_connection_check_interval = 1000");
        } catch (SQLException unsupported) {
          // a server built for a platform without the check (not Linux) refuses any value but 0
          LOG.debug("cutover: client_connection_check_interval not set: {}", unsupported.getMessage());
        }
      }
    }
  }

  // ---- 0. check and ready: nothing held yet -------------------------------------------------

  /**
   * Opens the switch's own sessions and checks both databases ({@link SwitchCheck}): a control
   * schema of this driver's version (unless forced), real sessions rather than a pooler's, the
   * application role's table grants of the source on the target too (I5), and every sequence of the
   * source readable there and movable on the target, or the switch could not move it (I6).
   */
  private void check() throws SQLException {
    openSource();
    target = openControl(to);
    phase(Phase.CHECK, to);
    Optional<String> refused = SwitchCheck.run(router, from, to, source, sourceBackend, target);
    if (refused.isPresent()) {
      throw new Abort(refused.get());
    }
    List<String> hidden = Sequences.unreadable(source);
    if (!hidden.isEmpty()) {
      String user = Utils.escapeIdentifier(null, source.getMetaData().getUserName()).toString();
      throw new Abort("role " + user + " may not read sequence(s) " + String.join(", ", hidden) + " on " + from.value()
          + ", so the switch could not move them on " + to.value() + " and their values would be handed out twice; GRANT"
          + " SELECT ON SEQUENCE " + String.join(", ", hidden) + " TO " + user + " on " + from.value());
    }
    List<String> stuck = Sequences.unmovable(source, target);
    if (!stuck.isEmpty()) {
      String user = Utils.escapeIdentifier(null, target.getMetaData().getUserName()).toString();
      throw new Abort("role " + user + " may not move sequence(s) " + String.join(", ", stuck) + " on " + to.value()
          + " (setval takes UPDATE), so after the fence the switch would fail there and their values would be handed out"
          + " twice; GRANT UPDATE ON SEQUENCE " + String.join(", ", stuck) + " TO " + user + " on " + to.value());
    }
    if (router.control()) {
      force = router.settings().force() || Coordination.forced(source, router.service());
    }
  }

  /** Opens {@link #source} and reads its {@link #sourceBackend}, which is that connection's alone. */
  private void openSource() throws SQLException {
    source = openControl(from);
    sourceBackend = Backend.of(source.unwrap(BaseConnection.class));
  }

  /** A connection for the switch's own statements, watched: with timeouts derived from the switch settings. */
  private Connection openControl(Target side) throws SQLException {
    phase(Phase.CONNECT, side);
    Connection c;
    try {
      c = router.endpoint(side).open();
    } catch (SQLException e) {
      throw new Abort("the " + side.value() + " database is unreachable: " + e.getMessage());
    }
    watchdog.watch(c);
    keepAlive(c);
    return c;
  }

  /**
   * While traffic still flows: proves replication delivers, begins (or joins, or verifies the
   * release of) the service's switch, opens as many connections to the target as there are
   * sessions (for a large pool the slowest step, which must not lengthen the pause) and waits until
   * the service's other instances are ready too, so that the gates close together.
   */
  private void ready() throws SQLException, NothingToJoin {
    if (router.control()) {
      if (joined == null) {
        probe();
        switchId = Coordination.begin(source, router.service(), switchId, from, to);
        began = true;
      } else if (caughtUp) {
        Coordination.Verified v = Coordination.verifyRelease(source, router.service(), joined);
        if (!v.ok()) {
          throw new Abort("the release of switch " + joined + " cannot be followed: " + v.problem());
        }
      } else {
        probe();
        Optional<Coordination.Decision> d = Coordination.decision(source, router.service());
        if (d.isEmpty() || !d.get().id().equals(joined) || d.get().state() != SwitchState.DRAINING) {
          throw new NothingToJoin();
        }
        began = true;
      }
      requireSameTarget();
    }
    phase(Phase.PREWARM, to);
    warming = Prewarm.start(router.sessions().size(), () -> router.openApp(to));
    prewarmed = awaitPrewarmed();
    if (router.control() && !caughtUp) {
      phase(Phase.READY, to);
      awaitReadyPeers();
    }
  }

  /**
   * Proves with a probe marker that replication from the source delivers to the target. A flip back
   * without reverse replication would leave the writes made since the last switch behind, so it is
   * refused here, with the remedy, unless forced; the hint to force is left out wherever the
   * replicator carries the way, since forcing would lose writes for certain ({@link
   * WayIn#forcingLosesWrites}).
   */
  private void probe() throws SQLException {
    if (force) {
      return;
    }
    phase(Phase.PROBE, to);
    Duration timeout = router.settings().barrierTimeout();
    String marker = Barrier.write(source);
    boolean arrived;
    try (SwitchWatchdog.Step step = watchdog.step(timeout.plus(STEP_SLACK), target, () -> "the " + to.value()
        + " database did not answer within " + timeout.plus(STEP_SLACK).toMillis() + " ms while probing replication"
        + " (cutover.barrier.timeout), before the gate closed: is the network to it silent?")) {
      arrived = Barrier.await(target, marker, timeout);
    }
    if (!arrived) {
      stopIfClosing();
      Optional<WayIn> way = wayIn();
      throw new Abort("replication from " + from.value() + " to " + to.value() + " is not delivering: a probe"
          + " marker did not arrive within " + timeout.toMillis() + " ms (cutover.barrier.timeout), so the switch"
          + " would lose the writes not yet replicated; " + WayIn.remedy(way, from, to, cameBack())
          + (way.map(WayIn::forcingLosesWrites).orElse(false) ? "" : ", or set cutover.switch.force=true to switch without this guarantee"));
    }
  }

  /**
   * Whether a switch of the service was released before, for the probe's remedy: the target records
   * one that left it (it served, and a flip back left it), or the source one that left it (it serves
   * again). A switch to new is then no first start: old -> new is armed again by the replicator's
   * reverse. A record on the source alone can be overwritten by a refused switch (recorded there,
   * aborted); the target's stays. False where neither side can say.
   */
  private boolean cameBack() {
    for (Connection c : new Connection[] {target, source}) {
      try {
        if (Coordination.decision(c, router.service()).map(d -> d.state() == SwitchState.RELEASED).orElse(false)) {
          return true;
        }
      } catch (SQLException e) {
        LOG.debug("cutover {}: switch {}: cannot read the service's last switch: {}", router.service(), switchId,
            e.getMessage());
      }
    }
    return false;
  }

  /** What carries replication into the target, for the probe's remedy; empty when the control schema cannot say. */
  private Optional<WayIn> wayIn() {
    try {
      return WayIn.read(target, source, to);
    } catch (SQLException e) {
      LOG.debug("cutover {}: switch {}: cannot read what replicates into {}: {}", router.service(), switchId, to.value(),
          e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Waits for the connections opened ahead: the barrier timeout bounds how long none may open,
   * the switch's pre-gate deadline the whole wait.
   */
  private List<Connection> awaitPrewarmed() throws SQLException {
    Duration quiet = router.settings().barrierTimeout();
    try {
      return warming.await(quiet, () -> watchdog.reason() != null);
    } catch (Prewarm.Stalled e) {
      throw new Abort("cannot open connections to " + to.value() + ": " + e.opened() + " of " + e.count()
          + " opened, then none within " + quiet.toMillis() + " ms (cutover.barrier.timeout)");
    } catch (SQLException e) {
      if (watchdog.reason() != null) {
        throw e;
      }
      throw new Abort("cannot open connections to " + to.value() + ": " + e.getMessage()
          + (TOO_MANY_CONNECTIONS.equals(e.getSQLState()) ? "; the " + to.value() + " database refuses more sessions (a"
              + " CONNECTION LIMIT of the role or of the database, or max_connections): before its gate closes each"
              + " instance opens there as many connections as its pool holds, besides the switch's own sessions; raise the"
              + " limit (ALTER ROLE ... CONNECTION LIMIT, ALTER DATABASE ... CONNECTION LIMIT, or max_connections on "
              + to.value() + ") to cover every instance's pool" : ""));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw closed();
    }
  }

  /**
   * Refuses to go on when this instance's target is not the database the switch moves to: the first
   * instance to get ready for the switch records its own target's identity on the source ({@link
   * Coordination#claimTarget}), and each other compares its own. Instances of one service whose
   * URLs for the target differ (a drifted setting, with the source replicating to two databases)
   * would otherwise each complete the same switch onto a different database, none holding the
   * others' writes, the sequences moved on the leader's alone. Checked here, before any gate
   * closes, so that peers refuse the switch at once ({@link #refuseForUnreadyPeers}); the record
   * never changes afterwards, so the leader and the followers need not ask again behind the gate.
   * Skipped where either side cannot say (a control schema from before the record, a switch whose
   * first instance ran an earlier driver).
   */
  private void requireSameTarget() throws SQLException {
    Optional<String> own = Coordination.databaseIdentity(target);
    if (own.isEmpty()) {
      return;
    }
    Optional<String> recorded = Coordination.claimTarget(source, router.service(), switchId, own.get());
    if (recorded.isPresent() && !recorded.get().equals(own.get())) {
      throw new Abort(notTheTarget(router, to, "switch " + switchId + " moves to", recorded.get(), own.get()));
    }
  }

  /**
   * Why an instance must not follow a switch whose target, as recorded on the source ({@code
   * recorded}), is not the database its own URL for {@code to} reaches ({@code own}).
   */
  static String notTheTarget(Router router, Target to, String movesTo, String recorded, String own) {
    String setting = to == Target.NEW ? "cutover.new.url" : "jdbc:cutover: URL";
    return "this instance's " + setting + " is not the database " + movesTo + " (" + recorded + "): it reaches "
        + own + "; every instance of " + router.service() + " must name the same " + to.value() + " database, or each"
        + " writes where the others do not, on a database whose sequences no switch moved: correct " + setting + " on"
        + " the instances that name the wrong one and start them again";
  }

  /**
   * Marks this instance ready and waits, with traffic still flowing, until every live instance of
   * the service is ready too, so that the gates close together and none holds its transactions
   * while a peer is still opening connections or has not seen the flag yet (four pools of 50 had
   * waited up to 158 ms for the slowest). A peer that cannot get ready says why ({@link
   * Coordination#notReady}), and the switch is refused here, before any gate closes, with its
   * reason. Bounded by {@code cutover.drain.timeout}: a live peer that by then neither got ready
   * nor said why (it does not see the flag, or cannot write to the control schema: r21 saw a
   * router left behind with a rotated password) refuses the switch too, before any gate closes,
   * naming it; the gate used to close anyway, hold the application for the drain timeout and abort
   * "did not drain".
   */
  private void awaitReadyPeers() throws SQLException {
    Coordination.ready(source, router.service(), router.member(), switchId);
    Duration timeout = router.settings().drainTimeout();
    List<List<String>> waiting = new ArrayList<>(List.of(List.of()));
    boolean all = Poll.FAST.within(timeout, () -> {
      waiting.set(0, Coordination.unready(source, router.service(), switchId, Heartbeat.INSTANCE_TTL));
      if (waiting.get(0).isEmpty()) {
        return true;
      }
      refuseForUnreadyPeers();
      try {
        stillOn(Coordination.decision(source, router.service()), false);
      } catch (Abort ended) {
        refuseForUnreadyPeers(); // the peer that said why may have ended the switch since the look above
        throw ended;
      }
      return false;
    });
    if (!all) {
      stopIfClosing();
      refuseForUnreadyPeers(); // one that said why at the last moment: its reason is the better one
      List<String> peers = new ArrayList<>(waiting.get(0));
      peers.remove(router.member());
      if (!peers.isEmpty()) {
        peerNotReady = true; // theirs, not this instance's: not recorded as its own reason
        throw new Abort("instances " + peers + " of " + router.service() + " neither got ready for the switch within "
            + timeout.toMillis() + " ms (cutover.drain.timeout) nor said why: do they see the flag, can they reach the "
            + to.value() + " database and log in to it? (cutover-replicator switch-status lists the instances and their heartbeats)");
      }
    }
  }

  /**
   * Aborts, quoting them, when peers said they cannot get ready for this switch ({@link
   * Coordination#notReady}); asked no more once the source's control schema turns out to predate it.
   */
  private void refuseForUnreadyPeers() throws SQLException {
    if (peersCannotSay) {
      return;
    }
    Optional<List<Coordination.NotReady>> peers = Coordination.notReadyPeers(source, router.service(), switchId,
        Heartbeat.INSTANCE_TTL);
    if (peers.isEmpty()) {
      peersCannotSay = true;
      return;
    }
    List<String> said = new ArrayList<>();
    for (Coordination.NotReady peer : peers.get()) {
      if (!peer.instance().equals(router.member())) {
        said.add("instance " + peer.instance() + " cannot get ready: " + peer.reason());
      }
    }
    if (!said.isEmpty()) {
      peerNotReady = true;
      throw new Abort(String.join("; ", said));
    }
  }

  // ---- 1. gate --------------------------------------------------------------------------

  /**
   * Publishes a closed gate: a transaction that wants to begin waits from here on. From now the
   * switch has {@code cutover.gate.max-pause}, less the time to abort, to release or give up.
   */
  private void closeGate() {
    phase(Phase.DRAIN, from);
    gateClosed = System.nanoTime();
    Duration held = heldAtMost().plus(abortMargin().dividedBy(2));
    watchdog.deadline(held, () -> "not released within " + held.toMillis() + " ms of closing its gate"
        + " (cutover.gate.max-pause less the time to abort), while " + router.phase());
    router.route(new Route(router.route().serving(), gate));
  }

  // ---- 2. drain -------------------------------------------------------------------------

  /**
   * Waits until no session has a transaction in flight; after the drain timeout, rolls the
   * stragglers back and waits until their server processes are gone, so none can still commit.
   * Then takes on the target what sessions hold that no one else may take there before they
   * arrive (advisory locks, LISTEN channels).
   */
  private void drain() throws SQLException {
    Duration timeout = router.settings().drainTimeout();
    if (!DRAIN_POLL.until(gateClosed + timeout.toNanos(), () -> !anyBusy())) {
      stopIfClosing();
      rollBackStragglers(timeout);
    }
    phase(Phase.HANDOVER, to);
    router.handover().reserve(source, sourceBackend, prewarmed, from, to, handoverNanos(), watchdog);
  }

  private boolean anyBusy() {
    for (Session s : router.sessions()) {
      if (s.activity() == Session.BUSY) {
        return true;
      }
    }
    return false;
  }

  /**
   * Rolls back the stragglers' transactions and waits until their processes are gone, terminating
   * each that is still its straggler's (the same id and start, on the server the switch reaches).
   * One whose start the switch's role cannot see counts as alive until its id is gone, and the
   * switch aborts if it stays: the switch's checks refuse such a switch before its gate ({@link
   * SwitchCheck#unseenSessions}), so this is the backstop for a session that logged in since.
   */
  private void rollBackStragglers(Duration timeout) throws SQLException {
    String why = "cutover: transaction rolled back: it was still open " + timeout.toMillis()
        + " ms after the switch from " + from.value() + " to " + to.value() + " began (cutover.drain.timeout); retry it";
    Handover.RolledBack rolled = router.handover().rollBack(why, handoverNanos());
    rolledBack = rolled.count(); // rolled back whether or not the switch goes on
    List<Backend> backends = rolled.backends();
    if (backends.isEmpty()) {
      return;
    }
    refuseElsewhere(backends);
    List<Integer> pids = backends.stream().map(Backend::pid).toList();
    Array ids = source.createArrayOf("int4", pids.toArray());
    Array starts = source.createArrayOf("text", backends.stream().map(Backend::started).toArray());
    // Only the stragglers' own processes: the same id and start, on the server checked above.
    String theirs = " FROM pg_stat_activity a, unnest(?::int4[], ?::text[]) s(pid, started) WHERE a.pid = s.pid AND ";
    // One whose start this role cannot see may be the straggler still: alive until its id is gone.
    try (PreparedStatement kill = source.prepareStatement("SELECT pg_terminate_backend(a.pid)" + theirs
        + Backend.START + " = s.started");
        PreparedStatement gone = source.prepareStatement("SELECT count(*) = 0" + theirs + "(" + Backend.START
            + " = s.started OR a.backend_start IS NULL)")) {
      for (PreparedStatement ps : List.of(kill, gone)) {
        ps.setArray(1, ids);
        ps.setArray(2, starts);
      }
      kill.execute();
      if (!BACKEND_POLL.within(BACKEND_EXIT, () -> bool(gone))) {
        stopIfClosing();
        Backend.Hidden hidden = Backend.hidden(source, backends);
        throw new Abort("rolled-back transactions on " + from.value() + " (backends " + pids
            + ") did not end within " + BACKEND_EXIT.toSeconds() + " s"
            + (hidden.pids().isEmpty() ? "" : "; the switch terminated none of backends " + hidden.pids()
                + " and cannot see whether they ended: " + unseen(hidden, from)));
      }
    }
  }

  /**
   * Why the switch cannot tell {@code hidden}'s processes on {@code side} from another session's
   * (their start is not shown to its role), and the remedy: a grant, or the application's role.
   */
  static String unseen(Backend.Hidden hidden, Target side) throws SQLException {
    String role = Utils.escapeIdentifier(null, hidden.role()).toString();
    String url = "cutover." + side.value() + ".direct-url";
    return "the switch's connection to " + side.value() + " logs in as role " + role + ", to which pg_stat_activity"
        + " shows no start for another role's sessions, so it cannot tell their processes from a later session with"
        + " the same process id. " + (hidden.grantable() ? "GRANT pg_read_all_stats TO " + role + " on the "
            + side.value() + " database (or pg_monitor), or have" : "Have") + " the switch log in as the application's"
        + " role (the user " + url + " names: the application's, or none)"
        + (hidden.grantable() ? "" : " or as a superuser: before PostgreSQL 10 no grant shows it");
  }

  /**
   * Aborts when a straggler ran on another server than the one the switch's connection to the
   * source reaches (the source failed over, or a load balancer or DNS moved its URL since the
   * session logged in): its process id there may be anyone's session, which must not be
   * terminated, and whether it ended cannot be seen from here. Nothing is terminated then.
   */
  private void refuseElsewhere(List<Backend> backends) throws SQLException {
    Backend here = sourceBackend;
    List<Backend> elsewhere = backends.stream().filter(b -> !b.sameServer(here)).toList();
    if (!elsewhere.isEmpty()) {
      throw new Abort("rolled-back transactions on " + from.value() + " ran on another server than the one the switch's"
          + " connection to " + from.value() + " reaches, " + here.server() + " (server up since " + here.serverStarted()
          + " UTC): " + elsewhere + "; the " + from.value() + " database failed over, or a load balancer or DNS moved its"
          + " URL (" + urlSettings(from) + ") since they logged in. The switch terminates nothing there (those process"
          + " ids may be other sessions') and cannot see whether they ended; the sessions reconnect where the URL leads"
          + " and the next switch tries again");
    }
  }

  /** The settings that say where the application and the switch reach {@code side}. */
  static String urlSettings(Target side) {
    return (side == Target.OLD ? "the JDBC URL" : "cutover.new.url") + ", and cutover." + side.value()
        + ".direct-url where set";
  }

  /** How long a session may take to give up its transaction, or its channels, to the switch. */
  private long handoverNanos() {
    return Math.min(router.settings().drainTimeout().toNanos(), BACKEND_EXIT.toNanos());
  }

  // ---- 3. coordinate ----------------------------------------------------------------------

  /** What coordination decided for this instance: to lead, or to follow a release it verified. */
  private record Role(boolean leader, String releasedMarker, long targetEpoch) {
    static final Role LEADER = new Role(true, null, 0);
  }

  /**
   * Says this instance drained, then waits for a decision on the switch it can verify: the lock,
   * once every live instance has drained (then this instance leads), or a release whose fence and
   * marker it checked on the source. Bounded by the gate's maximum pause.
   */
  private Role coordinate() throws SQLException {
    phase(Phase.COORDINATE, from);
    Coordination.drained(source, router.service(), router.member(), switchId);
    long deadline = gateClosed + heldAtMost().toNanos();
    String[] distrust = {null};
    long[] askedAt = {System.nanoTime()};
    Role[] role = {null};
    Poll.FAST.until(deadline, () -> {
      role[0] = decide(askedAt, distrust);
      return role[0] != null;
    });
    if (role[0] == null) {
      stopIfClosing();
      throw new Abort("no decision this instance could verify from the leader of " + router.service() + " within "
          + heldAtMost().toMillis() + " ms (cutover.gate.max-pause less the time to abort)"
          + (distrust[0] == null ? "" : "; a release was published but " + distrust[0]));
    }
    return role[0];
  }

  /** One look at the switch: a verified release to follow, the lead, or nothing yet ({@code null}). */
  private Role decide(long[] askedAt, String[] distrust) throws SQLException {
    if (!mayLead() && System.nanoTime() - askedAt[0] > ASKING_CHECK_NANOS) {
      // Joined because a peer's flag asked: once no live instance's does, there is nothing to wait for.
      if (!Coordination.asking(source, router.service(), to, Heartbeat.INSTANCE_TTL)) {
        throw new Abort("no live instance's flag asks for " + to.value() + " any more; this instance joined the"
            + " switch because a peer's did");
      }
      askedAt[0] = System.nanoTime();
    }
    Coordination.Decision d = stillOn(Coordination.decision(source, router.service()), false);
    if (d.released()) {
      Coordination.Verified v = Coordination.verifyRelease(source, router.service(), switchId);
      if (v.ok()) {
        return new Role(false, v.marker(), v.targetEpoch());
      }
      if (!v.problem().equals(distrust[0])) {
        distrust[0] = v.problem();
        LOG.warn("cutover {}: switch {}: a release was published that this instance cannot verify ({}); not following it",
            router.service(), switchId, distrust[0]);
      }
      return null;
    }
    if (!mayLead() || !Coordination.tryLead(source, router.service(), switchId)) {
      return null;
    }
    leader = true;
    leaderPid = source.unwrap(PGConnection.class).getBackendPID();
    leaderStart = sourceBackend.started();
    if (stillOn(Coordination.decision(source, router.service()), true).released()) {
      leader = false; // released while this instance took the lock: follow that release
      Coordination.resign(source, router.service(), switchId);
      return null;
    }
    Coordination.leading(source, router.service(), switchId, router.member());
    awaitDrainedPeers();
    return Role.LEADER;
  }

  /**
   * Whether this instance may lead: its own flag asked for this switch when it began it, or asks
   * now. One that joined because a peer's flag asked only follows, so that control-table data
   * alone (a peer's word) never fences a database.
   */
  private boolean mayLead() {
    return joined == null || follower.asks(to);
  }

  /**
   * The service's latest switch, if it is still this one and not aborted; else the abort to end
   * this one with. A leader also stops at an operator's request to abort.
   */
  private Coordination.Decision stillOn(Optional<Coordination.Decision> decision, boolean leading) throws SQLException {
    if (decision.isEmpty() || !decision.get().id().equals(switchId)) {
      endedElsewhere = true;
      throw new Abort("switch " + switchId + " was superseded by a later flip");
    }
    if (decision.get().aborted()) {
      endedElsewhere = true;
      throw new Abort(decision.get().reason());
    }
    if (leading && decision.get().abortRequested() != null) {
      endedElsewhere = true;
      throw new Abort("aborted on request: " + decision.get().abortRequested());
    }
    return decision.get();
  }

  /** As leader: waits until every live instance of the service has drained for this switch. */
  private void awaitDrainedPeers() throws SQLException {
    long deadline = gateClosed + router.settings().drainTimeout().toNanos() + PEER_SLACK.toNanos();
    long[] checked = {System.nanoTime()};
    List<List<String>> waiting = new ArrayList<>(List.of(List.of()));
    boolean all = Poll.FAST.until(deadline, () -> {
      waiting.set(0, Coordination.undrained(source, router.service(), switchId, Heartbeat.INSTANCE_TTL));
      if (waiting.get(0).isEmpty()) {
        return true;
      }
      if (System.nanoTime() - checked[0] > ABORT_CHECK.toNanos()) {
        refuseForUnreadyPeers(); // one that gave up after this instance's wait for ready peers ran out
        abortRequested();
        checked[0] = System.nanoTime();
      }
      return false;
    });
    if (!all) {
      stopIfClosing();
      throw new Abort("instances " + waiting.get(0) + " of " + router.service() + " did not drain within "
          + TimeUnit.NANOSECONDS.toMillis(deadline - gateClosed) + " ms: do they see the flag?");
    }
  }

  /**
   * Throws the abort an operator asked for; a source that cannot answer is left to the next step
   * (the release), which needs it too.
   */
  private void abortRequested() throws SQLException {
    Optional<Coordination.Decision> decision;
    try {
      decision = Coordination.decision(source, router.service());
    } catch (SQLException e) {
      LOG.debug("cutover {}: switch {}: cannot look for an abort request: {}", router.service(), switchId,
          e.getMessage());
      return;
    }
    stillOn(decision, true);
  }

  /**
   * The leader's steps, once every instance has drained: {@link #fence}, {@link #barrier}, {@link
   * #moveSequences}, then the release published and the target opened. Each is idempotent: if this
   * instance's session (and with it the lock) is lost on the way, whoever leads next, this instance
   * on a fresh session included, repeats them, or follows the release and opens the target.
   *
   * <p>The release comes before the target opens, never after: an abort (which lowers the source's
   * fence unless the switch was released) can then never leave both databases open.
   */
  private void lead() throws SQLException {
    try {
      fence();
      if (!force) {
        refuseUncarried(CarriedTables.fromSource(source, from, to));
      }
      barrier();
      if (!force) {
        refuseUncarried(CarriedTables.intoTarget(source, target, from, to));
      }
      moveSequences();
      long targetEpoch = publishRelease();
      openTarget(targetEpoch);
    } catch (SQLException e) {
      if (e instanceof Abort || alive(source) || watchdog.reason() != null) {
        throw e;
      }
      // This instance led and lost its session, and with it the lock: another instance may lead
      // now and raise the fence again. Never touch the fence from the lost session's side: start over.
      LOG.warn("cutover {}: switch {}: the leader's session was lost; following whoever leads now",
          router.service(), switchId);
      leader = false;
      fenceAttempted = false;
      Router.closeQuietly(source);
      openSource();
      Role role = coordinate();
      if (role.leader()) {
        lead();
      } else {
        follow(role);
      }
    }
  }

  // ---- 3-5. the leader's steps, in order --------------------------------------------------

  /**
   * Raises the source's fence (guarding tables created since the install), so that no session of
   * any role can write there any more, and waits for writers that passed the fence check before it
   * was raised.
   */
  private void fence() throws SQLException {
    phase(Phase.FENCE, from);
    fenceAttempted = true;
    Duration lockTimeout = router.settings().drainTimeout();
    try (SwitchWatchdog.Step step = watchdog.step(lockTimeout.plus(STEP_SLACK), source, () -> "the " + from.value()
        + " database did not finish raising its fence within " + lockTimeout.plus(STEP_SLACK).toMillis() + " ms")) {
      Fence.raise(source, router.service(), switchId, router.member(), lockTimeout);
    } catch (SQLException e) {
      if (watchdog.reason() == null && alive(source)) {
        // Not tried again, as no abort after a gate closed is: each try would hold the application at
        // the gate until the cause is mended. So the reason says how to switch once it is.
        throw new Abort("cannot fence " + from.value() + ": " + serverMessage(e) + preparedInTheWay()
            + "; this switch is not tried again (its gate had closed): once that is mended, set the flag back to "
            + from.value() + " and then to " + to.value() + " again");
      }
      throw e;
    }
  }

  /** "; " and the prepared transactions the fence waited for, if any (see {@link SwitchCheck#preparedTransactions}). */
  private String preparedInTheWay() {
    try {
      String prepared = SwitchCheck.preparedTransactions(source, from);
      return prepared == null ? "" : "; " + prepared;
    } catch (SQLException unknown) {
      return ""; // the fence's own error is the reason
    }
  }

  /**
   * Aborts with {@code missing} ({@link CarriedTables}), found under the fence, which stops every
   * write to the tables it guards while the application waits at the gate: a table created, or one
   * whose capture was disabled, since the check before the gate would lose its writes.
   */
  private static void refuseUncarried(String missing) throws SQLException {
    if (missing != null) {
      throw new Abort(missing);
    }
  }

  /** Writes the switch's barrier marker on the source, under the fence, and waits until the target has it. */
  private void barrier() throws SQLException {
    phase(Phase.BARRIER, to);
    marker = Barrier.writeForSwitch(source, router.service(), switchId);
    if (!force) {
      awaitMarker(marker, this::abortRequested);
    }
  }

  /** Moves every sequence on the target to at least the source's value plus the margin (never backwards). */
  private void moveSequences() throws SQLException {
    phase(Phase.SEQUENCES, to);
    Sequences.Result moved = Sequences.advance(source, target, router.settings().sequenceMargin());
    sequencesMoved = moved.moved();
    if (!moved.missing().isEmpty()) {
      // Refused before the gate unless forced (SwitchCheck.missingSequences): forced, or created since.
      LOG.warn("cutover {}: sequences missing on {}: {} (the application's nextval on them fails there until each is"
          + " created: `cutover-replicator status` prints the statement)", router.service(), to.value(), moved.missing());
    }
    if (!moved.nearLimit().isEmpty()) {
      LOG.warn("cutover {}: sequences with fewer than {} values left before their bound, moved on {} only to {}'s value: {}"
          + " (raise their MAXVALUE, or MINVALUE for a descending one, before they run out)", router.service(),
          router.settings().sequenceMargin(), to.value(), from.value(), moved.nearLimit());
    }
  }

  /**
   * Once the switch is released, makes sure the target is open before this instance routes there:
   * done once its fence epoch has moved past the one the release recorded (every open moves it, so
   * a follower sees this without a lock); otherwise it takes the switch's lock on the target
   * (waiting while the leader or another follower holds it, at most the barrier timeout) and opens
   * it: creates the replication slots the replicator requested, then lowers its fence, for a flip
   * back. So the slots exist before this instance's first write on the target, and a leader that
   * died after its release leaves no database fenced for good.
   */
  private void openTarget(long targetEpoch) throws SQLException {
    phase(Phase.RELEASE, to);
    Duration timeout = router.settings().barrierTimeout();
    Optional<TargetOpening> opening;
    try (SwitchWatchdog.Step step = watchdog.step(timeout.plus(STEP_SLACK), target, () -> "the " + to.value()
        + " database did not answer within " + timeout.plus(STEP_SLACK).toMillis() + " ms while the switch opened it")) {
      opening = Poll.FAST.answer(timeout, () -> {
        long epoch = Coordination.targetEpoch(target, router.service());
        if (epoch != targetEpoch) {
          return new TargetOpening(epoch, false); // opened, or fenced again since (below)
        }
        Optional<Coordination.Opened> opened = Coordination.openTarget(target, router.service(), switchId, targetEpoch,
            slotWait(timeout));
        if (opened.isEmpty()) {
          return null;
        }
        if (opened.get().missedSlots() != null) {
          wayBackMissed = "lossless way back (replication slot " + opened.get().missedSlots() + " not created on " + to.value()
              + ": " + opened.get().missedBecause() + ")";
          LOG.warn("cutover {}: switch {}: opened the {} database without the way back's replication slot {}: {}; the"
              + " replicator's reverse will refuse to arm it without --accept-missing-writes", router.service(), switchId,
              to.value(), opened.get().missedSlots(), opened.get().missedBecause());
        }
        return new TargetOpening(epoch, true);
      });
      if (opening.isPresent() && opening.get().fencedAgain()) {
        throw new Abort("switch " + switchId + " was released, but " + to.value() + " was fenced again since (fence epoch "
            + opening.get().epoch() + ", released with " + targetEpoch + "): a later switch left it");
      }
    } catch (SQLException e) {
      if (watchdog.reason() == null && alive(target)) {
        throw new Abort("switch " + switchId + " was released but cannot open " + to.value() + ": " + serverMessage(e));
      }
      throw e;
    }
    if (opening.isEmpty()) {
      stopIfClosing();
      throw new Abort("switch " + switchId + " was released but its lock on " + to.value() + " stayed taken for "
          + timeout.toMillis() + " ms (cutover.barrier.timeout)");
    }
    if (opening.get().locked()) {
      Coordination.resign(target, router.service(), switchId); // the next follower need not wait for this session
    }
  }

  /**
   * How long the making of the way back's slot may wait for each transaction on the target's server
   * before the switch opens the target without it: a fraction of the step's budget, so that a
   * transaction left open in another database cannot keep the application held (the switch checked
   * before its gate closed that none was left open then, see {@link SwitchCheck}).
   */
  private static Duration slotWait(Duration stepTimeout) {
    Duration quarter = stepTimeout.dividedBy(4);
    return quarter.compareTo(SLOT_WAIT) < 0 ? quarter : SLOT_WAIT;
  }

  /**
   * What {@link #openTarget} found: the target's fence epoch, and whether this instance took the
   * switch's lock and opened it (else another instance had moved the epoch on).
   */
  private record TargetOpening(long epoch, boolean locked) {
    /** An odd epoch another instance left: fenced by a later switch, not opened. */
    boolean fencedAgain() {
      return !locked && epoch % 2 == 1;
    }
  }

  /**
   * Publishes the release in the source's control schema, which refuses it without the fence and
   * the marker, with the target's fence epoch as it is now.
   *
   * @return that epoch
   */
  private long publishRelease() throws SQLException {
    long targetEpoch = Coordination.targetEpoch(target, router.service());
    Coordination.release(source, router.service(), switchId, marker, router.member(), targetEpoch);
    return targetEpoch;
  }

  // ---- 4, follower -------------------------------------------------------------------------

  /**
   * Follows a release verified on the source (the fence the switch raised still stands, the
   * marker was written under it): the marker must be visible on the target too, and the target
   * opened, by the leader or, if it died after its release, by this instance.
   */
  private void follow(Role released) throws SQLException {
    phase(Phase.BARRIER, to);
    if (!force) {
      awaitMarker(released.releasedMarker(), () -> { });
    }
    openTarget(released.targetEpoch());
  }

  private void awaitMarker(String expected, Barrier.Check stillWanted) throws SQLException {
    Duration timeout = router.settings().barrierTimeout();
    boolean arrived;
    try (SwitchWatchdog.Step step = watchdog.step(timeout.plus(STEP_SLACK), target, () -> "the " + to.value()
        + " database did not answer within " + timeout.plus(STEP_SLACK).toMillis() + " ms while the switch waited for"
        + " the barrier marker (cutover.barrier.timeout): is the network to it silent?")) {
      arrived = Barrier.await(target, expected, timeout, stillWanted, ABORT_CHECK);
    }
    if (!arrived) {
      stopIfClosing();
      throw new Abort("the barrier marker written on " + from.value() + " did not reach " + to.value()
          + " within " + timeout.toMillis() + " ms (cutover.barrier.timeout): is replication running and"
          + " is cutover.barrier published?");
    }
  }

  // ---- 6. release ---------------------------------------------------------------------------

  /**
   * Makes {@code serving} the side that serves: reservations for the other side are let go, the
   * connections opened ahead are handed out to sessions as they begin their next transaction (a
   * session with a reservation gets its own), and the gate opens. An abort releases onto the source
   * with nothing opened ahead.
   */
  private void release(Target serving, List<Connection> opened) {
    phase(Phase.RELEASE, serving);
    router.handover().discard(serving);
    router.warm().replace(serving, opened);
    router.route(new Route(serving, null));
    gate.open();
  }

  // ---- abort --------------------------------------------------------------------------------

  /**
   * A switch of this instance's own flag refused before it began (its checks, its probe, its
   * connections): nothing was held, no peer joined, and the {@link FlagFollower} tries it again
   * after {@code cutover.switch.retry-interval} while the flag still asks for it, which the reason
   * says. It is recorded as the service's last switch on the source, aborted, so that the operator
   * view ({@code switch-status}) shows it; a source that cannot take it leaves it to the log.
   *
   * @return the reason with the retry
   */
  private String refuse(String reason) {
    String withRetry = withRetry(reason);
    if (router.control() && source != null) {
      try {
        Coordination.refuse(source, router.service(), switchId, from, to, withRetry);
      } catch (SQLException e) {
        LOG.debug("cutover {}: switch {}: refusal not recorded on {}: {}", router.service(), switchId, from.value(),
            e.getMessage());
      }
    }
    return withRetry;
  }

  /** Marks the switch refused ({@link #refused()}: the follower tries it again) and says so in its reason. */
  private String withRetry(String reason) {
    refused = true;
    return reason + "; retrying every " + every(router.settings().retryInterval()) + " while the flag asks for "
        + to.value() + " (cutover.switch.retry-interval)";
  }

  /**
   * Whether this instance could not get ready for the service's switch, which it began or joined,
   * before any gate of its closed: its own checks, probe or connections to the target failed, or a
   * peer said its did ({@link #refuseForUnreadyPeers}); not when another instance or an operator
   * ended the switch, nor when the router closes. An instance that heartbeats on the source without
   * having found the control schema on the target (new did not answer when it started) says so
   * too, rather than leave its peers waiting out the drain timeout while it tries every beat.
   */
  private boolean notReady() {
    return (router.control() || router.beats()) && source != null && !caughtUp && !closing && !endedElsewhere
        && gateClosed == 0 && !leader && !fenceAttempted && (began || joined != null);
  }

  /**
   * A switch of the service that this instance began or joined, refused before any gate closed
   * ({@link #notReady}): unless a peer's word was the reason, it is recorded in this instance's
   * row ({@link Coordination#notReady}, URLs masked) so that peers waiting for it refuse at once,
   * quoting it, rather than close their gates for a switch that cannot complete; one it began ends
   * in the control schema, nothing raised, and is tried again after {@code
   * cutover.switch.retry-interval} while the flag asks for it, as a refusal before it began is. A
   * joiner leaves that to the instances whose flags ask.
   *
   * @return the reason, with the retry where there is one
   */
  private String refuseBegun(String reason) {
    if (!peerNotReady) {
      try {
        Coordination.notReady(source, router.service(), router.member(), switchId, Secrets.maskUrl(reason));
      } catch (SQLException e) {
        LOG.debug("cutover {}: switch {}: why this instance is not ready was not recorded on {}: {}", router.service(),
            switchId, from.value(), e.getMessage());
      }
    }
    if (joined != null) {
      return reason;
    }
    String withRetry = withRetry(reason);
    end(withRetry);
    return withRetry;
  }

  /** {@code 10 s}, or {@code 500 ms} for an interval that is no whole number of seconds. */
  static String every(Duration interval) {
    return interval.toMillis() % 1000 == 0 ? interval.toSeconds() + " s" : interval.toMillis() + " ms";
  }

  /** Whether the switch ended refused before any gate closed, to be tried again; read by the follower after {@link #run}. */
  boolean refused() {
    return refused;
  }

  /**
   * Leaves traffic where it was. An instance that led (or that gives up on a switch nobody leads
   * any more) ends the switch in the control schema, which lowers the fence the switch raised
   * unless it was released meanwhile; then this instance opens its gate on the source.
   */
  private void abort(String reason) {
    if (router.control() && (leader || fenceAttempted || gateClosed != 0)) {
      end(reason);
    }
    if (warming != null) {
      warming.discard();
    }
    release(from, List.of());
  }

  /**
   * Ends the switch in the control schema of the source: through the switch's own connection when
   * it still works, else through a fresh one, after ending this instance's earlier session (a
   * silent network can keep it, and the lock it holds, alive on the server). The server refuses
   * while another instance leads the switch: that instance decides.
   */
  private void end(String reason) {
    try {
      if (alive(source)) {
        try {
          end(source, reason, false);
          return;
        } catch (SQLException e) {
          if (e.getSQLState() == null || !e.getSQLState().startsWith("08")) {
            throw e;
          }
        }
      }
      try (Connection c = router.endpoint(from).open()) {
        end(c, reason, true);
      }
    } catch (SQLException e) {
      if (leader || fenceAttempted) {
        LOG.error("cutover {}: switch {} aborted but the fence on {} could not be lowered: {}; lower it as the installer"
            + " with SELECT cutover.lower_fence()", router.service(), switchId, from.value(), e.getMessage());
      } else {
        LOG.debug("cutover {}: switch {}: not ended here: {}", router.service(), switchId, e.getMessage());
      }
    }
  }

  private void end(Connection c, String reason, boolean fresh) throws SQLException {
    if (fresh) {
      if (leaderPid > 0 && leaderStart != null) {
        endSession(c, leaderPid, leaderStart);
      }
      Coordination.tryLead(c, router.service(), switchId);
    }
    Coordination.Ended ended;
    try {
      ended = Coordination.abort(c, router.service(), switchId, reason);
    } catch (SQLException e) {
      if (!INSUFFICIENT_PRIVILEGE.equals(e.getSQLState()) || !endStalledLeader(c)) {
        throw e;
      }
      ended = Coordination.abort(c, router.service(), switchId, reason);
    }
    switch (ended) {
      case RELEASED -> LOG.error("cutover {}: switch {} was released although this instance gave up on it ({}); it"
          + " stays on {} until it catches up with the release", router.service(), switchId, reason, from.value());
      case MISSING -> LOG.error("cutover {}: switch {} aborted ({}), but the {} database records no switch of the"
          + " service (a record lost in a crash under a control schema installed before switch records were durable,"
          + " or deleted): its fence was left as it is ({}); traffic stays on {}; if no instance of {} serves {},"
          + " lower it as the installer with SELECT cutover.lower_fence(), and install the control schema again"
          + " (cutover-replicator start, ControlSchema.install) to make the records durable", router.service(),
          switchId, reason, from.value(), Fence.isRaised(c) ? "raised: writes there fail" : "not raised", from.value(),
          router.service(), to.value());
      case ABORTED, SUPERSEDED -> { }
    }
  }

  /**
   * When this instance gives up on a switch whose leader is another instance's session that stalled
   * behind its fence ({@link OperatorControl#endStalledLeader}: the switch is not released, the
   * leader's instance no longer heartbeats): ends that session, so that its lock, which no step of
   * the switch would ever free, does not keep the source fenced, and waits until the lock is free.
   * Only once this instance's gate has closed and its own deadline passed. The release is atomic in
   * the leader's session, which had not committed it: ending it cannot split writes, and a leader
   * that comes back finds its session gone and the switch aborted ({@link #lead}).
   *
   * @return whether a stalled leader's session was ended and the abort may be tried again
   */
  private boolean endStalledLeader(Connection c) throws SQLException {
    if (gateClosed == 0) {
      return false;
    }
    Optional<OperatorControl.StalledLeader> stalled;
    try {
      stalled = OperatorControl.endStalledLeader(c, router.service());
    } catch (SQLException e) {
      if (!INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
        throw e;
      }
      OperatorControl.StalledLeader s = OperatorControl.stalledLeader(c, router.service()).orElse(null);
      if (s != null) {
        LOG.error("cutover {}: switch {}: its leader, {}, stalled behind the fence on {}, and this instance's role may"
            + " not end its session: {}", router.service(), switchId, s.describe(), from.value(), s.remedy(router.service()));
      }
      return false;
    }
    if (stalled.isEmpty() || !stalled.get().switchId().equals(switchId)) {
      return false;
    }
    LOG.warn("cutover {}: switch {}: its leader, {}, stalled behind the fence on {}; its session was ended so that"
        + " the switch can be aborted and the fence lowered", router.service(), switchId, stalled.get().describe(),
        from.value());
    int pid = stalled.get().pid();
    try (PreparedStatement holder = c.prepareStatement("SELECT cutover.switch_leader_pid(?) IS DISTINCT FROM ?")) {
      holder.setString(1, router.service());
      holder.setInt(2, pid);
      BACKEND_POLL.within(BACKEND_EXIT, () -> bool(holder));
    }
    Coordination.tryLead(c, router.service(), switchId);
    return true;
  }

  /**
   * Terminates this instance's own earlier backend, only if the backend with that pid is still the
   * one that started then (after a long pause the pid may belong to another session since), and
   * waits (briefly) until it is gone.
   */
  private static void endSession(Connection c, int pid, String startedAt) throws SQLException {
    String same = " FROM pg_stat_activity a WHERE a.pid = ? AND " + Backend.START + " = ?";
    try (PreparedStatement kill = c.prepareStatement("SELECT pg_terminate_backend(a.pid)" + same);
        PreparedStatement gone = c.prepareStatement("SELECT NOT EXISTS (SELECT 1" + same + ")")) {
      kill.setInt(1, pid);
      kill.setString(2, startedAt);
      kill.execute();
      gone.setInt(1, pid);
      gone.setString(2, startedAt);
      BACKEND_POLL.within(BACKEND_EXIT, () -> bool(gone));
    }
  }

  // ---- bounds and helpers -----------------------------------------------------------------

  /**
   * Aborts the switch when a wait ended because its thread was interrupted: the router is closing
   * ({@link SwitchRunner#close}), and that, not a timeout or a drain that ran out, is why. The
   * switch ends there, as any abort does, and is not tried again.
   */
  private void stopIfClosing() throws Abort {
    if (Thread.currentThread().isInterrupted()) {
      throw closed();
    }
  }

  /** The abort of a switch whose router is closing; noted, so that no retry follows. */
  private Abort closed() {
    closing = true;
    return new Abort("the router closed (CutoverDriver.shutdown, or the last data source and connection using it"
        + " closed) while " + router.phase() + "; the switch ends there and is not tried again");
  }

  /**
   * How long the gate may stay closed before the switch gives up: {@code cutover.gate.max-pause}
   * less a margin to abort in, so that the gate opens before a transaction that arrived at it as it
   * closed has waited the maximum pause (it would get 40001).
   */
  private Duration heldAtMost() {
    return router.settings().gateMaxPause().minus(abortMargin());
  }

  /** {@link #ABORT_MARGIN}, or a quarter of a shorter maximum pause; the watchdog fires half-way into it. */
  private Duration abortMargin() {
    Duration quarter = router.settings().gateMaxPause().dividedBy(4);
    return quarter.compareTo(ABORT_MARGIN) < 0 ? quarter : ABORT_MARGIN;
  }

  /**
   * What the steps before the gate may take at most: two connections, the probe, opening the
   * target's connections and waiting for the peers to be ready, each bounded by its own timeout, and
   * the checks' two waits of up to the drain timeout (prepared transactions on the source, the
   * transactions the way back's slot would wait for on the target).
   */
  private Duration preGateBudget() {
    Duration barrier = router.settings().barrierTimeout();
    return barrier.multipliedBy(4).plus(router.settings().drainTimeout().multipliedBy(2)).plus(STEP_SLACK.multipliedBy(4));
  }

  /** Enters {@code phase}: its time starts, and the instance publishes it (heartbeat, MBean). */
  private void phase(Phase phase, Target side) {
    clock.enter(phase);
    router.phase(phase.describe(side));
  }

  /**
   * Whether the source session, which holds the leader's lock, is still there. A failure elsewhere
   * (the target dying, a statement failing) leaves this instance the leader, responsible for the
   * fence it raised.
   */
  private static boolean alive(Connection c) {
    try {
      return c != null && c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  private static boolean bool(PreparedStatement query) throws SQLException {
    try (ResultSet rs = query.executeQuery()) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  /** What PostgreSQL said, without PgJDBC's "ERROR:" and context lines (the hint stays: it holds the remedy). */
  /**
   * Whether {@code e} is the control schema's refusal of a step of a switch an operator asked to
   * abort: 57014 with a message of the control schema's. PostgreSQL's own 57014 (another session's
   * {@code pg_cancel_backend}, a timeout) is no operator's request, and is reported as the failure
   * it is.
   */
  private static boolean abortedByOperator(SQLException e) {
    return OPERATOR_ABORT.equals(e.getSQLState()) && serverMessage(e).startsWith("cutover: ");
  }

  private static String serverMessage(SQLException e) {
    if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
      ServerErrorMessage m = p.getServerErrorMessage();
      return m.getMessage() + (m.getHint() == null ? "" : " (" + m.getHint() + ")");
    }
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  private SwitchEvent event(String reason) {
    Histogram waits = gate.waits();
    boolean any = waits.getTotalCount() > 0;
    SwitchEvent.Builder b = SwitchEvent.builder()
        .instance(router.service(), router.instance())
        .switchOf(switchId, from, to)
        .leader(leader)
        .gateClosed(gateClosed != 0)
        .gateWaits(waits.getTotalCount(), Duration.ofNanos(any ? waits.getMaxValue() : 0),
            Duration.ofNanos(any ? waits.getValueAtPercentile(99) : 0))
        // Gate closed to gate opened; a switch that ended before it closed took its whole run, which a 0 hid.
        .total(Duration.ofNanos(System.nanoTime() - (gateClosed == 0 ? started : gateClosed)))
        .rolledBack(rolledBack)
        .sequencesMoved(sequencesMoved)
        .prewarmed(reason.isEmpty() ? prewarmed.size() : 0)
        .notGuaranteed(wayBackMissed == null ? router.notGuaranteed(force)
            : Stream.concat(router.notGuaranteed(force).stream(), Stream.of(wayBackMissed)).toList())
        .at(Instant.now());
    clock.timings().forEach(b::timing);
    return (reason.isEmpty() ? b.completed() : b.aborted(reason)).build();
  }
}
