package dev.cutover.sample;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.switching.Outcome;
import dev.cutover.driver.switching.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
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
 * A full cutover rehearsal, top to bottom: start old and new, create and seed the booking schema,
 * replicate old into new, run the booking service's instances under load, flip the flag (arming
 * replication the other way after each flip, so the next flip is lossless), stop the load, verify,
 * and report.
 */
final class Rehearsal {
  private static final Duration SYNC = Duration.ofSeconds(60);
  private static final Duration SWITCH_WAIT = Duration.ofSeconds(60);
  private static final int ERROR_SAMPLES = 20;

  private final RehearsalPlan plan;
  private final PrintStream out;
  private final long began = System.nanoTime();

  Rehearsal(RehearsalPlan plan, PrintStream out) {
    this.plan = plan;
    this.out = out;
  }

  /** One flip as it happened: when the flag file changed, by both clocks, and what the instances reported. */
  private record Flip(int number, Target to, long atNanos, Instant atWall, List<SwitchEvent> events, long armMillis) {}

  /**
   * Runs the rehearsal and returns its report; the databases are gone when this returns.
   *
   * @throws RehearsalException when the rehearsal cannot run (a server does not start, replication
   *     cannot be set up); invariants that break are in the report, not thrown
   */
  Report run() throws RehearsalException, InterruptedException {
    progress("starting embedded PostgreSQL %d (old) and %d (new)", plan.oldVersion(), plan.newVersion());
    try (PostgresPair pair = PostgresPair.start(plan.oldVersion(), plan.newVersion())) {
      double serversSeconds = seconds(began);
      progress("started %s", pair);
      return run(pair, serversSeconds);
    } catch (SQLException | TimeoutException | RuntimeException e) {
      throw new RehearsalException("the rehearsal could not run: " + e.getMessage(), e);
    }
  }

