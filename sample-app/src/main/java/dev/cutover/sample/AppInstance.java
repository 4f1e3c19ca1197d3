package dev.cutover.sample;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.common.Threads;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import javax.sql.DataSource;

/**
 * One simulated deployment of the booking service: its own HikariCP pool, hence its own Cutover
 * driver router and switch (its URL names the instance), and its own worker threads.
 */
final class AppInstance implements AutoCloseable {
  private static final Duration JOIN = Duration.ofSeconds(30);

  private final String id;
  private final HikariDataSource pool;
  private final BookingService service;
  private final List<LoadWorker> workers = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();

  /**
   * Opens the pool, which connects to the serving database. The pool gets the Cutover data source
   * itself, not its URL and credentials, so secrets stay out of the pool's configuration (and its log).
   */
  AppInstance(String id, DataSource dataSource, int poolSize) {
    this.id = id;
    HikariConfig config = new HikariConfig();
    config.setPoolName(id);
    config.setDataSource(dataSource);
    config.setMaximumPoolSize(poolSize);
    config.setMinimumIdle(poolSize);
    // As docs/driver.md advises: HikariCP's one-time isolation detection must not meet a reset link.
    config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
    this.pool = new HikariDataSource(config);
    this.service = new BookingService(pool);
  }

  String id() {
    return id;
  }

  /** Starts {@code workerCount} workers sharing {@code transactionsPerSecond}. */
  void start(int workerCount, double transactionsPerSecond, SeedData.Catalog catalog, HotSlots hotSlots, Ledger ledger,
      Timeline timeline, long seed) {
    ThreadFactory factory = Threads.daemon(id + "-worker");
    for (int w = 0; w < workerCount; w++) {
      LoadWorker worker = new LoadWorker(id, service, catalog, hotSlots, ledger, timeline,
          transactionsPerSecond / workerCount, seed * 31 + w);
      workers.add(worker);
      threads.add(factory.newThread(worker));
    }
    threads.forEach(Thread::start);
  }

  /** Asks every worker to stop after its current transaction, without waiting. */
  void stop() {
    workers.forEach(LoadWorker::stop);
  }

  /** Stops the workers, waits for them, then closes the pool. */
  @Override
  public void close() {
    stop();
    Threads.joinAll(threads, JOIN);
    pool.close();
  }
}
