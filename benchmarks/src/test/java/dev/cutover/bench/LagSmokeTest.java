package dev.cutover.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.capture.Capture;
import dev.cutover.testkit.PostgresPair;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lag benchmark end to end at toy size, as {@link BenchSmokeTest} runs the others. */
// Not leak-checked: each benchmark starts the pair of versions it measures and stops it inside the test.
class LagSmokeTest {
  private final Bench bench = BenchSmokeTest.smokeBench();

  @Test
  void lag_smoke_measuresBothEnginesIdleAndLoadedAndEachApplyPacing(@TempDir Path out) throws Exception {
    try (PostgresPair pair = PostgresPair.start(Bench.OLD_MAJOR, Bench.NEW_MAJOR)) {
      Report report = bench.lag(null, Capture.TRIGGERS, List.of("0ms", "50ms"), null, null, null).run(pair);
      assertThat(report.rows()).hasSize(6).allSatisfy(row -> assertThat(Long.parseLong(row.get(5))).isPositive());
      assertThat(report.rows()).extracting(row -> row.get(0)).containsExactly("logical replication", "logical replication",
          "trigger capture, batch every 0ms", "trigger capture, batch every 0ms",
          "trigger capture, batch every 50ms", "trigger capture, batch every 50ms");
      assertThat(Files.readString(report.publish(out))).contains("\"capture overhead\"").contains("\"apply ceiling\"");
    }
  }

  @Test
  void lag_smokeRelay_measuresRelayedReplicationBesideLogicalWithNewBehindADelay(@TempDir Path out) throws Exception {
    try (PostgresPair pair = PostgresPair.start(Bench.OLD_MAJOR, Bench.NEW_MAJOR)) {
      Report report = bench.lag(null, Capture.RELAY, null, null, null, "1ms").run(pair);
      assertThat(report.rows()).hasSize(4).allSatisfy(row -> assertThat(Long.parseLong(row.get(5))).isPositive());
      assertThat(report.rows()).extracting(row -> row.get(0)).containsExactly("logical replication", "logical replication",
          "relayed replication", "relayed replication");
      assertThat(Files.readString(report.publish(out))).contains("relayed replication").doesNotContain("\"capture overhead\"")
          .contains("through a proxy holding each chunk of bytes 1 ms each way");
    }
  }
}
