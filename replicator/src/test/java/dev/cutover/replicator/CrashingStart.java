package dev.cutover.replicator;

import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.sql.TableName;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A start in a JVM of its own that stops in the middle of its copy, for {@link ResumeTest} to kill
 * (SIGKILL, as a crash): once some tables are in, the next chunk to start blocks, prints a line
 * and waits for the end. Arguments: old URL, new URL, user, how many chunk starts to let through,
 * the engine ({@code --capture}).
 */
public final class CrashingStart {
  static final String STOPPED = "CRASHING-START-STOPPED";

  private CrashingStart() {}

  /**
   * Runs it in a JVM of its own and returns once its copy has stopped, the process still alive for
   * the caller to kill.
   */
  static Process stopped(String oldUrl, String newUrl, String user, int allowed, Capture engine) throws IOException {
    Process crashing = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        // Surefire runs tests through a manifest-only jar; the real class path is in this property.
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")), CrashingStart.class.getName(),
        oldUrl, newUrl, user, Integer.toString(allowed), engine.name()).redirectErrorStream(true).start();
    BufferedReader lines = new BufferedReader(new InputStreamReader(crashing.getInputStream(), StandardCharsets.UTF_8));
    List<String> output = new ArrayList<>();
    for (String line = lines.readLine(); line != null; line = lines.readLine()) {
      if (line.contains(STOPPED)) {
        return crashing;
      }
      output.add(line);
    }
    throw new AssertionError("the start ended without stopping mid-copy: " + output);
  }

  public static void main(String[] args) throws Exception {
    int allowed = Integer.parseInt(args[3]);
    Replicator r = Replicator.builder().old(Endpoint.of(Side.OLD, args[0], args[2], null))
        .nw(Endpoint.of(Side.NEW, args[1], args[2], null)).build();
    AtomicInteger starts = new AtomicInteger();
    CopyListener stopper = new CopyListener() {
      @Override
      public void chunkStarting(TableName table, int chunk, int chunks) {
        if (starts.incrementAndGet() > allowed) {
          System.out.println(STOPPED);
          System.out.flush();
          try {
            Thread.sleep(Long.MAX_VALUE);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    };
    r.start(StartOptions.defaults().withJobs(2).withCapture(Capture.valueOf(args[4])), new CopyProgress(), stopper);
    System.out.println("CRASHING-START-FINISHED (it should have been killed)");
  }
}
