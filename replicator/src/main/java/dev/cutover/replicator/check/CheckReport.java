package dev.cutover.replicator.check;

import java.util.List;

/**
 * Everything the preflight found.
 *
 * @param oldVersion old's {@code server_version}
 * @param newVersion new's {@code server_version}
 * @param findings errors first, then warnings, then information
 */
public record CheckReport(String oldVersion, String newVersion, List<Finding> findings) {
  public long errors() {
    return count(Finding.Severity.ERROR);
  }

  public long warnings() {
    return count(Finding.Severity.WARNING);
  }

  private long count(Finding.Severity s) {
    return findings.stream().filter(f -> f.severity() == s).count();
  }
}
