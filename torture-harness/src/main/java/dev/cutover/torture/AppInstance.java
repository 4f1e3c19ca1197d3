package dev.cutover.torture;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.switching.Outcome;
import dev.cutover.driver.switching.SwitchEvent;
import dev.cutover.driver.switching.SwitchListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * One instance of the tortured application: a HikariCP pool through the Cutover driver, writers
 * that record operations in the ledger in four transaction shapes, a reader that checks the
 * conserved total, and whatever the harness asks for through command files (a straggler, a long
 * cursor). It checks what only it can see (I3: every statement of a transaction ran in the same
 * backend and transaction on the same side; I4: it reads back every operation it had acknowledged)
 * and journals everything else for the harness.
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
  private static final long MAX_BACKLOG_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Shapes of write transactions, as they appear in the ledger's {@code kind}. */
  enum Kind { TRANSFER, NOTE, BATCH, SQL, STRAGGLER, EXTERNAL }

  private final InstanceSpec spec;
  private final Journal journal;
  private final HikariDataSource pool;
  private final SwitchListener listener = this::onSwitch;
  private final List<Thread> threads = new ArrayList<>();
  private final AtomicLong ops = new AtomicLong(1);
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
    config.setPoolName(spec.name());
    this.pool = new HikariDataSource(config);
  }

  /** In its own JVM: {@code AppInstance <folder>}; runs until {@code <folder>/stop} exists or it is killed. */
  public static void main(String[] args) throws Exception {
    Path directory = Path.of(args[0]);
    InstanceSpec spec = JSON.readValue(directory.resolve(InstanceSpec.FILE).toFile(), InstanceSpec.class);
    try (AppInstance instance = new AppInstance(spec)) {
      instance.start();
      while (!Files.exists(directory.resolve(STOP))) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      }
    }
    System.exit(0);
  }

  void start() {
    SplittableRandom random = new SplittableRandom(spec.seed());
    for (int w = 0; w < spec.writers(); w++) {
      SplittableRandom r = random.split();
      thread("writer-" + w, () -> paced(spec.rate() / spec.writers(), () -> write(r)));
    }
    thread("reader", () -> paced(Math.max(1, spec.rate() / 4), this::readTotal));
    thread("commands", this::followCommands);
    thread("status", this::writeStatus);
  }

  private void thread(String name, Runnable body) {
    Thread t = new Thread(body, spec.name() + "-" + name);
    t.setDaemon(true);
    threads.add(t);
    t.start();
  }

  /** Runs {@code step} at {@code perSecond} on a fixed schedule; a worker a second behind drops its backlog. */
  private void paced(double perSecond, Runnable step) {
    long interval = (long) (1e9 / perSecond);
    long due = System.nanoTime();
    while (running) {
      long wait = due - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
        continue;
      }
      if (-wait > MAX_BACKLOG_NANOS) {
        due = System.nanoTime();
      }
      due += interval;
      try {
        step.run();
      } catch (RuntimeException e) {
        journal.violation("HARNESS", "unexpected " + e);
      }
    }
  }

  // ---- write transactions --------------------------------------------------------------------

  /** Where a statement ran: side, backend, transaction. */
  private record Where(String side, int pid, long xid) {}

  /** A ledger row as the statement that wrote it returned it. */
  private record Recorded(long op, String kind, long id, long tick, long ticket, String origin, Where where) {}

  private void write(SplittableRandom r) {
    int dice = r.nextInt(100);
    if (dice < 40) {
      transfer(r);
    } else if (dice < 65) {
      note();
    } else if (dice < 80) {
      batch();
    } else {
      sqlBoundaries();
    }
  }

  private void transfer(SplittableRandom r) {
    int a = 1 + r.nextInt(TortureSchema.ACCOUNTS);
    int b = 1 + (a + r.nextInt(TortureSchema.ACCOUNTS - 1)) % TortureSchema.ACCOUNTS;
    long amount = 1 + r.nextInt(1000);
    long op = ops.getAndIncrement();
    String last = lastSwitch;
    Journal.Phase phase = Journal.Phase.BEFORE_COMMIT;
    List<Recorded> committed = null;
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        // Lower account first, so that two transfers never wait for each other in a cycle.
        Where w1 = move(c, a < b ? -amount : amount, Math.min(a, b));
        Where w2 = move(c, a < b ? amount : -amount, Math.max(a, b));
        Recorded rec = record(c, op, Kind.TRANSFER, a, b, amount);
        sameTransaction(Kind.TRANSFER, op, w1, w2, rec.where());
        phase = Journal.Phase.AT_COMMIT;
        c.commit();
        committed = List.of(rec);
      } catch (SQLException e) {
        failed(op, 1, Kind.TRANSFER, e, phase, last);
        rollbackQuietly(c);
      }
    } catch (SQLException e) {
      failed(op, 1, Kind.TRANSFER, e, phase, last);
    }
    acknowledged(committed);
  }

  /** Autocommit: the statement is the commit. */
  private void note() {
    long op = ops.getAndIncrement();
    String last = lastSwitch;
    List<Recorded> committed = null;
    try (Connection c = pool.getConnection()) {
      committed = List.of(record(c, op, Kind.NOTE, null, null, 0));
    } catch (SQLException e) {
      failed(op, 1, Kind.NOTE, e, Journal.Phase.AT_COMMIT, last);
    }
    acknowledged(committed);
  }

  /** Three operations in one JDBC batch, read back inside the transaction. */
  private void batch() {
    long first = ops.getAndAdd(3);
    String last = lastSwitch;
    Journal.Phase phase = Journal.Phase.BEFORE_COMMIT;
    List<Recorded> committed = null;
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        Where before = whereAmI(c);
        try (PreparedStatement ps = c.prepareStatement(TortureSchema.RECORD_QUIETLY)) {
          for (long op = first; op < first + 3; op++) {
            bindRecord(ps, op, Kind.BATCH, null, null, 0);
            ps.addBatch();
          }
          ps.executeBatch();
        }
        Map<Long, Recorded> rows = ownRows(c, new long[] {first, first + 1, first + 2}, whereAmI(c));
        sameTransaction(Kind.BATCH, first, before, rows.isEmpty() ? before : rows.values().iterator().next().where());
        if (rows.size() != 3) {
          journal.violation("I4", "batch ops " + first + ".." + (first + 2) + " not all visible in their own transaction: " + rows.keySet());
        }
        phase = Journal.Phase.AT_COMMIT;
        c.commit();
        committed = new ArrayList<>(rows.values());
      } catch (SQLException e) {
        failed(first, 3, Kind.BATCH, e, phase, last);
        rollbackQuietly(c);
      }
    } catch (SQLException e) {
      failed(first, 3, Kind.BATCH, e, phase, last);
    }
    acknowledged(committed);
  }

  /** Transaction boundaries sent as SQL text: the driver must see them from the server's state. */
  private void sqlBoundaries() {
    long first = ops.getAndAdd(2);
    String last = lastSwitch;
    Journal.Phase phase = Journal.Phase.BEFORE_COMMIT;
    List<Recorded> committed = null;
    try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
      try {
        s.execute("BEGIN");
        List<Recorded> rows = new ArrayList<>();
        for (long op = first; op < first + 2; op++) {
          try (ResultSet rs = s.executeQuery(TortureSchema.RECORD.replaceFirst("\\?", "'" + spec.name() + "'")
              .replaceFirst("\\?", Long.toString(op)).replaceFirst("\\?", "'" + Kind.SQL.name() + "'")
              .replaceFirst("\\?", "NULL").replaceFirst("\\?", "NULL").replaceFirst("\\?", "0"))) {
            rows.add(recorded(rs, op, Kind.SQL));
          }
        }
        sameTransaction(Kind.SQL, first, rows.get(0).where(), rows.get(1).where());
        phase = Journal.Phase.AT_COMMIT;
        s.execute("COMMIT");
        committed = rows;
      } catch (SQLException e) {
        failed(first, 2, Kind.SQL, e, phase, last);
        try {
          s.execute("ROLLBACK");
        } catch (SQLException ignored) {
          // the connection is broken or the transaction gone; the pool sorts it out
        }
      }
    } catch (SQLException e) {
      failed(first, 2, Kind.SQL, e, phase, last);
    }
    acknowledged(committed);
  }

  /** A transaction held open for {@code millis} after its first write: a straggler for the drain. */
  private void straggler(long millis) {
    long op = ops.getAndIncrement();
    String last = lastSwitch;
    Journal.Phase phase = Journal.Phase.BEFORE_COMMIT;
    List<Recorded> committed = null;
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        Where w1;
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO scratch (instance, op) VALUES (?, ?)"
            + " RETURNING current_setting('" + TortureSchema.SIDE_SETTING + "'), pg_backend_pid(), txid_current()")) {
          ps.setString(1, spec.name());
          ps.setLong(2, op);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            w1 = new Where(rs.getString(1), rs.getInt(2), rs.getLong(3));
          }
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(millis)); // the straggler's own work, by design
        Recorded rec = record(c, op, Kind.STRAGGLER, null, null, 0);
        sameTransaction(Kind.STRAGGLER, op, w1, rec.where());
        phase = Journal.Phase.AT_COMMIT;
        c.commit();
        committed = List.of(rec);
      } catch (SQLException e) {
        failed(op, 1, Kind.STRAGGLER, e, phase, last);
        rollbackQuietly(c);
      }
    } catch (SQLException e) {
      failed(op, 1, Kind.STRAGGLER, e, phase, last);
    }
    acknowledged(committed);
  }

  /** A read-only transaction that keeps a cursor open for {@code millis}, fetching slowly. */
  private void cursor(long millis) {
    String last = lastSwitch;
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement("SELECT id FROM ledger ORDER BY id")) {
        ps.setFetchSize(20);
        try (ResultSet rs = ps.executeQuery()) {
          int n = 0;
          while (System.nanoTime() - end < 0 && rs.next()) {
            if (++n % 20 == 0) {
              LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
          }
        }
        c.commit();
      } catch (SQLException e) {
        failed(0, 0, "CURSOR", e, Journal.Phase.BEFORE_COMMIT, last);
        rollbackQuietly(c);
      }
    } catch (SQLException e) {
      failed(0, 0, "CURSOR", e, Journal.Phase.BEFORE_COMMIT, last);
    }
  }

  private Where move(Connection c, long amount, int account) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(TortureSchema.MOVE)) {
      ps.setLong(1, amount);
      ps.setInt(2, account);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new Where(rs.getString(1), rs.getInt(2), rs.getLong(3));
      }
    }
  }

  private Recorded record(Connection c, long op, Kind kind, Integer from, Integer to, long amount) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(TortureSchema.RECORD)) {
      bindRecord(ps, op, kind, from, to, amount);
      try (ResultSet rs = ps.executeQuery()) {
        return recorded(rs, op, kind);
      }
    }
  }

  private void bindRecord(PreparedStatement ps, long op, Kind kind, Integer from, Integer to, long amount) throws SQLException {
    ps.setString(1, spec.name());
    ps.setLong(2, op);
    ps.setString(3, kind.name());
    ps.setObject(4, from, java.sql.Types.INTEGER);
    ps.setObject(5, to, java.sql.Types.INTEGER);
    ps.setLong(6, amount);
  }

  private static Recorded recorded(ResultSet rs, long op, Kind kind) throws SQLException {
    if (!rs.next()) {
      throw new SQLException("torture: the ledger insert returned no row: is the clock row missing?", "P0002");
    }
    return new Recorded(op, kind.name(), rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getString(4),
        new Where(rs.getString(4), rs.getInt(5), rs.getLong(6)));
  }

  private static Where whereAmI(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(TortureSchema.WHERE_AM_I)) {
      rs.next();
      return new Where(rs.getString(1), rs.getInt(2), rs.getLong(3));
    }
  }

  /** The rows of {@code ops} this instance can see through {@code c}. */
  private Map<Long, Recorded> ownRows(Connection c, long[] wanted, Where where) throws SQLException {
    Map<Long, Recorded> rows = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement(TortureSchema.OWN_ROWS)) {
      ps.setString(1, spec.name());
      ps.setArray(2, c.createArrayOf("bigint", java.util.Arrays.stream(wanted).boxed().toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.put(rs.getLong(1), new Recorded(rs.getLong(1), rs.getString(6), rs.getLong(2), rs.getLong(3), rs.getLong(4),
              rs.getString(5), where));
        }
      }
    }
    return rows;
  }

  /** I3: every statement of one transaction ran on the same side, backend and transaction. */
  private void sameTransaction(Kind kind, long op, Where... wheres) {
    for (Where w : wheres) {
      if (!w.equals(wheres[0])) {
        journal.violation("I3", kind + " op " + op + " ran its statements in different places: " + List.of(wheres));
        return;
      }
    }
  }

  /**
   * Journals the acknowledgements of a committed transaction ({@code rows}; null when it failed),
   * then reads them back in a new transaction on another pooled connection (I4).
   */
  private void acknowledged(List<Recorded> rows) {
    if (rows == null) {
      return;
    }
    for (Recorded r : rows) {
      journal.ack(r.op(), r.kind(), r.id(), r.tick(), r.ticket(), r.origin());
    }
    long[] wanted = rows.stream().mapToLong(Recorded::op).toArray();
    String last = lastSwitch;
    try (Connection c = pool.getConnection()) {
      Map<Long, Recorded> seen = ownRows(c, wanted, null);
      for (Recorded r : rows) {
        Recorded s = seen.get(r.op());
        if (s == null || s.id() != r.id() || s.tick() != r.tick() || s.ticket() != r.ticket() || !s.origin().equals(r.origin())) {
          journal.violation("I4", "op " + r.op() + " acknowledged as id " + r.id() + " tick " + r.tick() + " on "
              + r.origin() + ", read back in the next transaction as " + (s == null ? "nothing" : "id " + s.id()
                  + " tick " + s.tick() + " on " + s.origin()) + " (last switch " + last + ")");
        }
      }
    } catch (SQLException e) {
      failed(0, 0, "READ", e, Journal.Phase.BEFORE_COMMIT, last);
    }
  }

  /** The conserved total, read in one statement: every snapshot of either side must hold it. */
  private void readTotal() {
    String last = lastSwitch;
    try (Connection c = pool.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(TortureSchema.SUM)) {
      rs.next();
      if (rs.getLong(1) != TortureSchema.TOTAL || rs.getInt(2) != TortureSchema.ACCOUNTS) {
        journal.violation("TOTAL", "accounts on " + rs.getString(3) + " sum to " + rs.getLong(1) + " over " + rs.getInt(2)
            + " accounts, not " + TortureSchema.TOTAL + " over " + TortureSchema.ACCOUNTS);
      }
    } catch (SQLException e) {
      failed(0, 0, "READ", e, Journal.Phase.BEFORE_COMMIT, last);
    }
  }

  private void failed(long firstOp, int count, Object kind, SQLException e, Journal.Phase phase, String last) {
    journal.failure(firstOp, count, String.valueOf(kind), e.getSQLState() == null ? "none" : e.getSQLState(), phase, last,
        e.getClass().getSimpleName() + ": " + e.getMessage());
  }

  private static void rollbackQuietly(Connection c) {
    try {
      c.rollback();
    } catch (SQLException e) {
      // broken connection: the pool evicts it
    }
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
            case "straggler" -> () -> straggler(millis);
            case "cursor" -> () -> cursor(millis);
            default -> () -> journal.violation("HARNESS", "unknown command " + words[0]);
          };
          Thread t = new Thread(command, spec.name() + "-" + words[0]);
          t.setDaemon(true);
          t.start();
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
          Set<ObjectName> found = beans.queryNames(new ObjectName("dev.cutover:type=Router,service="
              + ObjectName.quote(InstanceSpec.SERVICE) + ",instance=" + ObjectName.quote(spec.name()) + ",*"), null);
          name = found.isEmpty() ? null : found.iterator().next();
          router = name;
        }
        if (name != null) {
          status.put("switching", switching(name));
          status.put("serving", beans.getAttribute(name, "Serving"));
          status.put("flag", beans.getAttribute(name, "FlagTarget"));
          status.put("holding", beans.getAttribute(name, "Holding"));
          status.put("completed", beans.getAttribute(name, "SwitchesCompleted"));
          status.put("aborted", beans.getAttribute(name, "SwitchesAborted"));
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
    for (Thread t : threads) {
      try {
        t.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    CutoverDriver.removeSwitchListener(listener);
    pool.close();
    journal.close();
  }
}
