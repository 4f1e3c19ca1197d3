package dev.cutover.driver;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.Outcome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One application instance in its own JVM, for {@link MultiProcessTest}: a pool through the
 * driver with writers, talking to the test only through files in a folder: {@code ready} once it
 * writes, {@code settled} once it has committed 30 more transactions after its switch, then on
 * {@code stop} the file {@code result} with every acknowledged key and every failure.
 *
 * <p>Arguments: URL, user, first writer id, folder.
 */
public final class InstanceProcess {
  private static final int COMMITS_AFTER_SWITCH = 30;
  private static final long POLL_NANOS = 20_000_000;

  private InstanceProcess() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[3]);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(args[0]);
    config.setUsername(args[1]);
    config.setMaximumPoolSize(4);
    AtomicLong switchedAt = new AtomicLong(-1);
    String outcome;
    try (HikariDataSource pool = new HikariDataSource(config);
        Workload load = new Workload(pool, 2, Integer.parseInt(args[2]))) {
      CutoverDriver.addSwitchListener(e -> {
        if (e.outcome() == Outcome.COMPLETED) {
          switchedAt.set(load.commits.get());
        }
      });
      while (load.commits.get() < 10) {
        LockSupport.parkNanos(POLL_NANOS);
      }
      Files.writeString(dir.resolve("ready"), "");
      while (!Files.exists(dir.resolve("stop"))) {
        long at = switchedAt.get();
        if (at >= 0 && load.commits.get() >= at + COMMITS_AFTER_SWITCH && !Files.exists(dir.resolve("settled"))) {
          Files.writeString(dir.resolve("settled"), "");
        }
        LockSupport.parkNanos(POLL_NANOS);
      }
      load.close();
      List<String> lines = new ArrayList<>();
      load.acknowledged.forEach(k -> lines.add("acked " + k));
      load.failures.forEach(f -> lines.add("failure " + f));
      load.unreadWrites.forEach(u -> lines.add("unread " + u));
      Files.write(dir.resolve("result.tmp"), lines);
      Files.move(dir.resolve("result.tmp"), dir.resolve("result"));
      outcome = "done";
    }
    System.out.println(outcome);
    System.exit(0);
  }
}
