package dev.cutover.flags;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current routing target of one flag source, its listeners and its record of rejected values:
 * the part every watching source shares ({@link DecidingFlag}).
 *
 * <p>Concurrency: {@link #target()} is a volatile read and may be called from any thread. {@link
 * #adopt} and {@link #reject} are called only from the source's single update thread, so listeners
 * hear changes in the order they happened and never concurrently with themselves.
 */
public final class Decision {
  private static final Logger LOG = LoggerFactory.getLogger(Decision.class);

  /** Distinct bad values remembered for log-once; past this every bad value is still counted. */
  private static final int MAX_REMEMBERED = 100;

  private static final int MAX_LOGGED_CHARS = 200;

  private final String source;
  private final Listeners listeners = new Listeners();
  private final Set<String> reported = ConcurrentHashMap.newKeySet();
  private final AtomicLong rejected = new AtomicLong();
  private volatile Target target;
  private volatile boolean delivered;

  /**
   * @param source names the source in log lines (never a secret)
   * @param initial the target until the source delivers one
   */
  public Decision(String source, Target initial) {
    this.source = source;
    this.target = initial;
  }

  public Target target() {
    return target;
  }

  /** Whether a value has been adopted, even one equal to the initial target. */
  public boolean delivered() {
    return delivered;
  }

  public long rejected() {
    return rejected.get();
  }

  public void addListener(FlagListener listener) {
    listeners.add(listener);
  }

  public void removeListener(FlagListener listener) {
    listeners.remove(listener);
  }

  /** Makes {@code next} the target and tells the listeners, when it differs from the current one. */
  public void adopt(Target next) {
    delivered = true;
    Target previous = target;
    if (previous == next) {
      return;
    }
    target = next;
    LOG.info("{} moved the routing target from {} to {}", source, previous.value(), next.value());
    listeners.fire(next);
  }

  /**
   * Counts a value that is not a routing target and keeps the current one. Each distinct value is
   * logged once, so a flag stuck on a bad value does not flood the log.
   */
  public void reject(String value, String why) {
    rejected.incrementAndGet();
    if (warnOnce("value:" + value)) {
      LOG.error(
          "{} delivered {}, which is not a routing target ({}); keeping {}",
          source,
          shorten(value),
          why,
          target.value());
    }
  }

  /**
   * True the first time {@code what} is seen, for problems that should be logged once. Callers
   * prefix {@code what} with the kind of problem so that kinds do not collide.
   */
  public boolean warnOnce(String what) {
    return reported.size() < MAX_REMEMBERED && reported.add(what);
  }

  private static String shorten(String value) {
    return value.length() <= MAX_LOGGED_CHARS ? value : value.substring(0, MAX_LOGGED_CHARS) + "…";
  }

  @Override
  public String toString() {
    return source + "=" + target.value();
  }
}
