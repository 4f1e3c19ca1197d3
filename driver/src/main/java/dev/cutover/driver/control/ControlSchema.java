package dev.cutover.driver.control;

import dev.cutover.common.LockRetry;
import dev.cutover.common.Queries;
import dev.cutover.common.Quoting;
import dev.cutover.common.Transactions;
import dev.cutover.driver.internal.control.ControlSql;
import dev.cutover.driver.internal.control.Coordination;
import java.io.IOException;
import java.io.StringReader;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.postgresql.PGConnection;

/**
 * Installs and removes the {@code cutover} control schema: the fence, the barrier markers and
 * the functions the instances of a service call to switch together. Both operations are
 * idempotent and run in one transaction under an advisory lock, so concurrent installers cannot
 * interleave; installing over version 1 upgrades it in place.
 *
 * <p>Design notes. The fence state is a sequence value, not a table row: sequence reads bypass
 * MVCC, so a REPEATABLE READ transaction that began before the fence still sees it, and
 * sequences are not logically replicated, so raising the fence on one side can never fence the
 * other through a {@code FOR ALL TABLES} publication. The value is an epoch that every raise and
 * every lower moves on (odd: raised), so "raised with the same epoch" proves it stayed up. The only
 * replicated rows are barrier markers, whose keys the server makes (unique per marker). The version
 * is a function, not a row, for the same reason.
 *
 * <p>Least privilege: {@code EXECUTE} on every function of the schema is revoked from {@code
 * PUBLIC} (PostgreSQL grants it on creation) and granted only to the roles named at install (see
 * {@link ControlSql#GRANTED}); what only the replicator needs stays with the installer. Every
 * function runs {@code SECURITY DEFINER} with a fixed {@code search_path}, and each step that
 * steers a switch checks server-side that its caller leads it; see {@link ControlSql}. Operator
 * functions added later to the same version ({@link ControlSql#ADDED_IN_PLACE}) are granted at
 * install to every role already granted the operator view, and switch steps added later
 * ({@link ControlSql#ADDED_FOR_INSTANCES}) to every role already granted the instances' functions,
 * so an upgrade in place takes nothing away from a role granted before it.
 *
 * <p>Coordination between the instances of a service stays on each database: heartbeats live in
 * UNLOGGED tables, which logical replication never publishes and a crash empties (instances simply
 * beat again). The switch's record, the fence's settled epoch and the markers written under it are
 * logged ({@link ControlSql#LOCAL_TABLES}), because the fence itself (a sequence) survives a crash:
 * a record lost beside a fence that stood left it up with nobody to lower it, and a release lost
 * beside it could not be verified. A publication {@code FOR ALL TABLES} carries them nonetheless, so
 * a row trigger enabled only for replica sessions drops their rows on the other side, and the
 * replicator's copy and relay leave them out. An install from before they were logged makes them so,
 * keeping their rows.
 *
 * <p>Installing needs the owner of the application tables (or a superuser, or the TRIGGER
 * privilege on them): it adds a statement-level trigger {@code cutover_fence} to every ordinary
 * and partitioned table outside the system schemas. Tables created later are guarded when the
 * fence rises, and, where the installer is a superuser, by an event trigger as they are created.
 */
public final class ControlSchema {
  /** The schema version this driver installs and understands. */
  public static final int VERSION = 2;

  public static final String SCHEMA = "cutover";
  static final String TRIGGER = ControlSql.TRIGGER;
  private static final long LOCK_TIMEOUT_MILLIS = 200;
  /** How long an install keeps trying to lock each table it guards (and its other locks) before the lock's refusal (55P03) is thrown. */
  public static final Duration LOCK_RETRY = Duration.ofSeconds(20);
  /** Advisory lock class (first key) held by the leader of a switch. */
  static final int LEADER_LOCK = ControlSql.LEADER_LOCK;
  private static final SecureRandom RANDOM = new SecureRandom();

  private ControlSchema() {}

  /**
   * Whether {@code schema.table} is one of the control schema's logged tables whose rows belong to
   * the database they were written on ({@link ControlSql#LOCAL_TABLES}): a copy or an apply between
   * the two databases leaves it out.
   */
  public static boolean localTable(String schema, String table) {
    return SCHEMA.equals(schema) && ControlSql.LOCAL_TABLES.contains(table);
  }

  /**
   * Installs or completes the control schema for the installing role and the owners of the
   * application tables (see {@link #install(Connection, List)}).
   */
  public static int install(Connection c) throws SQLException {
    return install(c, List.of());
  }

