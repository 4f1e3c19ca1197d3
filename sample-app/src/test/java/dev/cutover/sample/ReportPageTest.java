package dev.cutover.sample;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.Target;
import dev.cutover.replicator.verify.VerifyReport;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The rehearsal's report page as a person sees it, in headless Chromium: it renders, it carries the
 * run's metadata (date, versions, machine, server settings, caveats), a millisecond timeline per
 * flip with every instance's phases and a table per flip; unknown lag is a gap; and a rehearsal
 * without flips is no go. Reports are kept per run with a stable link to the newest.
 */
class ReportPageTest {

  @Test
  void page_inHeadlessChromium_rendersMetadataAndFlipTimeline() throws Exception {
    Path dir = Files.createTempDirectory("report-page");
    Path run = ReportFiles.writeRun(report(2), dir, Instant.parse("2026-11-30T12:34:56Z"));
    Path page = run.resolve(ReportFiles.HTML);

    String dom = HeadlessChromium.dumpDom(page);

    assertThat(dom).contains("<section id=\"run-metadata\">").contains("2026-11-30T12:34:56.789Z").contains("0.1.0-TEST")
        .contains("fsync = off").contains("old and new are embedded servers on this machine");
    assertThat(dom).contains("id=\"flip-timeline-1\"").contains("id=\"flip-timeline-2\"")
        .contains("web-1 (leader)").contains("web-2").contains("class=\"phase\"").contains("class=\"tx committed\"");
    assertThat(dom).contains("<table id=\"flip-1-instances\">").contains("Go: every invariant held");
    Path png = dir.resolve("report.png");
    HeadlessChromium.screenshot(page, png, 1100, 2400);
    assertThat(Files.size(png)).isGreaterThan(10_000);
  }

  @Test
  void writeRun_twice_keepsBothAndLinksTheLatest() throws Exception {
    Path dir = Files.createTempDirectory("report-runs");
    Path first = ReportFiles.writeRun(report(1), dir, Instant.parse("2026-11-30T10:00:00Z"));
    Path second = ReportFiles.writeRun(report(2), dir, Instant.parse("2026-11-30T11:00:00Z"));

    assertThat(first.getFileName().toString()).isEqualTo("20261130-100000");
    assertThat(second.getFileName().toString()).isEqualTo("20261130-110000");
    assertThat(first.resolve(ReportFiles.HTML)).exists();
    assertThat(Files.readString(dir.resolve(ReportFiles.LATEST).resolve(ReportFiles.HTML)))
        .isEqualTo(Files.readString(second.resolve(ReportFiles.HTML)));
  }

  @Test
  void noFlips_isNoGo() {
    Report report = report(0);

    assertThat(report.passed()).isFalse();
    assertThat(report.verdict()).startsWith("No go: no flip was rehearsed");
    assertThat(ReportPage.render(report)).contains("class=\"verdict fail\">No go: no flip was rehearsed");
  }

  /**
   * The replicator's verify found no differing row but did not compare a table replication
   * does not carry. The rehearsal counted the differing rows alone and said go; with both
   * directions armed, its catch-up (a marker) did not catch it either.
   */
  @Test
  void verify_uncarriedTable_isNoGoNamingIt() {
    VerifyReport verified = new VerifyReport("old", "new",
        List.of(new VerifyReport.TableResult("public.bookings", List.of("id"), 500, 500, 1, 0, List.of(), 5, List.of(), List.of())),
        500, 40, true, "", 0, List.of(), 0, List.of(), List.of("public.audit_log"),
        "run on old: ALTER PUBLICATION \"cutover_forward\" ADD TABLE \"public\".\"audit_log\"");
    Verification verification = new Verification(Target.OLD, 120, 0, List.of(), 0, 0, true, Verifier.replicated(verified), "");

    assertThat(verification.tablesMatch()).as("tables match").isFalse();
    assertThat(verification.tablesCheck().value()).contains("1 table(s) not compared").contains("public.audit_log");
    Report report = report(2, verification);
    assertThat(report.verdict()).startsWith("No go");
    assertThat(ReportPage.render(report)).contains("class=\"verdict fail\">No go")
        .contains("<p id=\"uncarried\" class=\"bad\">").contains("public.audit_log").contains("ALTER PUBLICATION");
  }

