package dev.cutover.replicator;

import dev.cutover.common.Poll;
import dev.cutover.driver.control.SequenceMove;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyFailures;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.capture.Adopt;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.capture.CaptureStart;
import dev.cutover.replicator.capture.CaptureWays;
import dev.cutover.replicator.capture.EngineChoice;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Preflight;
import dev.cutover.replicator.cleanup.Cleanup;
import dev.cutover.replicator.copy.LeftAside;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.copy.LargeObjects;
import dev.cutover.replicator.copy.MaterializedViews;
import dev.cutover.replicator.ddl.DdlCapture;
import dev.cutover.replicator.ddl.SchemaChanges;
import dev.cutover.replicator.replication.BoundedCatchUp;
import dev.cutover.replicator.replication.ForwardStart;
import dev.cutover.replicator.replication.Heartbeat;
import dev.cutover.replicator.replication.HeartbeatWriter;
import dev.cutover.replicator.replication.MigrationPair;
import dev.cutover.replicator.replication.NewServes;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.replication.ResumedStart;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.replication.SubscriptionOid;
import dev.cutover.replicator.replication.SwappedSides;
import dev.cutover.replicator.replication.UncarriedTables;
import dev.cutover.replicator.replication.UnsubscribedTables;
import dev.cutover.replicator.schema.SchemaCopy;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import dev.cutover.replicator.status.StatusReader;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyProgress;
import dev.cutover.replicator.verify.VerifyReport;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The replicator as a library: everything the {@code cutover-replicator} CLI does, for one pair
 * of databases. Each method opens the connections it needs and closes them before it returns;
 * an instance holds no connection and may be shared between threads.
 *
 * <pre>{@code
 * Replicator r = Replicator.builder()
 *     .old(Endpoint.of(Side.OLD, "jdbc:postgresql://old/app", "admin", password))
 *     .nw(Endpoint.of(Side.NEW, "jdbc:postgresql://new/app", "admin", password))
 *     .build();
 * r.check();                     // preflight, read-only
 * r.start(StartOptions.defaults(), new CopyProgress(), CopyListener.NONE);
 * try (HeartbeatWriter beat = r.heartbeat(Duration.ofSeconds(1))) {
 *   r.awaitCaughtUp(Duration.ofMinutes(1));
 *   r.verify(Verifier.Options.defaults());
 *   ... the switch (driver) ...
 * }
 * r.cleanup();
 * }</pre>
 *
 * <p>Failures the operator can fix come as {@link ReplicatorException} with a {@link Failure}
 * and a remedy; a {@code permission denied} from the server becomes {@link Failure#PRIVILEGE}.
 */
public final class Replicator {
  /**
   * How long a statement of {@link #status()}, {@link #check()} and the other operator's commands
   * may wait for its answer unless told: each is answered promptly, or is exempt (see the method).
   */
  public static final Duration READ_TIMEOUT = Duration.ofSeconds(30);
  /**
   * How long {@link #awaitCaughtUp} waits for an apply process to run, where one must carry the
   * barrier, before it stops: one restarting by hand or by its supervisor takes a few seconds.
   */
  private static final Duration APPLY_GRACE = Duration.ofSeconds(10);
  private static final Poll APPLY_POLL = Poll.every(Duration.ofMillis(50), Duration.ofMillis(500));

  private final Endpoint old;
  private final Endpoint nw;
  private final Names names;
  private final List<String> appRoles;

  private Replicator(Endpoint old, Endpoint nw, Names names, List<String> appRoles) {
    this.old = old;
    this.nw = nw;
    this.names = names;
    this.appRoles = appRoles;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a {@link Replicator}; old and new are required. */
  public static final class Builder {
    private Endpoint old;
    private Endpoint nw;
    private Names names;
    private List<String> appRoles = List.of();

    private Builder() {}

    public Builder old(Endpoint endpoint) {
      if (endpoint.side() != Side.OLD) {
        throw new IllegalArgumentException("old endpoint must have side OLD, not " + endpoint.side());
      }
      this.old = endpoint;
      return this;
    }

    public Builder nw(Endpoint endpoint) {
      if (endpoint.side() != Side.NEW) {
        throw new IllegalArgumentException("new endpoint must have side NEW, not " + endpoint.side());
      }
      this.nw = endpoint;
      return this;
    }

    /**
     * The label in slot names (slots are per server); defaults to old's database name.
     *
     * @throws IllegalArgumentException when it does not fit ({@link Names#of}), before anything connects
     */
    public Builder name(String label) {
      this.names = label == null || label.isBlank() ? null : Names.of(label);
      return this;
    }

    /**
     * The roles the application connects as: {@code start} grants them the control plane, {@code
     * check} reports what they lack. None: the installing role and the owners of the tables.
     */
    public Builder appRoles(List<String> roles) {
      this.appRoles = List.copyOf(roles);
      return this;
    }

    public Replicator build() {
      Objects.requireNonNull(old, "old endpoint");
      Objects.requireNonNull(nw, "new endpoint");
      return new Replicator(old, nw, names == null ? Names.defaultFor(old.database()) : names, appRoles);
    }
  }

  public Endpoint old() {
    return old;
  }

  public Endpoint nw() {
    return nw;
  }

  public Names names() {
    return names;
  }

  /** The roles named to use the control plane (empty: the defaults of {@link dev.cutover.driver.control.ControlSchema#install}). */
  public List<String> appRoles() {
    return appRoles;
  }

  /** Preflight of both sides for the engine the databases allow; changes nothing. */
  public CheckReport check() throws Exception {
    return check(appRoles, Capture.AUTO);
  }

  /** Preflight for the engine the databases allow, and of what the application's roles may do on new; changes nothing. */
  public CheckReport check(List<String> appRoles) throws Exception {
    return check(appRoles, Capture.AUTO);
  }

  /**
   * Preflight of both sides for the engine {@code requested} comes to, and of what the
   * application's roles may do on new and on the control plane; changes nothing (privileges it can
   * only learn by trying are tried in transactions that are rolled back).
   */
  public CheckReport check(List<String> appRoles, Capture requested) throws Exception {
    return check(appRoles, requested, READ_TIMEOUT);
  }

  /**
   * {@link #check(List, Capture)}, each statement answered within {@code networkTimeout}: a side
   * that stays silent longer fails the check as a {@link Failure#CONNECTION} naming it.
   */
  public CheckReport check(List<String> appRoles, Capture requested, Duration networkTimeout) throws Exception {
    return translate(() -> Preflight.run(old, nw, names, List.copyOf(appRoles), requested, networkTimeout));
  }

  /** Copies old's schema into an empty new database with pg_dump. */
  public SchemaCopy.Report schema(SchemaCopy.Options options) throws Exception {
    return translate(() -> SchemaCopy.run(old, nw, options));
  }

  /**
   * Control schema, a snapshot-consistent parallel copy with index builds, and replication from
   * the copy's snapshot on: a publication, slot and subscription, or capture triggers whose
   * changes {@link #apply} applies, as {@link StartOptions#capture()} asks or the databases allow
   * ({@link EngineChoice}); with {@link StartOptions#resume()}, continues a logical replication
   * start whose process died ({@link ResumedStart}).
   */
  public StartReport start(StartOptions options, CopyProgress progress, CopyListener listener) throws Exception {
    return start(options, progress, listener, READ_TIMEOUT);
  }

  /**
   * {@link #start(StartOptions, CopyProgress, CopyListener)}.
   *
   * @param networkTimeout how long a side may leave a statement of start's unanswered while its
   *     server waits on the replicator (a silent network, {@link SilenceWatch}); start then stops,
   *     undoing what it can, as a {@link Failure#CONNECTION} naming the side. The copy and the index
   *     builds have no read limit: they take as long as their tables
   */
  public StartReport start(StartOptions options, CopyProgress progress, CopyListener listener, Duration networkTimeout)
      throws Exception {
    return translate(() -> SilenceWatch.watching(old, nw, networkTimeout, "start --network-timeout", (o, n) -> {
      // Held until the start (and its undo) is over: a second start of this migration, or into new's
      // database, is refused before its preconditions rather than racing this one (StartLock).
      try (StartLock lock = StartLock.take(old, nw, names, networkTimeout)) {
        if (options.resume()) {
          return new ResumedStart(o, n, names, options, listener).run(progress);
        }
        EngineChoice choice = engine(o, n, options.capture());
        if (choice.engine() == Capture.TRIGGERS) {
          lock.captureOn(old);
          try {
            return new CaptureStart(o, n, names, options, listener, choice, appRoles).run(progress);
          } catch (SQLException e) {
            throw ServerShortage.underTriggers(e);
          }
        }
        StartReport report = new ForwardStart(o, n, names, options.withCapture(choice.engine()), listener, appRoles).run(progress);
        return choice.engine() == Capture.RELAY ? report.relayed(choice.explain()) : report;
      }
    }));
  }

  /** Which engine {@code requested} comes to on these databases, and why. */
  public EngineChoice engine(Capture requested) throws Exception {
    return translate(() -> engine(old, nw, requested));
  }

  private static EngineChoice engine(Endpoint old, Endpoint nw, Capture requested) throws Exception {
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      DistinctDatabases.require(o, n);
      return EngineChoice.decide(o, n, requested);
    }
  }

  /**
   * Applies trigger-captured changes of every armed direction until closed, on threads of its own
   * ({@code cutover-replicator apply}); a direction armed later (reverse) is picked up.
   */
  public ApplyProcess apply(Applier.Options options) throws Exception {
    return translate(() -> ApplyProcess.start(old, nw, names, options));
  }

  /** Both directions' state, lag and problems, each statement answered within {@link #READ_TIMEOUT}. */
  public StatusReport status() throws Exception {
    return status(READ_TIMEOUT);
  }

  /**
   * Both directions' state, lag and problems.
   *
   * @param networkTimeout how long each statement may wait for its answer; a side that stays silent
   *     longer fails the read as a {@link Failure#CONNECTION} naming it
   */
  public StatusReport status(Duration networkTimeout) throws Exception {
    return translate(() -> {
      try (Connection o = old.connect(); Connection n = nw.connect()) {
        return BoundedRead.within(networkTimeout, "status --network-timeout", Map.of("old", o, "new", n),
            () -> StatusReader.read(o, n, names));
      }
    });
  }

  /** Starts writing a heartbeat on old (the forward source) every {@code interval}; close it to stop. */
  public HeartbeatWriter heartbeat(Duration interval) throws Exception {
    return heartbeat(Side.OLD, interval);
  }

  /**
   * Starts writing a heartbeat on {@code source} every {@code interval}; close it to stop. Reads
   * both sides first, each statement answered within {@link #READ_TIMEOUT}.
   *
   * @throws ReplicatorException {@link Failure#PRECONDITION}, before any beat, when old and new look
   *     swapped ({@link SwappedSides}) or {@code source} is the target of the direction from it
   *     ({@link Heartbeat#requireSource}): its row would collide with the one replication carries
   *     there and stop that direction
   */
  public HeartbeatWriter heartbeat(Side source, Duration interval) throws Exception {
    return heartbeat(source, interval, READ_TIMEOUT, null);
  }

  /**
   * {@link #heartbeat(Side, Duration)}, its first reads of both sides answered within {@code
   * networkTimeout}.
   *
   * @param option the setting that gives them longer, named when a side stays silent; null for none
   */
  public HeartbeatWriter heartbeat(Side source, Duration interval, Duration networkTimeout, String option) throws Exception {
    HeartbeatWriter.requireInterval(interval);
    translate(() -> {
      try (Connection o = old.connect(); Connection n = nw.connect()) {
        return BoundedRead.within(networkTimeout, option, Map.of("old", o, "new", n), () -> {
          DistinctDatabases.require(o, n);
          SwappedSides.refuse(o, n, names, "heartbeat");
          Heartbeat.requireSource(source == Side.OLD ? o : n, source, names, "heartbeat");
          return null;
        });
      }
    });
    return HeartbeatWriter.start(source == Side.OLD ? old : nw, interval);
  }

  /**
   * Where a heartbeat writer given no side beats: the source of each armed direction ({@link
   * Heartbeat#armedSources}), each statement answered within {@code networkTimeout}.
   *
   * @param option the setting that gives them longer, named when a side stays silent; null for none
   */
  public List<Side> heartbeatSources(Duration networkTimeout, String option) throws Exception {
    return translate(() -> {
      try (Connection o = old.connect(); Connection n = nw.connect()) {
        return BoundedRead.within(networkTimeout, option, Map.of("old", o, "new", n), () -> Heartbeat.armedSources(o, n, names));
      }
    });
  }

  /**
   * Waits until everything committed on the source so far has been applied on the target: a
   * barrier marker written now on the source arrives on the target. The source is old while
   * forward replication exists, else new while reverse does.
   *
   * @return how long it took
   * @throws ReplicatorException {@link Failure#TIMEOUT} after {@code timeout}; {@link Failure#PRECONDITION} without replication;
   *     {@link Failure#DIFFERENCES} once caught up, while the source has application tables replication does not carry
   *     ({@link UncarriedTables}), named with the statements that have them carried
   */
  public Duration awaitCaughtUp(Duration timeout) throws Exception {
    return translate(() -> {
      long t0 = System.nanoTime();
      // Every login and statement waits --timeout at most: a side that answers nothing ends catch-up in that time, named.
      try (Connection o = old.connectWithin(timeout); Connection n = nw.connectWithin(timeout)) {
        Sql.answerWithin(timeout, o, n);
        try {
          catchUp(o, n, timeout);
        } catch (SQLException e) {
          Optional<String> silent = Sql.unanswered(e) ? BoundedRead.silent(Map.of("old", o, "new", n)) : Optional.empty();
          if (silent.isPresent()) {
            throw BoundedCatchUp.silent(silent.get(), timeout, "catching up", "run catch-up again");
          }
          throw e;
        }
      }
      return Duration.ofNanos(System.nanoTime() - t0);
    });
  }

  /** {@link #awaitCaughtUp}'s work on its two connections. */
  private void catchUp(Connection o, Connection n, Duration timeout) throws SQLException, ReplicatorException {
    DistinctDatabases.require(o, n);
    onePair(o, n, "catch-up");
    long deadline = Poll.deadline(timeout);
    Connection source;
    Connection target;
    // The direction's native subscription, where one carries it.
    String subscription = null;
    Way captured = CaptureWays.serving(o, n, old, nw);
    boolean relayed = captured == null && RelayProgress.armed(n);
    if (captured != null) {
      source = captured.sourceOf(o, n);
      target = captured.targetOf(o, n);
    } else if (relayed || ReplicationObjects.subscriptionExists(n, names.forward())) {
      source = o;
      target = n;
      subscription = relayed ? null : names.forward();
    } else if (ReplicationObjects.subscriptionExists(o, names.reverse())) {
      source = n;
      target = o;
      subscription = names.reverse();
    } else {
      // Found only the other way round, the URLs are swapped: start would be the mistake.
      SwappedSides.refuse(o, n, names, "catch-up");
      throw new ReplicatorException(Failure.PRECONDITION, "no replication runs between old and new", "run `cutover-replicator start`");
    }
    requireNotStopped(captured, relayed, target, n, "replication cannot catch up");
    // Nothing carries the barrier without an apply process: waiting out the timeout would tell nothing more.
    Duration grace = timeout.compareTo(APPLY_GRACE) < 0 ? timeout : APPLY_GRACE;
    Optional<String> noApply = noApply(captured, relayed, target, n);
    if (noApply.isPresent() && !APPLY_POLL.within(grace, () -> noApply(captured, relayed, target, n).isEmpty())) {
      requireNotFailing(captured, relayed, target, n, "replication cannot catch up");
      requireReached(captured, relayed, source, "replication cannot catch up");
      throw new ReplicatorException(Failure.TIMEOUT, "replication cannot catch up: " + noApply.get() + " (none for "
          + grace.toMillis() + " ms)", "start `cutover-replicator apply` (it runs until stopped), then run catch-up again");
    }
    if (subscription != null) {
      // A beat of its own, checked on the target like every beat: beats a writer wrote before the target lost them stop the
      // apply here even when no writer runs now (Heartbeat#installGapCheck); lost while none ran, nothing shows them.
      beatIfOwned(source, source == o ? Side.OLD : Side.NEW);
    }
    String applying = subscription;
    Connection from = source;
    Optional<ReplicatorException> broken = cannotApply(applying, from, o, n);
    if (broken.isPresent()) {
      throw broken.get();
    }
    boolean arrived;
    try {
      // A slot that loses its WAL, or a subscription disabled, while catch-up waits ends the wait at once, named.
      arrived = BoundedCatchUp.await(source, target, timeout, () -> {
        Optional<ReplicatorException> now = cannotApply(applying, from, o, n);
        if (now.isPresent()) {
          throw new CannotApply(now.get());
        }
      });
    } catch (CannotApply e) {
      throw e.reason;
    }
    if (!arrived) {
      Optional<String> silent = BoundedRead.silent(Map.of("old", o, "new", n));
      if (silent.isPresent()) {
        throw BoundedCatchUp.silent(silent.get(), timeout, "catching up", "run catch-up again");
      }
      requireNotFailing(captured, relayed, target, n, "replication did not catch up within " + timeout.toMillis() + " ms");
      Optional<String> stopped = noApply(captured, relayed, target, n);
      if (stopped.isPresent()) {
        requireReached(captured, relayed, source, "replication did not catch up within " + timeout.toMillis() + " ms");
        throw new ReplicatorException(Failure.TIMEOUT, "replication did not catch up within " + timeout.toMillis() + " ms: "
            + stopped.get(), "start `cutover-replicator apply` (it runs until stopped), then run catch-up again");
      }
      throw new ReplicatorException(Failure.TIMEOUT, "replication did not catch up within " + timeout.toMillis() + " ms",
          "see `cutover-replicator status`");
    }
    if (subscription != null) {
      everyTableApplied(source, target, target == n ? "new" : "old", subscription, timeout, deadline);
    }
    // Caught up on the tables it carries, replication still misses every write to one it does not (r30).
    String sourceLabel = source == o ? "old" : "new";
    String targetLabel = target == n ? "new" : "old";
    UncarriedTables carriage = captured != null ? UncarriedTables.captured(source)
        : UncarriedTables.published(source, sourceLabel, targetLabel, relayed ? names.forward() : subscription, !relayed);
    if (!carriage.uncarried().isEmpty()) {
      throw new ReplicatorException(Failure.DIFFERENCES, "the tables replication carries are caught up, but it does not carry "
          + carriage.uncarried().size() + " table(s) of " + sourceLabel + ": " + String.join(", ", carriage.uncarried().stream()
              .map(TableName::toString).toList()) + ", so every write to them on " + sourceLabel + " is missing on " + targetLabel
          + " and the driver refuses to switch", carriage.remedy());
    }
  }

  /** Writes one beat of {@code side} on {@code source} where its heartbeat table exists and this role may write it. */
  private static void beatIfOwned(Connection source, Side side) throws SQLException {
    if (Sql.bool(source, "SELECT CASE WHEN to_regclass(?) IS NULL THEN false"
        + " ELSE has_table_privilege(to_regclass(?), 'INSERT, UPDATE') END", Heartbeat.TABLE, Heartbeat.TABLE)) {
      Heartbeat.beat(source, side);
    }
  }

  /** Ends {@link BoundedCatchUp#await}'s wait, carrying why replication cannot apply. */
  private static final class CannotApply extends SQLException {
    private static final long serialVersionUID = 1L;
    final transient ReplicatorException reason;

    CannotApply(ReplicatorException reason) {
      super(reason.getMessage());
      this.reason = reason;
    }
  }

  /** Why the native subscription {@code subscription} (null for other engines) cannot apply, from its source {@code source}. */
  private Optional<ReplicatorException> cannotApply(String subscription, Connection source, Connection o, Connection n)
      throws SQLException {
    if (subscription == null) {
      return Optional.empty();
    }
    return source == o ? StatusReader.cannotApply(Side.OLD, o, n, names) : StatusReader.cannotApply(Side.NEW, n, o, names);
  }

  /**
   * After the marker arrived through a native subscription: that proves nothing for a table the
   * source publishes and the subscription lacks, whose every change the target skips (refused,
   * naming the REFRESH that adds it), nor for one a table sync still copies (waited for until
   * {@code deadline}).
   */
  private static void everyTableApplied(Connection source, Connection target, String targetLabel, String subscription, Duration timeout,
      long deadline) throws SQLException, ReplicatorException {
    List<UnsubscribedTables.Table> missing = UnsubscribedTables.of(source, target, subscription);
    if (!missing.isEmpty()) {
      throw new ReplicatorException(Failure.TIMEOUT, "replication has not caught up for table(s) " + UnsubscribedTables.names(missing)
          + ": " + targetLabel + " has them but its subscription " + subscription + " does not, so it skips every change to them",
          "run on " + targetLabel + ": " + UnsubscribedTables.remedy(subscription, missing) + "; then run catch-up again");
    }
    if (!APPLY_POLL.until(deadline, () -> UnsubscribedTables.copying(target, subscription).isEmpty())) {
      throw new ReplicatorException(Failure.TIMEOUT, "replication did not catch up within " + timeout.toMillis() + " ms: table(s) "
          + String.join(", ", UnsubscribedTables.copying(target, subscription)) + " of subscription " + subscription + " are still"
          + " being copied into " + targetLabel, "see `cutover-replicator status` (their state), then run catch-up again");
    }
  }

  /**
   * Throws {@code what} at once where an apply noted on the target that it stopped for good ({@link
   * ApplyFailures.Failed#stopped}), whatever the note's age: no apply will carry the barrier, and
   * none resumes the way (r31).
   */
  private static void requireNotStopped(Way captured, boolean relayed, Connection target, Connection n, String what)
      throws SQLException, ReplicatorException {
    refuseStop(noted(captured, relayed, target, n), captured, what);
  }

  /** {@link #requireNotStopped} on the note already read. */
  private static void refuseStop(Optional<ApplyFailures.Failed> noted, Way captured, String what) throws ReplicatorException {
    Optional<ApplyFailures.Failed> stopped = noted.filter(ApplyFailures.Failed::stopped);
    if (stopped.isPresent()) {
      throw new ReplicatorException(Failure.TIMEOUT, what + ": " + stopped.get().describe(captured != null
          ? captured.target().side().label() : "new"), "do what that refusal names; no apply carries this direction until then");
    }
  }

  /** The failure an apply noted on the target of trigger capture's way {@code captured}, or on new for a relay. */
  private static Optional<ApplyFailures.Failed> noted(Way captured, boolean relayed, Connection target, Connection n)
      throws SQLException {
    return captured != null ? ApplyFailures.read(target, captured.name()) : relayed ? ApplyFailures.read(n, Way.FORWARD) : Optional.empty();
  }

  /**
   * Throws {@code what}, with the reason, where the apply process runs but its batches fail (it
   * noted so on the target within {@link ApplyFailures#RECENT}): between its tries it holds no
   * lock and would be taken for no apply at all. The remedy names no side: the apply into new may
   * fail on old (a relay's slot held by another session), and the noted failure says which; one that
   * cannot reach its source names its login ({@link ApplyFailures.Failed#sourceUnreached}). An apply
   * that stopped for good meanwhile is said as {@link #requireNotStopped} says it.
   */
  private static void requireNotFailing(Way captured, boolean relayed, Connection target, Connection n, String what)
      throws SQLException, ReplicatorException {
    Optional<ApplyFailures.Failed> noted = noted(captured, relayed, target, n);
    refuseStop(noted, captured, what);
    String label = captured != null ? captured.target().side().label() : "new";
    Optional<ApplyFailures.Failed> failed = noted.filter(ApplyFailures.Failed::recent);
    if (failed.isPresent()) {
      throw new ReplicatorException(Failure.TIMEOUT, what + ": " + failed.get().describe(label), failed.get().sourceUnreached()
          ? loginRemedy(captured != null ? captured.source().side().label() : "old")
          : "fix the cause that failure names, on the side it names (the apply's own log and `cutover-replicator status` show it);"
              + " the apply goes on by itself, then run catch-up again");
    }
  }

  /**
   * Throws {@code what}, with the reason, where no apply process holds the way on its target but one
   * noted on the way's {@code source} within {@link ApplyFailures#RECENT} that it cannot reach the
   * target (a login refused after a password changed there): it runs and retries, so the remedy is
   * its login, not another apply.
   */
  private static void requireReached(Way captured, boolean relayed, Connection source, String what)
      throws SQLException, ReplicatorException {
    if (captured == null && !relayed) {
      return;
    }
    Optional<ApplyFailures.Failed> unreached = ApplyFailures.unreached(source, captured != null ? captured.name() : Way.FORWARD);
    if (unreached.isPresent()) {
      String label = captured != null ? captured.target().side().label() : "new";
      throw new ReplicatorException(Failure.TIMEOUT, what + ": " + ApplyFailures.describeUnreached(unreached.get(), label),
          loginRemedy(label));
    }
  }

  /** The remedy for a running apply that cannot reach {@code side}: its login, not another apply. */
  private static String loginRemedy(String side) {
    return "give the running apply a login " + side + " accepts (restart it with the new password), then run catch-up again";
  }

  /**
   * Why no apply process carries the barrier into {@code target} (trigger capture's way, or new for
   * a relay), or empty when one runs or the engine needs none (a native subscription).
   */
  private static Optional<String> noApply(Way captured, boolean relayed, Connection target, Connection n) throws SQLException {
    return captured != null ? Way.noApply(target, captured.name(), captured.target().side().label())
        : relayed ? Way.noApply(n, Way.FORWARD, "new") : Optional.empty();
  }

  /**
   * Moves every sequence on the other side past its value on {@code from}, by {@code margin}
   * increments: the driver's switch runs the same code ({@link SequenceMove#advance}), and refuses
   * as it does, with nothing moved, when the role may not read a sequence on {@code from}
   * ({@link Failure#PRIVILEGE}, naming them and the grant). No answer
   * is awaited longer than {@code networkTimeout}, and no lock on the target either, on the server
   * (an {@code ALTER SEQUENCE} left in an open transaction holds its sequence).
   */
  public SequenceMove.Result sequences(Side from, long margin, Duration networkTimeout) throws Exception {
    if (margin < 0) {
      throw new IllegalArgumentException("sequence margin must not be negative, not " + margin);
    }
    Side to = from.other();
    return translate(() -> {
      try (Connection o = old.connect(); Connection n = nw.connect()) {
        Sql.answerWithin(networkTimeout, o, n);
        DistinctDatabases.require(o, n);
        onePair(o, n, "sequences");
        Connection source = from == Side.OLD ? o : n;
        Connection target = from == Side.OLD ? n : o;
        // as the switch does before its gate: a sequence the role may not read would be left behind without a word
        List<String> hidden = SequenceMove.unreadable(source);
        if (!hidden.isEmpty()) {
          String user = Sql.ident(source.getMetaData().getUserName());
          throw new ReplicatorException(Failure.PRIVILEGE, from.label() + ": role " + user + " may not read sequence(s) "
              + String.join(", ", hidden) + ", so they could not be moved on " + to.label() + " and their values would be"
              + " handed out twice (nothing was moved)", "GRANT SELECT ON SEQUENCE " + String.join(", ", hidden) + " TO " + user
              + " on " + from.label() + " (before PostgreSQL 10 a sequence's value takes SELECT; from 10 USAGE shows it only once"
              + " the sequence has been called), then run sequences again");
        }
        try {
          return BoundedRead.locking(networkTimeout, "sequences --network-timeout", Map.of("old", o, "new", n), target,
              () -> SequenceMove.advance(source, target, margin));
        } catch (SQLException e) {
          if (!"55P03".equals(e.getSQLState())) {
            throw e;
          }
          throw new ReplicatorException(Failure.TIMEOUT, to.label() + ": a sequence stayed locked by another session for "
              + networkTimeout.toMillis() + " ms (an ALTER SEQUENCE, or a migration's transaction left open after one); those"
              + " moved before it stay moved, none after it was", "see who holds it (pg_locks joined to pg_stat_activity on "
              + to.label() + "), then run sequences again, or allow longer with sequences --network-timeout", e);
        }
      }
    });
  }

  /** {@link #prepareReverse(Duration)}, each statement answered within {@link #READ_TIMEOUT}. */
  public List<String> prepareReverse() throws Exception {
    return prepareReverse(READ_TIMEOUT);
  }

  /**
   * Before the switch: prepares the way back so that {@link #reverse} misses nothing (see {@link
   * Reverse#prepare}).
   *
   * @param networkTimeout how long each statement may wait for its answer; a side that stays silent
   *     longer fails it as a {@link Failure#CONNECTION} naming it. Every connection is watched
   *     ({@link SilenceWatch}), so that a session a lost one leaves running is ended
   */
  public List<String> prepareReverse(Duration networkTimeout) throws Exception {
    return translate(() -> SilenceWatch.watching(old, nw, networkTimeout, Reverse.OPTION,
        (o, n) -> Reverse.prepare(o, n, names, networkTimeout)));
  }

  /** {@link #reverse(Reverse.Options, Duration)}, each statement answered within {@link #READ_TIMEOUT}. */
  public Reverse.Report reverse(Reverse.Options options) throws Exception {
    return reverse(options, READ_TIMEOUT);
  }

  /**
   * Turns replication around: arms new → old while old → new runs, and old → new again after a
   * flip back (see {@link Reverse} for the rules per version).
   *
   * @param networkTimeout how long each statement may wait for its answer; a side that stays silent
   *     longer fails it as a {@link Failure#CONNECTION} naming it. The drain and the slot's creation
   *     have waits of their own ({@link Reverse#arm}). Every connection is watched ({@link
   *     SilenceWatch}): a session a lost one leaves running on the side that serves could hold the
   *     tables reverse gives capture triggers against the application's writers
   */
  public Reverse.Report reverse(Reverse.Options options, Duration networkTimeout) throws Exception {
    return translate(() -> SilenceWatch.watching(old, nw, networkTimeout, Reverse.OPTION,
        (o, n) -> Reverse.arm(o, n, names, options, networkTimeout)));
  }

  /** Compares every replicated table on both sides, and the large objects and unlogged tables start copied. */
  public VerifyReport verify(Verifier.Options options) throws Exception {
    return verify(options, new VerifyProgress());
  }

  /** {@link #verify(Verifier.Options)}, with counters another thread may poll meanwhile. */
  public VerifyReport verify(Verifier.Options options, VerifyProgress progress) throws Exception {
    return verify(options, progress, READ_TIMEOUT);
  }

  /**
   * {@link #verify(Verifier.Options, VerifyProgress)}.
   *
   * @param networkTimeout how long a side may leave a statement of verify's unanswered while its
   *     server waits on the replicator (a silent network, {@link SilenceWatch}); verify then stops as
   *     a {@link Failure#CONNECTION} naming the side. Its hashes have no read limit: they take as long
   *     as their tables
   */
  public VerifyReport verify(Verifier.Options options, VerifyProgress progress, Duration networkTimeout) throws Exception {
    return translate(() -> SilenceWatch.watching(old, nw, networkTimeout, "verify --network-timeout",
        (o, n) -> Verifier.run(o, n, names, options, progress)));
  }

  /** {@link #syncLargeObjects(Duration)}, each statement answered within {@link #READ_TIMEOUT}. */
  public LargeObjects.SyncReport syncLargeObjects() throws Exception {
    return syncLargeObjects(READ_TIMEOUT);
  }

  /**
   * Brings new's large objects to old's current state (replication does not carry them): run it
   * right before the switch.
   *
   * @param networkTimeout how long each statement may wait for its answer; a side that stays silent
   *     longer fails it as a {@link Failure#CONNECTION} naming it. Each side's checksums, one
   *     statement that hashes every large object, have no read limit and are watched from a second
   *     session instead ({@link SilenceWatch})
   */
  public LargeObjects.SyncReport syncLargeObjects(Duration networkTimeout) throws Exception {
    String option = "sync-large-objects --network-timeout";
    return watchedAndBounded(networkTimeout, option, (o, n) -> {
      DistinctDatabases.require(o, n);
      SwappedSides.refuse(o, n, names, "sync-large-objects");
      MigrationPair.requireOnePair(o, n, names, "sync-large-objects");
      Optional<String> serving = NewServes.why(o, n, names);
      if (serving.isPresent()) {
        throw new ReplicatorException(Failure.PRECONDITION, "new serves already: " + serving.get() + "; sync-large-objects"
            + " brings new's large objects to old's state, so it would overwrite or delete those the application wrote on new"
            + " since the switch (sync-large-objects changed nothing)", "nothing to do on new: it holds the current large objects;"
            + " run sync-large-objects before the switch, while old serves. Replication carries no large objects back to old"
            + " either: before a switch back to old, copy the ones written on new to old by hand (lo_get on new, lo_from_bytea"
            + " with the same OID on old; `cutover-replicator verify` lists them)");
      }
      return LargeObjects.sync(o, n, (side, checksums) -> Sql.withoutReadLimit(side, checksums::run));
    });
  }

  /**
   * Marks the schema change {@code id} (from {@code status}) as done by hand on both sides: its
   * replay is skipped, and status no longer asks for it.
   */
  public void ddlDone(String id) throws Exception {
    ddlDone(id, READ_TIMEOUT);
  }

  /**
   * {@link #ddlDone(String)}.
   *
   * @param networkTimeout how long each statement may wait for its answer; a side that stays silent
   *     longer fails it as a {@link Failure#CONNECTION} naming it (a side marked before stays marked)
   */
  public void ddlDone(String id, Duration networkTimeout) throws Exception {
    watchedAndBounded(networkTimeout, "ddl-done --network-timeout", (o, n) -> {
      onePair(o, n, "ddl-done");
      DdlCapture.requireLogged(o, n, id);
      registerTablesMadeByHand(o, n, id);
      for (Connection c : List.of(o, n)) {
        if (DdlCapture.logExists(c)) {
          DdlCapture.markDone(c, id);
        }
      }
      return null;
    });
  }

  /**
   * For {@link #ddlDone} of a change that creates a table (CREATE TABLE, CREATE TABLE AS, SELECT
   * INTO) where a native subscription carries its direction: the table the operator made by hand on
   * the target is not in the subscription, whose apply worker would skip every change to it. So it
   * joins it here, with every other table the source publishes that the target has and the
   * subscription lacks, to be copied from the source (state init, as {@code REFRESH PUBLICATION
   * WITH (copy_data = true)} adds a table; that statement itself where the role is no superuser).
   * Refused, nothing marked, while the change's table is not on the target, or one to copy holds
   * rows there, which the copy would add to.
   */
  private void registerTablesMadeByHand(Connection o, Connection n, String id) throws SQLException, ReplicatorException {
    String[] entry = null;
    for (Connection c : List.of(o, n)) {
      if (entry == null && DdlCapture.logReadable(c)) {
        List<String[]> rows = Sql.rows(c, "SELECT source, tag, (SELECT string_agg(e->>'identity', ',') FROM jsonb_array_elements(objects) e"
            + " WHERE e->>'type' = 'table') FROM cutover.ddl_log WHERE id = ?", id);
        entry = rows.isEmpty() ? null : rows.get(0);
      }
    }
    if (entry == null || !List.of("CREATE TABLE", "CREATE TABLE AS", "SELECT INTO").contains(entry[1])) {
      return;
    }
    boolean forward = entry[0].equals("old");
    Connection source = forward ? o : n;
    Connection target = forward ? n : o;
    String sourceLabel = forward ? "old" : "new";
    String targetLabel = forward ? "new" : "old";
    String subscription = forward ? names.forward() : names.reverse();
    if (!ReplicationObjects.subscriptionExists(target, subscription)) {
      return;
    }
    if (entry[2] != null) {
      for (String table : entry[2].split(",")) {
        if (Sql.bool(source, "SELECT to_regclass(?) IS NOT NULL", table) && !Sql.bool(target, "SELECT to_regclass(?) IS NOT NULL", table)) {
          throw new ReplicatorException(Failure.PRECONDITION, targetLabel + ": table " + table + " of schema change " + id + " is not"
              + " there, and " + sourceLabel + " publishes it: replication would stop at its first row",
              "create it on " + targetLabel + " (`cutover-replicator status` prints the statements; " + SchemaChanges.BY_HAND
              + " first), then run ddl-done " + id + " again");
        }
      }
    }
    List<UnsubscribedTables.Table> tables = UnsubscribedTables.of(source, target, subscription);
    List<UnsubscribedTables.Table> holding = tables.stream().filter(UnsubscribedTables.Table::holdsRows).toList();
    if (!holding.isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, targetLabel + ": table(s) " + UnsubscribedTables.names(holding) + " hold rows,"
          + " and joining " + subscription + " copies " + sourceLabel + "'s rows into them, on top of those",
          "empty them on " + targetLabel + " (TRUNCATE " + String.join(", ", holding.stream().map(t -> t.name().quoted()).toList())
          + "), then run ddl-done " + id + " again: " + sourceLabel + "'s rows arrive with the copy");
    }
    if (tables.isEmpty()) {
      return;
    }
    if (Catalog.superuser(target)) {
      Long sub = SubscriptionOid.of(target, subscription);
      // Before 13 the LSN column is NOT NULL and 0/0 means none.
      String lsn = Sql.majorVersion(target) < 13 ? "'0/0'::pg_lsn" : "NULL";
      for (UnsubscribedTables.Table t : tables) {
        Sql.execute(target, "INSERT INTO pg_subscription_rel (srsubid, srrelid, srsubstate, srsublsn) VALUES (" + sub + ", "
            + Sql.literal(t.name().quoted()) + "::regclass, 'i', " + lsn + ")");
      }
    } else {
      try {
        Sql.execute(target, "ALTER SUBSCRIPTION " + Sql.ident(subscription) + " REFRESH PUBLICATION WITH (copy_data = true)");
      } catch (SQLException e) {
        if (Sql.unanswered(e)) {
          throw e;
        }
        throw new ReplicatorException(Failure.PRECONDITION, targetLabel + ": table(s) " + UnsubscribedTables.names(tables) + " could not"
            + " join subscription " + subscription + " (" + e.getMessage() + ")", "make what that names possible (a table "
            + sourceLabel + " publishes that " + targetLabel + " lacks: create it there), then run ddl-done " + id + " again");
      }
    }
  }

  /** {@link #refreshMaterializedViews(Duration)}, each statement answered within {@link #READ_TIMEOUT}. */
  public List<String> refreshMaterializedViews() throws Exception {
    return refreshMaterializedViews(READ_TIMEOUT);
  }

  /**
   * Refreshes on new every materialized view populated on old; returns the views refreshed.
   *
   * @param networkTimeout how long each statement may wait for its answer; a side that stays silent
   *     longer fails it as a {@link Failure#CONNECTION} naming it. A REFRESH takes as long as its
   *     view's query: it has no read limit, and is watched from a second session on new instead
   *     ({@link SilenceWatch})
   */
  public List<String> refreshMaterializedViews(Duration networkTimeout) throws Exception {
    String option = "refresh --network-timeout";
    return watchedAndBounded(networkTimeout, option, (o, n) -> {
      DistinctDatabases.require(o, n);
      onePair(o, n, "refresh");
      return MaterializedViews.refreshAsOnOld(o, n, sql -> Sql.withoutReadLimit(n, () -> {
        Sql.execute(n, sql);
        return null;
      }));
    });
  }

  /**
   * Brings tables trigger capture does not carry into it, each in turn ({@link Adopt}): made on the
   * other side where missing, given capture triggers, copied, with their writers on {@code from}
   * held meanwhile. Forward {@code from} is old; the way back, new.
   *
   * @param lockTimeout how long to wait for a table's writers on old, per table
   * @param networkTimeout how long each other statement may wait for its answer; the copy has no
   *     read limit, and is watched from second sessions instead ({@link SilenceWatch})
   */
  public List<Adopt.Result> adopt(List<String> tables, Side from, Duration lockTimeout, Duration networkTimeout) throws Exception {
    String option = "adopt --network-timeout";
    return watchedAndBounded(networkTimeout, option, (o, n) -> {
      DistinctDatabases.require(o, n);
      onePair(o, n, "adopt");
      Adopt.requireNames(from == Side.OLD ? o : n, from, tables);
      List<Adopt.Result> out = new ArrayList<>();
      for (String table : tables) {
        out.add(from == Side.OLD ? Adopt.table(o, n, from, table, lockTimeout) : Adopt.table(n, o, from, table, lockTimeout));
      }
      return out;
    });
  }

  /**
   * Refuses, before {@code command} reads or writes anything else, old and new given the wrong way
   * round ({@link SwappedSides}) and two databases that are not this migration's two sides ({@link
   * MigrationPair}, as {@code start} recorded them). Before, a command that writes on one side from
   * the other (apply, adopt, sequences) went on with another migration's database (r25).
   */
  private void onePair(Connection o, Connection n, String command) throws SQLException, ReplicatorException {
    SwappedSides.refuse(o, n, names, command);
    MigrationPair.requireOnePair(o, n, names, command);
  }

  /** {@link #cleanup(Duration)}, each statement answered within {@link #READ_TIMEOUT}. */
  public Cleanup.Report cleanup() throws Exception {
    return cleanup(READ_TIMEOUT);
  }

  /**
   * Removes everything the replicator created, on both sides (see {@link Cleanup}).
   *
   * @param networkTimeout how long each statement may wait for its answer; a side that stays silent
   *     longer fails it as a {@link Failure#CONNECTION} naming it. Putting back what a start that did
   *     not finish set aside builds indexes, which take as long as their tables: it has no read limit,
   *     and is watched from a second session on new instead ({@link SilenceWatch})
   */
  public Cleanup.Report cleanup(Duration networkTimeout) throws Exception {
    return cleanup(networkTimeout, Cleanup.Unapplied.REFUSE);
  }

  /**
   * {@link #cleanup(Duration)}, with {@code unapplied} saying what to do about changes captured on a
   * fenced side that never reached the side that serves, and about changes of the serving new that the
   * way back never applied to a fenced old (see {@link Cleanup}).
   */
  public Cleanup.Report cleanup(Duration networkTimeout, Cleanup.Unapplied unapplied) throws Exception {
    return cleanup(networkTimeout, unapplied, Cleanup.LiveInstances.REFUSE);
  }

  /**
   * {@link #cleanup(Duration, Cleanup.Unapplied)}, with {@code instances} saying whether driver
   * instances that heartbeat in the control schema refuse it (see {@link Cleanup}).
   */
  public Cleanup.Report cleanup(Duration networkTimeout, Cleanup.Unapplied unapplied, Cleanup.LiveInstances instances)
      throws Exception {
    return cleanup(networkTimeout, unapplied, instances, Cleanup.PairedDatabase.REQUIRE);
  }

  /**
   * {@link #cleanup(Duration, Cleanup.Unapplied, Cleanup.LiveInstances)}, with {@code paired} saying
   * whether a side that records nothing must be the database the other side's record names as this
   * migration's other side (see {@link Cleanup}).
   */
  public Cleanup.Report cleanup(Duration networkTimeout, Cleanup.Unapplied unapplied, Cleanup.LiveInstances instances,
      Cleanup.PairedDatabase paired) throws Exception {
    String option = "cleanup --network-timeout";
    return watchedAndBounded(networkTimeout, option, (o, n) -> Cleanup.run(o, n, names, Duration.ofSeconds(10), unapplied,
        instances, paired, () -> Sql.withoutReadLimit(n, () -> LeftAside.putBack(n))));
  }

  /**
   * {@code work} over a connection to each side, every statement answered within {@code
   * networkTimeout} ({@link BoundedRead}) but those it runs {@link Sql#withoutReadLimit}, which the
   * connections' {@link SilenceWatch} watches instead.
   */
  private <T> T watchedAndBounded(Duration networkTimeout, String option, OnBoth<T> work) throws Exception {
    return translate(() -> SilenceWatch.watching(old, nw, networkTimeout, option, (wo, wn) -> {
      try (Connection o = wo.connect(); Connection n = wn.connect()) {
        return BoundedRead.within(networkTimeout, option, Map.of("old", o, "new", n), () -> work.run(o, n));
      }
    }));
  }

  @FunctionalInterface
  private interface OnBoth<T> {
    T run(Connection old, Connection nw) throws Exception;
  }

  @FunctionalInterface
  private interface Work<T> {
    T run() throws Exception;
  }

  /** A server's permission error becomes a {@link Failure#PRIVILEGE} with a remedy. */
  private static <T> T translate(Work<T> work) throws Exception {
    try {
      return work.run();
    } catch (SQLException e) {
      if ("42501".equals(e.getSQLState())) {
        throw new ReplicatorException(Failure.PRIVILEGE, "permission denied: " + FirstLine.of(e.getMessage()),
            "run `cutover-replicator check`, which names each privilege this step needs and the grant that gives it", e);
      }
      throw e;
    }
  }

}