  /**
   * Installs or completes the control schema, grants the control plane to {@code roles} (none:
   * the installing role and the owners of the application tables) and guards every application
   * table with the fence trigger. Safe while applications write: it guards one table per
   * transaction, each waiting at most a moment for the table's writers (retrying for up to about
   * 20 s per table), so that a writer spanning several tables never waits for it while it waits
   * for that writer. Control plane grants are
   * added, never taken away ({@code cutover-replicator check} lists who holds them); anything else
   * another role holds on the schema's objects, as default privileges grant it, is taken back ({@link #seal}).
   *
   * @return the number of tables that were newly guarded
   * @throws SQLException when a newer schema version is installed, a role does not exist, or
   *     privileges are missing
   */
  public static int install(Connection c, List<String> roles) throws SQLException {
    retried(c, () -> installOnce(c, roles));
    // One table per transaction (see ControlSql.guardTables), at most as many as were unguarded: a
    // table guarded by another installer meanwhile makes it end sooner, never later.
    long left;
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(ControlSql.countUnguarded())) {
      rs.next();
      left = rs.getLong(1);
    }
    int guarded = 0;
    for (long i = 0; i < left; i++) {
      int n = retried(c, () -> guardOne(c));
      if (n == 0) {
        break;
      }
      guarded += n;
    }
    return guarded;
  }

  /** One attempt at guarding one table: its writers wait at most the lock timeout behind it. */
  private static int guardOne(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT cutover.guard_tables(1)")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /**
   * One attempt at everything but the tables' guard, every statement under a short lock timeout;
   * the caller tries again a moment later when a lock was busy.
   */
  private static Void installOnce(Connection c, List<String> roles) throws SQLException {
    OptionalInt installed = installedVersion(c);
    if (installed.isPresent() && installed.getAsInt() > VERSION) {
      throw new SQLException("cutover: the control schema on this database is version " + installed.getAsInt()
          + ", newer than this driver's " + VERSION + "; upgrade the driver", "55000");
    }
    int major = majorVersion(c);
    try (Statement s = c.createStatement()) {
      // An install from before the release carried the target's fence epoch has the old steps.
      boolean replaceSteps = installed.isPresent() && !exists(s, "SELECT 1 FROM pg_attribute"
          + " WHERE attrelid = pg_catalog.to_regclass('cutover.switch') AND attname = 'target_epoch'");
      for (String sql : ControlSql.objects()) {
        s.execute(sql);
      }
      if (installed.isPresent() && installed.getAsInt() < VERSION) {
        upgradeFromVersion1(s);
      }
      if (replaceSteps) {
        for (String signature : ControlSql.REPLACED) {
          s.execute("DROP FUNCTION IF EXISTS cutover." + signature);
        }
      }
      for (String sql : ControlSql.functions(major)) {
        s.execute(sql);
      }
      for (String grant : ControlSql.grantAddedInPlace()) {
        s.execute(grant);
      }
      if (!exists(s, "SELECT 1 FROM pg_trigger WHERE tgname = 'cutover_barrier_once'"
          + " AND tgrelid = 'cutover.barrier'::regclass")) {
        for (String sql : ControlSql.barrierOnce(major)) {
          s.execute(sql);
        }
      }
      for (String table : ControlSql.LOCAL_TABLES) {
        if (!exists(s, "SELECT 1 FROM pg_trigger WHERE tgname = '" + ControlSql.LOCAL_ONLY_TRIGGER + "'"
            + " AND tgrelid = 'cutover." + table + "'::regclass")) {
          for (String sql : ControlSql.localOnly(major, table)) {
            s.execute(sql);
          }
        }
      }
      if (superuser(s)) {
        s.execute(ControlSql.guardNewTables(major));
        if (!exists(s, "SELECT 1 FROM pg_event_trigger WHERE evtname = '" + ControlSql.EVENT_TRIGGER + "'")) {
          s.execute(ControlSql.eventTrigger(major));
        }
      }
      // Takes back, among the rest, what PostgreSQL gives PUBLIC: EXECUTE on every new function.
      s.execute(ControlSql.seal());
      if (!exists(s, "SELECT 1 FROM cutover.lead_secret WHERE is_called")) {
        setLeadSecret(c, s);
      }
    }
    for (String role : roles.isEmpty() ? defaultRoles(c) : roles) {
      grant(c, role);
    }
    return null;
  }

  /**
   * Sets the lead secret without its value ever being in a statement's text or parameters, which
   * the server logs ({@code log_statement = all} a statement's text and, for a prepared one, its
   * parameters; {@code log_min_duration_statement} both; a failed one's text by {@code
   * log_min_error_statement}): it goes in as COPY data, which no setting logs, into a table that
   * lives only in this transaction (UNLOGGED, so not in the WAL a publication decodes), and from
   * there into the sequence. Made here rather than by the server: its {@code random()} is no
   * secret generator (before 12 seeded with 32 bits, the pid and start time), {@code
   * gen_random_bytes} needs pgcrypto and {@code gen_random_uuid} came with 13.
   */
  private static void setLeadSecret(Connection c, Statement s) throws SQLException {
    // Not IF NOT EXISTS: a table of that name already there is not ours to write the secret into.
    s.execute("CREATE UNLOGGED TABLE cutover.lead_secret_in (v bigint NOT NULL)");
    try {
      c.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY cutover.lead_secret_in (v) FROM STDIN",
          new StringReader((1 + (RANDOM.nextLong() >>> 1) % (Long.MAX_VALUE - 1)) + "\n"));
    } catch (IOException e) {
      throw new SQLException("cutover: cannot write the lead secret into cutover.lead_secret_in", "58030", e);
    }
    s.execute("SELECT setval('cutover.lead_secret', v, true) FROM cutover.lead_secret_in");
    s.execute("DROP TABLE cutover.lead_secret_in");
  }

  /** Version 1 had a 0/1 fence sequence: the fence's state moves to the epoch. */
  private static void upgradeFromVersion1(Statement s) throws SQLException {
    if (exists(s, "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE n.nspname = 'cutover' AND c.relname = 'fence_state'")) {
      s.execute("SELECT pg_catalog.setval('cutover.fence_epoch'::pg_catalog.regclass, 1, true) FROM cutover.fence_state"
          + " WHERE last_value = 1");
      s.execute("DROP SEQUENCE cutover.fence_state");
    }
  }

  /**
   * The roles that get the control plane when none are named: the installing role and the owners
   * of the application tables.
   */
  public static List<String> defaultRoles(Connection c) throws SQLException {
    List<String> roles = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT current_user::text UNION SELECT DISTINCT pg_catalog.pg_get_userbyid(c.relowner)::text FROM pg_catalog.pg_class c"
            + " JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
            + " AND c.relpersistence <> 't' AND ns.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover')"
            + " AND ns.nspname NOT LIKE 'pg\\_%' ORDER BY 1")) {
      while (rs.next()) {
        roles.add(rs.getString(1));
      }
    }
    return roles;
  }

  /**
   * The roles that may use the control plane on this database (every function it grants), by
   * name; superusers, who may anyway, are left out. Empty without a version-2 schema.
   */
  public static List<String> grantedRoles(Connection c) throws SQLException {
    return names(c, "SELECT r.rolname FROM pg_roles r WHERE NOT r.rolsuper AND " + grantedTo("r.oid") + " ORDER BY 1");
  }

  /** Whether {@code role} may use the control plane on this database. */
  public static boolean granted(Connection c, String role) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT " + grantedTo("r.oid") + " FROM pg_roles r WHERE r.rolname = ?")) {
      ps.setString(1, role);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  /** Functions of the control schema that every role may execute (a version-1 install left them so). */
  public static List<String> publicFunctions(Connection c) throws SQLException {
    return names(c, "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        + " WHERE n.nspname = 'cutover' AND pg_catalog.has_function_privilege('public'::pg_catalog.name, p.oid, 'EXECUTE') ORDER BY 1");
  }

  /** SQL: whether the role {@code roleOid} may execute every function the control plane grants. */
  private static String grantedTo(String roleOid) {
    return "(SELECT pg_catalog.count(*) = " + ControlSql.GRANTED.size() + " AND pg_catalog.bool_and(pg_catalog.has_function_privilege("
        + roleOid + ", f.oid, 'EXECUTE')) FROM pg_catalog.unnest(" + ControlSql.grantedOids() + ") f(oid) WHERE f.oid IS NOT NULL)";
  }

  private static List<String> names(Connection c, String sql) throws SQLException {
    return Queries.strings(c, sql);
  }

  private static void grant(Connection c, String role) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = ?")) {
      ps.setString(1, role);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new SQLException("cutover: role \"" + role + "\" named to use the control plane does not exist on this"
              + " server; create it, or correct the role named (--app-role)", "42704");
        }
      }
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT cutover.grant_control_plane(?)")) {
      ps.setString(1, role);
      ps.execute();
    }
  }

  /**
   * Takes back what roles other than the owner hold on the control schema's objects, beyond the
   * control plane's grants (see {@code ControlSql.seal}): for anyone who creates objects in it
   * after {@link #install}, such as the replicator, since default privileges grant each new one.
   */
  public static void seal(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(ControlSql.seal());
    }
  }

  /**
   * Removes the fence triggers and the schema; does nothing where they are absent. Each table's
   * trigger goes in a transaction of its own under the install's short lock timeout, retried as
   * the install is (up to about 20 s per table): DROP TRIGGER needs the table to itself, and all
   * in one transaction, waiting in a lock queue behind a long or prepared transaction, it held
   * every query of that table and of each one dropped before for as long, on the database the
   * application uses.
   */
  public static void uninstall(Connection c) throws SQLException {
    List<String> guarded = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_trigger g"
            + " JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            + " WHERE g.tgname = '" + TRIGGER + "'")) {
      while (rs.next()) {
        guarded.add(rs.getString(1));
      }
    }
    for (String table : guarded) {
      briefly(c, "DROP TRIGGER IF EXISTS " + TRIGGER + " ON " + table);
    }
    briefly(c, "DROP EVENT TRIGGER IF EXISTS " + ControlSql.EVENT_TRIGGER + "; DROP SCHEMA IF EXISTS cutover CASCADE");
  }

  /** Runs {@code sql} in a transaction of its own under the install's short lock timeout, retried as the install is. */
  private static void briefly(Connection c, String sql) throws SQLException {
    retried(c, () -> {
      try (Statement s = c.createStatement()) {
        s.execute(sql);
      }
      return null;
    });
  }

  /**
   * The installed version, or empty when there is no control schema.
   *
   * @throws SQLException 42501 when the schema is installed but the connected role may not use
   *     it, naming the role and the remedy
   */
  public static OptionalInt installedVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      // From the catalogs, which every role may read: looking up cutover.version() by name would
      // itself fail without USAGE on the schema.
      // The role's name as a literal from the server itself (quote_literal writes E'...' where a
      // backslash needs it, right whatever standard_conforming_strings is where it is pasted) and
      // as a shell word: the remedy, pasted, grants exactly this role whatever its name holds.
      try (ResultSet rs = s.executeQuery("SELECT pg_catalog.has_function_privilege(p.oid, 'EXECUTE'), current_user,"
          + " pg_catalog.quote_literal(current_user)"
          + " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
          + " WHERE n.nspname = 'cutover' AND p.proname = 'version' AND p.pronargs = 0")) {
        if (!rs.next()) {
          return OptionalInt.empty();
        }
        if (!rs.getBoolean(1)) {
          throw new SQLException("cutover: the control schema is installed but role " + rs.getString(2)
              + " may not use it; grant it to the role (cutover-replicator start --app-role " + Quoting.shellWord(rs.getString(2))
              + ", or SELECT cutover.grant_control_plane(" + rs.getString(3) + ") as the installer)", "42501");
        }
      }
      try (ResultSet rs = s.executeQuery("SELECT cutover.version()")) {
        rs.next();
        return OptionalInt.of(rs.getInt(1));
      }
    }
  }

  private static int majorVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW server_version_num")) {
      rs.next();
      return Integer.parseInt(rs.getString(1)) / 10_000;
    }
  }

  private static boolean superuser(Statement s) throws SQLException {
    return exists(s, "SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper");
  }

  private static boolean exists(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      return rs.next();
    }
  }

  /**
   * {@code work} in one transaction that first takes the install lock, so that installers and
   * uninstallers go one at a time; every lock of it, that one too, waited for at most the short
   * lock timeout, and the whole tried again for up to {@link #LOCK_RETRY} ({@link LockRetry}).
   * An install lock still busy then is refused naming its holder ({@link InstallLock}). Under
   * {@code search_path = pg_catalog, pg_temp} for the transaction: the install's statements and DO
   * blocks call built-ins by name, and a function of another role's in a schema of the caller's
   * path whose argument types match exactly ({@code public.format(text, name, name)},
   * CVE-2018-1058) would win and run as the installer.
   */
  private static <T> T retried(Connection c, Transactions.Work<T> work) throws SQLException {
    try {
      return LockRetry.within(LOCK_RETRY, () -> Transactions.inTransaction(c, () -> {
        try (Statement s = c.createStatement()) {
          s.execute("SET LOCAL lock_timeout = '" + LOCK_TIMEOUT_MILLIS + "ms'; SET LOCAL search_path = pg_catalog, pg_temp");
          InstallLock.take(s);
        }
        return work.run();
      }));
    } catch (InstallLock.Busy e) {
      throw InstallLock.refusal(c, LOCK_RETRY.toSeconds() + " s");
    }
  }
}
