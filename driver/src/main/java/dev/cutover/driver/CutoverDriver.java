package dev.cutover.driver;

import dev.cutover.driver.internal.config.CutoverSettings;
import dev.cutover.driver.internal.config.SettingSources;
import dev.cutover.driver.internal.jdbc.Connections;
import dev.cutover.driver.internal.switching.Router;
import dev.cutover.driver.RouterMXBean;
import dev.cutover.driver.SwitchListener;
import dev.cutover.flags.CutoverVersion;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Logger;

/**
 * The JDBC driver for {@code jdbc:cutover:postgresql:} URLs. Each distinct set of settings gets
 * one router, shared by every connection opened with those settings; the router follows the
 * routing flag and switches all of them together.
 */
public final class CutoverDriver implements Driver {
  private static final Map<CutoverSettings, Router> ROUTERS = new ConcurrentHashMap<>();
  private static final List<RouterListener> ROUTER_LISTENERS = new CopyOnWriteArrayList<>();

  static {
    try {
      DriverManager.registerDriver(new CutoverDriver());
    } catch (SQLException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  @Override
  public Connection connect(String url, Properties info) throws SQLException {
    if (!acceptsURL(url)) {
      return null;
    }
    CutoverSettings settings;
    try {
      settings = CutoverSettings.resolve(url, info, SettingSources.system());
    } catch (IllegalArgumentException e) {
      throw new SQLException("cutover: " + e.getMessage(), "22023", e);
    }
    return Connections.open(router(settings));
  }

  private static Router router(CutoverSettings settings) throws SQLException {
    Router router = ROUTERS.get(settings);
    if (router != null) {
      return router;
    }
    synchronized (ROUTERS) {
      router = ROUTERS.get(settings);
      if (router == null) {
        router = Router.start(settings);
        ROUTERS.put(settings, router);
        for (RouterListener listener : ROUTER_LISTENERS) {
          listener.started(router);
        }
      }
      return router;
    }
  }

  /** The routers of this JVM now: one per distinct setting set in use (each pool has one). */
  public static List<RouterMXBean> routers() {
    return List.copyOf(ROUTERS.values());
  }

  /**
   * Tells {@code listener} about every router that starts or stops from now on, and at once about
   * those already running, so that it misses none (metrics register per-router gauges this way).
   */
  public static void addRouterListener(RouterListener listener) {
    synchronized (ROUTERS) {
      ROUTER_LISTENERS.add(listener);
      ROUTERS.values().forEach(listener::started);
    }
  }

  public static void removeRouterListener(RouterListener listener) {
    ROUTER_LISTENERS.remove(listener);
  }

  /** Registers a listener told about every switch in this JVM, completed or aborted. */
  public static void addSwitchListener(SwitchListener listener) {
    Router.addListener(listener);
  }

  public static void removeSwitchListener(SwitchListener listener) {
    Router.removeListener(listener);
  }

  /**
   * Closes every router: they stop following their flags. Connections already open keep working
   * on the side they use; new ones start a fresh router.
   */
  public static void shutdown() {
    synchronized (ROUTERS) {
      ROUTERS.values().forEach(CutoverDriver::close);
      ROUTERS.clear();
    }
  }

  private static void close(Router router) {
    router.close();
    for (RouterListener listener : ROUTER_LISTENERS) {
      listener.stopped(router);
    }
  }

  /**
   * Closes the routers of one service: they stop following their flag (a LaunchDarkly client or
   * a file watcher is stopped). Open connections keep working; new ones start a fresh router.
   */
  public static void shutdown(String service) {
    synchronized (ROUTERS) {
      ROUTERS.values().removeIf(router -> {
        if (router.getService().equals(service)) {
          close(router);
          return true;
        }
        return false;
      });
    }
  }

  @Override
  public boolean acceptsURL(String url) {
    return CutoverSettings.accepts(url);
  }

  @Override
  public DriverPropertyInfo[] getPropertyInfo(String url, Properties info) {
    return new DriverPropertyInfo[0];
  }

  /** The major number of Cutover's version ({@link CutoverVersion}). */
  @Override
  public int getMajorVersion() {
    return CutoverVersion.major();
  }

  @Override
  public int getMinorVersion() {
    return CutoverVersion.minor();
  }

  /** Not compliant: PostgreSQL itself is not, and we add nothing to that. */
  @Override
  public boolean jdbcCompliant() {
    return false;
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    throw new SQLFeatureNotSupportedException("cutover logs through SLF4J");
  }
}
