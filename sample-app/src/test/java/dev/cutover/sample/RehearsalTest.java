package dev.cutover.sample;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A short rehearsal end to end, in this JVM: two instances, a flip to new and back, five seconds
 * per phase, and every invariant of the report must hold.
 */
class RehearsalTest {

  @Test
  void run_twoInstancesFlipAndBack_keepsEveryInvariant() throws Exception {
    Path reportDir = Path.of("target", "rehearsal-test");
    RehearsalPlan plan = new RehearsalPlan(Integer.getInteger("cutover.test.old", 12),
        Integer.getInteger("cutover.test.new", 17), 50, 200, 2, 3, 200, 2, Duration.ofSeconds(5), reportDir, 7);

    Report report = new Rehearsal(plan, System.out).run();
    ReportTable.print(report, System.out);
    ReportFiles.write(report, reportDir);

    assertThat(report.problems()).isEmpty();
    assertThat(report.flips()).hasSize(2);
    assertThat(report.flips()).allSatisfy(flip -> assertThat(flip.switchesCompleted()).isEqualTo(2));
    assertThat(report.verification().missing()).as("acknowledged bookings missing (I1)").isZero();
    assertThat(report.verification().duplicatesAcknowledged() + report.verification().duplicatesStored())
        .as("duplicate bookings").isZero();
    assertThat(report.failures().beganAfterFlip()).as("failed after a flip (I5): %s", report.failedAfterFlip()).isZero();
    assertThat(report.verification().tablesMatch()).as("old and new hold the same rows").isTrue();
    assertThat(report.load().bookingsAcknowledged()).isPositive();
    assertThat(report.load().conflicts()).as("contended nights were raced for").isPositive();
    assertThat(report.invariants()).allSatisfy(check -> assertThat(check.ok()).as(check.name() + " = " + check.value()).isTrue());
    assertThat(report.passed()).isTrue();
    assertThat(Files.readString(reportDir.resolve(ReportFiles.JSON))).startsWith("{\n  \"passed\": true");
    assertThat(Files.readString(reportDir.resolve(ReportFiles.HTML))).contains("<svg", "flip 2");
  }
}
