package dev.cutover.driver.internal.switching;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.flags.FlagListener;
import dev.cutover.flags.NoFlag;
import dev.cutover.flags.RoutingFlag;
import dev.cutover.flags.Target;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a router switches to, and when: it follows its own flag once the flag has delivered a value
 * (a default is no decision), joins a switch its peers began when a live peer's flag asks for it,
 * and catches up with a switch released while it stayed behind. Every decision runs on the
 * {@link SwitchRunner}'s thread.
 *
 * <p>An instance without a flag source ({@link NoFlag}) only ever follows: it serves where the
 * service serves and joins or catches up with its peers' switches.
 *
 * <p>Concurrency: {@link #staleFlag}, {@link #converging} and the catch-up record belong to the
 * switch thread; {@link #pendingJoin} is written by the heartbeat thread and cleared by the switch
 * thread; {@link #disagreement} is written by the switch thread and read by any (the MBean).
 */
final class FlagFollower {
  private static final Logger LOG = LoggerFactory.getLogger(FlagFollower.class);
  private static final long FIRST_VALUE_POLL_MILLIS = 250;
  private static final long CATCH_UP_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final Router router;
  private final RoutingFlag flag;
  private final SwitchRunner switches;
  private final FlagListener listener;
  /** The flag value to ignore after joining a switch the flag has not announced yet. */
  private Target staleFlag;
  /** The switch a join or catch-up was scheduled for and has not started yet. */
  private volatile String pendingJoin;
  /** The released switch this instance last tried to catch up with, and when. */
  private String caughtUp;
  private long caughtUpAt;
  /** How many times {@link #converge} looked: a retry it scheduled runs only if no look came since. */
  private long converging;
  /** Why this instance serves a side its delivered flag does not ask for, or empty. */
  private volatile String disagreement = "";

  FlagFollower(Router router, RoutingFlag flag, SwitchRunner switches) {
    this.router = router;
    this.flag = flag;
    this.switches = switches;
    this.listener = target -> switches.execute(this::flagChanged);
  }

  /**
   * Starts following: when the flag has delivered a value that differs from where the router
   * serves, switches before returning; when it has delivered none, follows it once it does.
   */
  void start() throws InterruptedException {
    flag.addListener(listener);
    if (flag instanceof NoFlag) {
      LOG.info("cutover {}: no flag source (cutover.flag.provider is not set): routing to {}, where the service serves"
          + " now; this instance follows the switches its peers' flags ask for and never leads one", router.service(),
          router.route().serving().value());
    } else if (!flag.delivered()) {
      // Its default is no decision: serve where the service serves now, and follow the flag
      // once it delivers a value (the listener hears only changes, so look for it).
      LOG.warn("cutover {}: the flag has delivered no value yet ({}); routing to {}, where the service serves now,"
          + " not to cutover.flag.default, until it does", router.service(), flag, router.route().serving().value());
      awaitFirstValue();
    } else if (flag.target() != router.route().serving()) {
      switches.await(this::converge);
    }
  }

  /**
   * Looks again every 250 ms (on the switch thread) until the flag has delivered a value, then
   * follows it. Not a {@code Poll} wait: that would hold the switch thread, which joins and
   * catch-ups need meanwhile; and not the listener, which hears a first value only if it differs
   * from the default.
   */
  private void awaitFirstValue() {
    switches.schedule(() -> {
      if (flag.delivered()) {
        LOG.info("cutover {}: the flag delivered its first value: {}", router.service(), flag.target().value());
        flagChanged();
      } else {
        awaitFirstValue();
      }
    }, FIRST_VALUE_POLL_MILLIS);
  }

  /** What this instance's flag asks for, or {@code null} while it has delivered nothing. */
  Target delivered() {
    return flag.delivered() ? flag.target() : null;
  }

  /** Whether this instance's own flag has delivered a value and asks for {@code side}. */
  boolean asks(Target side) {
    return flag.delivered() && flag.target() == side;
  }

  RoutingFlag flag() {
    return flag;
  }

  private void flagChanged() {
    staleFlag = null;
    disagreement = "";
    converge();
  }

  /**
   * Why this instance serves a side its own flag does not ask for (it joined or caught up with a
   * switch a peer's flag asked for, and its flag has not changed since), or empty.
   */
  String disagreement() {
    return disagreement;
  }

  /**
   * Switches toward the flag's current value if it differs from the serving side. A switch refused
   * before it began (replication not delivering, the target unreachable: nothing was held) is tried
   * again after {@code cutover.switch.retry-interval}, for as long as the flag asks for a side this
   * instance does not serve: the cause is often fixed without the flag changing (an apply process
   * restarted), and the flag is the decision; so is one that began but that an instance could not
   * get ready for before any gate closed ({@link Switchover#refused()}). A switch that aborted after
   * a gate closed is not (each try would pause the application), nor one an operator aborted, so
   * the flag must change again. Every look supersedes the retry scheduled before it.
   */
  private void converge() {
    long attempt = ++converging;
    Target desired = flag.target();
    if (desired != staleFlag && desired != router.route().serving()) {
      Switchover s = new Switchover(router, this, router.route().serving(), desired, null, false);
      switches.run(s);
      if (s.refused()) {
        switches.schedule(() -> {
          if (attempt == converging) {
            converge();
          }
        }, router.settings().retryInterval().toMillis());
      }
    }
  }

  /**
   * On the heartbeat thread: a switch of the service that the control schema reports. A released
   * one this instance stayed behind is caught up with; one in progress is joined only while a live
   * peer's flag (or this instance's own) asks for it, since control-table data alone never starts a
   * switch.
   */
  void heard(Coordination.Running r, Target serving) {
    if (r.target() == serving || switches.running() || r.id().equals(pendingJoin)) {
      return;
    }
    if (r.released()) {
      pendingJoin = r.id();
      switches.execute(() -> catchUp(r.id(), r.target()));
    } else if (r.peerAsks() || asks(r.target())) {
      pendingJoin = r.id();
      switches.execute(() -> join(r.id(), r.target()));
    }
  }

  /**
   * Joins a switch the service's other instances have started, even if this instance's flag has
   * not announced it (a stream interrupted, a slower poll): holding back would leave the leader
   * waiting, and beginning transactions on a database about to be fenced would fail them. Such a
   * joiner never leads. The flag's stale value is then ignored until the flag changes.
   */
  private void join(String switchId, Target target) {
    pendingJoin = null;
    if (target != router.route().serving()) {
      followed(target, switches.run(new Switchover(router, this, router.route().serving(), target, switchId, false)));
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
    if (target != router.route().serving()) {
      followed(target, switches.run(new Switchover(router, this, router.route().serving(), target, switchId, true)));
    }
  }

  /**
   * After a switch this instance joined and completed: its flag's value, if it does not ask for
   * {@code target}, is stale, and ignored until the flag changes. A flag behind its peers' (a stream
   * interrupted, a slower poll) soon changes; one that does not disagrees with theirs, and nothing
   * would show it but this: it is logged and reported ({@link #disagreement()}) until the flag
   * changes. A join that aborted (new did not answer this instance) left it where it served, which
   * its flag does not contradict.
   */
  private void followed(Target target, SwitchEvent event) {
    if (event == null || event.outcome() != Outcome.COMPLETED) {
      return;
    }
    Target flagged = flag.target();
    staleFlag = flagged == target ? null : flagged;
    if (staleFlag == null || !flag.delivered()) {
      disagreement = "";
      return;
    }
    disagreement = "serves " + target.value() + " while its own flag asks for " + flagged.value() + ": it followed"
        + " switch " + event.id() + " that a peer's flag asked for, and follows its own flag again when the flag changes";
    LOG.warn("cutover {}: instance {} {}; if its flag ({}) does not come to {} soon (a stream or a poll behind), the"
        + " flags of the service's instances disagree: give every instance of {} the same cutover.flag.* settings",
        router.service(), router.instance(), disagreement, flag, target.value(), router.service());
  }

  void close() {
    flag.removeListener(listener);
    flag.close();
  }
}
