package dev.cutover.sample;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.cleanup.Cleanup;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.sql.Sql;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * A full cutover rehearsal, top to bottom: start old and new (or connect to given databases),
 * create and seed the booking schema, let the replicator check, copy and catch up, run the booking
 * service's instances under load, flip the flag (arming replication the other way after each flip,
 * so the next flip is lossless), stop the load, verify, clean up, and report.
 */
final class Rehearsal {
  private static final Duration SYNC = Duration.ofSeconds(60);
  private static final Duration SWITCH_WAIT = Duration.ofSeconds(60);
  private static final int ERROR_SAMPLES = 20;

  private final RehearsalPlan plan;
  private final PrintStream out;
  private final long began = System.nanoTime();
  private final Instant startedAt = Instant.now();

  Rehearsal(RehearsalPlan plan, PrintStream out) {
    this.plan = plan;
    this.out = out;
  }

  /** One flip as it happened: when the flag changed, by both clocks, and what the instances reported. */
  private record Flip(int number, Target to, long atNanos, Instant atWall, List<SwitchEvent> events, long armMillis) {}

  /** What the replicator did before the load, and how long everything before the load took. */
  private record Prepared(SeedData.Catalog catalog, double setupSeconds, double replicationSeconds, List<String> check,
      String initialCopy, long caughtUpMillis, List<String> wayBack) {}

  /**
   * Runs the rehearsal and returns its report. Whatever happens, the replicator's objects and the
   * tables the rehearsal created are removed and embedded servers are stopped before this returns.
   *
   * @throws RehearsalException when the rehearsal cannot run (a server does not start, a given
   *     database is refused, the replicator's check finds an error); invariants that break are in
   *     the report, not thrown
   */
  Report run() throws RehearsalException, InterruptedException {
    try (FlagControl flag = FlagControl.open(plan.flag(), out); RehearsalDatabases databases = databases()) {
      double serversSeconds = seconds(began);
      progress("old: %s", databases.describe(Target.OLD));
      progress("new: %s", databases.describe(Target.NEW));
      return run(databases, flag, serversSeconds);
    } catch (RehearsalException | InterruptedException e) {
      throw e;
    } catch (Exception e) {
      throw new RehearsalException("the rehearsal could not run: " + message(e), e);
    }
  }

  private RehearsalDatabases databases() throws RehearsalException, SQLException {
    if (plan.databases() instanceof RehearsalPlan.Given given) {
      progress("checking the given databases");
      return RehearsalDatabases.given(given);
    }
    RehearsalPlan.Embedded embedded = (RehearsalPlan.Embedded) plan.databases();
    progress("starting embedded PostgreSQL %s (old) and %d (new)", embedded.oldVersion() == 9 ? "9.6" : embedded.oldVersion(),
        embedded.newVersion());
    return RehearsalDatabases.start(embedded);
  }

  /** What the load phase produced, up to and including verification. */
  private record Ran(Prepared prepared, Report.Environment environment, Report.Setup setup, List<String> wayBack,
      List<Flip> flips, Ledger ledger, Timeline timeline, Verification verification, List<String> problems,
      double loadSeconds, double verifySeconds) {}

  private Report run(RehearsalDatabases databases, FlagControl flag, double serversSeconds) throws Exception {
    Replication replication = null;
    Ran ran;
    List<String> cleanup;
    long cleanupBegan;
    try {
      long setupBegan = System.nanoTime();
      databases.createTables();
      SeedData.Catalog catalog;
      try (Connection old = databases.direct(Target.OLD)) {
        catalog = SeedData.insert(old, plan.houses(), plan.users(), LocalDate.now().plusDays(1), plan.seed());
      }
      progress("created the booking tables on both sides; seeded old: %d houses, %d users, %d bookings",
          plan.houses(), plan.users(), catalog.seededBookings());
      double setupSeconds = seconds(setupBegan);

      replication = new Replication(databases, plan.capture());
      Prepared prepared = prepare(replication, catalog, setupSeconds);
      AutoCloseable heartbeats = replication.heartbeats();
      try {
        ran = load(databases, flag, replication, prepared);
      } finally {
        heartbeats.close();
      }
    } finally {
      cleanupBegan = System.nanoTime();
      cleanup = cleanUp(replication, databases);
    }
    Report.Timings timings = new Report.Timings(serversSeconds, ran.prepared().setupSeconds(),
        ran.prepared().replicationSeconds(), ran.loadSeconds(), ran.verifySeconds(), seconds(cleanupBegan), seconds(began));
    Report.ReplicationSummary summary = new Report.ReplicationSummary(ran.prepared().check(), ran.prepared().initialCopy(),
        ran.prepared().caughtUpMillis(), ran.wayBack(), cleanup);
    return report(ran, summary, timings);
  }

