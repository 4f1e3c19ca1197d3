package dev.cutover.driver;

import dev.cutover.driver.internal.config.CutoverSettings;
import dev.cutover.driver.internal.config.PgJdbcPresence;
import dev.cutover.driver.internal.config.SettingSources;
import dev.cutover.driver.internal.jdbc.Connections;
import dev.cutover.driver.internal.switching.Router;
import dev.cutover.driver.internal.switching.Routers;
import dev.cutover.driver.internal.switching.SwitchListeners;
import dev.cutover.flags.CutoverVersion;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.List;
import java.util.Properties;
import java.util.logging.Logger;

/**
 * The JDBC driver for {@code jdbc:cutover:postgresql:} URLs. Each distinct set of settings gets
 * one router, shared by every connection opened with those settings; the router follows the
 * routing flag and switches all of them together.
 *
 * <p>Lifetime: a router starts with the first connection of its settings and closes when its last
 * connection has been closed for {@code cutover.router.linger} (30 s): a pool that closes leaves no
 * thread, connection or flag client behind. In an application server, call {@link #shutdown()}
 * when the application stops (a {@code ServletContextListener}'s {@code contextDestroyed}), so that
 * nothing of it outlives an undeploy, and deregister the driver there if the server does not.
 */
public final class CutoverDriver implements Driver {
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
    return open(settings(url, info));
  }

  /** The settings of a connection, resolved from every source, or the error a connection attempt gets. */
  static CutoverSettings settings(String url, Properties info) throws SQLException {
    PgJdbcPresence.require();
    try {
      return CutoverSettings.resolve(url, info, SettingSources.system());
    } catch (IllegalArgumentException e) {
      throw new SQLException("cutover: " + e.getMessage(), "22023", e);
    }
  }

  /** A logical connection on the router of {@code settings}, which starts now if none runs. */
  static Connection open(CutoverSettings settings) throws SQLException {
    Router router = Routers.acquire(settings);
    try {
      return Connections.open(router);
    } finally {
      Routers.release(router);
    }
  }

  /** The routers of this JVM now: one per distinct setting set in use (each pool has one). */
  public static List<RouterMXBean> routers() {
    return Routers.routers();
  }

  /**
   * Tells {@code listener} about every router that starts or stops from now on, and at once about
   * those already running, so that it misses none (metrics register per-router gauges this way).
   */
  public static void addRouterListener(RouterListener listener) {
    Routers.addListener(listener);
  }

  public static void removeRouterListener(RouterListener listener) {
    Routers.removeListener(listener);
  }

  /** Registers a listener told about every switch in this JVM, completed or aborted. */
  public static void addSwitchListener(SwitchListener listener) {
    SwitchListeners.add(listener);
  }

  public static void removeSwitchListener(SwitchListener listener) {
    SwitchListeners.remove(listener);
  }

  /**
   * Closes now, rather than after {@code cutover.router.linger}, the router that connections to
   * {@code url} with {@code info} use, if none of them is open: for a pool configured by URL (such
   * as HikariCP's {@code jdbcUrl}) that has closed, as {@link CutoverDataSource#close} does for its
   * own. A router still in use closes after its last connection as usual.
   *
   * @throws SQLException (22023) when {@code url} and {@code info} are not valid settings
   */
  public static void closeIfUnused(String url, Properties info) throws SQLException {
    Routers.closeIfUnused(settings(url, info));
  }

  /**
   * Closes every router now, whatever still uses it, and ends the threads the driver shares: for an
   * application that stops (an application server's undeploy, a test run's end). Routers stop
   * following their flags (a LaunchDarkly client is closed), leave the control schema and close the
   * connections they hold. Connections already open keep working on the side they use; a new one
   * starts a fresh router.
   */
  public static void shutdown() {
    Routers.shutdownAll();
  }

  /**
   * Closes the routers of one service now, as {@link #shutdown()} does for all: they stop following
   * their flag. Open connections keep working; new ones start a fresh router.
   */
  public static void shutdown(String service) {
    Routers.shutdown(router -> router.service().equals(service));
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
