package dev.cutover.sample;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A short rehearsal end to end, in this JVM, on embedded servers: two instances, a flip to new and
 * back, five seconds per phase; every invariant of the report must hold and the replicator's
 * verify must find old and new equal.
 */
class RehearsalTest {

  @Test
  void run_twoInstancesFlipAndBack_keepsEveryInvariant() throws Exception {
    Path reportDir = Path.of("target", "rehearsal-test");
    RehearsalPlan plan = new RehearsalPlan(new RehearsalPlan.Embedded(Integer.getInteger("cutover.test.old", 12),
        Integer.getInteger("cutover.test.new", 17)), new RehearsalPlan.FlagSource.File(), 50, 200, 2, 3, 200, 2,
        Duration.ofSeconds(5), reportDir, 7);

    Report report = new Rehearsal(plan, System.out).run();
    ReportTable.print(report, System.out);
    ReportFiles.write(report, reportDir);

    assertThat(report.problems()).isEmpty();
    assertThat(report.flips()).hasSize(2);
    assertThat(report.flips()).allSatisfy(flip -> assertThat(flip.switchesCompleted()).isEqualTo(2));
    assertThat(report.flips()).allSatisfy(flip -> assertThat(flip.armMillis()).as("way back armed").isNotNegative());
    assertThat(report.verification().missing()).as("acknowledged bookings missing (I1)").isZero();
    assertThat(report.verification().duplicatesAcknowledged() + report.verification().duplicatesStored())
        .as("duplicate bookings").isZero();
    assertThat(report.failures().beganAfterFlip()).as("failed after a flip (I5): %s", report.failedAfterFlip()).isZero();
    assertThat(report.load().bookingsAcknowledged()).isPositive();
    assertThat(report.load().conflicts()).as("contended nights were raced for").isPositive();

    Verification.Replicated verify = report.verification().replicated();
    assertThat(verify).as("the replicator's verify ran: %s", report.verification().note()).isNotNull();
    assertThat(verify.direction()).as("after the flip back old serves and replicates into new").isEqualTo("old -> new");
    assertThat(verify.differences()).as("rows that differ: %s", verify.tables()).isZero();
    assertThat(verify.tables()).extracting(Verification.TableResult::table)
        .containsExactlyInAnyOrder("public.houses", "public.users", "public.bookings", "public.payments");
    assertThat(verify.tables()).allSatisfy(t -> assertThat(t.newRows()).as(t.table()).isEqualTo(t.oldRows()));
    assertThat(verify.tables()).filteredOn(t -> t.table().equals("public.bookings")).singleElement()
        .satisfies(t -> assertThat(t.oldRows()).as("seeded plus acknowledged bookings")
            .isGreaterThanOrEqualTo(report.setup().seededBookings() + report.load().bookingsAcknowledged()));
    assertThat(verify.rows()).isEqualTo(verify.tables().stream().mapToLong(Verification.TableResult::oldRows).sum());
    assertThat(report.verification().tablesMatch()).isTrue();

    assertThat(report.replication().check()).noneMatch(line -> line.startsWith("error"));
    assertThat(report.replication().wayBack()).isNotEmpty();
    assertThat(report.replication().cleanup()).contains("old: removed schema cutover", "new: removed schema cutover");
    assertThat(report.invariants()).allSatisfy(check -> assertThat(check.ok()).as(check.name() + " = " + check.value()).isTrue());
    assertThat(report.passed()).isTrue();
    assertThat(Files.readString(reportDir.resolve(ReportFiles.JSON))).startsWith("{\n  \"passed\": true");
    assertThat(Files.readString(reportDir.resolve(ReportFiles.HTML))).contains("<svg", "flip 2", "The replicator's verify (old -&gt; new)");
  }
}
