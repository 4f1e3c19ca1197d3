package dev.cutover.replicator;

import dev.cutover.common.LoginRefusal;
import dev.cutover.common.Secrets;
import dev.cutover.driver.control.SessionIdentity;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * How to reach one of the two databases: a plain PgJDBC URL and credentials, and optionally the
 * libpq connection string by which the other server reaches this one (for subscriptions).
 *
 * <p>{@link #toString()} masks the password, whether it was given apart or inside the URL.
 */
public final class Endpoint {
  private static final org.postgresql.Driver PGJDBC = new org.postgresql.Driver();
  /** The URL of an endpoint whose text did not parse: PgJDBC accepts it, and it names no database. */
  private static final String UNPARSED = "jdbc:postgresql://unparsed.invalid/unparsed";
  /** The application name of the replicator's sessions, the relay's walsender among them. */
  public static final String APPLICATION_NAME = "cutover-replicator";
  /**
   * Set first in every session: the database's owner may set a default {@code search_path} for
   * everyone ({@code ALTER DATABASE … SET}) that puts a schema of its own before
   * {@code pg_catalog}, where a function or operator named like a built-in one the replicator calls
   * would run with the replicator's role, a superuser perhaps. So {@code pg_catalog} goes first.
   * That alone does not keep out an object whose argument types match exactly where the built-in
   * needs a cast ({@code =(varchar, varchar)} beside {@code texteq}, {@code =(name, varchar)} for
   * a catalog query whose parameter PgJDBC sends as varchar, as CVE-2018-1058 showed): so a schema
   * of the path where a role may create objects that is neither a superuser nor a member of the
   * replicator's role (PUBLIC may create in {@code public} before PostgreSQL 15) is left out too,
   * and named in {@value #LEFT_OUT} for {@code check}. The other schemas stay: application triggers
   * and constraint functions that fire in the apply or the copy, and the operators of extension
   * types, are found where they were. (An empty path, as pg_dump uses, would take those away; key
   * comparisons name their operators with their schema anyway, {@code TableInfo#keyOperator}.)
   * Written with every name and operator qualified: it runs under the path it replaces.
   */
  /** The setting where {@link #SAFE_PATH} names the schemas it left out of the path, for {@code check}. */
  public static final String LEFT_OUT = "cutover.search_path_left_out";
  static final String SAFE_PATH = "WITH p AS (SELECT s, o, NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE NOT r.rolsuper"
      + " AND r.rolname OPERATOR(pg_catalog.<>) 'pg_database_owner' AND pg_catalog.has_schema_privilege(r.oid, s, 'CREATE')"
      + " AND NOT pg_catalog.pg_has_role(r.oid, current_user, 'MEMBER')) AS safe"
      + " FROM pg_catalog.unnest(pg_catalog.current_schemas(false)) WITH ORDINALITY x(s, o) WHERE s OPERATOR(pg_catalog.<>) 'pg_catalog')"
      + " SELECT pg_catalog.set_config('" + LEFT_OUT + "', coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(s), ', '"
      + " ORDER BY o) FROM p WHERE NOT safe), ''), false), pg_catalog.set_config('search_path', pg_catalog.concat_ws(', ', 'pg_catalog',"
      + " (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(s), ', ' ORDER BY o) FROM p WHERE safe)), false)";
  /**
   * Set in every session the replicator opens, after PgJDBC connected, so that neither the server,
   * the database, the role nor {@code options} in the URL decide how values it moves as text (text
   * COPY, pgoutput, the change log's rows) print and read back: as PostgreSQL's own logical
   * replication and pg_dump set them. An interval prints with a sign per field ({@code
   * sql_standard} prints -1 day -2 hours as {@code -1 2:00:00}, which other sessions read as -1 day
   * +2 hours); a float before PostgreSQL 12 needs 3 extra digits to print exactly; xml is read as
   * content, which takes a fragment as well as a document (with {@code xmloption = document} a
   * fragment stops the copy or the apply, binary or not). Strings and arrays are read the standard
   * way: with {@code standard_conforming_strings = off} a backslash in the literals the apply and
   * the replicator's own statements carry would escape the next character ({@code \\n} in a JSON
   * row would become a newline), and with {@code array_nulls = off} an array's unquoted
   * {@code NULL} element, as text COPY and pgoutput print it, would be read as the text NULL.
   * (PgJDBC itself asks for DateStyle ISO when it connects, and refuses a session that changes it.)
   */
  static final String ROUND_TRIP = "SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET xmloption = content;"
      + " SET standard_conforming_strings = on; SET array_nulls = on";
  /**
   * Set in every session, as pg_dump does: where a table's row-level security applies to the
   * replicator's role, a query would see only the rows its policies show, and the copy, the apply
   * and verify alike would miss the others without a word; with it off such a query fails instead,
   * naming the table ({@code check} names them in advance).
   */
  static final String NO_ROW_FILTERS = "SET row_security = off";
  /**
   * Set in every session, as pg_dumpall does for each database it restores: an operator may make a
   * database read-only by default ({@code default_transaction_read_only = on}), new to keep the
   * application off it until the switch or old after it, and the copy, the control schema and the
   * apply must still write there, as PostgreSQL's own apply worker does regardless.
   */
  static final String WRITABLE = "SET default_transaction_read_only = off";
  /**
   * Set in every session: a database or role may run transactions SERIALIZABLE (or REPEATABLE READ)
   * by default, and the replicator's statements and the control schema's functions are written for
   * READ COMMITTED (the copy sets its own level where it imports a snapshot). Serializable, the
   * driver's switch sessions probing at once failed each other's transactions (see the driver's
   * switch endpoint), and the replicator's reads of old's change log would take part in the
   * application's read/write dependencies there, which can cancel its serializable transactions.
   */
  static final String READ_COMMITTED = "SET default_transaction_isolation = 'read committed'";
  /**
   * Also set in every session, as pg_dump does: the server, database or role may end statements,
   * transactions or idle sessions after a time (production databases often cap
   * {@code statement_timeout}), and the replicator's work is long by nature: a table's COPY, the
   * transaction that holds the copy's snapshot, a batch that applies one large transaction of old's,
   * which a timeout would cancel at every retry. Those of these settings the server has (each came
   * with a version) are turned off; {@code lock_timeout} is left alone, and set where locks are taken.
   */
  static final String NO_TIMEOUTS = setWhereTheServerHasThem(Map.of("statement_timeout", "0", "idle_in_transaction_session_timeout", "0",
      "idle_session_timeout", "0", "transaction_timeout", "0"));
  /** How often a running statement of the replicator's looks for its client on the server (14+). */
  static final Duration CONNECTION_CHECK = Duration.ofSeconds(10);
  /**
   * How long a new connection's login may take (PgJDBC's {@code loginTimeout}; its default waits
   * for ever): a server whose port takes the connection but that never answers (frozen, or behind a
   * proxy or pooler that passes nothing on) is otherwise waited for without end. A
   * {@code loginTimeout} in the URL wins.
   */
  public static final Duration LOGIN_TIMEOUT = Duration.ofSeconds(20);
  /**
   * Set in every session: the server's end of {@link KeepAliveSocketFactory}. The server probes a
   * replicator gone silent (its host down, the network cut) as the replicator probes it, and ends
   * the session within about a minute instead of the operating system's two hours, so that its
   * locks (the apply lock, a copy's snapshot, a lock an index build holds) do not outlive it and
   * refuse the replicator started again. From PostgreSQL 14, a statement running for a client that
   * has gone (a replicator killed mid-copy or mid-verify) is ended within
   * {@code client_connection_check_interval} instead of running to its end. Not set:
   * {@code tcp_user_timeout}, which on Linux also ends a connection whose receiver has been too busy
   * to read for that long (a COPY or a walsender stream waiting on a slow target).
   */
  static final String NOTICE_GONE_PEER = setWhereTheServerHasThem(Map.of(
      "tcp_keepalives_idle", Long.toString(KeepAliveSocketFactory.IDLE.toSeconds()),
      "tcp_keepalives_interval", Long.toString(KeepAliveSocketFactory.INTERVAL.toSeconds()),
      "tcp_keepalives_count", Integer.toString(KeepAliveSocketFactory.COUNT),
      "client_connection_check_interval", CONNECTION_CHECK.toMillis() + "ms"));
  /**
   * All of the above, and {@code cutover.ddl_capture = off}: one string, sent once per session. The
   * statement cap goes first: a database capped at 100 ms cancelled {@link #SAFE_PATH}'s catalog read
   * on a loaded machine (a new backend reads the catalogs cold), and with it the login.
   */
  private static final String SESSION = "SET statement_timeout = 0; " + SAFE_PATH + "; SET cutover.ddl_capture = off; " + ROUND_TRIP + "; " + NO_ROW_FILTERS + "; "
      + WRITABLE + "; " + READ_COMMITTED + "; " + NO_TIMEOUTS + "; " + NOTICE_GONE_PEER;

  /**
   * Gives {@code c}, a session of {@link #connect}'s, the settings above again, its path computed
   * anew from the one it started with. After a schema change replayed in it (cutover.ddl_apply),
   * code of the role that made the change may have set any of them for the rest of the session (a
   * plain SET or {@code set_config(..., false)} outlives the SET clauses of the functions around
   * it): a path with a schema of that role's first would have the replicator's next unqualified
   * call run that role's function as the replicator's role.
   */
  public static void resetSession(Connection c) throws SQLException {
    try (java.sql.Statement s = c.createStatement()) {
      s.execute("RESET search_path; " + SESSION);
    }
  }

  /**
   * One statement that gives each of these settings its value in the session, for those the server
   * has (each came with a version; an unknown name would fail the statement).
   */
  private static String setWhereTheServerHasThem(Map<String, String> values) {
    return "SELECT pg_catalog.set_config(s.name, v.value, false) FROM pg_catalog.pg_settings s JOIN (VALUES "
        + values.entrySet().stream().sorted(Map.Entry.comparingByKey())
            .map(e -> "(" + Sql.literal(e.getKey()) + ", " + Sql.literal(e.getValue()) + ")").collect(Collectors.joining(", "))
        + ") v(name, value) ON v.name OPERATOR(pg_catalog.=) s.name";
  }

  private final Side side;
  private final String url;
  private final String user;
  private final String password;
  private final String conninfo;
  /**
   * Why the text this endpoint was given does not parse as a connection string (null: it does);
   * then {@link #url} is a placeholder and never the text, which no mask can be trusted with.
   */
  private final String unparsed;
  /** Watches every connection this endpoint opens; null: none does. */
  private final SilenceWatch watch;
  /** Where {@link #user} and {@link #password} came from, for the remedy of a refused login. */
  private final InUrl inUrl;

  /**
   * Whether the user and the password came inside the URL, URI or key=value string, winning over
   * those given apart (a refused login was told to check those).
   */
  private record InUrl(boolean user, boolean password) {}

  private Endpoint(Side side, String url, String user, String password, String conninfo, SilenceWatch watch, String unparsed,
      InUrl inUrl) {
    this.unparsed = unparsed;
    this.inUrl = inUrl;
    this.side = Objects.requireNonNull(side, "side");
    this.url = Objects.requireNonNull(url, "url");
    this.user = user == null || user.isBlank() ? null : user;
    this.password = password == null || password.isEmpty() ? null : password;
    this.conninfo = conninfo == null || conninfo.isBlank() ? null : conninfo;
    this.watch = watch;
  }

  /**
   * An endpoint from a {@code jdbc:postgresql://host:port/database} URL, a {@code postgres://} URI
   * or a libpq key=value string ({@link ConnectionString}); {@code user} and {@code password} may be
   * null (then the URL's own, or PgJDBC's defaults, apply). A user or password inside the URL
   * ({@code ?user=}, {@code ?password=}), URI or key=value string wins over the ones given apart,
   * which are defaults from the environment: PgJDBC lets a URL's parameters win over its properties,
   * so {@link #user()} is the role the sessions are, for pg_dump, conninfo and messages alike.
   */
  public static Endpoint of(Side side, String url, String user, String password) {
    ConnectionString parsed;
    try {
      parsed = ConnectionString.parse(url);
    } catch (IllegalArgumentException e) {
      // connect() says what is wrong with it, without the text: where it does not parse, a mask
      // cannot know where its password ends
      return new Endpoint(side, UNPARSED, user, password, null, null, e.getMessage(), new InUrl(false, false));
    }
    Properties inUrl = org.postgresql.Driver.parseURL(parsed.jdbcUrl(), null);
    String urlUser = parsed.user() != null ? parsed.user() : inUrl == null ? null : inUrl.getProperty("user");
    String urlPassword = parsed.password() != null ? parsed.password() : inUrl == null ? null : inUrl.getProperty("password");
    InUrl from = new InUrl(urlUser != null && !urlUser.isBlank(), urlPassword != null && !urlPassword.isEmpty());
    return new Endpoint(side, parsed.jdbcUrl(), from.user() ? urlUser : user, from.password() ? urlPassword : password, null, null,
        null, from);
  }

  /**
   * The same endpoint, reached by the other server through {@code conninfo} (a libpq connection
   * string) instead of one derived from the JDBC URL; for when the servers see each other under
   * other names than this machine does.
   */
  public Endpoint withConninfo(String conninfo) {
    return new Endpoint(side, url, user, password, conninfo, watch, unparsed, inUrl);
  }

  /** The same endpoint, every connection it opens watched by {@code watch} for a silent network (the replication connection too). */
  public Endpoint watchedBy(SilenceWatch watch) {
    return new Endpoint(side, url, user, password, conninfo, watch, unparsed, inUrl);
  }

  public Side side() {
    return side;
  }

  /** The URL with passwords masked. */
  public String maskedUrl() {
    return unparsed != null ? "(--" + side.label() + "-url, which does not parse)" : Secrets.maskUrl(url);
  }

  /**
   * Opens a connection through PgJDBC itself (never DriverManager, so a registered Cutover driver
   * is never picked by accident).
   *
   * @throws ReplicatorException {@link Failure#CONNECTION} for a URL PgJDBC does not accept, an
   *     unreachable server, refused credentials or a missing database
   */
  public Connection connect() throws ReplicatorException {
    return connect(new Properties());
  }

  /**
   * {@link #connect()} with its login awaited {@code login} at most (whole seconds, at least one),
   * for a connection that only matters if it comes soon; a {@code loginTimeout} in the URL wins.
   */
  public Connection connectWithin(Duration login) throws ReplicatorException {
    Properties p = new Properties();
    p.setProperty("loginTimeout", Long.toString(Math.max(1, (login.toMillis() + 999) / 1000)));
    return connect(p);
  }

  /**
   * Set after {@link #SESSION} on a replication connection, whose walsender runs no application
   * code: pgoutput prints a value of an oid alias type (regclass, regtype, regproc, ...) as a name
   * relative to the session's path, and the path {@link #SAFE_PATH} keeps from a database's default
   * ({@code ALTER DATABASE … SET search_path = app, public}) would print {@code app.thing} as
   * {@code thing}, which new resolves by its own path: another table, or none and an apply stopped
   * for good. With {@code pg_catalog} alone every other name is schema-qualified, as the copy and
   * trigger capture's flag {@code r} print them. bytea in hex, as verify reads it (the escape form
   * reads back the same, but hex is PostgreSQL's own and the shorter).
   */
  static final String REPLICATION_PRINTING = "SET search_path = pg_catalog; SET bytea_output = hex";

  /**
   * A replication connection ({@code replication=database}) in the simple query mode PgJDBC's
   * replication API needs. pgoutput prints values with this session's settings: {@link #ROUND_TRIP}
   * and {@link #REPLICATION_PRINTING} set those that change a value's text; PgJDBC asks for
   * DateStyle ISO at login, where a database's or role's default cannot override it.
   */
  public Connection connectReplication() throws ReplicatorException {
    Properties p = new Properties();
    p.setProperty("replication", "database");
    p.setProperty("assumeMinServerVersion", "10");
    p.setProperty("preferQueryMode", "simple");
    return connect(p, REPLICATION_PRINTING);
  }

  /**
   * A connection that sends every statement with the simple query protocol: a string of many
   * statements goes as one message and is parsed once, which the trigger-capture apply uses for its
   * groups of {@code EXECUTE}s (about a third faster than a JDBC batch of them).
   */
  public Connection connectSimpleProtocol() throws ReplicatorException {
    Properties p = new Properties();
    p.setProperty("preferQueryMode", "simple");
    return connect(p);
  }

  private Connection connect(Properties extra) throws ReplicatorException {
    return connect(extra, null);
  }

  /** Connects with {@code extra} properties; {@code then} (null: nothing) runs after {@link #SESSION}. */
  private Connection connect(Properties extra, String then) throws ReplicatorException {
    if (unparsed != null) {
      throw new ReplicatorException(Failure.CONNECTION, side.label() + ": --" + side.label() + "-url does not parse (" + unparsed
          + "); it is not shown, as it may hold a password",
          "use jdbc:postgresql://host:port/database, postgres://user@host:port/database or host=... dbname=..."
              + " in --" + side.label() + "-url");
    }
    if (!PGJDBC.acceptsURL(url)) {
      String hint = url.startsWith("jdbc:cutover:") ? "use the plain jdbc:postgresql: URL of each database"
          : "use jdbc:postgresql://host:port/database, postgres://user@host:port/database or host=... dbname=...";
      throw new ReplicatorException(Failure.CONNECTION,
          side.label() + ": '" + Sql.maskSecrets(maskedUrl()) + "' is not a PostgreSQL JDBC URL",
          hint + " in --" + side.label() + "-url");
    }
    if (watch != null) {
      watch.requireAnswering();
    }
    Properties p = new Properties();
    if (user != null) {
      p.setProperty("user", user);
    }
    if (password != null) {
      p.setProperty("password", password);
    }
    p.setProperty("ApplicationName", APPLICATION_NAME);
    p.setProperty("connectTimeout", "10");
    p.setProperty("loginTimeout", Long.toString(LOGIN_TIMEOUT.toSeconds()));
    // Probes a peer gone silent (KeepAliveSocketFactory); a socketFactory or tcpKeepAlive in the URL wins.
    p.setProperty("tcpKeepAlive", "true");
    p.setProperty("socketFactory", KeepAliveSocketFactory.class.getName());
    String socket = UUID.randomUUID().toString();
    p.setProperty(KeepAliveSocketFactory.SOCKET, socket);
    p.putAll(extra);
    long started = System.nanoTime();
    try {
      Connection c;
      WaitingSocket made;
      try {
        c = PGJDBC.connect(url, p);
      } finally {
        made = KeepAliveSocketFactory.claim(socket);
      }
      if (c == null) {
        throw new ReplicatorException(Failure.CONNECTION, side.label() + ": PgJDBC did not accept '" + maskedUrl() + "'",
            "use jdbc:postgresql://host:port/database in --" + side.label() + "-url");
      }
      // The replicator's settings, whatever the server, database, role or URL say (the constants above); and its own
      // schema changes (index builds, control schema) are not the application's: not captured.
      try (java.sql.Statement s = c.createStatement()) {
        requireServerItself(c);
        s.execute(SESSION);
        if (then != null) {
          s.execute(then);
        }
        if (watch != null) {
          watch.add(c, made);
        }
      } catch (SQLException | ReplicatorException e) {
        c.close();
        throw e;
      }
      return c;
    } catch (SQLException e) {
      long waited = (System.nanoTime() - started) / 1_000_000_000;
      long limit = loginTimeout(p);
      throw limit > 0 && waited >= limit && e.getSQLState() != null && e.getSQLState().startsWith("08") ? loginUnanswered(e, waited)
          : connectionFailure(e);
    }
  }

  /**
   * Refuses a connection that does not reach the primary server itself ({@link SessionIdentity}),
   * before the session settings. Through a pooler they, the apply's token and its replica role
   * would stay on a server session that the pooler hands to the application next, whose writes
   * would then skip capture and the fence, and the replicator's advisory locks and snapshots would
   * hold for whichever client holds that session. A standby refuses the writes every command makes,
   * and {@code check} would find nothing wrong with it.
   */
  private void requireServerItself(Connection c) throws SQLException, ReplicatorException {
    SessionIdentity id = identityUncapped(c);
    String option = "--" + side.label() + "-url";
    if (!id.direct()) {
      throw new ReplicatorException(Failure.CONNECTION, side.label() + ": " + option + " reaches a connection pooler or proxy, not the"
          + " database server (the backend process it reported at login, " + id.reported() + ", is not the one that answers, "
          + id.answering() + "): the replicator's sessions, with their settings, locks and snapshots, would be handed to other"
          + " clients", "point " + option + " at the database server itself" + (id.server() == null ? "" : " (" + id.server() + ")")
          + "; the application may keep its pooler");
    }
    if (id.standby()) {
      throw new ReplicatorException(Failure.CONNECTION, side.label() + ": " + option + " reaches a standby (a server in recovery,"
          + " read-only), not the primary: the replicator writes on both sides (its control schema, the copy, capture, the apply)",
          "point " + option + " at the primary (with several hosts in the URL, add targetServerType=primary)");
    }
  }

  /**
   * {@link SessionIdentity} read in a transaction of its own with {@code statement_timeout} off for
   * it alone: a database capped at 100 ms cancelled this first read of a new backend on a loaded
   * machine (it reads the catalogs cold), and with it the login. {@code SET LOCAL} ends with the
   * transaction, so nothing of it stays on a pooler's server session before the read says whether
   * there is one.
   */
  private static SessionIdentity identityUncapped(Connection c) throws SQLException {
    c.setAutoCommit(false);
    try (java.sql.Statement s = c.createStatement()) {
      s.execute("SET LOCAL statement_timeout = 0");
      SessionIdentity id = SessionIdentity.of(c);
      c.commit();
      return id;
    } finally {
      c.setAutoCommit(true);
    }
  }

  /** The login timeout in effect, seconds (0: none): the URL's, else ours ({@code p}'s). */
  private long loginTimeout(Properties p) {
    Properties merged = org.postgresql.Driver.parseURL(url, p);
    try {
      return Long.parseLong((merged == null ? p : merged).getProperty("loginTimeout", "0").trim());
    } catch (NumberFormatException e) {
      return LOGIN_TIMEOUT.toSeconds();
    }
  }

  private ReplicatorException loginUnanswered(SQLException e, long waited) {
    return new ReplicatorException(Failure.CONNECTION, side.label() + ": no answer to the login within " + waited
        + " s from " + maskedUrl() + " (" + Secrets.maskUrl(FirstLine.of(e)) + ")", "check that the server is up and not overloaded, and"
        + " what lies between (a proxy or pooler that takes connections but passes nothing on); a slower login is allowed by"
        + " loginTimeout=SECONDS in --" + side.label() + "-url", e);
  }

  /**
   * A login the server refuses because it is recovering, starting or shutting down ({@code
   * cannot_connect_now}): no credentials are at fault (r28: old recovering from a full disk was told
   * to check its password).
   */
  private static final String NOT_ACCEPTING = "57P03";

  private ReplicatorException connectionFailure(SQLException e) {
    // Masked apart: masking the whole would take the reason after a URL that ends with a password for part of it.
    String what = side.label() + ": cannot connect to " + maskedUrl() + " (" + Secrets.maskUrl(FirstLine.of(e)) + ")";
    return new ReplicatorException(Failure.CONNECTION, what, remedy(e.getSQLState() == null ? "" : e.getSQLState(),
        String.valueOf(e.getMessage())), e);
  }

  /**
   * The remedy for a login a libpq program ({@code pg_dump}) was refused, read from its message: it
   * connects with this endpoint's user, password and host, so the cause has the remedy
   * {@link #connect} gives it. libpq prints no SQLState, so {@link LoginRefusal} reads the text
   * alone: the server's in its {@code lc_messages}, English unless an operator set another, and
   * libpq's, English where the program runs with {@code LC_ALL=C}. Anything else gets the remedy of
   * a failure of no known cause.
   */
  public String libpqLoginRemedy(String message) {
    return remedy("", message);
  }

  /** The remedy for a login refused with SQLState {@code state} (empty: none known) and {@code message}. */
  private String remedy(String state, String message) {
    String env = "CUTOVER_REPLICATOR_" + side.name() + "_PASSWORD";
    LoginRefusal cause = LoginRefusal.of(state, message, password() != null && !password().isEmpty());
    String server = cause.serverRemedy(user);
    return switch (cause) {
      case NOT_ADMITTED -> side.label() + "'s server does not admit this host, user and database: add a line for them to "
          + side.label() + "'s pg_hba.conf (before any line that matches them first) and run SELECT pg_reload_conf() there, or"
          + " connect from an address it admits; on a managed service, allow this address in its network or security-group settings";
      case CREDENTIALS_REFUSED -> credentialsRemedy(env) + ", " + server;
      case NO_SUCH_ROLE -> side.label() + "'s server: " + server + ", or fix " + userSource();
      case LOGIN_NOT_PERMITTED, ROLE_CONNECTION_LIMIT, SERVER_CONNECTION_LIMIT -> side.label() + "'s server: " + server;
      case NO_PASSWORD_GIVEN -> side.label() + "'s server asks for a password and none was given: set " + env + " (or give it in --"
          + side.label() + "-url)";
      case OTHER -> unrefusedRemedy(state, env);
    };
  }

  /** A login that failed for no cause {@link LoginRefusal} knows: a missing database, an unreachable or a recovering server. */
  private String unrefusedRemedy(String state, String env) {
    if (state.equals("3D000")) {
      return "create the database or fix its name in --" + side.label() + "-url";
    }
    if (state.startsWith("08")) {
      return "check host and port in --" + side.label() + "-url and that the server accepts connections from here";
    }
    if (state.equals(NOT_ACCEPTING)) {
      return side.label() + "'s server is up but not accepting connections: it is recovering after a crash, starting or"
          + " shutting down; see its server log for why (a full disk, say: a replication slot whose apply stopped keeps WAL"
          + " until the disk is full) and make it run again, then repeat the command";
    }
    return "check --" + side.label() + "-url, --" + side.label() + "-user and " + env;
  }

  /** Where the role that logs in is named: the URL's user wins over {@code --*-user}. */
  private String userSource() {
    String option = "--" + side.label() + "-user";
    return inUrl.user() ? "the user in --" + side.label() + "-url (it wins over " + option + ")" : option;
  }

  /**
   * What to check where the server refused the login: the user and the password where they came
   * from, the URL's winning over {@code --*-user} and {@code env}; never the password itself.
   */
  private String credentialsRemedy(String env) {
    String url = "--" + side.label() + "-url";
    String option = "--" + side.label() + "-user";
    if (inUrl.user() && inUrl.password()) {
      return "check the user and the password in " + url + ", which win over " + option + " and " + env;
    }
    return "check " + userSource() + " and the password in "
        + (inUrl.password() ? url + " (it wins over " + env + ")" : env);
  }

  /**
   * The libpq connection string by which the other server reaches this database: the explicit one
   * if given, else host, port, database, user, password and sslmode taken from the JDBC URL.
   */
  public String conninfo() {
    if (conninfo != null) {
      return conninfo;
    }
    Properties parsed = org.postgresql.Driver.parseURL(url, null);
    if (parsed == null) {
      throw new IllegalStateException(side.label() + ": '" + maskedUrl() + "' is not a PostgreSQL JDBC URL");
    }
    String host = first(parsed.getProperty("PGHOST", "localhost"));
    String port = first(parsed.getProperty("PGPORT", "5432"));
    StringBuilder b = new StringBuilder();
    b.append("host=").append(Sql.conninfoValue(host));
    b.append(" port=").append(Sql.conninfoValue(port));
    b.append(" dbname=").append(Sql.conninfoValue(parsed.getProperty("PGDBNAME", "postgres")));
    String u = user != null ? user : parsed.getProperty("user");
    if (u != null) {
      b.append(" user=").append(Sql.conninfoValue(u));
    }
    String pw = password != null ? password : parsed.getProperty("password");
    if (pw != null && !pw.isEmpty()) {
      b.append(" password=").append(Sql.conninfoValue(pw));
    }
    String sslmode = parsed.getProperty("sslmode");
    if (sslmode != null) {
      b.append(" sslmode=").append(Sql.conninfoValue(sslmode));
    }
    return b.toString();
  }

  /** The database name in the URL. */
  public String database() {
    Properties parsed = org.postgresql.Driver.parseURL(url, null);
    return parsed == null ? "" : parsed.getProperty("PGDBNAME", "");
  }

  /** The user the endpoint connects as, or null for the URL's / PgJDBC's default. */
  public String user() {
    return user;
  }

  /** The password, for tools that need it in their environment (pg_dump's PGPASSWORD); never shown. */
  public String password() {
    if (password != null) {
      return password;
    }
    Properties parsed = org.postgresql.Driver.parseURL(url, null);
    return parsed == null ? null : parsed.getProperty("password");
  }

  /** Host and port as the URL names them (the first of several). */
  public String host() {
    Properties parsed = org.postgresql.Driver.parseURL(url, null);
    return parsed == null ? "localhost" : first(parsed.getProperty("PGHOST", "localhost"));
  }

  public String port() {
    Properties parsed = org.postgresql.Driver.parseURL(url, null);
    return parsed == null ? "5432" : first(parsed.getProperty("PGPORT", "5432"));
  }

  /**
   * The URL's TLS settings as libpq's environment variables ({@code PGSSLMODE}, {@code PGSSLROOTCERT},
   * {@code PGSSLCERT}, {@code PGSSLKEY}), for pg_dump and psql to reach the server as PgJDBC does;
   * PgJDBC's {@code ssl=true} without an sslmode means verify-full. Empty when the URL has none.
   */
  public java.util.Map<String, String> tlsEnvironment() {
    Properties parsed = org.postgresql.Driver.parseURL(url, null);
    java.util.Map<String, String> env = new java.util.LinkedHashMap<>();
    if (parsed == null) {
      return env;
    }
    String mode = parsed.getProperty("sslmode");
    if (mode == null && "true".equalsIgnoreCase(parsed.getProperty("ssl"))) {
      mode = "verify-full";
    }
    if (mode != null) {
      env.put("PGSSLMODE", mode);
    }
    for (String[] k : new String[][] {{"sslrootcert", "PGSSLROOTCERT"}, {"sslcert", "PGSSLCERT"}, {"sslkey", "PGSSLKEY"}}) {
      String v = parsed.getProperty(k[0]);
      if (v != null && !v.isEmpty()) {
        env.put(k[1], v);
      }
    }
    return env;
  }

  private static String first(String commaSeparated) {
    int comma = commaSeparated.indexOf(',');
    return comma < 0 ? commaSeparated : commaSeparated.substring(0, comma);
  }


  @Override
  public String toString() {
    return side.label() + " " + maskedUrl() + (user == null ? "" : " as " + user);
  }
}
