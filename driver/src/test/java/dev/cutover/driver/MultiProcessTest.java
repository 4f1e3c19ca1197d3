package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.flags.RoutingFlags;
import dev.cutover.testkit.PostgresPair;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Instances in separate JVMs meet only in the control schema, and still switch as one event. */
@LeakCheckedPair
class MultiProcessTest {

  @Test
  void flip_twoInstancesInSeparateJvms_switchTogetherWithoutFailures(PostgresPair pair, @TempDir Path tmp)
      throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    Path flag = tmp.resolve("routing.flag");
    Files.writeString(flag, "old\n");
    List<Process> processes = new ArrayList<>();
    List<Path> dirs = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        Path dir = Files.createDirectory(tmp.resolve("instance" + i));
        dirs.add(dir);
        String url = db.urlWithFlag(Map.of(RoutingFlags.PROVIDER, "file", RoutingFlags.FILE, flag.toString()),
            "cutover.instance=process" + i);
        processes.add(new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                InstanceProcess.class.getName(), url, db.user(), Integer.toString(i * 10), dir.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("output.log").toFile())
            .start());
      }
      await().atMost(Duration.ofSeconds(90)).until(() -> dirs.stream().allMatch(d -> Files.exists(d.resolve("ready"))));

      Files.writeString(flag, "new\n");
      await().atMost(Duration.ofSeconds(60)).until(() -> dirs.stream().allMatch(d -> Files.exists(d.resolve("settled"))));
      for (Path d : dirs) {
        Files.writeString(d.resolve("stop"), "");
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> dirs.stream().allMatch(d -> Files.exists(d.resolve("result"))));

      Set<Long> acked = new HashSet<>();
      List<String> problems = new ArrayList<>();
      for (Path d : dirs) {
        for (String line : Files.readAllLines(d.resolve("result"))) {
          if (line.startsWith("acked ")) {
            acked.add(Long.parseLong(line.substring(6)));
          } else {
            problems.add(d.getFileName() + ": " + line);
          }
        }
      }
      assertThat(problems).as("failed transactions and unread writes in either JVM").isEmpty();
      assertThat(acked).isNotEmpty();
      Set<Long> present = new HashSet<>();
      try (Connection nw = db.newDirect(); Statement s = nw.createStatement();
          ResultSet rs = s.executeQuery("SELECT writer, seq FROM booking")) {
        while (rs.next()) {
          present.add(Workload.key(rs.getInt(1), rs.getInt(2)));
        }
      }
      assertThat(acked).allMatch(present::contains);
      try (Connection old = db.oldDirect(); Statement s = old.createStatement(); ResultSet rs = s.executeQuery(
          "SELECT string_agg(state, ',') FROM cutover.switch")) {
        rs.next();
        assertThat(rs.getString(1)).as("one shared switch, released, on the source").isEqualTo("released");
      }
      try (Connection nw = db.newDirect(); Statement s = nw.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM cutover.switch")) {
        rs.next();
        assertThat(rs.getInt(1)).as("coordination tables are never replicated").isZero();
      }
    } finally {
      for (Process p : processes) {
        p.destroyForcibly();
      }
    }
  }
}
