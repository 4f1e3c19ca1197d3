package dev.cutover.torture;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.common.Poll;
import dev.cutover.common.Threads;
import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.RouterObjectNames;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchListener;
import dev.cutover.testkit.Pacer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * One instance of the tortured application: a HikariCP pool through the Cutover driver, paced
 * writer threads and a reader running its {@link Workload}, whatever the harness asks for through
 * command files (a straggler, a long cursor), its switch events journalled, its router's state
 * published.
 *
 * <p>Runs in the harness's JVM ({@link #start}) or in a JVM of its own ({@link #main}); either way
 * it talks to the harness only through its folder: {@code spec.json} (read at start), the journal,
 * {@code status.json} (rewritten every 100 ms), {@code cmd/*.cmd} (commands) and {@code stop}.
 */
final class AppInstance implements AutoCloseable {
  static final String STATUS = "status.json";
  static final String COMMANDS = "cmd";
  static final String STOP = "stop";
  private static final long STATUS_MILLIS = 100;
  /** Longer than any torture run: an instance still up after it was orphaned, not stopped. */
  private static final Duration LONGEST_LIFE = Duration.ofDays(7);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final InstanceSpec spec;
  private final Journal journal;
  private final HikariDataSource pool;
  private final Workload workload;
  private final SwitchListener listener = this::onSwitch;
  private final List<Thread> threads = new ArrayList<>();
  private final AtomicLong statusSeq = new AtomicLong();
  private volatile boolean running = true;
  /** The latest switch event of this instance, "id:COMPLETED" or "id:ABORTED", "none" before any. */
  private volatile String lastSwitch = "none";
  private volatile ObjectName router;
  /** The router's switch thread, found by the name the driver gives it (status thread only). */
  private Thread switchThread;

  AppInstance(InstanceSpec spec) {
    this.spec = spec;
    this.journal = new Journal(spec.directory());
    CutoverDriver.addSwitchListener(listener);
    HikariConfig config = new HikariConfig();
    config.setDriverClassName(CutoverDriver.class.getName());
    config.setJdbcUrl(spec.url());
    config.setUsername(spec.user());
    config.setMaximumPoolSize(spec.poolSize());
    config.setMinimumIdle(spec.poolSize());
    config.setConnectionTimeout(5_000);
    config.setValidationTimeout(1_000);
    config.setInitializationFailTimeout(-1); // a server may be down when an instance starts
    // HikariCP detects the default isolation once; a reset during that detection starves the pool for
    // good unless the level is configured (docs/faults.md B7; docs/driver.md "HikariCP: set transactionIsolation").
    config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
    config.setPoolName(spec.name());
    this.pool = new HikariDataSource(config);
    this.workload = new Workload(spec.name(), pool, journal, () -> lastSwitch);
  }

  /**
   * In its own JVM: {@code AppInstance <folder>}; runs until {@code <folder>/stop} exists, the
   * harness that started it has gone (killed before it could drop the file), {@link #LONGEST_LIFE}
   * has passed, or it is killed, so that no instance outlives its run for long.
   */
  public static void main(String[] args) throws Exception {
    Path directory = Path.of(args[0]);
    InstanceSpec spec = JSON.readValue(directory.resolve(InstanceSpec.FILE).toFile(), InstanceSpec.class);
    ProcessHandle harness = ProcessHandle.current().parent().orElse(null);
    try (AppInstance instance = new AppInstance(spec)) {
      instance.start();
      Poll.every(Duration.ofMillis(50)).within(LONGEST_LIFE,
          () -> Files.exists(directory.resolve(STOP)) || harness == null || !harness.isAlive());
    }
    System.exit(0);
  }

  void start() {
    SplittableRandom random = new SplittableRandom(spec.seed());
    for (int w = 0; w < spec.writers(); w++) {
      SplittableRandom r = random.split();
      thread("writer-" + w, () -> paced(spec.rate() / spec.writers(), () -> workload.write(r)));
    }
    thread("reader", () -> paced(Math.max(1, spec.rate() / 4), workload::readTotal));
    thread("commands", this::followCommands);
    thread("status", this::writeStatus);
  }

  private void thread(String name, Runnable body) {
    threads.add(Threads.start(spec.name() + "-" + name, body));
  }

  /** Runs {@code step} at {@code perSecond} on a fixed schedule; a worker a second behind drops its backlog. */
  private void paced(double perSecond, Runnable step) {
    new Pacer(perSecond, 0).run(() -> running, () -> {
      try {
        step.run();
      } catch (RuntimeException e) {
        journal.violation("HARNESS", "unexpected " + e);
      }
      return 1;
    });
  }

  // ---- commands, events, status ---------------------------------------------------------------

  /** Runs each command file the harness drops into {@code cmd/} on a thread of its own, then deletes it. */
  private void followCommands() {
    Path dir = spec.directory().resolve(COMMANDS);
    while (running) {
      try (var files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".cmd")).sorted()::iterator) {
          String[] words = Files.readString(f).trim().split("\\s+");
          Files.delete(f);
          long millis = Long.parseLong(words[1]);
          Runnable command = switch (words[0]) {
            case "straggler" -> () -> workload.straggler(millis);
            case "cursor" -> () -> workload.cursor(millis);
            default -> () -> journal.violation("HARNESS", "unknown command " + words[0]);
          };
          Threads.start(spec.name() + "-" + words[0], command);
        }
      } catch (IOException e) {
        // the folder appears with the first command
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
  }

  private void onSwitch(SwitchEvent e) {
    if (e.instance().equals(spec.name())) {
      journal.event(e);
      lastSwitch = e.id() + ":" + (e.outcome() == Outcome.COMPLETED ? "COMPLETED" : "ABORTED");
    }
  }

  /** Rewrites {@code status.json} every 100 ms from the router's MBean: serving side, flag, gate, switches. */
  private void writeStatus() {
    MBeanServer beans = ManagementFactory.getPlatformMBeanServer();
    Path file = spec.directory().resolve(STATUS);
    Path next = spec.directory().resolve(STATUS + ".next");
    while (running) {
      Map<String, Object> status = new LinkedHashMap<>();
      status.put("seq", statusSeq.incrementAndGet());
      try {
        ObjectName name = router;
        if (name == null) {
          for (ObjectName candidate : beans.queryNames(RouterObjectNames.service(InstanceSpec.SERVICE), null)) {
            if (spec.name().equals(beans.getAttribute(candidate, "Instance"))) {
              name = candidate;
            }
          }
          router = name;
        }
        if (name != null) {
          status.put("switching", switching(name));
          status.put("serving", beans.getAttribute(name, "Serving"));
          status.put("flag", beans.getAttribute(name, "FlagTarget"));
          status.put("holding", beans.getAttribute(name, "Holding"));
          status.put("completed", beans.getAttribute(name, "SwitchesCompleted"));
          status.put("aborted", beans.getAttribute(name, "SwitchesAborted"));
          status.put("refused", beans.getAttribute(name, "SwitchesRefused"));
        }
        JSON.writeValue(next.toFile(), status);
        Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (javax.management.InstanceNotFoundException e) {
        router = null; // the router closed
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + file, e);
      } catch (Exception e) {
        journal.violation("HARNESS", "status: " + e);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(STATUS_MILLIS));
    }
  }

  /**
   * Whether the router is running a switch now, gate open or not: its switch thread (named
   * {@code cutover-switch-<service>-<id>} by the driver, the id being the MBean's) is inside a
   * {@code Switchover}. The MBean's {@code Holding} says only whether the gate is closed, and a
   * switch spends its first seconds (the replication probe, opening connections) before that.
   */
  private boolean switching(ObjectName name) {
    if (switchThread == null) {
      String threadName = "cutover-switch-" + InstanceSpec.SERVICE + "-" + name.getKeyProperty("id");
      for (Thread t : Thread.getAllStackTraces().keySet()) {
        if (t.getName().equals(threadName)) {
          switchThread = t;
        }
      }
      if (switchThread == null) {
        return false; // not started yet: no switch has run
      }
    }
    for (StackTraceElement frame : switchThread.getStackTrace()) {
      if (frame.getClassName().endsWith(".Switchover")) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void close() {
    running = false;
    Threads.joinAll(threads, Duration.ofSeconds(10));
    CutoverDriver.removeSwitchListener(listener);
    pool.close();
    journal.close();
  }
}
