package dev.cutover.torture;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The harness's side of an instance's {@link Journal}: reads what was appended since the last read,
 * complete lines only (a torn last line of a killed instance is never read as a fact).
 */
final class JournalReader {

  record Ack(String instance, long op, String kind, long id, long tick, long ticket, String origin) {}

  record Failure(String instance, long firstOp, int ops, String kind, String sqlState, Journal.Phase phase,
      String lastSwitch, String message) {}

  record Violation(String instance, String invariant, String detail) {}

  record Event(String instance, String id, String from, String to, boolean completed, String reason, boolean leader,
      long gateWaitMaxMicros, long totalMillis, int rolledBack) {}

  /** What one read found. */
  record Batch(List<Ack> acks, List<Failure> failures, List<Violation> violations, List<Event> events, List<String> findings) {
    static Batch empty() {
      return new Batch(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    }

    void addAll(Batch other) {
      acks.addAll(other.acks);
      failures.addAll(other.failures);
      violations.addAll(other.violations);
      events.addAll(other.events);
      findings.addAll(other.findings);
    }
  }

  private final String instance;
  private final Path file;
  private long offset;

  JournalReader(String instance, Path directory) {
    this.instance = instance;
    this.file = directory.resolve(Journal.FILE);
  }

  String instance() {
    return instance;
  }

  /** Everything appended since the last call. */
  Batch readNew() {
    Batch batch = Batch.empty();
    if (!Files.exists(file)) {
      return batch;
    }
    byte[] bytes;
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long length = f.length();
      if (length <= offset) {
        return batch;
      }
      bytes = new byte[(int) (length - offset)];
      f.seek(offset);
      f.readFully(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the journal " + file, e);
    }
    int end = bytes.length;
    while (end > 0 && bytes[end - 1] != '\n') {
      end--; // a line still being written, or torn by a kill
    }
    offset += end;
    String text = new String(bytes, 0, end, StandardCharsets.UTF_8);
    for (String line : text.split("\n")) {
      if (!line.isEmpty()) {
        parse(line, batch);
      }
    }
    return batch;
  }

  private void parse(String line, Batch batch) {
    String[] f = line.split("\t", -1);
    switch (f[0]) {
      case "A" -> batch.acks.add(new Ack(instance, Long.parseLong(f[1]), f[2], Long.parseLong(f[3]), Long.parseLong(f[4]),
          Long.parseLong(f[5]), f[6]));
      case "F" -> batch.failures.add(new Failure(instance, Long.parseLong(f[1]), Integer.parseInt(f[2]), f[3], f[4],
          Journal.Phase.valueOf(f[5]), f[6], f[7]));
      case "V" -> batch.violations.add(new Violation(instance, f[1], f[2]));
      case "N" -> batch.findings.add(instance + ": " + f[1]);
      case "E" -> batch.events.add(new Event(instance, f[1], f[2], f[3], "COMPLETED".equals(f[4]), f[5],
          Boolean.parseBoolean(f[6]), Long.parseLong(f[7]), Long.parseLong(f[8]), Integer.parseInt(f[9])));
      default -> throw new IllegalStateException("unknown journal line in " + file + ": " + line);
    }
  }
}
