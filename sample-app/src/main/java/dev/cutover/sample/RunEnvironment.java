package dev.cutover.sample;

import dev.cutover.flags.CutoverVersion;
import dev.cutover.flags.Target;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * When, with what and on what a rehearsal ran, and the caveats that follow: the part of a go/no-go
 * record that says how far its figures carry.
 */
final class RunEnvironment {
  /** Server settings that bear on latency, durability and replication. */
  private static final List<String> SETTINGS = List.of("server_version", "fsync", "synchronous_commit", "full_page_writes",
      "wal_level", "shared_buffers", "max_connections");

  private RunEnvironment() {}

  static Report.Environment describe(Instant startedAt, RehearsalDatabases databases, String flag) {
    Map<String, String> old = settings(databases, Target.OLD);
    Map<String, String> nw = settings(databases, Target.NEW);
    int cores = Runtime.getRuntime().availableProcessors();
    List<String> caveats = new ArrayList<>();
    if (databases.embedded()) {
      caveats.add("old and new are embedded servers on this machine, sharing its " + cores + " cores with the load and"
          + " the rehearsal itself: latencies and pauses include that contention, and no network lies between them");
    }
    for (Map.Entry<Target, Map<String, String>> side : Map.of(Target.OLD, old, Target.NEW, nw).entrySet()) {
      if ("off".equals(side.getValue().get("fsync"))) {
        caveats.add("fsync = off on " + side.getKey().value() + ": commits are not durable and cost less than on a"
            + " production server");
      }
      if ("off".equals(side.getValue().get("synchronous_commit"))) {
        caveats.add("synchronous_commit = off on " + side.getKey().value() + ": commits return before their WAL is flushed");
      }
    }
    if (flag.toLowerCase(Locale.ROOT).contains("file")) {
      caveats.add("the flag is a local file: how long a flag service takes to reach every instance is not in the figures");
    }
    caveats.sort(null);
    return new Report.Environment(startedAt.truncatedTo(ChronoUnit.MILLIS).toString(), CutoverVersion.get(), machine(cores),
        old, nw, List.copyOf(caveats));
  }

  private static String machine(int cores) {
    long memoryMb = -1;
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      memoryMb = os.getTotalMemorySize() / (1024 * 1024);
    }
    return String.format(Locale.ROOT, "%d cores, %s memory, %s %s (%s), Java %s (%s)", cores,
        memoryMb < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f GiB", memoryMb / 1024.0), System.getProperty("os.name"),
        System.getProperty("os.version"), System.getProperty("os.arch"), System.getProperty("java.version"),
        System.getProperty("java.vm.name"));
  }

  private static Map<String, String> settings(RehearsalDatabases databases, Target side) {
    Map<String, String> settings = new LinkedHashMap<>();
    try (Connection c = databases.direct(side);
        PreparedStatement ps = c.prepareStatement("SELECT current_setting(n) FROM unnest(?::text[]) WITH ORDINALITY AS t(n, i) ORDER BY i")) {
      ps.setArray(1, c.createArrayOf("text", SETTINGS.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        for (String name : SETTINGS) {
          rs.next();
          settings.put(name, rs.getString(1));
        }
      }
    } catch (SQLException e) {
      settings.put("unreadable", e.getMessage());
    }
    return settings;
  }
}
