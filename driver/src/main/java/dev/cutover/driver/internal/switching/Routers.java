package dev.cutover.driver.internal.switching;

import dev.cutover.driver.RouterListener;
import dev.cutover.driver.RouterMXBean;
import dev.cutover.driver.internal.config.CutoverSettings;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This JVM's routers: one per distinct setting set ({@link CutoverSettings#routerKey}: settings
 * that differ only in a password are one, which takes the latest; see {@link Router#credentials}),
 * started by the first connection that needs it and closed when nothing uses it any more.
 *
 * <p>Lifetime. A router is used by its open logical connections (and, for a moment, by a
 * connection being opened: each {@link #acquire} or {@link #retain} is matched by one {@link
 * #release}). When the last use ends, the router lingers for {@code cutover.router.linger}, so that a
 * program opening one connection at a time keeps one router, then closes: it stops following its
 * flag (a LaunchDarkly client it was the last to use stops), leaves the control schema and closes
 * its connections. A pool that closes (its connections with it) therefore leaves nothing running.
 * A data source that closes ({@link dev.cutover.driver.CutoverDataSource#close}) closes its unused
 * routers at once ({@link #closeIfUnused}); {@link #shutdown} closes routers whoever uses them, for an
 * application server's undeploy.
 *
 * <p>Concurrency: no JVM-wide lock is held while a router starts or closes (both talk to the
 * databases and the flag source). Starting holds only that setting set's entry, so only the
 * connections that need that very router wait for it. Listeners are told under a short lock that
 * covers no I/O, so that a listener added meanwhile misses no router and hears none twice.
 */
public final class Routers {
  private static final Logger LOG = LoggerFactory.getLogger(Routers.class);
  private static final Map<CutoverSettings.RouterKey, Entry> ENTRIES = new ConcurrentHashMap<>();
  /** Guards {@link #LISTENERS} and which routers they were told of; held for in-memory work only. */
  private static final Object TOLD = new Object();
  private static final List<RouterListener> LISTENERS = new ArrayList<>();
  private static final List<Router> LIVE = new ArrayList<>();

  private Routers() {}

  /** One setting set's router and how many use it; its monitor guards its fields. */
  private static final class Entry {
    private final CutoverSettings.RouterKey key;
    private Router router;
    private int uses;
    private boolean closed;
    private ScheduledFuture<?> linger;

    Entry(CutoverSettings.RouterKey key) {
      this.key = key;
    }
  }

  /**
   * The router of {@code settings}, started now if none runs, with one more use that the caller
   * ends with {@link #release}.
   *
   * @throws SQLException when the router cannot start (see {@link Router#start})
   */
  public static Router acquire(CutoverSettings settings) throws SQLException {
    while (true) {
      Entry e = ENTRIES.computeIfAbsent(settings.routerKey(), Entry::new);
      synchronized (e) {
        if (e.closed) {
          continue; // closed between the lookup and the lock: the next lookup makes a new entry
        }
        if (e.router == null) {
          try {
            e.router = Router.start(settings);
          } catch (SQLException | RuntimeException failed) {
            e.closed = true;
            ENTRIES.remove(e.key, e);
            throw failed;
          }
          told(e.router, true);
        } else {
          e.router.credentials(settings);
        }
        e.uses++;
        if (e.linger != null) {
          e.linger.cancel(false);
          e.linger = null;
        }
        return e.router;
      }
    }
  }

  /** One more use of {@code router}, which runs already; none if it was closed meanwhile (shut down). */
  public static void retain(Router router) {
    Entry e = ENTRIES.get(router.settings().routerKey());
    if (e == null) {
      return;
    }
    synchronized (e) {
      if (e.router == router && !e.closed) {
        e.uses++;
        if (e.linger != null) {
          e.linger.cancel(false);
          e.linger = null;
        }
      }
    }
  }

  /** Ends one use of {@code router}; the last one closes it after its linger. */
  public static void release(Router router) {
    Entry e = ENTRIES.get(router.settings().routerKey());
    if (e == null) {
      return; // shut down already
    }
    synchronized (e) {
      if (e.router != router || e.closed || --e.uses > 0) {
        return;
      }
      router.idle();
      long linger = router.settings().routerLinger().toNanos();
      try {
        e.linger = DriverThreads.timer().schedule(() -> closeIfUnused(e), linger, TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException shutDown) {
        LOG.debug("cutover {}: timer shut down; router closes now", router.service());
        DriverThreads.blocking().execute(() -> closeIfUnused(e));
      }
    }
  }

  /** Closes {@code settings}' router now if nothing uses it, rather than after its linger. */
  public static void closeIfUnused(CutoverSettings settings) {
    Entry e = ENTRIES.get(settings.routerKey());
    if (e != null) {
      closeIfUnused(e);
    }
  }

  /** Closes the entry's router if nothing uses it (the close itself runs elsewhere: it does I/O). */
  private static void closeIfUnused(Entry e) {
    synchronized (e) {
      if (e.closed || e.uses > 0 || e.router == null) {
        return;
      }
      e.closed = true;
      ENTRIES.remove(e.key, e);
      if (e.linger != null) {
        e.linger.cancel(false);
      }
    }
    try {
      DriverThreads.blocking().execute(() -> close(e.router));
    } catch (RejectedExecutionException shutDown) {
      close(e.router);
    }
  }

  private static void close(Router router) {
    LOG.info("cutover {}: router of instance {} closes: no connection or data source uses it", router.service(),
        router.instance());
    router.close();
    told(router, false);
  }

  /** Tells the listeners that {@code router} started or stopped, once each. */
  private static void told(Router router, boolean started) {
    synchronized (TOLD) {
      if (started ? LIVE.add(router) : LIVE.remove(router)) {
        LISTENERS.forEach(l -> {
          if (started) {
            l.started(router.bean());
          } else {
            l.stopped(router.bean());
          }
        });
      }
    }
  }

  /** The routers running now. */
  public static List<RouterMXBean> routers() {
    synchronized (TOLD) {
      List<RouterMXBean> beans = new ArrayList<>(LIVE.size());
      LIVE.forEach(r -> beans.add(r.bean()));
      return beans;
    }
  }

  /** Tells {@code listener} of every router that starts or stops from now on, and at once of those running. */
  public static void addListener(RouterListener listener) {
    synchronized (TOLD) {
      LISTENERS.add(listener);
      LIVE.forEach(r -> listener.started(r.bean()));
    }
  }

  public static void removeListener(RouterListener listener) {
    synchronized (TOLD) {
      LISTENERS.remove(listener);
    }
  }

  /**
   * Closes, now, the routers {@code which} selects, whoever uses them: they stop following their flag.
   * Open connections keep working on the side they use; new ones start a fresh router.
   */
  public static void shutdown(Predicate<Router> which) {
    List<Router> closing = new ArrayList<>();
    for (Entry e : ENTRIES.values()) {
      synchronized (e) {
        if (!e.closed && e.router != null && which.test(e.router)) {
          e.closed = true;
          ENTRIES.remove(e.key, e);
          if (e.linger != null) {
            e.linger.cancel(false);
          }
          closing.add(e.router);
        }
      }
    }
    for (Router r : closing) {
      r.close();
      told(r, false);
    }
  }

  /** Closes every router and ends the threads they share: for an application server's undeploy. */
  public static void shutdownAll() {
    shutdown(r -> true);
    DriverThreads.shutdown();
  }
}