  /**
   * Removes what the rehearsal made, also after a failure: the replicator's objects (it refused to
   * start beside any it had not made) and, in given databases, the tables it created.
   */
  private List<String> cleanUp(Replication replication, RehearsalDatabases databases) {
    List<String> done = new ArrayList<>();
    if (replication != null) {
      try {
        Cleanup.Report removed = replication.cleanup();
        removed.removedOnOld().forEach(r -> done.add("old: removed " + r));
        removed.removedOnNew().forEach(r -> done.add("new: removed " + r));
      } catch (Exception e) {
        done.add("the replicator's cleanup failed: " + message(e));
      }
    }
    done.addAll(databases.dropCreatedTables());
    done.forEach(line -> progress("cleanup: %s", line));
    return done;
  }

  /** The replicator's check (errors stop the rehearsal), start, catch-up, and the way back where it can be armed now. */
  private Prepared prepare(Replication replication, SeedData.Catalog catalog, double setupSeconds) throws Exception {
    long replicationBegan = System.nanoTime();
    CheckReport check = replication.check();
    progress("check: %d error(s), %d warning(s), %d note(s)", check.errors(), check.warnings(),
        check.findings().size() - check.errors() - check.warnings());
    List<String> findings = new ArrayList<>();
    for (Finding f : check.findings()) {
      String line = String.format(Locale.ROOT, "%-7s %-4s %s%s", f.severity().name().toLowerCase(Locale.ROOT), f.side(),
          f.message(), f.remedy().isEmpty() ? "" : " (" + f.remedy() + ")");
      findings.add(line);
      progress("  %s", line);
    }
    if (check.errors() > 0) {
      throw new RehearsalException("the replicator's check found " + check.errors() + " error(s), listed above", null);
    }

    StartReport started = replication.start();
    String stream = started.engine() == Capture.TRIGGERS
        ? "trigger capture applies from the copy's snapshot " + started.consistentPoint() + " on (" + started.engineReason() + ")"
        : started.engine() == Capture.RELAY ? "the apply process relays slot " + started.slot() + " from " + started.consistentPoint()
        : "subscription " + started.slot() + " streams from its slot at " + started.consistentPoint();
    String initialCopy = String.format(Locale.ROOT, "%d rows (%d kB) of %d tables copied in %d ms from one snapshot,"
            + " %d indexes and constraints built after the copy in %d ms; %s (%d ms in all)", started.rows(), started.bytes() / 1024,
        started.tables().size(), started.copyMillis(), started.indexesBuilt(), started.indexMillis(), stream, started.totalMillis());
    progress("start: %s", initialCopy);
    long caughtUp = replication.awaitCaughtUp(SYNC).toMillis();
    progress("caught up: new applied everything old had committed, %d ms after start", caughtUp);
    List<String> wayBack = new ArrayList<>();
    Replication.Armed armed = replication.armBeforeFlips();
    if (armed != null) {
      wayBack.add("before the first flip, in " + armed.millis() + " ms: " + String.join("; ", armed.steps()));
      progress("way back armed %s", wayBack.get(0));
    }
    return new Prepared(catalog, setupSeconds, seconds(replicationBegan), findings, initialCopy, caughtUp, wayBack);
  }

