package dev.cutover.sample;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The report as one self-contained HTML page: tables, and charts drawn as inline SVG (no script,
 * nothing fetched), each flip marked on every chart.
 */
final class ReportPage {
  private static final int WIDTH = 960;
  private static final int HEIGHT = 230;
  private static final int LEFT = 64;
  private static final int RIGHT = 16;
  private static final int TOP = 28;
  private static final int BOTTOM = 30;

  private record Series(String name, String color, ToDoubleFunction<Timeline.Second> value) {}

  private ReportPage() {}

  static String render(Report r) {
    StringBuilder h = new StringBuilder();
    Report.Setup s = r.setup();
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Cutover rehearsal</title>\n<style>")
        .append("body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}")
        .append("table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}")
        .append("th{background:#f3f3f3}td.l,th.l{text-align:left}.ok{color:#17803d;font-weight:600}.bad{color:#c62828;font-weight:700}")
        .append(".verdict{font-size:1.4em;padding:.5em 1em;border-radius:6px;display:inline-block}")
        .append(".pass{background:#e6f4ea}.fail{background:#fdecea}code,pre{font-size:.85em}pre{white-space:pre-wrap}")
        .append("#run-metadata td,#run-metadata th{text-align:left}.caveat{color:#8a4b00}")
        .append("</style></head><body>\n");
    h.append("<h1>Cutover rehearsal</h1>\n");
    boolean go = r.passed() && !r.flips().isEmpty();
    h.append("<p id=\"verdict\" class=\"verdict ").append(go ? "pass" : "fail").append("\">").append(esc(r.verdict()))
        .append("</p>\n");
    metadata(h, r.environment());
    h.append("<p>").append(esc(s.oldServer())).append(" &rarr; ").append(esc(s.newServer())).append("<br>")
        .append(String.format(Locale.ROOT, "%d instances &times; %d connections, %d tx/s target, %d flip(s), %.0f s per phase;"
            + " %d houses, %d users, %d seeded bookings", s.instances(), s.poolSize(), s.rate(), s.flips(), s.phaseSeconds(),
            s.houses(), s.users(), s.seededBookings()))
        .append("<br>Databases: ").append(esc(s.databases())).append("; flag: ").append(esc(s.flag()))
        .append("<br>Replication: ").append(esc(s.replication())).append("</p>\n");

    h.append("<h2>Invariants</h2>\n<table><tr><th class=\"l\">check</th><th>value</th><th></th></tr>\n");
    for (Report.Check c : r.invariants()) {
      h.append("<tr><td class=\"l\">").append(esc(c.name())).append("</td><td>").append(esc(c.value())).append("</td><td class=\"")
          .append(c.ok() ? "ok\">ok" : "bad\">BROKEN").append("</td></tr>\n");
    }
    h.append("</table>\n");
    for (String p : r.problems()) {
      h.append("<p class=\"bad\">").append(esc(p)).append("</p>\n");
    }

    List<Timeline.Second> seconds = r.seconds();
    h.append("<h2>Throughput</h2>\n").append(chart(r, "transactions per second", "tx/s", List.of(
        new Series("committed", "#1565c0", x -> x.committed()),
        new Series("lost the race (expected)", "#9e9e9e", x -> x.conflicts()),
        new Series("failed", "#c62828", x -> x.failed())), seconds));
    h.append("<h2>Latency</h2>\n").append(chart(r, "transaction latency", "ms", List.of(
        new Series("p50", "#2e7d32", Timeline.Second::p50Millis),
        new Series("p99", "#ef6c00", Timeline.Second::p99Millis),
        new Series("max", "#6a1b9a", Timeline.Second::maxMillis)), seconds));
    h.append("<h2>Replication lag</h2>\n<p>A gap in a line is a second in which the lag could not be measured, not a lag of 0.</p>\n")
        .append(chart(r, "unconfirmed WAL of the running replication", "kB", List.of(
        new Series("lag", "#00838f", x -> x.lagBytes() < 0 ? Double.NaN : x.lagBytes() / 1024.0)), seconds))
        .append(chart(r, "heartbeat lag of the running replication (resolution: the 100 ms beat)", "ms", List.of(
            new Series("lag", "#00838f", x -> x.lagMillis() < 0 ? Double.NaN : x.lagMillis())), seconds));

    h.append("<h2>Flips</h2>\n<table><tr><th>#</th><th>to</th><th>at s</th><th>switches</th><th>gates closed ms after the flag (first&ndash;last)</th><th>gate waits</th>")
        .append("<th>gate max ms</th><th>gate p99 ms</th><th>drain ms</th><th>barrier ms</th><th>total ms</th>")
        .append("<th>rolled back</th><th>slowest tx ms</th><th>way back armed in ms</th></tr>\n");
    for (Report.FlipResult f : r.flips()) {
      h.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%s</td><td>%.2f</td><td>%d/%d</td><td>%.1f&ndash;%.1f</td><td>%d</td>"
              + "<td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%d</td><td>%.1f</td><td>%s</td></tr>%n",
          f.number(), f.to(), f.atSecond(), f.switchesCompleted(), f.switchesExpected(), f.gateClosedMinMillis(),
          f.gateClosedMaxMillis(), f.gateWaits(), f.gateWaitMaxMillis(),
          f.gateWaitP99Millis(), f.drainMaxMillis(), f.barrierMaxMillis(), f.totalMaxMillis(), f.rolledBack(),
          f.transactionMaxMillis(), f.armMillis() < 0 ? "-" : String.valueOf(f.armMillis())));
    }
    h.append("</table>\n");
    for (Report.FlipResult f : r.flips()) {
      flip(h, f);
    }

    Report.LoadTotals l = r.load();
    Report.FailureKinds k = r.failures();
    h.append("<h2>Load</h2>\n<table>")
        .append(row("transactions committed", String.format(Locale.ROOT, "%d in %.1f s (%.0f tx/s)", l.committed(), l.seconds(), l.perSecond())))
        .append(row("latency", String.format(Locale.ROOT, "p50 %.2f ms, p99 %.2f ms, max %.1f ms", l.p50Millis(), l.p99Millis(), l.maxMillis())))
        .append(row("bookings acknowledged", l.bookingsAcknowledged() + " (" + l.contendedWins() + " won a contended night)"))
        .append(row("lost the race for a night (expected)", String.valueOf(l.conflicts())))
        .append(row("reads", String.valueOf(l.reads())))
        .append(row("failed", l.failed() + ": " + k.beforeAnyFlip() + " before any flip, " + k.inFlightAtFlip()
            + " in flight at a flip, " + k.beganAfterFlip() + " began after a flip"));
    for (Map.Entry<String, Long> e : r.errorsBySqlState().entrySet()) {
      h.append(row("SQLState " + e.getKey(), String.valueOf(e.getValue())));
    }
    h.append("</table>\n");
    if (!r.errorSamples().isEmpty()) {
      h.append("<pre>").append(esc(String.join("\n", r.errorSamples()))).append("</pre>\n");
    }
    if (!r.failedAfterFlip().isEmpty()) {
      h.append("<p class=\"bad\">Failed after a flip:</p><pre>").append(esc(String.join("\n", r.failedAfterFlip())))
          .append("</pre>\n");
    }

    Verification v = r.verification();
    h.append("<h2>Verify</h2>\n<p>Serving at the end: ").append(v.serving().value()).append("; ").append(v.acknowledged())
        .append(" acknowledged bookings checked there.");
    if (!v.note().isEmpty()) {
      h.append(" ").append(esc(v.note()));
    }
    h.append("</p>\n");
    Verification.Replicated rv = v.replicated();
    if (rv != null) {
      h.append(String.format(Locale.ROOT, "<p>The replicator's verify (%s): %d rows compared in %d ms, %d difference(s)%s.%s</p>%n",
          esc(rv.direction()), rv.rows(), rv.millis(), rv.differences(),
          rv.inFlight() > 0 ? ", " + rv.inFlight() + " in flight resolved by the recheck" : "",
          rv.note().isEmpty() ? "" : " " + esc(rv.note())));
      h.append("<table><tr><th class=\"l\">table</th><th>old rows</th><th>new rows</th><th>differences</th></tr>\n");
      for (Verification.TableResult t : rv.tables()) {
        h.append("<tr><td class=\"l\">").append(esc(t.table())).append("</td><td>").append(t.oldRows()).append("</td><td>")
            .append(t.newRows()).append("</td><td class=\"").append(t.differences() == 0 ? "ok\">0" : "bad\">" + t.differences()
                + " (" + esc(String.join(", ", t.examples())) + ")").append("</td></tr>\n");
      }
      h.append("</table>\n");
      if (!rv.uncarried().isEmpty()) {
        h.append("<p id=\"uncarried\" class=\"bad\">Not compared, as replication does not carry them (their rows on the target may be"
            + " missing or stale): ").append(esc(String.join(", ", rv.uncarried()))).append(". ").append(esc(rv.carry())).append("</p>\n");
      }
    }
    if (!v.missingSamples().isEmpty()) {
      h.append("<p class=\"bad\">Missing:</p><pre>").append(esc(String.join("\n", v.missingSamples()))).append("</pre>\n");
    }

    Report.ReplicationSummary rs = r.replication();
    h.append("<h2>Replication</h2>\n<table>")
        .append(row("check", String.join("\n", rs.check())))
        .append(row("start", rs.initialCopy()))
        .append(row("caught up", rs.caughtUpMillis() + " ms after start"))
        .append(row("way back", String.join("\n", rs.wayBack())))
        .append(row("cleanup", String.join("\n", rs.cleanup())))
        .append("</table>\n");

    Report.Timings t = r.timings();
    h.append(String.format(Locale.ROOT, "<p>Timing: servers or connect %.1f s, tables + seed %.1f s, check + initial copy + catch-up"
        + " %.1f s, load %.1f s, verify %.1f s, cleanup %.1f s; total %.1f s.</p>%n", t.serversSeconds(), t.setupSeconds(),
        t.replicationSeconds(), t.loadSeconds(), t.verifySeconds(), t.cleanupSeconds(), t.totalSeconds()));
    h.append("</body></html>\n");
    return h.toString();
  }

  private static String chart(Report r, String title, String unit, List<Series> series, List<Timeline.Second> seconds) {
    int n = Math.max(1, seconds.size());
    double max = 0;
    for (Series s : series) {
      for (Timeline.Second sec : seconds) {
        double v = s.value().applyAsDouble(sec);
        if (Double.isFinite(v)) {
          max = Math.max(max, v);
        }
      }
    }
    double top = niceCeiling(max);
    double plotW = WIDTH - LEFT - RIGHT;
    double plotH = HEIGHT - TOP - BOTTOM;
    StringBuilder svg = new StringBuilder();
    svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
        + " font-size=\"11\" role=\"img\" aria-label=\"%s\">%n", WIDTH, HEIGHT, WIDTH, HEIGHT, esc(title)));
    svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"16\" font-weight=\"600\">%s (%s)</text>%n", LEFT, esc(title), unit));
    for (int i = 0; i <= 4; i++) {
      double value = top * i / 4;
      double y = TOP + plotH - plotH * i / 4;
      svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>"
          + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", LEFT, WIDTH - RIGHT, y, y, LEFT - 6, y + 4, number(value)));
    }
    int step = n <= 30 ? 5 : n <= 120 ? 10 : 30;
    for (int s = 0; s <= n; s += step) {
      double x = LEFT + plotW * s / n;
      svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d s</text>%n", x, HEIGHT - 10, s));
    }
    for (Report.FlipResult f : r.flips()) {
      double x = LEFT + plotW * f.atSecond() / n;
      svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"#c62828\" stroke-dasharray=\"4 3\"/>"
          + "<text x=\"%.1f\" y=\"%d\" fill=\"#c62828\">flip %d &#8594; %s</text>%n",
          x, x, TOP, TOP + plotH, x + 3, TOP + 10, f.number(), f.to()));
    }
    int legendX = WIDTH - RIGHT - 170 * series.size();
    for (int i = 0; i < series.size(); i++) {
      Series s = series.get(i);
      // A second without a value ends the line: unknown is drawn as a gap, never as zero.
      StringBuilder points = new StringBuilder();
      for (Timeline.Second sec : seconds) {
        double v = s.value().applyAsDouble(sec);
        if (!Double.isFinite(v)) {
          polyline(svg, s.color(), points);
          continue;
        }
        double x = LEFT + plotW * (sec.second() + 0.5) / n;
        double y = TOP + plotH - (top == 0 ? 0 : plotH * v / top);
        points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
      }
      polyline(svg, s.color(), points);
      int lx = legendX + 170 * i;
      svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"8\" width=\"12\" height=\"3\" fill=\"%s\"/>"
          + "<text x=\"%d\" y=\"14\">%s</text>%n", lx, s.color(), lx + 16, esc(s.name())));
    }
    svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#999\"/>%n",
        LEFT, TOP, plotW, plotH));
    return svg.append("</svg>\n").toString();
  }

  /** Draws the points gathered so far as one line (a dot when there is one point) and starts afresh. */
  private static void polyline(StringBuilder svg, String color, StringBuilder points) {
    String p = points.toString().trim();
    if (!p.isEmpty()) {
      if (p.indexOf(' ') < 0) {
        String[] xy = p.split(",");
        svg.append("<circle cx=\"").append(xy[0]).append("\" cy=\"").append(xy[1]).append("\" r=\"2\" fill=\"").append(color)
            .append("\"/>\n");
      } else {
        svg.append("<polyline fill=\"none\" stroke-width=\"1.8\" stroke=\"").append(color).append("\" points=\"").append(p)
            .append("\"/>\n");
      }
    }
    points.setLength(0);
  }

  /** When, with what and on what the rehearsal ran, and what limits its figures. */
  private static void metadata(StringBuilder h, Report.Environment e) {
    h.append("<section id=\"run-metadata\"><h2>Run</h2>\n<table>")
        .append(row("run", e.runAt()))
        .append(row("Cutover", e.cutoverVersion()))
        .append(row("machine", e.machine()))
        .append(row("old server", settings(e.oldSettings())))
        .append(row("new server", settings(e.newSettings())))
        .append("</table>\n");
    if (!e.caveats().isEmpty()) {
      h.append("<p>Caveats:</p><ul>");
      for (String c : e.caveats()) {
        h.append("<li class=\"caveat\">").append(esc(c)).append("</li>");
      }
      h.append("</ul>\n");
    }
    h.append("</section>\n");
  }

  private static String settings(Map<String, String> settings) {
    StringBuilder s = new StringBuilder();
    settings.forEach((k, v) -> s.append(s.length() == 0 ? "" : ", ").append(k).append(" = ").append(v));
    return s.toString();
  }

  /** One flip: its timeline at millisecond resolution and a table of every instance's switch. */
  private static void flip(StringBuilder h, Report.FlipResult f) {
    h.append(String.format(Locale.ROOT, "<section class=\"flip\" id=\"flip-%d\"><h3>Flip %d to %s at %s (%.2f s into the load)</h3>%n",
        f.number(), f.number(), f.to(), esc(f.atTime()), f.atSecond()));
    h.append(FlipTimeline.svg(f));
    h.append(String.format(Locale.ROOT, "<table id=\"flip-%d-instances\"><tr><th class=\"l\">instance</th><th>outcome</th><th>role</th>"
        + "<th>gate closed ms after the flag</th><th>drain</th><th>coordinate</th><th>fence</th><th>barrier</th><th>sequences</th>"
        + "<th>total</th><th>gate waits</th><th>gate max</th><th>gate p99</th><th>rolled back</th><th>pre-opened</th>"
        + "<th class=\"l\">reason</th></tr>%n", f.number()));
    for (Report.InstanceSwitch i : f.instances()) {
      h.append(String.format(Locale.ROOT, "<tr><td class=\"l\">%s</td><td class=\"%s\">%s</td><td>%s</td><td>%.1f</td><td>%.1f</td>"
              + "<td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%d</td><td>%.1f</td><td>%.1f</td><td>%d</td>"
              + "<td>%d</td><td class=\"l\">%s</td></tr>%n", esc(i.instance()), "completed".equals(i.outcome()) ? "ok" : "bad",
          i.outcome(), i.leader() ? "leader" : "follower", i.gateClosedMillis(), i.drainMillis(), i.coordinateMillis(),
          i.fenceMillis(), i.barrierMillis(), i.sequencesMillis(), i.totalMillis(), i.gateWaits(), i.gateWaitMaxMillis(),
          i.gateWaitP99Millis(), i.rolledBack(), i.prewarmed(), esc(i.reason())));
    }
    h.append("</table></section>\n");
  }

  /** 1, 2 or 5 times a power of ten, at least {@code max}. */
  private static double niceCeiling(double max) {
    if (max <= 0) {
      return 1;
    }
    double magnitude = Math.pow(10, Math.floor(Math.log10(max)));
    for (double m : new double[] {1, 2, 5, 10}) {
      if (m * magnitude >= max) {
        return m * magnitude;
      }
    }
    return 10 * magnitude;
  }

  static String number(double v) {
    return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.2f", v);
  }

  private static String row(String name, String value) {
    return "<tr><td class=\"l\">" + esc(name) + "</td><td class=\"l\">" + esc(value).replace("\n", "<br>") + "</td></tr>\n";
  }

  static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
