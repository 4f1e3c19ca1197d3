package dev.cutover.sample;

import java.util.List;
import java.util.Locale;

/**
 * One flip drawn at millisecond resolution as inline SVG: a row per instance with its switch's
 * phases (from the flag's change to its gate closing, then drain, coordinate, and on the leader
 * fence, barrier and sequences, then release), and below, every transaction that ended around the
 * flip as a dot at its end time and latency, so the pause is visible where it happened.
 */
final class FlipTimeline {
  private static final int WIDTH = 960;
  private static final int LEFT = 150;
  private static final int RIGHT = 16;
  private static final int ROW = 20;
  private static final int TOP = 34;
  private static final int SCATTER = 130;
  private static final int BOTTOM = 30;

  /** A phase: its name, its colour. */
  private record Phase(String name, String color) {}

  private static final Phase WAITING = new Phase("flag seen, connections opened, peers ready", "#e0e0e0");
  private static final Phase DRAIN = new Phase("drain", "#8e24aa");
  private static final Phase COORDINATE = new Phase("coordinate", "#f9a825");
  private static final Phase FENCE = new Phase("fence", "#c62828");
  private static final Phase BARRIER = new Phase("barrier", "#1565c0");
  private static final Phase SEQUENCES = new Phase("sequences", "#2e7d32");
  private static final Phase RELEASE = new Phase("release", "#78909c");

  private FlipTimeline() {}

  static String svg(Report.FlipResult flip) {
    List<Report.InstanceSwitch> rows = flip.instances();
    double end = 250;
    for (Report.InstanceSwitch i : rows) {
      end = Math.max(end, i.gateClosedMillis() + i.totalMillis() + 100);
    }
    double maxLatency = 1;
    for (Timeline.TxPoint t : flip.transactions()) {
      end = Math.max(end, Math.min(t.endedMillis(), end + 500));
      maxLatency = Math.max(maxLatency, t.latencyMillis());
    }
    double start = -250;
    double span = end - start;
    int height = TOP + rows.size() * ROW + 20 + SCATTER + BOTTOM;
    double plotW = WIDTH - LEFT - RIGHT;
    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT, "<svg id=\"flip-timeline-%d\" class=\"flip-timeline\" xmlns=\"http://www.w3.org/2000/svg\""
        + " width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-size=\"11\" role=\"img\" aria-label=\"flip %d timeline\">%n",
        flip.number(), WIDTH, height, WIDTH, height, flip.number()));
    s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"14\" font-weight=\"600\">Flip %d to %s: each instance's switch"
        + " and every transaction, in ms after the flag changed</text>%n", LEFT, flip.number(), flip.to()));
    int legendX = LEFT;
    for (Phase p : List.of(WAITING, DRAIN, COORDINATE, FENCE, BARRIER, SEQUENCES, RELEASE)) {
      s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"20\" width=\"10\" height=\"8\" fill=\"%s\"/><text x=\"%d\" y=\"28\">%s</text>%n",
          legendX, p.color(), legendX + 13, p.name().startsWith("flag") ? "before the gate" : p.name()));
      legendX += p.name().startsWith("flag") ? 108 : 14 + 7 * p.name().length();
    }
    double scatterTop = TOP + rows.size() * ROW + 20;
    double bottom = scatterTop + SCATTER;
    double step = niceStep(span / 10);
    for (double t = Math.ceil(start / step) * step; t <= end; t += step) {
      double x = LEFT + plotW * (t - start) / span;
      s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"#eeeeee\"/>"
          + "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>%n", x, x, TOP, bottom, x, bottom + 14,
          ReportPage.number(t)));
    }
    double zero = LEFT + plotW * (0 - start) / span;
    s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"#c62828\" stroke-dasharray=\"4 3\"/>"
        + "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c62828\" text-anchor=\"middle\">flag changed</text>%n",
        zero, zero, TOP, bottom, zero, bottom + 26));
    for (int r = 0; r < rows.size(); r++) {
      Report.InstanceSwitch i = rows.get(r);
      double y = TOP + r * ROW + 3;
      s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s%s</text>%n", LEFT - 6, y + 11,
          ReportPage.esc(i.instance()), i.leader() ? " (leader)" : ""));
      double at = 0;
      at = segment(s, WAITING, at, i.gateClosedMillis(), y, start, span, plotW, 6);
      double phasesEnd = i.gateClosedMillis() + i.totalMillis();
      at = segment(s, DRAIN, at, i.drainMillis(), y, start, span, plotW, 14);
      at = segment(s, COORDINATE, at, i.coordinateMillis(), y, start, span, plotW, 14);
      if (i.leader()) {
        at = segment(s, FENCE, at, i.fenceMillis(), y, start, span, plotW, 14);
        at = segment(s, BARRIER, at, i.barrierMillis(), y, start, span, plotW, 14);
        at = segment(s, SEQUENCES, at, i.sequencesMillis(), y, start, span, plotW, 14);
      }
      segment(s, RELEASE, at, Math.max(0, phasesEnd - at), y, start, span, plotW, 14);
      if (!"completed".equals(i.outcome())) {
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c62828\">ABORTED</text>%n",
            LEFT + plotW * (phasesEnd - start) / span + 4, y + 11));
      }
    }
    s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">transactions</text>"
        + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">latency, up to %s ms</text>%n", LEFT - 6, scatterTop + 12, LEFT - 6,
        scatterTop + 26, ReportPage.number(maxLatency)));
    s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"%.0f\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>%n",
        LEFT, scatterTop, plotW, SCATTER));
    for (Timeline.TxPoint t : flip.transactions()) {
      if (t.endedMillis() > end) {
        continue;
      }
      double x = LEFT + plotW * (t.endedMillis() - start) / span;
      double y = bottom - 3 - (SCATTER - 6) * t.latencyMillis() / maxLatency;
      String color = switch (t.kind()) {
        case "failed" -> "#c62828";
        case "conflict" -> "#9e9e9e";
        default -> "#1565c0";
      };
      s.append(String.format(Locale.ROOT, "<circle class=\"tx %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>%n", t.kind(), x, y,
          color));
    }
    return s.append("</svg>\n").toString();
  }

  /** Draws {@code phase} from {@code at} for {@code millis}; returns where it ends. */
  private static double segment(StringBuilder s, Phase phase, double at, double millis, double y, double start, double span,
      double plotW, int height) {
    if (millis > 0) {
      double x = LEFT + plotW * (at - start) / span;
      double w = Math.max(1, plotW * millis / span);
      s.append(String.format(Locale.ROOT, "<rect class=\"phase\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
          + "<title>%s: %.1f ms</title></rect>%n", x, y + (14 - height) / 2.0, w, height, phase.color(), phase.name(), millis));
    }
    return at + Math.max(0, millis);
  }

  private static double niceStep(double raw) {
    double magnitude = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-3))));
    for (double m : new double[] {1, 2, 5, 10}) {
      if (m * magnitude >= raw) {
        return m * magnitude;
      }
    }
    return 10 * magnitude;
  }
}
