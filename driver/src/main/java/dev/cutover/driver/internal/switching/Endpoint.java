package dev.cutover.driver.internal.switching;

import dev.cutover.common.Secrets;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.Set;

/**
 * How to open a physical connection to one side. Secrets stay inside: messages are masked, and so
 * is the cause chain, since PgJDBC's own exceptions may quote a URL's user info.
 */
public final class Endpoint {
  private static final org.postgresql.Driver PG = new org.postgresql.Driver();

  private final Target side;
  private final String url;
  /** The URL PgJDBC gets: {@link #url} with the switch's own timeouts for control connections. */
  private final String connectUrl;
  private final Properties properties;
  /** Run once in each new session: the switch's own settings; null for application connections. */
  private final String session;

  public Endpoint(Target side, String url, Properties properties) {
    this(side, url, url, properties, null);
  }

  private Endpoint(Target side, String url, String connectUrl, Properties properties, String session) {
    this.side = side;
    this.url = url;
    this.connectUrl = connectUrl;
    this.properties = properties;
    this.session = session;
  }

  /**
   * The same side for a switch's own connections (control schema, heartbeats): PgJDBC's connect,
   * login and socket timeouts set to the given bounds (whole seconds, rounded up), whatever the
   * application set, so that no call of a switch can wait on a silent network for ever; and
   * transactions in READ COMMITTED whatever the database's or role's default, since the control
   * schema's functions are written for it: with {@code default_transaction_isolation =
   * serializable}, instances probing at once failed each other's transactions and their switch
   * aborted. Application connections keep the application's own settings.
   */
  public Endpoint forSwitch(Duration connect, Duration socket) {
    return new Endpoint(side, url, bounded(connect, socket), properties, "SET default_transaction_isolation = 'read committed'");
  }

  /**
   * The same side with the application's settings, for a switch's checks of the application's own
   * path (a pooler in it): bounded like {@link #forSwitch}, since behind a pooler whose every
   * server connection the application holds, a login waits in its queue; but no session setting,
   * which a pooler would hand on to the application's next client.
   */
  public Endpoint forCheck(Duration connect, Duration socket) {
    return new Endpoint(side, url, bounded(connect, socket), properties, null);
  }

  /** {@link #url} with PgJDBC's connect, login and socket timeouts appended: parameters in the URL win, the last of a repeated one. */
  private String bounded(Duration connect, Duration socket) {
    return url + (url.indexOf('?') < 0 ? "?" : "&") + "connectTimeout=" + seconds(connect) + "&loginTimeout=" + seconds(connect)
        + "&socketTimeout=" + seconds(socket);
  }

  private static long seconds(Duration d) {
    return Math.max(1, (d.toMillis() + 999) / 1000);
  }

  /** Opens a physical connection; failures name the side and the masked URL, cause chained. */
  public Connection open() throws SQLException {
    try {
      Connection c = PG.connect(connectUrl, properties);
      if (c == null) {
        throw new SQLException("cutover: PgJDBC did not accept " + this, "08001");
      }
      if (session != null) {
        try (Statement s = c.createStatement()) {
          s.execute(session);
        } catch (SQLException e) {
          c.close();
          throw e;
        }
      }
      return c;
    } catch (SQLException e) {
      if (e.getMessage() != null && e.getMessage().startsWith("cutover:")) {
        throw e;
      }
      String state = e.getSQLState() != null ? e.getSQLState() : "08001";
      Set<String> secrets = Secrets.of(url, properties);
      throw new SQLException("cutover: cannot connect to the " + side.value() + " database " + Secrets.maskUrl(url)
          + ": " + Secrets.mask(e.getMessage(), secrets), state, Secrets.scrub(e, secrets));
    }
  }

  @Override
  public String toString() {
    return side.value() + " database " + Secrets.maskUrl(url);
  }
}