  /**
   * The line that sums up the replicator's verify (the rehearsal's progress and its table) said
   * "0 difference(s)" and nothing of the table verify had not compared, which reads as all clear.
   */
  @Test
  void verify_uncarriedTable_summaryLineNamesItBesideTheDifferences() {
    VerifyReport verified = new VerifyReport("old", "new",
        List.of(new VerifyReport.TableResult("public.bookings", List.of("id"), 500, 500, 1, 0, List.of(), 5, List.of(), List.of())),
        500, 40, true, "", 0, List.of(), 0, List.of(), List.of("public.audit_log"),
        "run on old: ALTER PUBLICATION \"cutover_forward\" ADD TABLE \"public\".\"audit_log\"");
    Verification verification = new Verification(Target.OLD, 120, 0, List.of(), 0, 0, true, Verifier.replicated(verified), "");
    ByteArrayOutputStream table = new ByteArrayOutputStream();

    ReportTable.print(report(2, verification), new PrintStream(table, true, StandardCharsets.UTF_8));

    assertThat(table.toString(StandardCharsets.UTF_8)).contains("replicator verify old -> new: 500 rows compared in 40 ms,"
        + " 0 difference(s), 1 table(s) not compared: public.audit_log\n");
  }

  @Test
  void lag_unknownSeconds_drawnAsGapsNotZero() {
    String html = ReportPage.render(report(1));
    String chart = html.substring(html.indexOf("heartbeat lag"));
    chart = chart.substring(0, chart.indexOf("</svg>"));

    // Seconds 0-1 and 3-4 have a lag, second 2 has none: two lines, no point at the zero line.
    assertThat(chart.split("<polyline", -1)).hasSize(3);
  }

  /** A rehearsal's report with {@code flips} flips of two instances, as a real run fills it. */
  static Report report(int flips) {
    return report(flips, new Verification(Target.OLD, 120, 0, List.of(), 0, 0, true,
        new Verification.Replicated("old -> new", 500, 40, 0, 0, true, "",
            List.of(new Verification.TableResult("public.bookings", 500, 500, 0, List.of())), List.of(), ""), ""));
  }

  /** {@link #report(int)} with {@code verification}, and the invariant it decides. */
  static Report report(int flips, Verification verification) {
    List<Timeline.Second> seconds = new ArrayList<>();
    for (int s = 0; s < 5; s++) {
      seconds.add(new Timeline.Second(s, 380, 0, 20, 0.2, 2.5, 30, s == 2 ? -1 : 4096, s == 2 ? -1 : 3.5));
    }
    List<Report.FlipResult> results = new ArrayList<>();
    for (int f = 1; f <= flips; f++) {
      List<Timeline.TxPoint> tx = new ArrayList<>();
      for (int i = -40; i < 120; i++) {
        tx.add(new Timeline.TxPoint(i * 5.0, i >= 10 && i < 18 ? 40 - (i - 10) * 4 : 0.4, i == 50 ? "conflict" : "committed"));
      }
      results.add(new Report.FlipResult(f, f % 2 == 1 ? "new" : "old", 1.5 + f, "2026-11-30T12:35:0" + f + ".123Z", 2, 2,
          48, 52, 9, 38.5, 37.0, 0.3, 4.1, 42.2, 0, 36.6, 51,
          List.of(), List.of(
              new Report.InstanceSwitch("web-1", "completed", true, 48, 0.3, 20.5, 1.9, 4.1, 6.0, 42.2, 5, 38.5, 37, 0, 8, ""),
              new Report.InstanceSwitch("web-2", "completed", false, 52, 0.1, 30.2, 0, 3.0, 0, 38.1, 4, 36.0, 35, 0, 8, "")),
          tx));
    }
    List<Report.Check> checks = List.of(new Report.Check("flips rehearsed (at least one)", String.valueOf(flips), flips > 0),
        new Report.Check("switches completed", 2 * flips + "/" + 2 * flips, true), verification.tablesCheck());
    return new Report(
        new Report.Environment("2026-11-30T12:34:56.789Z", "0.1.0-TEST", "2 cores, 23.4 GiB memory, Linux 6.1 (amd64), Java 17",
            Map.of("server_version", "12.22", "fsync", "off"), Map.of("server_version", "17.2", "fsync", "off"),
            List.of("fsync = off on new: commits are not durable and cost less than on a production server",
                "old and new are embedded servers on this machine, sharing its 2 cores with the load")),
        new Report.Setup("PostgreSQL 12.22 (embedded)", "PostgreSQL 17.2 (embedded)", "embedded, created by the rehearsal",
            "flag file", 2, 3, 200, flips, 5, 50, 200, 100, "native logical replication"),
        checks,
        new Report.ReplicationSummary(List.of(), "copied", 120, List.of(), List.of()),
        results,
        new Report.LoadTotals(5, 1900, 380, 120, 10, 100, 1500, 0, 0.2, 2.5, 40),
        new Report.FailureKinds(0, 0, 0), Map.of(), List.of(), List.of(), seconds, List.of(), verification, List.of(),
        new Report.Timings(4, 1, 2, 5, 1, 1, 14));
  }
}
