package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.control.OperatorControl;
import dev.cutover.driver.control.SwitchState;
import dev.cutover.driver.internal.control.Fence;
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
      startInstances(db, flag, tmp, processes, dirs, "process");

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

  /**
   * r23: the leader's JVM freezes (SIGSTOP: a long GC pause, a paused container) behind its fence,
   * before its release. The kernel still answers for its sockets, so its session and its lock stay
   * alive on old whatever keepalives say; before, old stayed fenced for as long as the JVM stayed
   * frozen. The other JVM, its deadline past, ends the frozen leader's session and aborts: old's
   * fence comes down within the maximum pause and the liveness limit, and it writes there again.
   * The leader, thawed, finds the switch aborted and stays on old; nothing acknowledged is lost.
   */
  @Test
  void leaderJvmFrozenBehindItsFence_theOtherEndsItsSession_andOldTakesWritesAgainWithinTheMaxPause(PostgresPair pair,
      @TempDir Path tmp) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    Path flag = tmp.resolve("routing.flag");
    Files.writeString(flag, "old\n");
    List<Process> processes = new ArrayList<>();
    List<Path> dirs = new ArrayList<>();
    Process frozen = null;
    try (Connection watch = db.oldDirect(); Connection outsideWriter = db.oldDirect()) {
      startInstances(db, flag, tmp, processes, dirs, "frozen", "cutover.barrier.timeout=30s", "cutover.drain.timeout=2s",
          "cutover.gate.max-pause=10s");
      long newEpoch = epoch(db.newDirect());
      outsideWriter.setAutoCommit(false);
      try (Statement s = outsideWriter.createStatement()) {
        s.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-1, 1)");
      }
      Files.writeString(flag, "new\n");
      await().atMost(Duration.ofSeconds(30)).until(() -> Fence.isRaised(watch));
      db.stopForward(); // the barrier cannot arrive: the leader waits behind its fence
      outsideWriter.commit();
      String leader = db.awaitLeaderAtTheBarrier(watch);
      int leading = leader.startsWith("frozen0#") ? 0 : 1;
      frozen = processes.get(leading);
      signal(frozen, "STOP");

      await("old's fence, held up by the frozen leader's session, comes down").atMost(Duration.ofSeconds(25))
          .until(() -> !Fence.isRaised(watch));
      Files.writeString(flag, "old\n"); // no retry while the leader is frozen
      int otherBase = (1 - leading) * 10;
      long before = writesOn(watch, otherBase);
      await("the other instance writes on old again").atMost(Duration.ofSeconds(20))
          .until(() -> writesOn(watch, otherBase) >= before + 20);

      signal(frozen, "CONT");
      frozen = null;
      await().atMost(Duration.ofSeconds(30)).until(() -> OperatorControl.read(watch, db.database).instances().stream()
          .allMatch(i -> "idle".equals(i.phase()) && "old".equals(i.serving())));
      assertThat(Fence.isRaised(watch)).as("old's fence stays down").isFalse();
      assertThat(OperatorControl.read(watch, db.database).lastSwitch()).get()
          .satisfies(s -> assertThat(s.state()).isEqualTo(SwitchState.ABORTED));
      assertThat(epoch(db.newDirect())).as("new was never opened").isEqualTo(newEpoch);

      for (Path d : dirs) {
        Files.writeString(d.resolve("stop"), "");
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> dirs.stream().allMatch(d -> Files.exists(d.resolve("result"))));
      Set<Long> acked = new HashSet<>();
      for (Path d : dirs) {
        for (String line : Files.readAllLines(d.resolve("result"))) {
          if (line.startsWith("acked ")) {
            acked.add(Long.parseLong(line.substring(6)));
          }
        }
      }
      Set<Long> present = new HashSet<>();
      try (Statement s = watch.createStatement(); ResultSet rs = s.executeQuery("SELECT writer, seq FROM booking")) {
        while (rs.next()) {
          present.add(Workload.key(rs.getInt(1), rs.getInt(2)));
        }
      }
      assertThat(acked).isNotEmpty().allMatch(present::contains);
    } finally {
      if (frozen != null) {
        signal(frozen, "CONT");
      }
      for (Process p : processes) {
        p.destroyForcibly();
      }
    }
  }

  /**
   * Starts two instance JVMs ({@link InstanceProcess}) named {@code name0} and {@code name1}, each
   * following the file flag {@code flag} with {@code settings}, adds them and their directories to
   * the lists, and waits until both are ready.
   */
  private static void startInstances(Replicated db, Path flag, Path tmp, List<Process> processes, List<Path> dirs, String name,
      String... settings) throws Exception {
    for (int i = 0; i < 2; i++) {
      Path dir = Files.createDirectory(tmp.resolve("instance" + i));
      dirs.add(dir);
      List<String> all = new ArrayList<>(List.of("cutover.instance=" + name + i));
      all.addAll(List.of(settings));
      String url = db.urlWithFlag(Map.of(RoutingFlags.PROVIDER, "file", RoutingFlags.FILE, flag.toString()), all.toArray(String[]::new));
      processes.add(new ProcessBuilder(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(),
              "-cp", System.getProperty("java.class.path"),
              InstanceProcess.class.getName(), url, db.user(), Integer.toString(i * 10), dir.toString())
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("output.log").toFile())
          .start());
    }
    await().atMost(Duration.ofSeconds(90)).until(() -> dirs.stream().allMatch(d -> Files.exists(d.resolve("ready"))));
  }

  private static void signal(Process p, String signal) throws Exception {
    assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start().waitFor())
        .as("kill -%s %s", signal, p.pid()).isZero();
  }

  private static long writesOn(Connection c, int base) throws Exception {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT count(*) FROM booking WHERE writer BETWEEN " + base + " AND " + (base + 9))) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static long epoch(Connection direct) throws Exception {
    try (direct; Statement s = direct.createStatement(); ResultSet rs = s.executeQuery("SELECT cutover.epoch()")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
