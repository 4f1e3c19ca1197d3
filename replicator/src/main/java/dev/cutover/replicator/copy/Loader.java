package dev.cutover.replicator.copy;

import dev.cutover.common.Threads;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.ServerShortage;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.copy.InitialCopy.Chunk;
import dev.cutover.replicator.copy.InitialCopy.TablePair;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ThreadFactory;

/**
 * Runs start's copy, index builds and ANALYZE as one queue of jobs on a fixed number of workers:
 * a table's indexes are built as soon as its last chunk is in, while other tables are still being
 * copied, and its finish (constraints attached, replica identity, ANALYZE) follows its last
 * build. When one table copies longest, the workers done copying build the other tables' indexes
 * meanwhile instead of idling. On two cores shared by both servers no gain shows, since the copy
 * already keeps both busy ({@code benchmarks/side-checks queue}); it is meant for servers with
 * cores the copy leaves idle.
 *
 * <p>Copies go first, largest first, since each one unlocks builds; then builds, largest index
 * first; then finishes. The first failure stops every worker from taking another job (and running
 * copies at their next buffer) and is rethrown, later ones suppressed into it. Every worker's
 * connection to old is opened before any job runs, while the snapshot is still exported, and
 * closed once no copy is left, so old's xmin horizon is not held back by the builds.
 */
public final class Loader {
  /**
   * What the load took: until the last copy ended, and after it until everything was built; and
   * the large objects copied (count and bytes).
   */
  public record Timing(long copyMillis, long afterCopyMillis, long largeObjects, long largeObjectBytes) {}

  private sealed interface Job permits CopyJob, LargeObjectsJob, BuildJob, FinishJob {
    /** Heavier first within a queue. */
    long weight();
  }

  private record CopyJob(Chunk chunk) implements Job {
    public long weight() {
      return chunk.estimatedBytes();
    }
  }

  /** Every large object, copied by one worker under the snapshot after the tables' chunks. */
  private record LargeObjectsJob() implements Job {
    public long weight() {
      return 0;
    }
  }

  private record BuildJob(IndexSetAside.Definition index) implements Job {
    public long weight() {
      return index.bytes();
    }
  }

  private record FinishJob(TableName table, long weight) implements Job {}

  /** One table's outstanding work. */
  private static final class TableWork {
    final List<IndexSetAside.Definition> builds = new ArrayList<>();
    final long bytes;
    int buildsLeft;

    TableWork(long bytes) {
      this.bytes = bytes;
    }
  }

  private final InitialCopy copy;
  private final Endpoint nw;
  private final IndexSetAside aside;
  private final String maintenanceWorkMem;
  private final int workers;
  private final CopyProgress progress;
  private final CopyListener listener;

  /** Copies waiting, for workers that hold a connection to old. */
  private final PriorityQueue<Job> copies = new PriorityQueue<>(Comparator.comparingLong(Job::weight).reversed());
  /** Builds, then finishes, waiting for any worker. */
  private final PriorityQueue<Job> ready = new PriorityQueue<>(
      Comparator.comparing((Job j) -> j instanceof FinishJob).thenComparing(Comparator.comparingLong(Job::weight).reversed()));
  private final Map<TableName, TableWork> tables = new HashMap<>();
  private int running;
  private int copiesLeft;
  private Exception failure;
  private long copyEnded;
  private volatile long[] largeObjectsCopied = {0, 0};

  /**
   * @param maintenanceWorkMem {@code maintenance_work_mem} for the builds, e.g. {@code 256MB}
   * @param workers how many jobs run at once
   */
  public Loader(InitialCopy copy, Endpoint nw, IndexSetAside aside, String maintenanceWorkMem, int workers, CopyProgress progress,
      CopyListener listener) {
    this.copy = copy;
    this.nw = nw;
    this.aside = aside;
    this.maintenanceWorkMem = maintenanceWorkMem;
    this.workers = workers;
    this.progress = progress;
    this.listener = listener;
  }

