package dev.cutover.driver;

import dev.cutover.common.Secrets;
import dev.cutover.driver.internal.config.CutoverSettings;
import dev.cutover.driver.internal.switching.Routers;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * A DataSource for pools configured by class name (HikariCP's {@code dataSourceClassName}): bean
 * setters for the URL, credentials and the common Cutover settings; any other setting goes in
 * the URL or {@link #setCutoverProperties}. Values are checked when the first connection is
 * opened, with the same messages as the driver's.
 *
 * <p>Closing it ({@link #close}: Spring calls it on a data source bean) closes at once the routers
 * its connections used once none of them is open, rather than after {@code cutover.router.linger}.
 */
public class CutoverDataSource implements DataSource, AutoCloseable {
  private final Properties properties = new Properties();
  /** The setting sets its connections were opened with, whose routers {@link #close} ends. */
  private final Set<CutoverSettings> used = ConcurrentHashMap.newKeySet();
  private String url;
  private int loginTimeout;

  public void setUrl(String url) {
    this.url = url;
  }

  /** The URL with its secrets masked (user-info and parameter passwords), as it may be shown or logged. */
  public String getUrl() {
    return Secrets.maskUrl(url);
  }

  public void setUser(String user) {
    properties.setProperty("user", user);
  }

  public void setPassword(String password) {
    properties.setProperty("password", password);
  }

  public void setNewUrl(String newUrl) {
    properties.setProperty("cutover.new.url", newUrl);
  }

  public void setNewUser(String user) {
    properties.setProperty("cutover.new.user", user);
  }

  public void setNewPassword(String password) {
    properties.setProperty("cutover.new.password", password);
  }

  public void setService(String service) {
    properties.setProperty("cutover.service", service);
  }

  public void setFlagProvider(String provider) {
    properties.setProperty("cutover.flag.provider", provider);
  }

  public void setFlagKey(String key) {
    properties.setProperty("cutover.flag.key", key);
  }

  public void setFlagValue(String value) {
    properties.setProperty("cutover.flag.value", value);
  }

  /** {@code cutover.flag.file}: the file the {@code file} provider watches. */
  public void setFlagFile(String path) {
    properties.setProperty("cutover.flag.file", path);
  }

  /** {@code cutover.flag.default}: the target until the flag source delivers its first value. */
  public void setFlagDefault(String target) {
    properties.setProperty("cutover.flag.default", target);
  }

  /** {@code cutover.instance}: this instance's id among the service's instances. */
  public void setInstance(String instance) {
    properties.setProperty("cutover.instance", instance);
  }

  /** {@code cutover.drain.timeout}, as the driver writes durations: {@code 5s}, {@code 250ms}, {@code 5000}. */
  public void setDrainTimeout(String duration) {
    properties.setProperty("cutover.drain.timeout", duration);
  }

  /** {@code cutover.barrier.timeout}, for example {@code 10s}. */
  public void setBarrierTimeout(String duration) {
    properties.setProperty("cutover.barrier.timeout", duration);
  }

  /** {@code cutover.gate.max-pause}, for example {@code 20s}. */
  public void setGateMaxPause(String duration) {
    properties.setProperty("cutover.gate.max-pause", duration);
  }

  /** Any further settings, Cutover's or PgJDBC's, as JDBC properties. */
  public void setCutoverProperties(Properties more) {
    properties.putAll(more);
  }

  @Override
  public Connection getConnection() throws SQLException {
    return connect(new Properties());
  }

  /** A connection as {@code user}; a null user or password leaves the configured one in place. */
  @Override
  public Connection getConnection(String user, String password) throws SQLException {
    Properties credentials = new Properties();
    if (user != null) {
      credentials.setProperty("user", user);
    }
    if (password != null) {
      credentials.setProperty("password", password);
    }
    return connect(credentials);
  }

  private Connection connect(Properties overrides) throws SQLException {
    if (url == null || !CutoverSettings.accepts(url)) {
      throw new SQLException("cutover: CutoverDataSource needs a url starting with jdbc:cutover:postgresql:// (setUrl),"
          + " not " + (url == null ? "none" : "'" + Secrets.maskUrl(url) + "'"), "22023");
    }
    Properties p = new Properties();
    p.putAll(properties);
    p.putAll(overrides);
    CutoverSettings settings = CutoverDriver.settings(url, p);
    used.add(settings);
    return CutoverDriver.open(settings);
  }

  /**
   * Closes the routers this data source's connections used, now, once none of their connections
   * is open; one still in use closes after its last connection as usual. Connections stay usable.
   */
  @Override
  public void close() {
    for (CutoverSettings settings : used) {
      Routers.closeIfUnused(settings);
    }
    used.clear();
  }

  @Override
  public PrintWriter getLogWriter() {
    return null;
  }

  @Override
  public void setLogWriter(PrintWriter out) {
    // logging goes through SLF4J
  }

  @Override
  public void setLoginTimeout(int seconds) {
    loginTimeout = seconds;
    properties.setProperty("loginTimeout", Integer.toString(seconds));
  }

  @Override
  public int getLoginTimeout() {
    return loginTimeout;
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    throw new SQLFeatureNotSupportedException("cutover logs through SLF4J");
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    if (iface.isInstance(this)) {
      return iface.cast(this);
    }
    throw new SQLException("cutover: CutoverDataSource does not wrap " + iface.getName(), "22023");
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) {
    return iface.isInstance(this);
  }

  @Override
  public String toString() {
    return "CutoverDataSource[" + Secrets.maskUrl(url) + "]";
  }
}
