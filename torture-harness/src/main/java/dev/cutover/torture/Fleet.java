package dev.cutover.torture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cutover.driver.CutoverDriver;
import dev.cutover.flags.Target;
import dev.cutover.testkit.TcpProxy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The application's instances: some as threads of the harness's JVM, some as JVMs of their own
 * (same class path), each behind a proxy of its own per side so that one instance's link can fail
 * alone. A slot ({@code i0}, {@code p1}) is a place in the fleet; each start in it is a new
 * incarnation with a new name ({@code p1.2}), since a killed instance's heartbeat and journal
 * stay behind it.
 */
final class Fleet implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How many instances of each kind, and what each does. */
  record Options(int threads, int processes, double rate, int writers, int poolSize, long drainMillis, long barrierMillis) {}

  /** One incarnation of a slot. */
  static final class Member {
    final String slot;
    final String name;
    final Path directory;
    final TcpProxy oldLink;
    final TcpProxy newLink;
    final Process process;
    final AppInstance local;
    final JournalReader journal;
    volatile boolean alive = true;

    private Member(String slot, String name, Path directory, TcpProxy oldLink, TcpProxy newLink, Process process, AppInstance local) {
      this.slot = slot;
      this.name = name;
      this.directory = directory;
      this.oldLink = oldLink;
      this.newLink = newLink;
      this.process = process;
      this.local = local;
      this.journal = new JournalReader(name, directory);
    }

    TcpProxy link(Target side) {
      return side == Target.OLD ? oldLink : newLink;
    }

    /** The instance's last status, or null while it has written none. */
    JsonNode status() {
      Path file = directory.resolve(AppInstance.STATUS);
      try {
        return Files.exists(file) ? JSON.readTree(file.toFile()) : null;
      } catch (IOException e) {
        return null; // replaced while read: the next read gets it
      }
    }

    @Override
    public String toString() {
      return name;
    }
  }

  private final Cluster cluster;
  private final Path root;
  private final Path flagFile;
  private final Options options;
  private final long seed;
  private final Map<String, Member> live = new LinkedHashMap<>();
  private final List<Member> all = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Map<String, Integer> generations = new HashMap<>();
  private final AtomicLong commands = new AtomicLong();

  Fleet(Cluster cluster, Path root, Path flagFile, Options options, long seed) {
    this.cluster = cluster;
    this.root = root;
    this.flagFile = flagFile;
    this.options = options;
    this.seed = seed;
    // The instances' JVMs must not outlive the harness, however it ends (a stopped run, Ctrl-C).
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      for (Member m : allUnlocked()) {
        if (m.process != null) {
          m.process.destroyForcibly();
        }
      }
    }, "torture-fleet-reaper"));
  }

  /** For the shutdown hook, which must not wait for a lock a stopped thread may hold. */
  private List<Member> allUnlocked() {
    return new ArrayList<>(all);
  }

  List<String> threadSlots() {
    List<String> slots = new ArrayList<>();
    for (int i = 0; i < options.threads(); i++) {
      slots.add("i" + i);
    }
    return slots;
  }

  List<String> processSlots() {
    List<String> slots = new ArrayList<>();
    for (int i = 0; i < options.processes(); i++) {
      slots.add("p" + i);
    }
    return slots;
  }

  /** Every slot, threads first. */
  List<String> slots() {
    List<String> slots = threadSlots();
    slots.addAll(processSlots());
    return slots;
  }

  /** Starts an incarnation in every slot. */
  void startAll() throws IOException {
    for (String slot : slots()) {
      start(slot);
    }
  }

  /**
   * Starts a new incarnation in {@code slot}. In-JVM instance {@code i0} follows the manual flag,
   * every other one the flag file, so that both providers take part.
   */
  synchronized Member start(String slot) throws IOException {
    int generation = generations.merge(slot, 1, Integer::sum);
    String name = slot + "." + generation;
    Path dir = Files.createDirectories(root.resolve(name));
    Files.createDirectories(dir.resolve(AppInstance.COMMANDS));
    TcpProxy oldLink = TcpProxy.in(cluster.server(Target.OLD));
    TcpProxy newLink = TcpProxy.in(cluster.server(Target.NEW));
    boolean process = slot.startsWith("p");
    InstanceSpec spec = new InstanceSpec(name, dir, oldLink.host() + ":" + oldLink.port(), newLink.host() + ":" + newLink.port(),
        cluster.server(Target.OLD).user(), slot.equals("i0") ? null : flagFile, options.rate(), options.writers(),
        options.poolSize(), Schedule.Generator.mix(seed, name.hashCode()), options.drainMillis(), options.barrierMillis());
    JSON.writeValue(dir.resolve(InstanceSpec.FILE).toFile(), spec);
    Member member;
    if (process) {
      Process p = new ProcessBuilder(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(),
              "-Xmx160m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
              "-D" + DriverLog.PROPERTY + "=" + dir.resolve("driver.log"),
              "-cp", System.getProperty("java.class.path"),
              AppInstance.class.getName(), dir.toString())
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("output.log").toFile())
          .start();
      member = new Member(slot, name, dir, oldLink, newLink, p, null);
    } else {
      AppInstance instance = new AppInstance(spec);
      instance.start();
      member = new Member(slot, name, dir, oldLink, newLink, null, instance);
    }
    live.put(slot, member);
    all.add(member);
    return member;
  }

  /**
   * {@code kill -9} of the JVM in {@code slot}; its links close with it, as a dead machine's would.
   *
   * @return the incarnation killed, or null when the slot is empty or not a JVM of its own
   */
  synchronized Member kill(String slot) {
    Member m = live.get(slot);
    if (m == null || m.process == null) {
      return null;
    }
    m.process.destroyForcibly();
    try {
      m.process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    m.alive = false;
    live.remove(slot);
    m.oldLink.close();
    m.newLink.close();
    return m;
  }

  /** Whether {@code slot} has a live incarnation. */
  synchronized boolean occupied(String slot) {
    return live.containsKey(slot);
  }

  synchronized Collection<Member> live() {
    return List.copyOf(live.values());
  }

  /** Every incarnation that ever ran, dead ones included (their journals still count). */
  synchronized List<Member> all() {
    return List.copyOf(all);
  }

  /** The proxies to {@code side} of the live instances that {@code scope} names ({@code all} or a slot). */
  synchronized List<TcpProxy> links(Target side, String scope) {
    List<TcpProxy> links = new ArrayList<>();
    for (Member m : live.values()) {
      if (scope.equals("all") || m.slot.equals(scope)) {
        links.add(m.link(side));
      }
    }
    return links;
  }

  /** Asks the live instance in {@code slot} to run {@code command} ({@code straggler 2000}, {@code cursor 1500}). */
  synchronized boolean command(String slot, String command) {
    Member m = live.get(slot);
    if (m == null) {
      return false;
    }
    Path dir = m.directory.resolve(AppInstance.COMMANDS);
    try {
      Path tmp = dir.resolve(commands.incrementAndGet() + ".tmp");
      Files.writeString(tmp, command);
      Files.move(tmp, dir.resolve(String.format("%08d.cmd", commands.get())), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a command for " + m.name, e);
    }
    return true;
  }

  /** Stops every instance: JVMs by their stop file (killed if they do not stop), then the in-JVM ones and their routers. */
  @Override
  public synchronized void close() {
    for (Member m : live.values()) {
      if (m.process != null) {
        try {
          Files.writeString(m.directory.resolve(AppInstance.STOP), "");
        } catch (IOException e) {
          m.process.destroyForcibly();
        }
      }
    }
    for (Member m : live.values()) {
      if (m.process != null) {
        try {
          if (!m.process.waitFor(20, TimeUnit.SECONDS)) {
            m.process.destroyForcibly();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          m.process.destroyForcibly();
        }
      } else {
        m.local.close();
      }
      m.alive = false;
    }
    CutoverDriver.shutdown(InstanceSpec.SERVICE);
    for (Member m : live.values()) {
      m.oldLink.close();
      m.newLink.close();
    }
    live.clear();
  }
}
