package dev.cutover.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.PostgresPair;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every benchmark runs end to end at toy size and writes its table; no figure is asserted. The lag
 * benchmark is {@link LagSmokeTest}, so that the two test JVMs run them side by side.
 */
// Not leak-checked: each benchmark starts the pair of versions it measures and stops it inside the test.
class BenchSmokeTest {
  private final Bench bench = smokeBench();

  /** A bench at toy size. */
  static Bench smokeBench() {
    Bench b = new Bench();
    b.smoke = true;
    return b;
  }

  @Test
  void overhead_smoke_measuresEveryWorkloadOnBothDrivers(@TempDir Path out) throws Exception {
    try (PostgresPair pair = PostgresPair.start(17, 17)) {
      Report report = bench.overhead().run(pair);
      assertThat(report.rows()).hasSize(Workload.values().length);
      assertThat(Files.readString(report.publish(out))).contains("\"cutover tx/s\"");
    }
  }

  @Test
  void switchPause_smoke_completesEverySwitchWithoutFailures(@TempDir Path out) throws Exception {
    try (PostgresPair pair = PostgresPair.start(12, 17)) {
      Report report = bench.pause().run(pair);
      assertThat(report.rows()).hasSize(2).allSatisfy(row -> {
        assertThat(row.get(3)).isEqualTo("completed");
        assertThat(row.get(9)).isEqualTo("0");
      });
      assertThat(report.publish(out)).exists();
    }
  }

  @Test
  void jmh_smoke_measuresBothDrivers(@TempDir Path out) throws Exception {
    Report report = new JmhRun(true).run();
    assertThat(report.rows()).extracting(row -> row.get(0)).containsExactlyInAnyOrder("plain", "cutover");
    assertThat(report.publish(out)).exists();
  }

  /** Fails, never skips, when pg_dump or psql is missing: CI installs postgresql-client first. */
  @Test
  void copy_smoke_copiesEveryRowThreeWays(@TempDir Path out) throws Exception {
    CopyBenchmark copy = bench.copy(null, null, StartOptions.defaults());
    try (PostgresPair pair = PostgresPair.start(Bench.OLD_MAJOR, Bench.NEW_MAJOR)) {
      Report report = copy.run(pair);
      assertThat(report.rows()).extracting(row -> row.get(0)).containsExactly(
          "replicator start -> caught up", "pg_dump | psql (full dump)", "plain subscription (copy_data = true)");
      assertThat(Files.readString(report.publish(out))).contains("\"replicator faster by\"");
    }
  }

  @Test
  void captureCost_smoke_measuresEveryVariant(@TempDir Path out) throws Exception {
    try (PostgresPair pair = PostgresPair.start(Bench.OLD_MAJOR, Bench.NEW_MAJOR)) {
      Report report = bench.captureCost(null, null).run(pair);
      assertThat(report.rows()).hasSize(CaptureCostBenchmark.Variant.values().length)
          .allSatisfy(row -> assertThat(Double.parseDouble(row.get(1))).isPositive());
      assertThat(Files.readString(report.publish(out))).contains("\"backend CPU µs/tx (median)\"");
    }
  }

  @Test
  void verify_smoke_measuresVerifyAgainstTheBaselineAndFindsAChangedRow(@TempDir Path out) throws Exception {
    try (PostgresPair pair = PostgresPair.start(Bench.OLD_MAJOR, Bench.NEW_MAJOR)) {
      Report report = bench.verify(null, null).run(pair);
      assertThat(report.rows()).extracting(row -> row.get(0)).containsExactly("cutover-replicator verify",
          "baseline: md5(string_agg(md5(row), '' ORDER BY key)), both sides at once");
      assertThat(Files.readString(report.publish(out))).contains("\"rows/s per side\"");
    }
  }
}
