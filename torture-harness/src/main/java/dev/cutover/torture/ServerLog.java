package dev.cutover.torture;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a server's log as it grows, for what the replication apply workers report: when replication
 * stops delivering, the reason (a conflict, a missing table) is only in the subscriber's log.
 */
final class ServerLog {
  private static final Pattern PID = Pattern.compile("\\[(\\d+)\\]");
  private static final String WORKER = "logical replication apply worker for subscription";

  private final Path file;
  private final Set<String> workers = new HashSet<>();
  private long offset;

  ServerLog(Path file) {
    this.file = file;
  }

  /** The errors apply workers logged since the last call. */
  List<String> applyErrors() {
    List<String> errors = new ArrayList<>();
    String text;
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      if (f.length() <= offset) {
        return errors;
      }
      byte[] bytes = new byte[(int) Math.min(Integer.MAX_VALUE, f.length() - offset)];
      f.seek(offset);
      f.readFully(bytes);
      int end = bytes.length;
      while (end > 0 && bytes[end - 1] != '\n') {
        end--;
      }
      offset += end;
      text = new String(bytes, 0, end, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return errors;
    }
    for (String line : text.split("\n")) {
      Matcher m = PID.matcher(line);
      if (!m.find()) {
        continue;
      }
      if (line.contains(WORKER)) {
        workers.add(m.group(1));
      } else if (workers.contains(m.group(1)) && (line.contains("ERROR:") || line.contains("DETAIL:"))) {
        errors.add(line.substring(line.indexOf(m.group()) + m.group().length()).trim());
      }
    }
    return errors;
  }
}