  /**
   * Copies {@code pairs} (and every large object when {@code largeObjects}), builds what
   * {@code aside} set aside and analyzes every table. {@code copied} runs once every worker has
   * imported the snapshot, so the connection that exports it may close.
   */
  public Timing run(List<TablePair> pairs, int oldMajor, boolean largeObjects, Runnable copied) throws Exception {
    return run(pairs, List.of(), oldMajor, largeObjects, copied);
  }

  /**
   * {@link #run(List, int, boolean, Runnable)} for a resumed start: {@code done} were copied
   * already, so only their indexes are built (those missing) and they are analyzed.
   */
  public Timing run(List<TablePair> pairs, List<TablePair> done, int oldMajor, boolean largeObjects, Runnable copied) throws Exception {
    long started = System.nanoTime();
    List<Chunk> chunks = copy.plan(pairs, oldMajor);
    List<TablePair> all = new ArrayList<>(pairs);
    all.addAll(done);
    queue(all, chunks);
    for (TablePair p : done) {
      ready.addAll(copied(p.nw().name()));
    }
    if (largeObjects) {
      copies.add(new LargeObjectsJob());
      copiesLeft++;
    }
    List<InitialCopy.Worker> copyWorkers = new ArrayList<>();
    try {
      for (int i = 0; i < Math.min(workers, copiesLeft); i++) {
        copyWorkers.add(copy.openWorker());
      }
    } catch (Exception e) {
      closeAll(copyWorkers, e);
      throw e;
    } finally {
      copied.run();
    }
    listener.phase("copy", progress);
    List<Thread> threads = new ArrayList<>();
    ThreadFactory factory = Threads.daemon("cutover-load");
    for (int w = 0; w < workers; w++) {
      InitialCopy.Worker own = w < copyWorkers.size() ? copyWorkers.get(w) : null;
      Thread t = factory.newThread(() -> work(own));
      threads.add(t);
      t.start();
    }
    joinAll(threads);
    if (failure != null) {
      throw failure;
    }
    long end = System.nanoTime();
    long copyEnd = copyEnded == 0 ? end : copyEnded;
    return new Timing((copyEnd - started) / 1_000_000, (end - copyEnd) / 1_000_000, largeObjectsCopied[0], largeObjectsCopied[1]);
  }

  /** Queues every chunk and notes each table's builds. */
  private void queue(List<TablePair> pairs, List<Chunk> chunks) {
    progress.indexesPlanned(aside.rebuild().size());
    for (TablePair p : pairs) {
      tables.put(p.nw().name(), new TableWork(p.old().bytes()));
    }
    for (IndexSetAside.Definition d : aside.rebuild()) {
      TableWork t = tables.get(d.table());
      t.builds.add(d);
      t.buildsLeft++;
    }
    for (Chunk c : chunks) {
      copies.add(new CopyJob(c));
    }
    copiesLeft = chunks.size();
  }

