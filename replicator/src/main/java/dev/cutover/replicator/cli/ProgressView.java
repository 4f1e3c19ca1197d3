package dev.cutover.replicator.cli;

import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.sql.TableName;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Shows an initial copy's progress on standard error: on a terminal, one bar per table redrawn in
 * place twice a second (rows, bytes, rate, ETA); elsewhere (logs, CI), a line per finished table
 * and a summary line every ten seconds.
 */
final class ProgressView implements CopyListener, AutoCloseable {
  private static final int BAR = 24;
  private static final int MAX_LINES = 12;

  private final PrintWriter err;
  private final boolean terminal;
  private final Repaint painter;
  private volatile CopyProgress progress;
  private volatile String phase = "preparing";
  private int drawn;

  ProgressView(PrintWriter err, boolean terminal) {
    this.err = err;
    this.terminal = terminal;
    this.painter = Repaint.every("cutover-progress", Duration.ofMillis(terminal ? 500 : 10_000), this::paint);
  }

  @Override
  public void phase(String name, CopyProgress p) {
    this.progress = p;
    this.phase = name;
    if (!terminal) {
      synchronized (this) {
        err.println("cutover-replicator: " + describe(name, p));
        err.flush();
      }
    }
  }

  @Override
  public void tableCopied(CopyProgress.TableProgress t) {
    if (!terminal) {
      synchronized (this) {
        err.println("  copied " + t.table() + ": " + Units.count(t.rows()) + " rows, " + Units.bytes(t.bytes()) + " in "
            + Units.duration(t.elapsed()) + rate(t));
        err.flush();
      }
    }
  }

  @Override
  public void chunkStarting(TableName table, int chunk, int chunks) {}

  private static String describe(String phase, CopyProgress p) {
    return switch (phase) {
      // Every engine's: a slot's exported snapshot, or trigger capture's, which has no slot (r30).
      case "copy" -> "copying " + p.tables().size() + " table(s) under one snapshot of old";
      case "indexes" -> "building " + p.indexesTotal() + " index(es) and constraint(s) on new";
      case "subscription" -> "creating the subscription from the slot";
      default -> phase;
    };
  }

  private synchronized void paint() {
    CopyProgress p = progress;
    if (p == null) {
      return;
    }
    if (!terminal) {
      if ("copy".equals(phase)) {
        err.println("  " + Units.count(p.rows()) + " rows, " + Units.bytes(p.bytes()) + " copied in " + Units.duration(p.elapsed()));
      } else if ("indexes".equals(phase)) {
        err.println("  " + p.indexesBuilt() + " of " + p.indexesTotal() + " index(es) built");
      }
      err.flush();
      return;
    }
    StringBuilder b = new StringBuilder();
    if (drawn > 0) {
      b.append("\033[").append(drawn).append('A');
    }
    int lines = 0;
    List<CopyProgress.TableProgress> tables = p.tables();
    for (CopyProgress.TableProgress t : tables) {
      if (lines >= MAX_LINES - 2) {
        break;
      }
      b.append("\033[2K").append(line(t)).append('\n');
      lines++;
    }
    b.append("\033[2K").append(phase).append(": ").append(Units.count(p.rows())).append(" rows, ").append(Units.bytes(p.bytes()))
        .append(", ").append(Units.duration(p.elapsed()));
    if (p.indexesTotal() > 0) {
      b.append(", indexes ").append(p.indexesBuilt()).append('/').append(p.indexesTotal());
    }
    b.append('\n');
    lines++;
    drawn = lines;
    err.print(b);
    err.flush();
  }

  private static String line(CopyProgress.TableProgress t) {
    double fraction;
    if (t.done()) {
      fraction = 1;
    } else if (t.estimatedRows() > 0) {
      fraction = Math.min(0.99, t.rows() / (double) t.estimatedRows());
    } else {
      fraction = t.chunksDone() / (double) Math.max(1, t.chunks());
    }
    int filled = (int) Math.round(fraction * BAR);
    String name = t.table().toString();
    if (name.length() > 28) {
      name = name.substring(0, 27) + "…";
    }
    Object eta = t.done() ? "done" : t.startedYet() ? "ETA " + Units.duration(t.eta()) : "waiting";
    return String.format(Locale.ROOT, "%-28s [%s%s] %3d%% %12s rows %10s%s %s", name, "#".repeat(filled), " ".repeat(BAR - filled),
        Math.round(fraction * 100), Units.count(t.rows()), Units.bytes(t.bytes()), rate(t), eta);
  }

  private static String rate(CopyProgress.TableProgress t) {
    return t.startedYet() ? String.format(Locale.ROOT, " (%s rows/s, %s/s)", Units.count(Math.round(t.rowsPerSecond())),
        Units.bytes(Math.round(t.bytesPerSecond()))) : "";
  }

  @Override
  public void close() {
    painter.close();
    if (terminal) {
      paint();
    }
  }
}
