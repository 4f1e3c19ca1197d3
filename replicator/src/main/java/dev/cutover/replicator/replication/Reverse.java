package dev.cutover.replicator.replication;

import dev.cutover.common.Poll;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.replicator.BoundedRead;
import dev.cutover.replicator.DistinctDatabases;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.capture.CaptureReverse;
import dev.cutover.replicator.capture.CaptureWays;
import dev.cutover.replicator.check.ApplyWorkerSettings;
import dev.cutover.replicator.check.SlotWalLimit;
import dev.cutover.replicator.check.SynchronousStandbys;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.privileges.Requirements;
import dev.cutover.replicator.privileges.SubscriptionLogin;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code reverse}: turns replication around, so that flipping back loses nothing. The first time
 * it arms new → old (the way back after the switch); after a flip back it arms old → new again,
 * and so on: it always arms the way opposite to the replication running now.
 *
 * <p>Two ways, chosen by version. Where both servers are 16 or newer, both subscriptions get
 * {@code origin = none}: each side publishes only changes made locally, so both directions run
 * together without a loop, and the way back can be armed before the switch. Older servers cannot
 * filter by origin (a PostgreSQL 12 subscriber cannot ask for it), so a replicated row would come
 * straight back; there the way back may only start once the running direction has nothing left to
 * carry: its source is fenced (the switch raised the fence), a barrier marker written there after
 * the fence has arrived, and the running subscription is dropped. Only then is the way back
 * created, without an initial copy. To miss nothing, {@link #prepare} it before the switch: its
 * publication is created and the switch's leader creates its slot after the barrier and before
 * release, so the slot starts exactly where the serving side begins to take writes, and {@link #arm}
 * later streams from it. Unprepared, writes committed between the switch's release and
 * {@code arm} would not be carried back, so {@code arm} refuses unless told to accept that
 * ({@link Options#acceptMissingWrites}): a lossy way back is never armed silently.
 */
public final class Reverse {
  /** The setting that gives reverse's statements longer to answer, named in the remedy. */
  /** The option that gives reverse's statements longer, named where one goes unanswered. */
  public static final String OPTION = "reverse --network-timeout";
  /** How often reverse looks whether the switch has fenced the side it waits for. */
  private static final Duration FENCE_POLL = Duration.ofMillis(20);
  /**
   * How to arm it.
   *
   * @param waitForFence how long to wait for the fence on servers older than 16 (zero: refuse at once)
   * @param drainTimeout how long the barrier may take to arrive
   * @param acceptMissingWrites below 16, arm the way back from a fresh slot when the switch made
   *     none ({@code reverse --prepare} was not run, or its request was lost), accepting that writes
   *     committed on the serving side since the switch are not carried back
   */
  public record Options(Duration waitForFence, Duration drainTimeout, boolean acceptMissingWrites, Duration slotWait) {
    public Options {
      if (slotWait == null || slotWait.isNegative() || slotWait.isZero()) {
        throw new IllegalArgumentException("the slot wait must be positive, not " + slotWait);
      }
    }

    /** Options with start's default slot wait. */
    public Options(Duration waitForFence, Duration drainTimeout, boolean acceptMissingWrites) {
      this(waitForFence, drainTimeout, acceptMissingWrites, StartOptions.SLOT_WAIT);
    }

    /** Options that never arm a way back missing writes. */
    public Options(Duration waitForFence, Duration drainTimeout) {
      this(waitForFence, drainTimeout, false);
    }
  }

  /**
   * What was done.
   *
   * @param way {@code new -> old} or {@code old -> new}: the direction armed
   * @param mode {@code two-way} (origin = none, the other direction kept) or {@code after-fence} (the other dropped first)
   * @param slot the slot the armed subscription streams from
   * @param steps what was done, in order
   */
  public record Report(String way, String mode, String slot, List<String> steps) {}

  /** One direction of replication and the names of its objects (publication and subscription share one). */
  private record Way(String label, Endpoint from, Endpoint to, String fromName, String toName, String name, String slot) {
    static Way forward(Endpoint old, Endpoint nw, Names names) {
      return new Way("old -> new", old, nw, "old", "new", names.forward(), names.forwardSlot());
    }

    static Way reverse(Endpoint old, Endpoint nw, Names names) {
      return new Way("new -> old", nw, old, "new", "old", names.reverse(), names.reverseSlot());
    }
  }

  /** The direction running now and the one to arm. */
  private record Turn(Way running, Way back) {
    /** After a flip back, reverse runs (on old) and forward is gone (from new): arm forward. Otherwise arm reverse. */
    static Turn of(Connection o, Connection n, Endpoint old, Endpoint nw, Names names) throws SQLException {
      Way forward = Way.forward(old, nw, names);
      Way reverse = Way.reverse(old, nw, names);
      boolean reverseRuns = ReplicationObjects.subscriptionExists(o, names.reverse());
      boolean forwardRuns = ReplicationObjects.subscriptionExists(n, names.forward());
      return reverseRuns && !forwardRuns ? new Turn(reverse, forward) : new Turn(forward, reverse);
    }
  }

  private Reverse() {}

  /**
   * Before the switch, on servers that cannot filter by origin: creates the way back's
   * publication on the side about to serve and asks the switch to create its slot at the fence.
   * With 16+ on both sides there is nothing to prepare: {@link #arm} can run at any time.
   *
   * @param networkTimeout how long each statement may wait for its answer ({@link BoundedRead#within})
   * @return what was done
   */
  public static List<String> prepare(Endpoint old, Endpoint nw, Names names, Duration networkTimeout)
      throws ReplicatorException, SQLException {
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      return BoundedRead.within(networkTimeout, OPTION, Map.of("old", o, "new", n), () -> {
        DistinctDatabases.require(o, n);
        SwappedSides.refuse(o, n, names, "reverse --prepare");
        MigrationPair.requireOnePair(o, n, names, "reverse --prepare");
        return prepare(old, nw, names, o, n);
      });
    }
  }

  private static List<String> prepare(Endpoint old, Endpoint nw, Names names, Connection o, Connection n)
      throws ReplicatorException, SQLException {
    List<String> steps = new ArrayList<>();
    if (CaptureWays.forwardArmed(n) || RelayProgress.armed(n)) {
      steps.add("nothing to prepare: with trigger capture or relayed replication, reverse (trigger capture on new) can be armed at"
          + " any time and both directions run together");
      return steps;
    }
    Way back = Turn.of(o, n, old, nw, names).back();
    Connection from = back.from() == old ? o : n;
    // The reverse that must follow has to succeed: refuse now, not after the switch.
    requirePrivileges(back, from, back.to() == old ? o : n, "reverse --prepare");
    if (Sql.majorVersion(o) >= 16 && Sql.majorVersion(n) >= 16) {
      steps.add("nothing to prepare: with 16+ on both sides, reverse can be armed at any time");
      return steps;
    }
    if (ControlSchema.installedVersion(from).isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, "the control schema is missing on " + back.fromName(),
          "run `cutover-replicator start` first");
    }
    Optional<String> released = ReleasedSwitch.toward(back.to() == old ? o : n, from, back.fromName())
        .map(r -> "service " + r.service() + ", switch " + r.view().id() + " at " + r.view().updatedAt());
    if (released.isPresent()) {
      if (ReplicationObjects.ownSlotLost(from, back.slot())) {
        throw lostSlot(back);
      }
      // Run after the switch in place of reverse: it said the switch "will" create a slot it had made (r15).
      if (ReplicationObjects.ownSlotExists(from, back.slot())) {
        steps.add("nothing to prepare: the switch to " + back.fromName() + " was released already and created slot "
            + back.slot() + " on " + back.fromName() + " (" + released.get() + "); run `cutover-replicator reverse` now to stream "
            + back.label() + " from it");
        return steps;
      }
      String madeAt = ReplicationObjects.slotMadeAtSwitch(from, back.slot());
      if (madeAt != null) {
        throw goneSlot(back, madeAt, "too late to prepare: that switch was released already (" + released.get()
            + "), nothing was changed");
      }
      String missed = ReplicationObjects.slotMissedAtSwitch(from, back.slot());
      throw new ReplicatorException(Failure.PRECONDITION, "the switch to " + back.fromName() + " was released already ("
          + released.get() + ") without slot " + back.slot() + " on " + back.fromName() + " ("
          + (missed == null ? "`reverse --prepare` was not run before it" : missed) + "): too late to prepare, nothing was"
          + " changed", "run `cutover-replicator reverse --accept-missing-writes` to arm " + back.label() + " now and reconcile"
              + " on " + back.toName() + " the writes committed on " + back.fromName() + " since the switch (cutover-replicator"
              + " verify lists them); prepare before the next switch");
    }
    Heartbeat.install(from);
    if (ReplicationObjects.createPublication(from, back.fromName(), back.name())) {
      steps.add("publication " + back.name() + " created on " + back.fromName());
    }
    Sql.string(from, "SELECT cutover.request_slot_at_switch(?)::text", back.slot());
    steps.add("the switch to " + back.fromName() + " will create slot " + back.slot() + " on " + back.fromName()
        + " after its barrier and before release; run `cutover-replicator reverse` after the switch to stream "
        + back.label() + " from it");
    slotWalLimit(from, back).ifPresent(steps::add);
    return steps;
  }

  /**
   * Arms the direction opposite to the one running now (see the class comment for the rules per
   * version), no statement waiting longer than {@code networkTimeout} for its answer ({@link
   * BoundedRead#within}) but those with waits of their own: the drain's ({@link Options#drainTimeout}),
   * the slot's creation ({@link Options#slotWait}, and {@code networkTimeout} on top for its answer),
   * and the subscription's login to the source ({@link SubscriptionLogin#reachingTheSource}).
   */
  public static Report arm(Endpoint old, Endpoint nw, Names names, Options options, Duration networkTimeout)
      throws ReplicatorException, SQLException {
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      return BoundedRead.within(networkTimeout, OPTION, Map.of("old", o, "new", n), () -> {
        DistinctDatabases.require(o, n);
        SwappedSides.refuse(o, n, names, "reverse");
        MigrationPair.requireOnePair(o, n, names, "reverse");
        return CaptureWays.forwardArmed(n) || RelayProgress.armed(n) ? CaptureReverse.arm(o, n, options.acceptMissingWrites())
            : arm(old, nw, names, options, networkTimeout, o, n);
      });
    }
  }

  private static Report arm(Endpoint old, Endpoint nw, Names names, Options options, Duration networkTimeout, Connection o,
      Connection n) throws ReplicatorException, SQLException {
    List<String> steps = new ArrayList<>();
    Turn turn = Turn.of(o, n, old, nw, names);
    Way running = turn.running();
    Way back = turn.back();
    Connection from = back.from() == old ? o : n;
    Connection to = back.to() == old ? o : n;
    requirePrivileges(back, from, to, "reverse");
    if (ReplicationObjects.subscriptionExists(to, back.name())) {
      throw new ReplicatorException(Failure.PRECONDITION, back.toName() + " already has subscription " + back.name()
          + ": " + back.label() + " is armed", "see `cutover-replicator status`");
    }
    String walLevel = Sql.string(from, "SHOW wal_level");
    if (!"logical".equals(walLevel)) {
      throw new ReplicatorException(Failure.PRECONDITION, back.fromName() + " has wal_level = " + walLevel
          + ", replication " + back.label() + " needs logical", "ALTER SYSTEM SET wal_level = logical and restart " + back.fromName());
    }
    if (ControlSchema.installedVersion(o).isEmpty() || ControlSchema.installedVersion(n).isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, "the control schema is missing on old or new",
          "run `cutover-replicator start` first");
    }
    int oldMajor = Sql.majorVersion(o);
    int newMajor = Sql.majorVersion(n);
    boolean twoWay = oldMajor >= 16 && newMajor >= 16;
    boolean runs = ReplicationObjects.subscriptionExists(from, running.name());
    String mode;
    boolean prepared = false;
    // A slot that lost its WAL carries nothing back: never armed from, whatever made it, either mode (r22).
    boolean lost = ReplicationObjects.ownSlotLost(from, back.slot());
    if (lost && !options.acceptMissingWrites()) {
      throw lostSlot(back);
    }
    if (twoWay) {
      mode = "two-way";
      if (runs && !"none".equals(Sql.string(from, "SELECT suborigin FROM pg_subscription WHERE subname = ?"
          + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())", running.name()))) {
        Sql.execute(from, "ALTER SUBSCRIPTION " + Sql.ident(running.name()) + " SET (origin = none)");
        steps.add(running.label() + " subscription on " + running.toName() + " set to origin = none (it skips changes "
            + running.fromName() + " received from " + running.toName() + ")");
      }
    } else {
      mode = "after-fence";
      awaitFence(to, back.toName(), Math.min(oldMajor, newMajor), options.waitForFence());
      steps.add(back.toName() + " is fenced: no write can commit there any more");
      prepared = !lost && ReplicationObjects.ownSlotExists(from, back.slot());
      if (prepared) {
        steps.add("the switch created slot " + back.slot() + " on " + back.fromName() + " after its barrier: "
            + running.label() + " had drained at the fence, and the slot holds every write made on " + back.fromName() + " since");
      }
      String missed = prepared ? null : ReplicationObjects.slotMissedAtSwitch(from, back.slot());
      String madeAt = prepared || missed != null ? null : ReplicationObjects.slotMadeAtSwitch(from, back.slot());
      if (madeAt != null && !options.acceptMissingWrites()) {
        throw goneSlot(back, madeAt, "so a way back armed now would not carry them (nothing was changed)");
      }
      if (!prepared && !options.acceptMissingWrites()) {
        throw new ReplicatorException(Failure.PRECONDITION, "no slot " + back.slot() + " on " + back.fromName() + ": "
            + (missed == null ? "the switch created none (`cutover-replicator reverse --prepare` was not run before it)"
                : "reverse --prepare asked for it, but " + missed) + ", so a way back"
            + " armed now would miss every write committed on " + back.fromName() + " since the switch",
            "prepare before the next switch; to arm this way back anyway, run reverse --accept-missing-writes and"
                + " reconcile those writes on " + back.toName() + " (cutover-replicator verify lists them)");
      }
      if (runs && !prepared) {
        if (!BoundedCatchUp.await(to, from, options.drainTimeout())) {
          Optional<String> silent = BoundedRead.silent(Map.of("old", o, "new", n));
          if (silent.isPresent()) {
            throw BoundedCatchUp.silent(silent.get(), options.drainTimeout(), "draining " + running.label() + " replication",
                "retry reverse");
          }
          throw new ReplicatorException(Failure.TIMEOUT, running.label() + " replication did not deliver a barrier marker to "
              + running.toName() + " within " + options.drainTimeout().toMillis() + " ms", "check `cutover-replicator status` and retry reverse");
        }
        steps.add(running.label() + " replication drained: a marker written on " + running.fromName() + " after the fence reached "
            + running.toName());
      }
      if (runs) {
        ReplicationObjects.dropSubscription(from, running.name());
        ReplicationObjects.dropSlot(to, running.slot(), Duration.ofSeconds(10));
        steps.add(running.label() + " subscription and slot " + running.slot() + " dropped (PostgreSQL " + Math.min(oldMajor, newMajor)
            + " cannot filter by origin, so both directions cannot run together)");
      }
    }
    Heartbeat.install(o);
    Heartbeat.install(n);
    if (ReplicationObjects.createPublication(from, back.fromName(), back.name())) {
      steps.add("publication " + back.name() + " created on " + back.fromName());
    }
    // No copy of the heartbeat table: the target's row of the source may be from long ago, so its first beat counts as it comes.
    Heartbeat.installGapCheck(to, back.to().side());
    Heartbeat.anchor(to, back.from().side());
    if (prepared) {
      SubscriptionLogin.reachingTheSource(to, back.to().side(), () -> {
        ReplicationObjects.createSubscription(to, back.to().side(), back.name(), back.from().conninfo(), back.name(), back.slot(), false, false);
        return null;
      });
      steps.add("subscription " + back.name() + " created on " + back.toName() + " from slot " + back.slot()
          + ", without an initial copy: nothing written on " + back.fromName() + " since the switch is missed");
      slotWalLimit(from, back).ifPresent(steps::add);
      return new Report(back.label(), mode, back.slot(), steps);
    }
    if (ReplicationObjects.ownSlotExists(from, back.slot())) {
      ReplicationObjects.dropSlot(from, back.slot(), Duration.ofSeconds(10));
      steps.add(lost ? "slot " + back.slot() + " on " + back.fromName() + " had lost WAL it needed (max_slot_wal_keep_size):"
          + " dropped; the writes it no longer held are not carried back" : "leftover slot " + back.slot() + " on "
          + back.fromName() + " dropped");
    }
    // Made here, watched, rather than by CREATE SUBSCRIPTION, which would wait in silence for every
    // transaction holding an id on the serving side's server (see SlotCreation).
    try (Connection replication = back.from().connectReplication()) {
      BoundedRead.within(options.slotWait().plus(networkTimeout), OPTION, Map.of(back.fromName(), replication),
          () -> SlotCreation.create(back.from(), back.fromName(), replication, back.slot(), false, options.slotWait(), "reverse"));
    }
    SubscriptionLogin.reachingTheSource(to, back.to().side(), () -> {
      ReplicationObjects.createSubscription(to, back.to().side(), back.name(), back.from().conninfo(), back.name(), back.slot(), false, twoWay);
      return null;
    });
    steps.add("subscription " + back.name() + " created on " + back.toName() + " from " + back.fromName() + "'s new slot "
        + back.slot() + ", without an initial copy" + (twoWay ? ", origin = none"
            : "; writes committed on " + back.fromName() + " between the switch and now are not carried back (prepare with"
                + " `cutover-replicator reverse --prepare` before the next switch)"));
    slotWalLimit(from, back).ifPresent(steps::add);
    return new Report(back.label(), mode, back.slot(), steps);
  }

  /**
   * What {@code check} warns of the way back's slot on its source ({@link SlotWalLimit}), as a
   * step: start warns of old's slot when it makes it, and this is where the way back's is made.
   */
  private static Optional<String> slotWalLimit(Connection from, Way back) throws SQLException {
    return SlotWalLimit.warning(from, back.fromName(), back.slot(), "the way back's subscription " + back.name() + " on "
        + back.toName()).map(w -> "warning: " + w);
  }

  /**
   * The slot the switch made for {@code back} at {@code madeAt} is gone from its source: a standby
   * promoted since (before PostgreSQL 17 no logical slot travels to it) or a restore lost it, and with
   * it every write committed there since the switch. Not "--prepare was not run": it was, and
   * plain reverse cannot get those writes back.
   */
  private static ReplicatorException goneSlot(Way back, String madeAt, String consequence) {
    return new ReplicatorException(Failure.PRECONDITION, "slot " + back.slot() + ", which the switch made on " + back.fromName()
        + " at " + madeAt + ", is gone from " + back.fromName() + " (" + back.fromName() + " failed over to a standby, which before"
        + " PostgreSQL 17's failover slots has no logical slots, or was restored, or the slot was dropped): every write committed"
        + " on " + back.fromName() + " since the switch is missing on " + back.toName() + ", " + consequence,
        "to arm " + back.label() + " anyway, run `cutover-replicator reverse --accept-missing-writes`, then reconcile on "
            + back.toName() + " what `cutover-replicator verify` lists before any flip back; or stay on " + back.fromName()
            + " and remove the way back with `cutover-replicator cleanup`");
  }

  /**
   * The refusal to arm {@code back} from its slot, which lost WAL it needed: the writes made on its
   * source since the switch are no longer there to carry.
   */
  private static ReplicatorException lostSlot(Way back) {
    return new ReplicatorException(Failure.PRECONDITION, "slot " + back.slot() + " on " + back.fromName() + " lost WAL it needed"
        + " (wal_status lost, max_slot_wal_keep_size on " + back.fromName() + "): the writes committed on " + back.fromName()
        + " since the switch (or, before one, since " + back.label() + " stopped) cannot be carried to " + back.toName()
        + " from it, so " + back.label() + " is not armed from it (nothing was changed)", "drop slot " + back.slot() + " on " + back.fromName() + " and arm a new one: run"
            + " `cutover-replicator reverse --accept-missing-writes` (it drops the lost slot itself), then reconcile on "
            + back.toName() + " the writes committed on " + back.fromName() + " since the switch (cutover-replicator verify"
            + " lists them)");
  }

  /**
   * Fails with {@link Failure#PRIVILEGE}, naming each grant, unless the role may arm {@code back} on
   * both sides, with {@link Failure#CONNECTION} when its subscription could not log in, or with
   * {@link Failure#PRECONDITION} when its apply worker would take a setting that changes or refuses
   * values ({@link ApplyWorkerSettings}).
   */
  private static void requirePrivileges(Way back, Connection from, Connection to, String step) throws SQLException, ReplicatorException {
    Requirements.require(Requirements.wayBack(Capabilities.probe(from, back.from().side()), Capabilities.probe(to, back.to().side()),
        Requirements.loginHasPassword(back.from())), step);
    Requirements.requireLogin(to, back.to().side(), back.from().conninfo(), back.name(), step);
    ApplyWorkerSettings.require(to, back.toName(), ApplyWorkerSettings.WAY_BACK, step);
    SynchronousStandbys.require(from, back.fromName(), back.name(), step);
  }

  private static void awaitFence(Connection fenced, String side, int major, Duration wait) throws SQLException, ReplicatorException {
    if (!Poll.every(FENCE_POLL).within(wait, () -> OperatorControl.fenceRaised(fenced))) {
      throw new ReplicatorException(Failure.PRECONDITION, side + " is not fenced, and PostgreSQL " + major
          + " cannot filter replication by origin, so replication may turn around only after it has drained at the fence",
          "run reverse right after the switch has fenced " + side + ", or now with --wait-for-fence 10m to arm it the moment"
              + " the fence rises (with 16+ on both sides reverse can be armed at any time)");
    }
  }
}