  /** Waits for every worker; an interrupt stops them rather than leave them copying while the caller undoes the start. */
  private void joinAll(List<Thread> threads) {
    boolean interrupted = false;
    for (Thread t : threads) {
      while (t.isAlive()) {
        try {
          t.join();
        } catch (InterruptedException e) {
          fail(e);
          interrupted = true;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void work(InitialCopy.Worker copyWorker) {
    InitialCopy.Worker own = copyWorker;
    Connection builder = null;
    try {
      Job job;
      while ((job = take(own != null)) != null) {
        if (!(job instanceof CopyJob || job instanceof LargeObjectsJob) && own != null) {
          // No copy is left to take: leave old's snapshot now rather than after the builds.
          own.close();
          own = null;
        }
        if (job instanceof LargeObjectsJob) {
          largeObjectsCopied = copy.copyLargeObjects(own);
          done(List.of(), true);
          continue;
        }
        if (job instanceof CopyJob c) {
          boolean last = copy.copyChunk(own, c.chunk());
          done(last ? copied(c.chunk().table().nw().name()) : List.of(), true);
          continue;
        }
        if (builder == null) {
          builder = openBuilder();
        }
        if (job instanceof BuildJob b) {
          long s = System.nanoTime();
          IndexSetAside.build(builder, b.index());
          progress.indexBuilt();
          listener.indexBuilt(b.index().table(), b.index().name(), (System.nanoTime() - s) / 1_000_000);
          done(built(b.index().table()), false);
        } else if (job instanceof FinishJob f) {
          finish(builder, f.table());
          done(List.of(), false);
        }
      }
    } catch (Exception e) {
      fail(e);
    } finally {
      try {
        if (own != null) {
          own.close();
        }
        if (builder != null) {
          builder.close();
        }
      } catch (Exception e) {
        fail(e);
      }
    }
  }

  private Connection openBuilder() throws Exception {
    Connection c = nw.connect();
    Sql.execute(c, "SET search_path = pg_catalog");
    Sql.execute(c, "SET maintenance_work_mem = " + Sql.literal(maintenanceWorkMem));
    return c;
  }

  /** Attaches the table's constraints, sets its replica identity and analyzes it. */
  private void finish(Connection c, TableName table) throws Exception {
    for (IndexSetAside.Definition d : tables.get(table).builds) {
      IndexSetAside.attach(c, d);
    }
    String identity = aside.replicaIdentity().get(table);
    if (identity != null) {
      IndexSetAside.applyIdentity(c, table, identity);
    }
    Sql.execute(c, "ANALYZE " + table.quoted());
  }

  /** The jobs a table's last chunk unlocks: its builds, or its finish when it has none. */
  private synchronized List<Job> copied(TableName table) {
    TableWork t = tables.get(table);
    List<Job> next = new ArrayList<>();
    for (IndexSetAside.Definition d : t.builds) {
      next.add(new BuildJob(d));
    }
    if (next.isEmpty()) {
      next.add(new FinishJob(table, t.bytes));
    }
    return next;
  }

  /** The job a table's last build unlocks: its finish. */
  private synchronized List<Job> built(TableName table) {
    TableWork t = tables.get(table);
    return --t.buildsLeft == 0 ? List.of(new FinishJob(table, t.bytes)) : List.of();
  }

  /**
   * The next job, or null when there is none left or a worker failed: a copy if {@code canCopy}
   * and one is waiting, else a build or finish; a worker without a connection to old never gets
   * a copy.
   */
  private synchronized Job take(boolean canCopy) throws InterruptedException {
    while (failure == null) {
      Job next = canCopy && !copies.isEmpty() ? copies.poll() : ready.poll();
      if (next != null) {
        running++;
        return next;
      }
      if (running == 0 && copies.isEmpty()) {
        return null;
      }
      wait();
    }
    return null;
  }

  private synchronized void done(List<Job> unlocked, boolean wasCopy) {
    running--;
    ready.addAll(unlocked);
    if (wasCopy && --copiesLeft == 0) {
      copyEnded = System.nanoTime();
      if (!aside.rebuild().isEmpty()) {
        listener.phase("indexes", progress);
      }
    }
    notifyAll();
  }

  /** The first failure stops the load; a shortage not traced to old (a copy's read) is new's, which every job writes. */
  private synchronized void fail(Exception e) {
    if (failure == null) {
      failure = ServerShortage.on(Side.NEW, e);
      copy.abort();
    } else if (failure != e) {
      failure.addSuppressed(e);
    }
    notifyAll();
  }

  private static void closeAll(List<InitialCopy.Worker> workers, Exception cause) {
    for (InitialCopy.Worker w : workers) {
      try {
        w.close();
      } catch (Exception e) {
        cause.addSuppressed(e);
      }
    }
  }
}