  /** Runs the instances, flips the flag, arms the way back after each flip, stops the load and verifies. */
  private Ran load(RehearsalDatabases databases, FlagControl flag, Replication replication, Prepared prepared)
      throws Exception {
    SeedData.Catalog catalog = prepared.catalog();
    List<String> wayBack = new ArrayList<>(prepared.wayBack());
    Ledger ledger = new Ledger();
    List<Flip> flips = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    Target serving = Target.OLD;
    Timeline timeline;
    long loadBegan;
    long loadEnded;
    try (SwitchEventQueue switches = new SwitchEventQueue(RehearsalDatabases.SERVICE)) {
      try (Fleet fleet = Fleet.open(plan, databases, flag); LagProbe probe = new LagProbe(replication)) {
        loadBegan = System.nanoTime();
        timeline = new Timeline(loadBegan);
        fleet.start(catalog, new HotSlots(catalog.houses(), catalog.firstDay(), loadBegan), ledger, timeline);
        probe.start(timeline);
        progress("load: %d instances x %d connections, %d tx/s in all; %s", fleet.size(), plan.poolSize(), plan.rate(),
            flag.describe());
        long phaseEnds = System.nanoTime() + plan.phase().toNanos();
        for (int number = 1; number <= plan.flips(); number++) {
          sleepUntil(phaseEnds);
          Target to = serving.other();
          try {
            replication.awaitCaughtUp(SYNC);
          } catch (Exception e) {
            problems.add("flip " + number + ": replication into " + to.value() + " did not catch up: " + message(e));
            break;
          }
          try {
            for (String step : replication.prepareFlip()) {
              progress("way back prepared: %s", step);
            }
          } catch (Exception e) {
            problems.add("flip " + number + ": could not prepare the way back: " + message(e));
            break;
          }
          long at;
          try {
            at = flag.flip(number, to);
          } catch (TimeoutException e) {
            problems.add("flip " + number + ": " + e.getMessage());
            break;
          }
          Instant atWall = Instant.now().minusNanos(System.nanoTime() - at);
          progress("flip %d: flag set to %s", number, to.value());
          List<SwitchEvent> events = switches.next(plan.instances(), SWITCH_WAIT);
          events.forEach(e -> progress("  %s", e.summary()));
          boolean allCompleted = events.size() == plan.instances()
              && events.stream().allMatch(e -> e.outcome() == Outcome.COMPLETED);
          long armMillis = -1;
          if (allCompleted) {
            serving = to;
            // Arm the way back at once, under load, even after the last flip: a rollback must not
            // need a second migration, and verification compares both sides.
            try {
              Replication.Armed armed = replication.armWayBack(serving, SYNC);
              armMillis = armed.millis();
              String line = "after flip " + number + " (" + serving.value() + " -> " + serving.other().value() + "), in "
                  + armed.millis() + " ms: " + String.join("; ", armed.steps());
              wayBack.add(line);
              progress("way back armed %s", line);
            } catch (Exception e) {
              problems.add("after flip " + number + ": could not replicate into " + serving.other().value() + ": " + message(e));
            }
          } else {
            problems.add("flip " + number + ": " + events.size() + " of " + plan.instances() + " instances reported a switch"
                + " within " + SWITCH_WAIT.toSeconds() + " s, " + events.stream().filter(e -> e.outcome() == Outcome.COMPLETED).count()
                + " completed; no further flips");
          }
          flips.add(new Flip(number, to, at, atWall, events, armMillis));
          if (!problems.isEmpty()) {
            break;
          }
          phaseEnds = System.nanoTime() + plan.phase().toNanos();
        }
        sleepUntil(phaseEnds);
        loadEnded = System.nanoTime();
        progress("stopping the load");
      } finally {
        // The load is over: every router stops following the flag before the flag source closes.
        // The driver only offers a JVM-wide shutdown, which suits the rehearsal's own JVM.
        CutoverDriver.shutdown();
      }
    }
    double loadSeconds = (loadEnded - loadBegan) / 1e9;

    long verifyBegan = System.nanoTime();
    List<Ledger.Acknowledged> acknowledged = ledger.acknowledged();
    Verification verification = Verifier.verify(databases, replication, serving, acknowledged);
    Verification.Replicated replicated = verification.replicated();
    progress("verified %d acknowledged bookings against %s; replicator verify %s", acknowledged.size(), serving.value(),
        replicated == null ? "did not run: " + verification.note() : replicated.summary());
    double verifySeconds = seconds(verifyBegan);
    String advice = flag.closingAdvice(serving);
    if (!advice.isEmpty()) {
      progress("%s", advice);
    }

    Report.Setup setup = new Report.Setup(databases.describe(Target.OLD), databases.describe(Target.NEW),
        databases.embedded() ? "embedded, created by the rehearsal" : "given (--old-url, --new-url)", flag.describe(),
        plan.instances(), plan.poolSize(), plan.rate(), plan.flips(), plan.phase().toMillis() / 1000.0, plan.houses(),
        plan.users(), catalog.seededBookings(), replication.describe());
    Report.Environment environment = RunEnvironment.describe(startedAt, databases, flag.describe());
    return new Ran(prepared, environment, setup, wayBack, flips, ledger, timeline, verification, problems, loadSeconds,
        verifySeconds);
  }

