package dev.cutover.sample;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/** The report as plain text for a terminal: invariants first, then flips, load, errors, seconds, switches. */
final class ReportTable {
  private ReportTable() {}

  static void print(Report r, PrintStream out) {
    Report.Setup s = r.setup();
    line(out, "");
    line(out, "Cutover rehearsal: %s -> %s", s.oldServer(), s.newServer());
    line(out, "  %d instances x %d connections, %d tx/s target, %d flip(s), %.0f s per phase; %d houses, %d users",
        s.instances(), s.poolSize(), s.rate(), s.flips(), s.phaseSeconds(), s.houses(), s.users());
    line(out, "  databases: %s; flag: %s", s.databases(), s.flag());
    line(out, "  replication: %s", s.replication());
    Report.Environment env = r.environment();
    line(out, "  run %s, Cutover %s; %s", env.runAt(), env.cutoverVersion(), env.machine());
    line(out, "  old: %s", env.oldSettings());
    line(out, "  new: %s", env.newSettings());
    for (String caveat : env.caveats()) {
      line(out, "  caveat: %s", caveat);
    }
    line(out, "");
    line(out, "Invariants");
    for (Report.Check c : r.invariants()) {
      line(out, "  %-62s %8s  %s", c.name(), c.value(), c.ok() ? "ok" : "BROKEN");
    }
    for (String p : r.problems()) {
      line(out, "  problem: %s", p);
    }

    line(out, "");
    line(out, "Flips (ms; maxima over instances; gate closed: after the flag changed, first-last instance)");
    line(out, "  %2s %-4s %7s %9s %11s %10s %9s %9s %7s %8s %7s %7s %8s %7s", "#", "to", "at s", "switches", "gate closed",
        "gate waits", "gate max", "gate p99", "drain", "barrier", "total", "rolled", "tx max", "armed");
    for (Report.FlipResult f : r.flips()) {
      line(out, "  %2d %-4s %7.2f %9s %11s %10d %9.1f %9.1f %7.1f %8.1f %7.1f %7d %8.1f %7s", f.number(), f.to(),
          f.atSecond(), f.switchesCompleted() + "/" + f.switchesExpected(),
          String.format(Locale.ROOT, "%.0f-%.0f", f.gateClosedMinMillis(), f.gateClosedMaxMillis()), f.gateWaits(), f.gateWaitMaxMillis(),
          f.gateWaitP99Millis(), f.drainMaxMillis(), f.barrierMaxMillis(), f.totalMaxMillis(), f.rolledBack(),
          f.transactionMaxMillis(), f.armMillis() < 0 ? "-" : f.armMillis() + "");
      for (String reason : f.abortReasons()) {
        line(out, "     aborted: %s", reason);
      }
    }
    if (r.flips().isEmpty()) {
      line(out, "  none");
    }

    Report.LoadTotals l = r.load();
    line(out, "");
    line(out, "Load");
    line(out, "  %d transactions committed in %.1f s (%.0f tx/s); latency p50 %.2f ms, p99 %.2f ms, max %.1f ms",
        l.committed(), l.seconds(), l.perSecond(), l.p50Millis(), l.p99Millis(), l.maxMillis());
    line(out, "  %d bookings acknowledged (%d of them won a contended night), %d lost the race (expected), %d reads",
        l.bookingsAcknowledged(), l.contendedWins(), l.conflicts(), l.reads());
    Report.FailureKinds k = r.failures();
    line(out, "  %d failed: %d before any flip, %d in flight at a flip, %d began after a flip", l.failed(),
        k.beforeAnyFlip(), k.inFlightAtFlip(), k.beganAfterFlip());
    for (Map.Entry<String, Long> e : r.errorsBySqlState().entrySet()) {
      line(out, "    SQLState %-12s %6d", e.getKey(), e.getValue());
    }
    for (String sample : r.errorSamples()) {
      line(out, "    e.g. %s", sample);
    }
    for (String failure : r.failedAfterFlip()) {
      line(out, "    after a flip: %s", failure);
    }

    Verification v = r.verification();
    line(out, "");
    line(out, "Verify (serving: %s; %d acknowledged bookings checked)", v.serving().value(), v.acknowledged());
    Verification.Replicated rv = v.replicated();
    if (rv != null) {
      line(out, "  replicator verify %s", rv.summary());
      for (Verification.TableResult t : rv.tables()) {
        line(out, "  %-28s old %8d rows, new %8d rows  %s", t.table(), t.oldRows(), t.newRows(),
            t.differences() == 0 ? "same" : t.differences() + " DIFFER: " + String.join(", ", t.examples()));
      }
      if (!rv.uncarried().isEmpty()) {
        line(out, "  NOT COMPARED, as replication does not carry them (their rows on the target may be missing or stale): %s; %s",
            String.join(", ", rv.uncarried()), rv.carry());
      }
      if (!rv.note().isEmpty()) {
        line(out, "  %s", rv.note());
      }
    }
    if (!v.note().isEmpty()) {
      line(out, "  %s", v.note());
    }
    for (String m : v.missingSamples()) {
      line(out, "  missing: %s", m);
    }

    Report.ReplicationSummary rs = r.replication();
    line(out, "");
    line(out, "Replication");
    for (String finding : rs.check()) {
      line(out, "  check: %s", finding);
    }
    line(out, "  start: %s", rs.initialCopy());
    line(out, "  caught up %d ms after start", rs.caughtUpMillis());
    for (String armed : rs.wayBack()) {
      line(out, "  way back armed %s", armed);
    }
    for (String removed : rs.cleanup()) {
      line(out, "  cleanup: %s", removed);
    }

    line(out, "");
    line(out, "Per second (tx/s committed; latency in ms; lag of the replication running then: WAL the target has not"
        + " confirmed, and heartbeat lag in steps of the 100 ms beat)");
    line(out, "  %5s %6s %5s %6s %8s %8s %8s %9s %8s", "t s", "tx/s", "fail", "races", "p50", "p99", "max", "lag kB", "lag ms");
    int flip = 0;
    for (Timeline.Second sec : r.seconds()) {
      StringBuilder marks = new StringBuilder();
      while (flip < r.flips().size() && (int) Math.floor(r.flips().get(flip).atSecond()) == sec.second()) {
        Report.FlipResult f = r.flips().get(flip++);
        marks.append(String.format(Locale.ROOT, "  <- flip %d to %s at %.2f s", f.number(), f.to(), f.atSecond()));
      }
      line(out, "  %5d %6d %5d %6d %8.2f %8.2f %8.1f %9s %8s%s", sec.second(), sec.committed(), sec.failed(),
          sec.conflicts(), sec.p50Millis(), sec.p99Millis(), sec.maxMillis(),
          sec.lagBytes() < 0 ? "-" : String.format(Locale.ROOT, "%.1f", sec.lagBytes() / 1024.0),
          sec.lagMillis() < 0 ? "-" : String.format(Locale.ROOT, "%.1f", sec.lagMillis()), marks);
    }

    line(out, "");
    line(out, "Switch events");
    for (String summary : r.switchSummaries()) {
      line(out, "  %s", summary);
    }
    Report.Timings t = r.timings();
    line(out, "");
    line(out, "Timing: servers or connect %.1f s, tables + seed %.1f s, check + initial copy + catch-up %.1f s, load %.1f s,"
        + " verify %.1f s, cleanup %.1f s; total %.1f s", t.serversSeconds(), t.setupSeconds(), t.replicationSeconds(), t.loadSeconds(),
        t.verifySeconds(), t.cleanupSeconds(), t.totalSeconds());
    line(out, "");
    line(out, "%s", r.verdict().toUpperCase(java.util.Locale.ROOT));
  }

  private static void line(PrintStream out, String format, Object... args) {
    out.println(String.format(Locale.ROOT, format, args));
  }
}
