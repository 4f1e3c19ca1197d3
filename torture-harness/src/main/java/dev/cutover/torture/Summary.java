package dev.cutover.torture;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A run's figures: the table printed at the end and the same as JSON. Findings are what the
 * harness saw that breaks no invariant but deserves a look (an instance left on a fenced side, a
 * round that did not settle, an operator's fix); violations are broken invariants, and must be 0.
 */
final class Summary {
  private final RunOptions options;
  private final String machine;
  final Map<String, Long> faults = new TreeMap<>();
  final Map<String, Long> failuresByState = new TreeMap<>();
  final List<String> findings = new ArrayList<>();
  final List<Invariants.Violation> violations = new ArrayList<>();
  long rounds;
  long acknowledged;
  long definiteFailures;
  long externalRefused;
  long externalCommitted;
  long i5Checked;
  long longestCheckMillis;
  long reverseRefused;
  long flipsNotPrepared;
  double seconds;
  String servers = "";
  String stopReason = "";

  Summary(RunOptions options) {
    this.options = options;
    this.machine = Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.name") + " "
        + System.getProperty("os.arch") + ", Java " + System.getProperty("java.version");
  }

  String machine() {
    return machine;
  }

  void fault(String kind) {
    faults.merge(kind, 1L, Long::sum);
  }

  void failure(JournalReader.Failure f) {
    failuresByState.merge(f.sqlState(), 1L, Long::sum);
    if (Invariants.definite(f)) {
      definiteFailures++;
    }
  }

  /** The table, rows of (measure, value), indented measures being parts of the one above. */
  List<String[]> rows(Attempts attempts) {
    List<String[]> rows = new ArrayList<>();
    rows.add(row("seed", options.seed()));
    rows.add(row("minutes run", String.format(Locale.ROOT, "%.1f", seconds / 60)));
    rows.add(row("servers", servers));
    rows.add(row("instances", options.threads() + " in the harness's JVM + " + options.processes() + " JVMs, "
        + options.rate() + " ops/s each"));
    rows.add(row("machine", machine));
    rows.add(row("rounds", rounds));
    rows.add(row("switch attempts", attempts.all().size()));
    rows.add(row("  completed", attempts.count(Attempts.Outcome.COMPLETED)));
    rows.add(row("  aborted", attempts.count(Attempts.Outcome.ABORTED)));
    rows.add(row("  split (completed by some instances, aborted by others)", attempts.count(Attempts.Outcome.SPLIT)));
    attempts.abortedByReason().forEach((reason, n) -> rows.add(row("    " + reason, n)));
    rows.add(row("longest gate wait", String.format(Locale.ROOT, "%.1f ms", attempts.longestGateWaitMicros() / 1000.0)));
    rows.add(row("acknowledged operations", acknowledged));
    long failed = failuresByState.values().stream().mapToLong(Long::longValue).sum();
    rows.add(row("failed transactions", failed + " (" + definiteFailures + " certainly not committed)"));
    failuresByState.forEach((state, n) -> rows.add(row("  " + state, n)));
    rows.add(row("external writer", externalCommitted + " committed, " + externalRefused + " refused by the fence"));
    rows.add(row("faults injected", faults.values().stream().mapToLong(Long::longValue).sum()));
    faults.forEach((kind, n) -> rows.add(row("  " + kind, n)));
    rows.add(row("flag moves skipped (reverse --prepare kept failing)", flipsNotPrepared));
    rows.add(row("reverse refused (no way-back slot; armed with --accept-missing-writes)", reverseRefused));
    rows.add(row("rounds checked for I5 (no fault that fails transactions)", i5Checked));
    rows.add(row("longest check after a round", longestCheckMillis + " ms"));
    rows.add(row("findings (no invariant broken)", findings.size()));
    rows.add(row("invariant violations", violations.size()));
    return rows;
  }

  private static String[] row(String measure, Object value) {
    return new String[] {measure, String.valueOf(value)};
  }

  String table(Attempts attempts) {
    List<String[]> rows = rows(attempts);
    int w0 = "measure".length();
    int w1 = "value".length();
    for (String[] r : rows) {
      w0 = Math.max(w0, r[0].length());
      w1 = Math.max(w1, r[1].length());
    }
    StringBuilder out = new StringBuilder();
    String format = "| %-" + w0 + "s | %-" + w1 + "s |%n";
    out.append(String.format(format, "measure", "value"));
    out.append("|").append("-".repeat(w0 + 2)).append("|").append("-".repeat(w1 + 2)).append("|\n");
    for (String[] r : rows) {
      out.append(String.format(format, r[0], r[1]));
    }
    for (String f : findings) {
      out.append("finding: ").append(f).append('\n');
    }
    for (Invariants.Violation v : violations) {
      out.append("VIOLATION ").append(v).append('\n');
    }
    return out.toString();
  }

  Map<String, Object> json(Attempts attempts) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("options", options);
    doc.put("machine", machine);
    doc.put("servers", servers);
    doc.put("seconds", seconds);
    doc.put("stopped", stopReason);
    doc.put("rounds", rounds);
    Map<String, Object> switches = new LinkedHashMap<>();
    switches.put("attempts", attempts.all().size());
    switches.put("completed", attempts.count(Attempts.Outcome.COMPLETED));
    switches.put("aborted", attempts.count(Attempts.Outcome.ABORTED));
    switches.put("split", attempts.count(Attempts.Outcome.SPLIT));
    switches.put("abortedByReason", attempts.abortedByReason());
    switches.put("longestGateWaitMillis", attempts.longestGateWaitMicros() / 1000.0);
    doc.put("switches", switches);
    doc.put("acknowledged", acknowledged);
    doc.put("failedTransactionsBySqlState", failuresByState);
    doc.put("certainlyNotCommitted", definiteFailures);
    doc.put("externalWriter", Map.of("committed", externalCommitted, "refusedByFence", externalRefused));
    doc.put("faults", faults);
    doc.put("flagMovesSkippedUnprepared", flipsNotPrepared);
    doc.put("reverseRefused", reverseRefused);
    doc.put("roundsCheckedForI5", i5Checked);
    doc.put("longestCheckMillis", longestCheckMillis);
    doc.put("findings", findings);
    doc.put("violations", violations.stream().map(Invariants.Violation::toString).toList());
    return doc;
  }

  void write(Path file, Attempts attempts) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), json(attempts));
  }
}
