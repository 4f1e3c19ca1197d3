package dev.cutover.torture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The torture run CI affords: a fixed seed, a few dozen switch attempts under random faults with
 * 2 instances in this JVM and 2 in their own, every invariant checked after every round. The long
 * run is {@code ./torture --minutes 60}. The timeout is a bound on a hung run, not a timing goal.
 */
// Not leak-checked: the run starts its servers and instance processes itself and stops them before it returns.
class TortureSmokeTest {
  static final long SEED = 17;
  private static final PrintStream OUT = System.out;

  static RunOptions options(int maxAttempts) {
    return new RunOptions(Integer.getInteger("cutover.test.old", 12), Integer.getInteger("cutover.test.new", 17), 6,
        maxAttempts, SEED, 2, 2, 20, 2, 6, 1000, 3000, java.util.Set.of());
  }

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  void run_fixedSeed_aFewDozenSwitchAttemptsUnderFaults_everyInvariantHolds(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path out) throws Exception {
    TortureRun.Result result = new TortureRun(options(24), null, out, OUT).run();

    assertThat(result.summary().violations).as("invariant violations").isEmpty();
    assertThat(result.summary().stopReason).isEqualTo("--max-attempts reached");
    assertThat(result.attempts().all()).hasSizeGreaterThanOrEqualTo(24);
    // A floor that shows switches still complete under faults, not a rate: by design a switch is refused while an instance
    // a fault killed still counts as live or cannot reach new, and aborts while a straggler ran on a server old's URL no
    // longer reaches (a restarted old); 9 of 24 completed in CI on 2026-12-06 against 11 of 20 a day before.
    assertThat(result.attempts().count(Attempts.Outcome.COMPLETED)).as("completed switches").isGreaterThanOrEqualTo(6);
    assertThat(result.summary().faults.values().stream().mapToLong(Long::longValue).sum()).as("faults").isGreaterThanOrEqualTo(15);
    assertThat(result.summary().acknowledged).isGreaterThan(1000);
    assertThat(Files.readString(out.resolve("summary.json"))).contains("\"violations\" : [ ]");
    assertThat(RunRecord.read(result.record()).rounds()).hasSize((int) result.summary().rounds);
  }
}