  private Report report(Ran ran, Report.ReplicationSummary replication, Report.Timings timings) {
    List<Flip> flips = ran.flips();
    Ledger ledger = ran.ledger();
    Timeline timeline = ran.timeline();
    Verification verification = ran.verification();
    List<Timeline.Second> seconds = timeline.seconds();
    List<Report.FlipResult> flipResults = new ArrayList<>();
    List<String> summaries = new ArrayList<>();
    int completed = 0;
    for (Flip flip : flips) {
      flipResults.add(flipResult(flip, timeline, seconds));
      for (SwitchEvent e : flip.events()) {
        summaries.add(e.summary());
        if (e.outcome() == Outcome.COMPLETED) {
          completed++;
        }
      }
    }

    List<Ledger.Failure> failures = ledger.failures();
    failures.sort(java.util.Comparator.comparingLong(Ledger.Failure::startNanos));
    List<String> afterDetails = new ArrayList<>();
    long before = 0;
    long inFlight = 0;
    long after = 0;
    Map<String, Long> bySqlState = new TreeMap<>();
    Map<String, String> samples = new LinkedHashMap<>();
    for (Ledger.Failure f : failures) {
      bySqlState.merge(f.sqlState(), 1L, Long::sum);
      if (samples.size() < ERROR_SAMPLES) {
        samples.putIfAbsent(f.sqlState() + " " + f.operation(), f.message());
      }
      boolean during = flips.stream().anyMatch(flip -> flip.atNanos() - f.startNanos() > 0 && flip.atNanos() - f.endNanos() <= 0);
      boolean afterSome = flips.stream().anyMatch(flip -> flip.atNanos() - f.startNanos() <= 0);
      if (during) {
        inFlight++;
      } else if (afterSome) {
        after++;
        Flip last = flips.stream().filter(flip -> flip.atNanos() - f.startNanos() <= 0).reduce((a, b) -> b).orElseThrow();
        if (afterDetails.size() < ERROR_SAMPLES) {
          afterDetails.add(String.format(Locale.ROOT, "%s %s began %.1f ms after flip %d and failed %.1f ms later: %s %s",
              f.instance(), f.operation(), (f.startNanos() - last.atNanos()) / 1e6, last.number(),
              (f.endNanos() - f.startNanos()) / 1e6, f.sqlState(), firstLine(f.message())));
        }
      } else {
        before++;
      }
    }
    List<String> errorSamples = new ArrayList<>();
    samples.forEach((key, message) -> errorSamples.add(key + ": " + firstLine(message)));

    long committed = seconds.stream().mapToLong(Timeline.Second::committed).sum();
    double loadSeconds = Math.max(1e-9, timings.loadSeconds());
    Report.LoadTotals load = new Report.LoadTotals(timings.loadSeconds(), committed, committed / loadSeconds,
        verification.acknowledged(), ledger.contendedWins(), ledger.conflicts(), ledger.reads(), failures.size(),
        timeline.overallMillis(50), timeline.overallMillis(99), timeline.overallMaxMillis());

    int expected = plan.instances() * plan.flips();
    int unread = ledger.unreadWrites().size();
    List<Report.Check> invariants = List.of(
        new Report.Check("acknowledged bookings missing on the serving database (" + verification.serving().value() + ")",
            String.valueOf(verification.missing()), verification.missing() == 0),
        new Report.Check("duplicate bookings (same house and day)",
            String.valueOf(verification.duplicatesAcknowledged() + verification.duplicatesStored()),
            verification.duplicatesAcknowledged() + verification.duplicatesStored() == 0),
        new Report.Check("failed transactions that began after a flip", String.valueOf(after), after == 0),
        new Report.Check("own writes not read back by the same instance", String.valueOf(unread), unread == 0),
        new Report.Check("flips rehearsed (at least one)", String.valueOf(flips.size()), !flips.isEmpty()),
        new Report.Check("switches completed", completed + "/" + expected, completed == expected),
        verification.tablesCheck());
    return new Report(ran.environment(), ran.setup(), invariants, replication, flipResults, load, new Report.FailureKinds(before, inFlight, after),
        bySqlState, errorSamples, afterDetails, seconds, summaries, verification, List.copyOf(ran.problems()), timings);
  }

