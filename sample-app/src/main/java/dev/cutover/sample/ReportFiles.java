package dev.cutover.sample;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes the report as {@code report.json} and {@code report.html} into a folder. */
final class ReportFiles {
  static final String JSON = "report.json";
  static final String HTML = "report.html";

  private ReportFiles() {}

  /** Writes both files, creating the folder if needed, and returns the folder. */
  static Path write(Report report, Path directory) throws IOException {
    Files.createDirectories(directory);
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("passed", report.passed());
    root.putAll(Json.fields(report));
    Files.writeString(directory.resolve(JSON), Json.write(root), StandardCharsets.UTF_8);
    Files.writeString(directory.resolve(HTML), ReportPage.render(report), StandardCharsets.UTF_8);
    return directory;
  }
}
