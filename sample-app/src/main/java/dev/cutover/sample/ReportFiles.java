package dev.cutover.sample;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Writes the report as {@code report.json} and {@code report.html} into a folder: each run into a
 * folder of its own, named by its start ({@code 20261130-123456}), with {@code latest} pointing at
 * the newest, so no run overwrites another.
 */
final class ReportFiles {
  static final String JSON = "report.json";
  static final String HTML = "report.html";
  static final String LATEST = "latest";
  private static final DateTimeFormatter RUN = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private ReportFiles() {}

  /**
   * Writes the run's report into {@code base/<start, UTC>/} and points {@code base/latest} at it
   * (a symbolic link; where the file system has none, a copy).
   *
   * @return the run's folder
   */
  static Path writeRun(Report report, Path base, Instant startedAt) throws IOException {
    String name = RUN.format(startedAt);
    Path run = base.resolve(name);
    for (int n = 2; Files.exists(run); n++) {
      run = base.resolve(name + "-" + n);
    }
    write(report, run);
    Path latest = base.resolve(LATEST);
    if (Files.isSymbolicLink(latest) || Files.isRegularFile(latest)) {
      Files.delete(latest);
    } else if (Files.isDirectory(latest)) {
      for (String f : new String[] {JSON, HTML}) {
        Files.deleteIfExists(latest.resolve(f));
      }
      Files.delete(latest);
    }
    try {
      Files.createSymbolicLink(latest, run.getFileName());
    } catch (UnsupportedOperationException | IOException e) {
      Files.createDirectories(latest);
      for (String f : new String[] {JSON, HTML}) {
        Files.copy(run.resolve(f), latest.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return run;
  }

  /** Writes both files, creating the folder if needed, and returns the folder. */
  static Path write(Report report, Path directory) throws IOException {
    Files.createDirectories(directory);
    Files.writeString(directory.resolve(JSON), Json.write(new Document(report.passed(), report)), StandardCharsets.UTF_8);
    Files.writeString(directory.resolve(HTML), ReportPage.render(report), StandardCharsets.UTF_8);
    return directory;
  }

  /** What report.json holds: whether the rehearsal passed, then the report's fields. */
  record Document(boolean passed, @JsonUnwrapped Report report) {}
}
