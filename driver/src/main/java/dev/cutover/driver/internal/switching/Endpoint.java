package dev.cutover.driver.internal.switching;

import dev.cutover.common.LoginRefusal;
import dev.cutover.common.Secrets;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.postgresql.PGConnection;

/**
 * How to open a physical connection to one side. Secrets stay inside: messages are masked, and so
 * is the cause chain, since PgJDBC's own exceptions may quote a URL's user info.
 */
public final class Endpoint {
  private static final org.postgresql.Driver PG = new org.postgresql.Driver();

  /**
   * Run first in each session of the switch, whose role is the application's and whose defaults
   * (the server's, the database's, the role's) the switch must not inherit:
   *
   * <ul>
   *   <li>{@code search_path = pg_catalog, pg_temp}: the application's path names schemas where
   *       other roles may create objects ({@code public} before PostgreSQL 15, and in databases
   *       upgraded from one), and a function there whose argument types match exactly where the
   *       built-in needs a cast ({@code public.pg_sequence_last_value(oid)}, CVE-2018-1058) ran as
   *       the application's role at every switch attempt and fed the sequence move a forged
   *       value. Everything else the switch calls is in {@code cutover}, named with its schema.
   *   <li>READ COMMITTED: the control schema's functions are written for it; with {@code
   *       default_transaction_isolation = serializable}, instances probing at once failed each
   *       other's transactions and their switch aborted.
   *   <li>no {@code statement_timeout}, {@code lock_timeout}, {@code
   *       idle_in_transaction_session_timeout}, {@code idle_session_timeout} (14+) nor {@code
   *       transaction_timeout} (17+), those the server has: an OLTP role's cap of a second or two
   *       cancelled the fence's wait for a holder, and the switch aborted naming neither the holder
   *       nor the setting. The switch's waits are bounded by its own settings (the fence's lock
   *       timeout, the watchdog, the socket timeout).
   * </ul>
   *
   * <p>Only in a session of the server's own: the backend that runs the statement is the one
   * PgJDBC was told of at login ({@code %d}, see {@code SessionIdentity}). Behind a pooler (no
   * direct URL) the settings would stay on a server connection that the pooler hands to an
   * application client next, whose queries would then find none of its tables; the switch refuses
   * a pooler anyway, and its heartbeats call only {@code cutover}'s functions, which set their own.
   */
  private static final String SWITCH_SESSION = "SELECT pg_catalog.set_config(v.name, v.value, false) FROM (VALUES"
      + " ('search_path', 'pg_catalog, pg_temp'), ('default_transaction_isolation', 'read committed'),"
      + " ('statement_timeout', '0'), ('lock_timeout', '0'), ('idle_in_transaction_session_timeout', '0'),"
      + " ('idle_session_timeout', '0'), ('transaction_timeout', '0')) v(name, value)"
      + " JOIN pg_catalog.pg_settings s ON s.name OPERATOR(pg_catalog.=) v.name"
      + " WHERE pg_catalog.pg_backend_pid() OPERATOR(pg_catalog.=) %d";

  /** Where and as whom: replaced whole when the application hands over rotated credentials. */
  private record Login(String url, Properties properties) {
    @Override
    public String toString() {
      return Secrets.maskUrl(url);
    }
  }

  private final Target side;
  /** The setting that gives {@link #login}'s URL, for the remedy of a refused login. */
  private final String setting;
  /** Shared with the endpoints made from this one ({@link #forSwitch}, {@link #forCheck}): one rotation reaches all. */
  private final AtomicReference<Login> login;
  /** PgJDBC's connect and login timeout for the switch's own connections; null for the application's settings. */
  private final Duration connect;
  private final Duration socket;
  /**
   * Run once in each new session, given the backend process id reported at login: the switch's
   * own settings ({@link #SWITCH_SESSION}); null for application connections.
   */
  private final String session;

  /** The application's URL of {@code side}: the {@code jdbc:cutover:} URL for old, {@code cutover.new.url} for new. */
  public Endpoint(Target side, String url, Properties properties) {
    this(side, applicationUrl(side), url, properties);
  }

  private static String applicationUrl(Target side) {
    return side == Target.OLD ? "the jdbc:cutover: URL" : "cutover.new.url";
  }

  /** {@code side}'s URL as {@code setting} gives it ({@code cutover.old.direct-url}, say). */
  public Endpoint(Target side, String setting, String url, Properties properties) {
    this(side, setting, new AtomicReference<>(new Login(url, properties)), null, null, null);
  }

  private Endpoint(Target side, String setting, AtomicReference<Login> login, Duration connect, Duration socket, String session) {
    this.side = side;
    this.setting = setting;
    this.login = login;
    this.connect = connect;
    this.socket = socket;
    this.session = session;
  }

