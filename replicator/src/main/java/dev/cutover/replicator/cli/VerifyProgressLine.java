package dev.cutover.replicator.cli;

import dev.cutover.replicator.verify.VerifyProgress;
import java.io.PrintWriter;
import java.time.Duration;

/**
 * A verify's progress on standard error, one line: on a terminal redrawn in place every second,
 * elsewhere printed every ten seconds. Tables, rows compared, rows per second, elapsed.
 */
final class VerifyProgressLine implements AutoCloseable {
  private final PrintWriter err;
  private final boolean terminal;
  private final VerifyProgress progress;
  private final Repaint painter;

  VerifyProgressLine(PrintWriter err, boolean terminal, VerifyProgress progress) {
    this.err = err;
    this.terminal = terminal;
    this.progress = progress;
    this.painter = Repaint.every("cutover-verify-progress", Duration.ofSeconds(terminal ? 1 : 10), this::paint);
  }

  private synchronized void paint() {
    double seconds = Math.max(0.001, progress.elapsed().toNanos() / 1e9);
    String line = "verify: " + progress.tablesDone() + " of " + progress.tables() + " table(s), " + Units.count(progress.rowsDone())
        + " of about " + Units.count(progress.estimatedRows()) + " rows compared, " + Units.count(Math.round(progress.rowsDone() / seconds))
        + " rows/s, " + Units.duration(progress.elapsed());
    err.print(terminal ? "\r\033[2K" + line : line + "\n");
    err.flush();
  }

  @Override
  public void close() {
    painter.close();
    if (terminal) {
      paint();
      err.println();
    }
  }
}