  /** Transactions shown before a flip's first switch and after its last. */
  private static final long AROUND_MILLIS = 250;
  /** At most this long after the flip, however long a switch took. */
  private static final long AFTER_LIMIT_MILLIS = 5_000;

  private Report.FlipResult flipResult(Flip flip, Timeline timeline, List<Timeline.Second> seconds) {
    double atSecond = timeline.secondsAt(flip.atNanos());
    List<Report.InstanceSwitch> instances = new ArrayList<>();
    long gateWaits = 0;
    double gateMax = 0;
    double gateP99 = 0;
    double drain = 0;
    double barrier = 0;
    double total = 0;
    int rolledBack = 0;
    int completed = 0;
    List<String> aborts = new ArrayList<>();
    double closedMin = Double.MAX_VALUE;
    double closedMax = 0;
    for (SwitchEvent e : flip.events()) {
      // The event ends at `at` and began `total` earlier: when its gate closed, or for a switch
      // refused before its gate (gateClosed false) when it started, which no gate figure counts.
      double closed = Duration.between(flip.atWall(), e.at().minus(e.total())).toNanos() / 1e6;
      instances.add(new Report.InstanceSwitch(e.instance(), e.outcome().name().toLowerCase(Locale.ROOT), e.leader(), closed,
          millis(e.drain()), millis(e.coordinate()), millis(e.fence()), millis(e.barrier()), millis(e.sequences()),
          millis(e.total()), e.gateWaits(), millis(e.gateWaitMax()), millis(e.gateWaitP99()), e.rolledBack(), e.prewarmed(),
          e.reason()));
      if (e.gateClosed()) {
        closedMin = Math.min(closedMin, closed);
        closedMax = Math.max(closedMax, closed);
      }
      gateWaits += e.gateWaits();
      gateMax = Math.max(gateMax, millis(e.gateWaitMax()));
      gateP99 = Math.max(gateP99, millis(e.gateWaitP99()));
      drain = Math.max(drain, millis(e.drain()));
      barrier = Math.max(barrier, millis(e.barrier()));
      total = Math.max(total, millis(e.total()));
      rolledBack += e.rolledBack();
      if (e.outcome() == Outcome.COMPLETED) {
        completed++;
      } else {
        aborts.add(e.reason());
      }
    }
    // The slowest transaction that ended in the second of the flip or the next one.
    int first = (int) Math.floor(atSecond);
    double transactionMax = seconds.stream().filter(s -> s.second() >= first && s.second() <= first + 1)
        .mapToDouble(Timeline.Second::maxMillis).max().orElse(0);
    instances.sort(java.util.Comparator.comparing(Report.InstanceSwitch::instance));
    long after = Math.min(AFTER_LIMIT_MILLIS, Math.round(closedMax + total) + AROUND_MILLIS);
    return new Report.FlipResult(flip.number(), flip.to().value(), atSecond, flip.atWall().toString(), completed,
        plan.instances(), closedMin == Double.MAX_VALUE ? 0 : closedMin, closedMax, gateWaits, gateMax, gateP99, drain, barrier,
        total, rolledBack, transactionMax, flip.armMillis(), aborts, List.copyOf(instances),
        timeline.around(flip.atNanos(), AROUND_MILLIS, after));
  }

  /** An exception's message for the report, with any password masked (a subscription's connection string holds one). */
  private static String message(Exception e) {
    return Sql.maskSecrets(e instanceof ReplicatorException r ? r.oneLine() : String.valueOf(e.getMessage()));
  }

  private static String firstLine(String message) {
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  private static double millis(Duration d) {
    return d.toNanos() / 1e6;
  }

  private static double seconds(long sinceNanos) {
    return (System.nanoTime() - sinceNanos) / 1e9;
  }

  private static void sleepUntil(long nanos) throws InterruptedException {
    long wait;
    while ((wait = nanos - System.nanoTime()) > 0) {
      LockSupport.parkNanos(wait);
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
    }
  }

  private void progress(String format, Object... args) {
    out.printf(Locale.ROOT, "[%6.1fs] %s%n", seconds(began), String.format(Locale.ROOT, format, args));
    out.flush();
  }
}