  /**
   * From now on, connections (this endpoint's and those of the endpoints made from it) open with
   * {@code url} and {@code properties}: the latest credentials the application handed the router.
   * Connections open already keep theirs (PostgreSQL checks a password at login only).
   */
  void login(String url, Properties properties) {
    login.set(new Login(url, properties));
  }

  /**
   * The same side for a switch's own connections (control schema, heartbeats): PgJDBC's connect,
   * login and socket timeouts set to the given bounds (whole seconds, rounded up), whatever the
   * application set, so that no call of a switch can wait on a silent network for ever.
   * Its sessions start with the switch's own settings ({@link #SWITCH_SESSION}); application
   * connections keep the application's.
   */
  public Endpoint forSwitch(Duration connect, Duration socket) {
    return new Endpoint(side, setting, login, connect, socket, SWITCH_SESSION);
  }

  /**
   * The same side with the application's settings, for a switch's checks of the application's own
   * path (a pooler in it): bounded like {@link #forSwitch}, since behind a pooler whose every
   * server connection the application holds, a login waits in its queue; but no session setting,
   * which a pooler would hand on to the application's next client.
   */
  public Endpoint forCheck(Duration connect, Duration socket) {
    return new Endpoint(side, setting, login, connect, socket, null);
  }

  /** {@code url} with PgJDBC's connect, login and socket timeouts appended: parameters in the URL win, the last of a repeated one. */
  private static String bounded(String url, Duration connect, Duration socket) {
    return url + (url.indexOf('?') < 0 ? "?" : "&") + "connectTimeout=" + seconds(connect) + "&loginTimeout=" + seconds(connect)
        + "&socketTimeout=" + seconds(socket);
  }

  private static long seconds(Duration d) {
    return Math.max(1, (d.toMillis() + 999) / 1000);
  }

  /** Opens a physical connection; failures name the side and the masked URL, cause chained. */
  public Connection open() throws SQLException {
    Login now = login.get();
    String url = now.url();
    Properties properties = now.properties();
    try {
      Connection c = PG.connect(connect == null ? url : bounded(url, connect, socket), properties);
      if (c == null) {
        throw new SQLException("cutover: PgJDBC did not accept " + this, "08001");
      }
      if (session != null) {
        try (Statement s = c.createStatement()) {
          s.execute(session.formatted(c.unwrap(PGConnection.class).getBackendPID()));
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
          + " (" + setting + "): " + Secrets.mask(e.getMessage(), secrets) + loginRemedy(state, e.getMessage(), url, properties),
          state, Secrets.scrub(e, secrets));
    }
  }

  /**
   * What to do where the server refused the login ("" for other failures), by its cause ({@link
   * LoginRefusal}): a client its pg_hba.conf admits by no line needs a line there, not another
   * password; a role the server will not let in (NOLOGIN, missing, at its CONNECTION LIMIT, or the
   * server at max_connections) the statement to run there; a wrong or expired password where the
   * credentials come from; PgJDBC's 08004, where none was given, where to give one. Never the
   * password itself.
   */
  private String loginRemedy(String state, String message, String url, Properties properties) {
    String database = "the " + side.value() + " database";
    String own = side == Target.OLD ? "the connection's user and password properties"
        : "cutover.new.user and cutover.new.password (unset: the old side's)";
    String credentials = setting.equals(applicationUrl(side)) ? own : "those in " + applicationUrl(side) + ", else " + own;
    Properties merged = org.postgresql.Driver.parseURL(url, properties);
    String password = merged == null ? null : merged.getProperty("password");
    LoginRefusal cause = LoginRefusal.of(state, message, password != null && !password.isEmpty());
    String server = cause.serverRemedy(merged == null ? null : merged.getProperty("user"));
    return switch (cause) {
      case NOT_ADMITTED -> "; " + database + "'s server does not admit this host, user and database: add a line for them to its"
          + " pg_hba.conf and run SELECT pg_reload_conf() there, or connect from an address it admits (on a managed service: its"
          + " network or security-group settings)";
      case CREDENTIALS_REFUSED -> "; check the user and password for " + database + ": those in " + setting + ", else " + credentials
          + "; " + server;
      case NO_SUCH_ROLE -> "; " + database + "'s server: " + server + ", or fix the user in " + setting + ", else " + credentials;
      case LOGIN_NOT_PERMITTED, ROLE_CONNECTION_LIMIT, SERVER_CONNECTION_LIMIT -> "; " + database + "'s server: " + server;
      case NO_PASSWORD_GIVEN -> "; " + database + "'s server asks for a password and none was given: give it in " + setting + " or "
          + (side == Target.OLD ? "the connection's password property" : "cutover.new.password");
      case OTHER -> "";
    };
  }

  @Override
  public String toString() {
    return side.value() + " database " + login.get();
  }
}
