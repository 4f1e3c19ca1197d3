package dev.cutover.flags;

import dev.cutover.common.Threads;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routing decision as a local text file holds it ({@code cutover.flag.provider=file}, {@code
 * cutover.flag.file=/path}), for rehearsals: write {@code new} into the file and every driver
 * watching it switches.
 *
 * <p>The file holds one word: {@code old} or {@code new} (or {@code false} / {@code true}), any
 * case, surrounding white space ignored. Anything else keeps the current target and is logged once
 * and counted in {@link #rejectedValues()}. An empty file is taken as a write in progress and
 * ignored. The file must exist when the flag opens; if it disappears later (an editor replacing it)
 * the last value stands and {@link #health()} is {@link FlagHealth#INTERRUPTED} until it is back.
 *
 * <p>Changes are seen through a {@link WatchService} on the file's directory, and, because watch
 * services are slow or absent on some file systems (network mounts, macOS polling), by re-reading
 * the file every {@value #FALLBACK_POLL_MS} ms as well; either way a change is seen well within a
 * second. One daemon thread owned by this flag watches, reads and calls the listeners.
 */
public final class FileFlag extends DecidingFlag {
  private static final Logger LOG = LoggerFactory.getLogger(FileFlag.class);

  static final long FALLBACK_POLL_MS = 250;

  private static final int MAX_BYTES = 4096;

  private final Path file;
  private final WatchService watcher; // null when the file system offers none
  private final Thread thread;

  private String lastContent; // watcher thread only, after the first read in open()
  private volatile FlagHealth health = FlagHealth.VALID;
  private volatile boolean closed;

  private FileFlag(Path file, Target defaultTarget) {
    super(new Decision("flag file " + file, defaultTarget));
    this.file = file;
    this.watcher = watch(file.getParent());
    this.thread = Threads.daemon("cutover-flag-file-" + file.getFileName()).newThread(this::run);
  }

  /**
   * Reads the file and starts watching it.
   *
   * @param defaultTarget the target while the file's content is not a routing target
   * @throws IllegalArgumentException naming {@code cutover.flag.file} and the path when the file
   *     does not exist or cannot be read
   */
  public static FileFlag open(Path file, Target defaultTarget) {
    Path absolute = file.toAbsolutePath().normalize();
    if (!Files.isRegularFile(absolute)) {
      throw new IllegalArgumentException(
          RoutingFlags.FILE + "=" + file + ": no such file; create it with the word old or new");
    }
    FileFlag flag = new FileFlag(absolute, defaultTarget);
    try {
      flag.read();
    } catch (IOException e) {
      flag.close();
      throw new IllegalArgumentException(
          RoutingFlags.FILE + "=" + file + " cannot be read: " + e.getMessage(), e);
    }
    // Starting the thread publishes the first read to it.
    flag.thread.start();
    LOG.info("{} opened: target {}", flag, flag.target().value());
    return flag;
  }

  private static WatchService watch(Path directory) {
    try {
      WatchService service = directory.getFileSystem().newWatchService();
      directory.register(
          service,
          StandardWatchEventKinds.ENTRY_CREATE,
          StandardWatchEventKinds.ENTRY_MODIFY,
          StandardWatchEventKinds.ENTRY_DELETE);
      return service;
    } catch (IOException | UnsupportedOperationException e) {
      LOG.info("no watch service for {} ({}); polling every {} ms", directory, e, FALLBACK_POLL_MS);
      return null;
    }
  }

  private void run() {
    while (!closed) {
      try {
        waitForChange();
        refresh();
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return; // closing
      } catch (RuntimeException e) {
        LOG.error("watching flag file {} failed; retrying", file, e);
      }
    }
  }

  /** Returns on a change in the directory or after the fallback poll interval, whichever is first. */
  private void waitForChange() throws InterruptedException {
    if (watcher == null) {
      Thread.sleep(FALLBACK_POLL_MS); // fallback polling cadence, not synchronization
      return;
    }
    WatchKey key = watcher.poll(FALLBACK_POLL_MS, TimeUnit.MILLISECONDS);
    if (key != null) {
      key.pollEvents(); // any event in the directory leads to a read; the read is cheap
      key.reset();
    }
  }

  private void refresh() {
    try {
      read();
      if (health != FlagHealth.VALID) {
        health = FlagHealth.VALID;
        LOG.info("flag file {} is readable again", file);
      }
    } catch (NoSuchFileException e) {
      unreadable("it is missing");
    } catch (IOException e) {
      unreadable(e.toString());
    }
  }

  private void unreadable(String why) {
    if (health == FlagHealth.VALID) {
      health = FlagHealth.INTERRUPTED;
      LOG.warn("flag file {} cannot be read ({}); keeping target {}", file, why, target().value());
    }
  }

  /** Reads the file and acts on its content when that changed since the last read. */
  private void read() throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    String content =
        new String(bytes, 0, Math.min(bytes.length, MAX_BYTES), StandardCharsets.UTF_8).trim();
    if (content.equals(lastContent)) {
      return;
    }
    lastContent = content;
    if (content.isEmpty()) {
      return; // a write in progress: the next read sees the word
    }
    Target next;
    try {
      next = Target.parse(content);
    } catch (IllegalArgumentException e) {
      decision.reject("'" + content + "'", "write old or new, or false / true");
      return;
    }
    decision.adopt(next);
  }

  /** The file being watched, absolute. */
  public Path file() {
    return file;
  }

  /** VALID while the file can be read, INTERRUPTED while it cannot, OFF once closed. */
  @Override
  public FlagHealth health() {
    return closed ? FlagHealth.OFF : health;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (watcher != null) {
      try {
        watcher.close();
      } catch (IOException e) {
        LOG.debug("closing the watch service for {} failed", file, e);
      }
    }
    if (watcher == null) {
      thread.interrupt(); // wakes the fallback poll; with a watcher, closing it wakes the thread
    }
    if (thread.isAlive() && thread != Thread.currentThread()) {
      try {
        thread.join(Duration.ofSeconds(2).toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public String toString() {
    return "FileFlag[" + file + "=" + decision.target().value() + ", " + health() + "]";
  }
}
