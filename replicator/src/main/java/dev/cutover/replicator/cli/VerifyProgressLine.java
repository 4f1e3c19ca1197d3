package dev.cutover.replicator.cli;

import dev.cutover.common.Threads;
import dev.cutover.replicator.verify.VerifyProgress;
import java.io.PrintWriter;

/**
 * A verify's progress on standard error, one line: on a terminal redrawn in place every second,
 * elsewhere printed every ten seconds. Tables, rows compared, rows per second, elapsed.
 */
final class VerifyProgressLine implements AutoCloseable {
  private final PrintWriter err;
  private final boolean terminal;
  private final VerifyProgress progress;
  private final Thread painter;
  private volatile boolean running = true;

  VerifyProgressLine(PrintWriter err, boolean terminal, VerifyProgress progress) {
    this.err = err;
    this.terminal = terminal;
    this.progress = progress;
    this.painter = Threads.start("cutover-verify-progress", this::loop);
  }

  private void loop() {
    long every = terminal ? 1_000 : 10_000;
    while (running) {
      try {
        Thread.sleep(every);
      } catch (InterruptedException e) {
        return;
      }
      paint();
    }
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
    running = false;
    painter.interrupt();
    try {
      painter.join(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (terminal) {
      paint();
      err.println();
    }
  }
}
