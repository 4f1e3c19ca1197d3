package dev.cutover.driver.internal.session;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a PostgreSQL session carries beyond JDBC's own setters, read from the server in one round
 * trip when a logical connection moves, and set up on the other side in one more before any
 * statement runs there.
 *
 * <p>What moves: every setting whose source is the session ({@code SET}, {@code set_config},
 * HikariCP's {@code connectionInitSql}), custom settings such as {@code app.tenant_id} (PostgreSQL
 * hides these placeholders from {@code pg_settings}, so they are read by name: see {@link
 * CustomSettings}) unless they still hold the value the source database configures for them,
 * {@code SET SESSION AUTHORIZATION}, {@code SET ROLE} (applied last, so settings
 * that need the login role's privileges are set first), {@code LISTEN} channels and session-level
 * advisory locks. What cannot move is named in {@link #lost()}: temporary tables, functions and
 * types (enums, domains, ranges, composite types), {@code WITH HOLD} cursors and statements prepared with SQL {@code
 * PREPARE}; a session holding any of them fails loudly instead of moving. Not read, since
 * PostgreSQL shows it nowhere: what {@code currval} and {@code lastval} would return, which a moved
 * session no longer has until it calls {@code nextval} again.
 */
public final class SessionSnapshot {
  /**
   * The channel the driver itself listens on to wake a session waiting for notifications (see
   * {@code Session.WAKE_CHANNEL}): never one of the session's own, so never read as one.
   */
  public static final String WAKE_CHANNEL = "cutover_switch_wake";

  private static final Logger LOG = LoggerFactory.getLogger(SessionSnapshot.class);
  /** Settings already reported as having no equivalent on the target, so each is logged once. */
  private static final Set<String> REPORTED = ConcurrentHashMap.newKeySet();
  /** The last read statement built; null until the first read. */
  private static volatile Query cached;

  private final int pid;
  private final List<String[]> settings;
  private final String authorization;
  private final String role;
  private final List<String> channels;
  private final List<AdvisoryLock> locks;
  private final List<String> lost;

  private SessionSnapshot(int pid, List<String[]> settings, String authorization, String role,
      List<String> channels, List<AdvisoryLock> locks, List<String> lost) {
    this.pid = pid;
    this.settings = settings;
    this.authorization = authorization;
    this.role = role;
    this.channels = channels;
    this.locks = locks;
    this.lost = lost;
  }

  /**
   * The value {@code ALTER DATABASE/ROLE … SET} gives custom setting {@code n} in this database for
   * the login role, in PostgreSQL's order (database and role, then role, then database). A custom
   * setting that still has it is the source's configuration, not the session's: carried, it would
   * override the target's own (an {@code app.region} that differs per side).
   */
  private static final String CONFIGURED_DEFAULT = "SELECT pg_catalog.substr(c, pg_catalog.strpos(c, '=') + 1)"
      + " FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) c"
      + " WHERE pg_catalog.lower(pg_catalog.split_part(c, '=', 1)) = n"
      + " AND s.setdatabase IN (0, (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()))"
      + " AND s.setrole IN (0, (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = session_user))"
      + " ORDER BY (s.setrole <> 0 AND s.setdatabase <> 0) DESC, (s.setrole <> 0) DESC LIMIT 1";

  /**
   * The read statement for a set of custom setting names, written for the server's
   * standard_conforming_strings; built once per set.
   */
  private record Query(List<String> customNames, boolean standardConformingStrings, String sql) {
    Query(List<String> customNames, boolean standardConformingStrings) throws SQLException {
      this(customNames, standardConformingStrings, build(customNames, standardConformingStrings));
    }

    private static String build(List<String> names, boolean standardConformingStrings) throws SQLException {
      StringBuilder custom = new StringBuilder("ARRAY[");
      for (int i = 0; i < names.size(); i++) {
        literal(custom.append(i == 0 ? "" : ", "), names.get(i), standardConformingStrings);
      }
      custom.append("]::text[]");
      return "SELECT 'pid', pg_catalog.pg_backend_pid()::text, NULL"
          + " UNION ALL SELECT 'setting', name, setting FROM pg_catalog.pg_settings WHERE source = 'session'"
          + " AND name NOT IN ('client_encoding', 'transaction_isolation', 'transaction_read_only',"
          + " 'transaction_deferrable')"
          + " UNION ALL SELECT 'setting', n, pg_catalog.current_setting(n, true) FROM pg_catalog.unnest(" + custom
          + ") n WHERE pg_catalog.current_setting(n, true) IS NOT NULL"
          + " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_settings p WHERE p.name = n)"
          + " AND pg_catalog.current_setting(n, true) IS DISTINCT FROM (" + CONFIGURED_DEFAULT + ")"
          + " UNION ALL SELECT 'authorization', pg_catalog.current_setting('session_authorization'), NULL"
          + " FROM pg_catalog.pg_stat_activity a WHERE a.pid = pg_catalog.pg_backend_pid()"
          + " AND a.usename IS DISTINCT FROM pg_catalog.current_setting('session_authorization')"
          + " UNION ALL SELECT 'role', pg_catalog.current_setting('role'), NULL"
          + " WHERE pg_catalog.current_setting('role') <> 'none'"
          + " UNION ALL SELECT 'listen', c, NULL FROM pg_catalog.pg_listening_channels() c"
          + " WHERE c <> '" + WAKE_CHANNEL + "'"
          + " UNION ALL SELECT 'lock', l.objsubid::text, l.classid::bigint || ' ' || l.objid::bigint || ' ' || l.mode"
          + " FROM pg_catalog.pg_locks l WHERE l.locktype = 'advisory' AND l.pid = pg_catalog.pg_backend_pid()"
          + " AND l.granted"
          + " UNION ALL SELECT 'temporary table', c.relname::text, NULL FROM pg_catalog.pg_class c"
          + " WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relkind IN ('r', 'p', 'v', 'S')"
          // a range type's constructors depend on it internally: the type is named, not them
          + " UNION ALL SELECT 'temporary function', p.proname::text, NULL FROM pg_catalog.pg_proc p"
          + " WHERE p.pronamespace = pg_catalog.pg_my_temp_schema() AND NOT EXISTS (SELECT 1"
          + " FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass"
          + " AND d.objid = p.oid AND d.deptype = 'i') GROUP BY p.proname"
          // enums, domains, ranges (not their multiranges) and composite types (relkind 'c'); a
          // table's row type goes with the table, named above
          + " UNION ALL SELECT 'temporary type', t.typname::text, NULL FROM pg_catalog.pg_type t"
          + " WHERE t.typnamespace = pg_catalog.pg_my_temp_schema() AND t.typcategory <> 'A' AND t.typtype <> 'm'"
          + " AND (t.typrelid = 0 OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid"
          + " AND c.relkind = 'c'))"
          + " UNION ALL SELECT 'WITH HOLD cursor', name, NULL FROM pg_catalog.pg_cursors WHERE is_holdable"
          + " UNION ALL SELECT 'prepared statement (SQL PREPARE)', name, NULL FROM pg_catalog.pg_prepared_statements"
          + " WHERE from_sql";
    }
  }

  private static String query(BaseConnection c, List<String> customNames) throws SQLException {
    Query q = cached;
    boolean standardConformingStrings = c.getStandardConformingStrings();
    if (q == null || q.standardConformingStrings() != standardConformingStrings
        || !q.customNames().equals(customNames)) {
      q = new Query(List.copyOf(customNames), standardConformingStrings);
      cached = q;
    }
    return q.sql();
  }

  /**
   * Reads the session state of {@code c}, which must be outside a transaction.
   *
   * @param customNames custom settings to carry by name (see {@link CustomSettings})
   */
  public static SessionSnapshot read(BaseConnection c, List<String> customNames) throws SQLException {
    return parse(ServerExchange.run(c, query(c, customNames)).rowsOrThrow());
  }

  /**
   * Ends the transaction of a session that a switch rolls back, reads its session state as it was
   * before that transaction, and ends the session, all in one exchange: the statements run
   * back to back on the server while PgJDBC's lock keeps every other thread off the connection, so
   * a commit the application sends afterwards finds the session gone and fails (it is never
   * answered by a "no transaction in progress" that would look like success).
   *
   * @param customNames custom settings to carry, or {@code null} when the connection goes through
   *     a transaction pooler and has no session state of its own
   * @return the session state, or {@code null} when it could not be read (or was not asked for)
   */
  public static SessionSnapshot captureAndEnd(BaseConnection c, List<String> customNames) {
    String read = null;
    if (customNames != null) {
      try {
        read = query(c, customNames);
      } catch (SQLException nulInName) {
        // A configured name PostgreSQL could never hold: the session still ends, unread.
      }
    }
    String sql = "ROLLBACK"
        + (read == null ? "" : "; " + read)
        // Back to the login role, which may end its own session whatever SET ROLE chose.
        + "; RESET SESSION AUTHORIZATION; RESET ROLE"
        + "; SELECT pg_catalog.pg_terminate_backend(pg_catalog.pg_backend_pid())";
    ServerExchange.Answer answer = ServerExchange.run(c, sql);
    List<String[]> rows = answer.rows(0);
    if (read == null || rows.isEmpty() || !"pid".equals(rows.get(0)[0])) {
      return null;
    }
    return parse(rows);
  }

  /**
   * Only locks and channels, which a switch takes on a connection it reserves for a session before
   * anyone else can run on the target.
   */
  public static SessionSnapshot holding(List<AdvisoryLock> locks, List<String> channels) {
    return new SessionSnapshot(0, List.of(), null, null, List.copyOf(channels), List.copyOf(locks), List.of());
  }

  private static SessionSnapshot parse(List<String[]> rows) {
    int pid = 0;
    List<String[]> settings = new ArrayList<>();
    String authorization = null;
    String role = null;
    List<String> channels = new ArrayList<>();
    List<AdvisoryLock> locks = new ArrayList<>();
    List<String> lost = new ArrayList<>();
    for (String[] r : rows) {
      switch (r[0]) {
        case "pid" -> pid = Integer.parseInt(r[1]);
        case "setting" -> {
          if (r[2] != null) {
            settings.add(new String[] {r[1], r[2]});
          }
        }
        case "authorization" -> authorization = r[1];
        case "role" -> role = r[1];
        case "listen" -> channels.add(r[1]);
        case "lock" -> {
          String[] ids = r[2].split(" ");
          locks.add(AdvisoryLock.of(ids[0], ids[1], r[1], ids[2]));
        }
        default -> lost.add(r[0] + " " + r[1]);
      }
    }
    return new SessionSnapshot(pid, List.copyOf(settings), authorization, role, List.copyOf(channels),
        List.copyOf(locks), List.copyOf(lost));
  }

  /**
   * Sets this state up on {@code target}, a fresh connection to the other side, in one exchange:
   * {@code LISTEN}s, advisory locks, settings, then session authorization, then role.
   * Settings the target's PostgreSQL does not know (removed or renamed in its version) are skipped
   * and logged once each.
   *
   * @param takeLocks whether to take the advisory locks here (not when a switch already took them
   *     on a connection reserved for this session)
   * @param moreChannels channels to listen on besides the session's own
   * @return whether anything was sent (nothing when there is nothing to set up): only then does a
   *     success say that {@code target} answers
   * @throws SQLException naming the setting, role or lock that could not be set up
   */
  public boolean applyTo(BaseConnection target, boolean takeLocks, List<String> moreChannels) throws SQLException {
    // Channels and locks first: the settings may make later transactions read-only.
    StringBuilder sql = new StringBuilder();
    boolean standardConformingStrings = target.getStandardConformingStrings();
    int results = 0;
    for (String channel : channels) {
      separate(sql).append("LISTEN ").append(target.escapeIdentifier(channel));
    }
    for (String channel : moreChannels) {
      separate(sql).append("LISTEN ").append(target.escapeIdentifier(channel));
    }
    int locksResult = -1;
    if (takeLocks && !locks.isEmpty()) {
      separate(sql).append("SELECT ");
      for (int i = 0; i < locks.size(); i++) {
        sql.append(i == 0 ? "" : ", ").append(locks.get(i).tryLockCall());
      }
      locksResult = results++;
    }
    int settingsResult = -1;
    if (!settings.isEmpty()) {
      separate(sql).append("SELECT s.n, CASE WHEN s.n LIKE '%.%' OR EXISTS (SELECT 1 FROM pg_catalog.pg_settings p"
          + " WHERE p.name = s.n) THEN pg_catalog.set_config(s.n, s.v, false) END FROM (VALUES ");
      for (int i = 0; i < settings.size(); i++) {
        literal(literal(sql.append(i == 0 ? "(" : ", ("), settings.get(i)[0], standardConformingStrings).append(", "),
            settings.get(i)[1], standardConformingStrings).append(')');
      }
      sql.append(") s(n, v)");
      settingsResult = results;
    }
    if (authorization != null) {
      literal(separate(sql).append("SELECT pg_catalog.set_config('session_authorization', "), authorization,
          standardConformingStrings).append(", false)");
    }
    if (role != null) {
      literal(separate(sql).append("SELECT pg_catalog.set_config('role', "), role, standardConformingStrings)
          .append(", false)");
    }
    if (sql.length() == 0) {
      return false;
    }
    ServerExchange.Answer answer = ServerExchange.run(target, sql.toString());
    if (answer.error() != null) {
      throw new SQLException("cutover: cannot set this session's state up on the other database: "
          + answer.error().getMessage() + " (" + describe() + ")", answer.error().getSQLState(), answer.error());
    }
    if (settingsResult >= 0) {
      for (String[] row : answer.rows(settingsResult)) {
        if (row[1] == null && REPORTED.add(row[0])) {
          LOG.warn("cutover: the session setting {} has no equivalent on the other database (another PostgreSQL"
              + " version); sessions moving there go on without it", row[0]);
        }
      }
    }
    if (locksResult >= 0) {
      String[] taken = answer.rows(locksResult).get(0);
      for (int i = 0; i < taken.length; i++) {
        if (!"t".equals(taken[i])) {
          throw new SQLException("cutover: this session holds " + locks.get(i) + " on the database it leaves, and"
              + " another session holds it on the one it moves to; release it there and retry", "55P03");
        }
      }
    }
    return true;
  }

  private static StringBuilder separate(StringBuilder sql) {
    return sql.length() == 0 ? sql : sql.append("; ");
  }

  /** Appends {@code value} as a text literal, escaped by PgJDBC for the server's standard_conforming_strings. */
  private static StringBuilder literal(StringBuilder sql, String value, boolean standardConformingStrings)
      throws SQLException {
    return Utils.escapeLiteral(sql.append('\''), value, standardConformingStrings).append('\'');
  }

  /** The server process the state was read from. */
  public int pid() {
    return pid;
  }

  /** Session-level advisory locks the session holds. */
  public List<AdvisoryLock> locks() {
    return locks;
  }

  /** Channels the session listens on, without the driver's own ({@link #WAKE_CHANNEL}). */
  public List<String> channels() {
    return channels;
  }

  /** What the session holds that cannot move, each named ("temporary table tmp_orders"); empty when all can. */
  public List<String> lost() {
    return lost;
  }

  /** What moves, for messages: names only, never values (a value may be a secret). */
  private String describe() {
    List<String> names = new ArrayList<>();
    for (String[] s : settings) {
      names.add(s[0]);
    }
    return "settings " + names + (role == null ? "" : ", role " + role)
        + (authorization == null ? "" : ", session authorization " + authorization)
        + (channels.isEmpty() ? "" : ", LISTEN " + channels) + (locks.isEmpty() ? "" : ", " + locks);
  }

  @Override
  public String toString() {
    return "SessionSnapshot[pid " + pid + ", " + describe() + (lost.isEmpty() ? "" : ", cannot move " + lost) + "]";
  }
}