  private Report run(PostgresPair pair, double serversSeconds)
      throws SQLException, TimeoutException, InterruptedException, RehearsalException {
    long setupBegan = System.nanoTime();
    RehearsalDatabases databases = RehearsalDatabases.create(pair, "booking");
    SeedData.Catalog catalog;
    try (Connection old = databases.direct(Target.OLD); Connection nw = databases.direct(Target.NEW)) {
      BookingSchema.create(old);
      BookingSchema.create(nw);
      catalog = SeedData.insert(old, plan.houses(), plan.users(), LocalDate.now().plusDays(1), plan.seed());
      // After the tables, so they get their fence triggers; before replication, so the barrier table is published.
      ControlSchema.install(old);
      ControlSchema.install(nw);
    }
    progress("seeded old: %d houses, %d users, %d bookings; control schema installed on both",
        plan.houses(), plan.users(), catalog.seededBookings());

    ReplicationSetup replication = new NativeReplication(databases);
    List<String> blockers = replication.check();
    if (!blockers.isEmpty()) {
      throw new RehearsalException("replication cannot run: " + String.join("; ", blockers), null);
    }
    long copyBegan = System.nanoTime();
    replication.start(SYNC);
    progress("replicating old -> new: initial copy and catch-up took %.1f s", seconds(copyBegan));
    double setupSeconds = seconds(setupBegan);

    Ledger ledger = new Ledger();
    List<Flip> flips = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    Target serving = Target.OLD;
    Timeline timeline;
    long loadBegan;
    long loadEnded;
    try (FlagFile flag = FlagFile.create(Target.OLD); SwitchLog switches = new SwitchLog(RehearsalDatabases.SERVICE)) {
      try (Fleet fleet = Fleet.open(plan, databases, flag); LagProbe probe = new LagProbe(replication)) {
        loadBegan = System.nanoTime();
        timeline = new Timeline(loadBegan);
        fleet.start(catalog, new HotSlots(catalog.houses(), catalog.firstDay(), loadBegan), ledger, timeline);
        probe.start(timeline);
        progress("load: %d instances x %d connections, %d tx/s in all; flag file %s", fleet.size(), plan.poolSize(),
            plan.rate(), flag.path());
        long phaseEnds = System.nanoTime() + plan.phase().toNanos();
        for (int number = 1; number <= plan.flips(); number++) {
          sleepUntil(phaseEnds);
          Target to = serving.other();
          try {
            replication.replicateInto(to, SYNC); // armed after the previous flip already; a no-op then
            replication.awaitCaughtUp(SYNC);
          } catch (SQLException | TimeoutException | IllegalStateException e) {
            problems.add("flip " + number + ": replication into " + to.value() + " was not ready: " + e.getMessage());
            break;
          }
          Instant atWall = Instant.now();
          long at = flag.set(to);
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
            long armBegan = System.nanoTime();
            try {
              replication.replicateInto(serving.other(), SYNC);
              armMillis = (System.nanoTime() - armBegan) / 1_000_000;
              progress("armed the way back in %d ms: %s", armMillis, replication.describe());
            } catch (SQLException | TimeoutException | IllegalStateException e) {
              problems.add("after flip " + number + ": could not replicate into " + serving.other().value() + ": "
                  + e.getMessage());
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
          phaseEnds = at + plan.phase().toNanos();
        }
        sleepUntil(phaseEnds);
        loadEnded = System.nanoTime();
        progress("stopping the load");
      } finally {
        // The load is over: every router stops watching the flag file before it is deleted. The
        // driver only offers a JVM-wide shutdown, which suits the rehearsal's own JVM.
        CutoverDriver.shutdown();
      }
    }
    double loadSeconds = (loadEnded - loadBegan) / 1e9;

    long verifyBegan = System.nanoTime();
    List<Ledger.Acknowledged> acknowledged = ledger.acknowledged();
    Verification verification = Verifier.verify(databases, replication, serving, acknowledged);
    progress("verified %d acknowledged bookings against %s", acknowledged.size(), serving.value());
    double verifySeconds = seconds(verifyBegan);

    Report.Setup setup = new Report.Setup(pair.oldServer().toString(), pair.newServer().toString(), plan.instances(), plan.poolSize(),
        plan.rate(), plan.flips(), plan.phase().toMillis() / 1000.0, plan.houses(), plan.users(),
        catalog.seededBookings(), replication.describe());
    Report.Timings timings = new Report.Timings(serversSeconds, setupSeconds, loadSeconds, verifySeconds, seconds(began));
    return report(setup, flips, ledger, timeline, verification, problems, timings);
  }

  private Report report(Report.Setup setup, List<Flip> flips, Ledger ledger, Timeline timeline,
      Verification verification, List<String> problems, Report.Timings timings) {
    List<Timeline.Second> seconds = timeline.seconds();
    List<Report.FlipResult> flipResults = new ArrayList<>();
    List<String> summaries = new ArrayList<>();
    int completed = 0;
    for (Flip flip : flips) {
      flipResults.add(flipResult(flip, timeline.secondsAt(flip.atNanos()), seconds));
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
        new Report.Check("switches completed", completed + "/" + expected, completed == expected),
        new Report.Check("old and new hold the same rows after catch-up", verification.tablesMatch() ? "yes" : "no",
            verification.tablesMatch()));
    return new Report(setup, invariants, flipResults, load, new Report.FailureKinds(before, inFlight, after),
        bySqlState, errorSamples, afterDetails, seconds, summaries, verification, List.copyOf(problems), timings);
  }

  private Report.FlipResult flipResult(Flip flip, double atSecond, List<Timeline.Second> seconds) {
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
      // The event ends at `at` and began `total` earlier, when its gate closed.
      double closed = Duration.between(flip.atWall(), e.at().minus(e.total())).toNanos() / 1e6;
      closedMin = Math.min(closedMin, closed);
      closedMax = Math.max(closedMax, closed);
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
    return new Report.FlipResult(flip.number(), flip.to().value(), atSecond, completed, plan.instances(),
        flip.events().isEmpty() ? 0 : closedMin, closedMax, gateWaits, gateMax, gateP99, drain, barrier, total, rolledBack,
        transactionMax, flip.armMillis(), aborts);
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
