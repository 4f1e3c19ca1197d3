package dev.cutover.driver.internal.switching;

import dev.cutover.common.Poll;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.control.SameDatabase;
import dev.cutover.driver.control.SessionIdentity;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Sequences;
import dev.cutover.driver.internal.control.TablePrivileges;
import dev.cutover.common.TransactionHolders;
import dev.cutover.driver.internal.session.Backend;
import dev.cutover.driver.internal.session.CustomSettings;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.postgresql.core.Utils;

/**
 * What every switch checks on both databases before it holds anything, rather than once when the
 * router starts: a database gains its control schema when the replicator starts after the
 * application, and either side can sit behind a connection pooler.
 *
 * <ul>
 *   <li>The switch's own connections (leader lock, fence, barrier, ending stragglers by process id)
 *       must be real sessions. A pooler or proxy that answers the protocol itself reports, at
 *       connect, a backend process id that is not the server process answering: that is how one
 *       is told from a plain TCP relay, which passes the server's own id through. Without a direct
 *       URL for that side the switch is refused, whatever {@code cutover.switch.force} says.
 *   <li>Neither may be a standby (in recovery: a reader endpoint, a read replica), whatever {@code
 *       cutover.switch.force} says: asked in the same query.
 *   <li>The two must be two databases ({@link SameDatabase}), whatever {@code cutover.switch.force} says.
 *   <li>Neither may start the switch's sessions read-only, nor the target the application's ({@link
 *       #readOnlyProblem}: {@code default_transaction_read_only}), whatever {@code cutover.switch.force} says.
 *   <li>Both databases must carry the control schema of this driver's version, or the switch is
 *       refused unless {@code cutover.switch.force=true}.
 *   <li>The application's sessions on the source must not start in replica mode, where the fence
 *       does not fire (see {@link #fenceBypassed}), or the switch is refused unless forced.
 *   <li>The switch's connection to the source must see the start of this instance's sessions'
 *       processes there, or the drain and the hand-over could not tell them from later ones (see
 *       {@link #unseenSessions}), whatever {@code cutover.switch.force} says.
 *   <li>The source must hold no prepared transaction in this database once those there had the
 *       drain timeout to end (see {@link #preparedTransactions}), whatever {@code
 *       cutover.switch.force} says.
 *   <li>Transactions on the target's server that would keep the way back's replication slot from
 *       being made as the target opens must end within the drain timeout, or the switch is refused
 *       unless forced (see {@link #slotBlockersLeft}).
 *   <li>The target must have, on every table both have, what the source enforces or runs there
 *       (constraints, unique indexes, triggers, rules, row level security), or the switch is refused
 *       unless forced (see {@link SchemaGaps}).
 *   <li>The target must have every sequence of the source, or the switch is refused unless forced
 *       (see {@link Sequences#missing}).
 *   <li>The application's role must be granted on the target's tables what it is on the source's
 *       ({@link #missingGrants}), whatever {@code cutover.switch.force} says: a forced switch would
 *       not lose the writes, but every transaction that needs one would fail there.
 *   <li>The custom settings sessions carry are found anew (see {@link CustomSettings}).
 * </ul>
 */
final class SwitchCheck {
  /** How many sequences, tables or schemas a refusal names in its prose. */
  private static final int NAMED = 5;

  private SwitchCheck() {}

  /**
   * The reason to refuse the switch, or empty; records what it found on the router. {@code reached}
   * is the backend {@code source} answers on.
   */
  static Optional<String> run(Router router, Target from, Target to, Connection source, Backend reached,
      Connection target)
      throws SQLException {
    List<String> problems = new ArrayList<>();
    for (Target side : new Target[] {from, to}) {
      Connection c = side == from ? source : target;
      String problem = sessionProblem(router, side, c);
      if (problem != null) {
        problems.add(problem);
      } else {
        router.handover().pooled(side, appPooled(router, side));
      }
    }
    if (!problems.isEmpty()) {
      return refuse(router, String.join("; ", problems));
    }
    if (SameDatabase.of(source, target)) {
      return refuse(router, "the old and the new database are one and the same (a lock taken on the " + from.value()
          + " database was refused on the " + to.value() + " one): a switch would fence the database the application runs on"
          + " and move nothing; point cutover.new.url (and cutover.new.direct-url, where set) at the new database");
    }
    try (Connection app = appSession(router, to)) {
      String readOnly = readOnlyProblem(app, to, "the application's sessions",
          "after the switch every write of the application there would fail");
      if (readOnly != null) {
        return refuse(router, readOnly);
      }
    }
    for (Target side : new Target[] {from, to}) {
      String readOnly = readOnlyProblem(side == from ? source : target, side, "the switch's own sessions",
          "the switch writes there (the fence, the barrier, the sequences, the release) and would fail with the"
          + " application held at its gate");
      if (readOnly != null) {
        return refuse(router, readOnly);
      }
    }
    List<String> missing = new ArrayList<>();
    for (Target side : new Target[] {from, to}) {
      String problem = controlProblem(side == from ? source : target, side);
      if (problem != null) {
        missing.add(problem);
      }
    }
    router.control(missing.isEmpty());
    if (!missing.isEmpty() && !router.settings().force()) {
      return refuse(router, String.join(" and ", missing) + ": a switch could neither fence "
          + from.value() + " (I2) nor prove that replication caught up (I1, I4); install it on both databases"
          + " (cutover-replicator start does, or ControlSchema.install), or set cutover.switch.force=true to switch"
          + " without these guarantees");
    }
    if (missing.isEmpty() && !router.settings().force()) {
      String bypass = fenceBypassed(router, from);
      if (bypass != null) {
        return refuse(router, bypass);
      }
    }
    String unseen = unseenSessions(router, source, reached, from, to);
    if (unseen != null) {
      return refuse(router, unseen);
    }
    String prepared = missing.isEmpty() ? preparedTransactionsLeft(source, from, router.settings().drainTimeout()) : null;
    if (prepared != null) {
      return refuse(router, prepared);
    }
    String slotBlocked = missing.isEmpty() ? slotBlockersLeft(target, to, router.settings().drainTimeout()) : null;
    if (slotBlocked != null && !router.settings().force()) {
      return refuse(router, slotBlocked);
    }
    String uncarried = router.settings().force() ? null : CarriedTables.fromSource(source, from, to);
    if (uncarried != null) {
      return refuse(router, uncarried);
    }
    String gaps = router.settings().force() ? null : SchemaGaps.refusal(source, target, from, to);
    if (gaps != null) {
      return refuse(router, gaps);
    }
    String sequences = router.settings().force() ? null : missingSequences(source, target, from, to);
    if (sequences != null) {
      return refuse(router, sequences);
    }
    String grants = missingGrants(source, target, from, to);
    if (grants != null) {
      return refuse(router, grants);
    }
    router.handover().customSettings(router.handover().pooled(from)
        ? null : CustomSettings.discover(source, router.settings().customSettings()));
    router.pending(List.of());
    return Optional.empty();
  }

  /**
   * Why the switch is refused for the sequences of {@code source} that {@code target} lacks ({@link
   * Sequences#missing}), naming up to five, or {@code null}. Before, the switch completed and warned
   * "sequences missing on", and the application's next {@code nextval} on one failed there (r22).
   */
  static String missingSequences(Connection source, Connection target, Target from, Target to) throws SQLException {
    List<String> missing = Sequences.missing(source, target);
    if (missing.isEmpty()) {
      return null;
    }
    return "sequence(s) " + named(missing) + " of the " + from.value()
        + " database are missing on " + to.value() + ": after the switch the application's nextval on them would fail there"
        + " (42P01), and the switch could not move them past " + from.value() + "'s values. Replication carries no schema"
        + " change made on " + from.value() + " alone (a sequence created there after the switch): create each on " + to.value()
        + " (`cutover-replicator status` prints the statement), and the switch, tried again while the flag asks, moves it;"
        + " drop it on " + from.value() + " if nothing uses it; or set cutover.switch.force=true to switch without it";
  }

  /**
   * Why the switch is refused for the privileges the application's role (the switch's connections'
   * own) has on {@code from}'s tables and lacks on {@code to}'s ({@link TablePrivileges}), with the
   * GRANTs that end it, or {@code null}. Before, the switch completed and every transaction that
   * needed one then failed on {@code to} with 42501 (r34: 1,703 of 1,703); {@code cutover-replicator
   * status} and {@code check --app-role} said so, the driver did not.
   */
  static String missingGrants(Connection source, Connection target, Target from, Target to) throws SQLException {
    TablePrivileges.Lacking lacking = TablePrivileges.lacking(source, target);
    if (lacking.isEmpty()) {
      return null;
    }
    String role = Utils.escapeIdentifier(null, target.getMetaData().getUserName()).toString();
    Map<List<String>, List<String>> byPrivileges = new LinkedHashMap<>();
    lacking.tables().forEach((table, privileges) -> byPrivileges.computeIfAbsent(privileges, p -> new ArrayList<>()).add(table));
    List<String> what = new ArrayList<>();
    List<String> grants = new ArrayList<>();
    if (!lacking.schemas().isEmpty()) {
      what.add("USAGE on schema(s) " + named(lacking.schemas()));
      grants.add("GRANT USAGE ON SCHEMA " + String.join(", ", lacking.schemas()) + " TO " + role);
    }
    byPrivileges.forEach((privileges, tables) -> {
      what.add(String.join(", ", privileges) + " on " + named(tables));
      grants.add("GRANT " + String.join(", ", privileges) + " ON TABLE " + String.join(", ", tables) + " TO " + role);
    });
    return "role " + role + " lacks on " + to.value() + " what it has on " + from.value() + ": " + String.join("; ", what)
        + "; after the switch every statement of the application's that needs it would fail there with 42501 (permission"
        + " denied), so the switch would complete and the application's transactions would not; on " + to.value()
        + " (as the tables' owner or a superuser; where its schema changes are captured, after SET cutover.ddl_capture = off) run "
        + String.join("; ", grants) + "; or, where the application does not need it, revoke it on " + from.value()
        + " too; the switch, tried again while the flag asks, then goes through (cutover-replicator check --app-role"
        + " compares every application role's grants)";
  }

  /** Up to {@link #NAMED} of {@code names}, and how many more. */
  private static String named(List<String> names) {
    return String.join(", ", names.subList(0, Math.min(NAMED, names.size())))
        + (names.size() > NAMED ? " and " + (names.size() - NAMED) + " more" : "");
  }

  /**
   * Why the switch's connection to {@code from} cannot see the start of this instance's sessions'
   * processes there ({@link Backend#hidden}: it logs in as another role, without {@code
   * pg_read_all_stats}), or {@code null}. Such a switch would close its gate and then abort: in the
   * drain, unable to see whether a rolled-back straggler's process ended, or in the hand-over,
   * unable to read an idle session's advisory locks; the application paused, and the stragglers
   * lost their transactions, for a switch that could not go through. Asked of every session, busy
   * or idle, whose process runs on the server the switch reaches ({@code reached}'s; the drain and
   * the hand-over deal with the others); one that logs in after this is left to them.
   */
  static String unseenSessions(Router router, Connection source, Backend reached, Target from, Target to)
      throws SQLException {
    if (router.handover().pooled(from)) {
      return null;
    }
    List<Backend> theirs = new ArrayList<>();
    for (Session s : router.sessions()) {
      if (s.side() == from && s.backendPid() > 0) {
        theirs.add(s.backend());
      }
    }
    if (theirs.isEmpty()) {
      return null;
    }
    List<Backend> here = theirs.stream().filter(b -> b.sameServer(reached)).toList();
    Backend.Hidden hidden = here.isEmpty() ? null : Backend.hidden(source, here);
    if (hidden == null || hidden.pids().isEmpty()) {
      return null;
    }
    return "the switch could neither see whether a straggler's rolled-back transaction on " + from.value() + " ended"
        + " nor read an idle session's advisory locks there to carry them to " + to.value() + " (backends "
        + hidden.pids() + "), so it would abort with the application held at its gate: " + Switchover.unseen(hidden, from);
  }

  private static Optional<String> refuse(Router router, String reason) {
    router.pending(List.of(reason));
    return Optional.of(reason);
  }

  /**
   * Why the switch's own connection to {@code side} is no real session on a primary (a pooler's, or
   * a standby's), or {@code null} when it is one.
   */
  static String sessionProblem(Router router, Target side, Connection c) throws SQLException {
    SessionIdentity id = SessionIdentity.of(c);
    if (id.direct()) {
      return id.standby() ? standbyProblem(side) : null;
    }
    String key = "cutover." + side.value() + ".direct-url";
    if (router.settings().directUrl(side).isPresent()) {
      return key + " reaches a connection pooler or proxy too (" + id + "): point it at the database itself";
    }
    return "the " + side.value() + " database is reached through a connection pooler or proxy (" + id + "): the"
        + " switch needs a session of its own there for its leader lock, the fence, the barrier and ending"
        + " stragglers; set " + key + " to a jdbc:postgresql: URL of the database itself"
        + (id.server() == null ? "" : " (the pooler's server is " + id.server() + ")");
  }

  /**
   * Why a database that is a standby (in recovery: a reader endpoint, a read replica) cannot take
   * part: the switch writes on both sides (the fence, the barrier, the sequences, the release), and
   * a target that is one would leave the application on a database that refuses every write.
   */
  private static String standbyProblem(Target side) {
    String url = side == Target.NEW ? "cutover.new.url" : "the application's URL";
    return "the " + side.value() + " database is a standby (a server in recovery, read-only: a reader endpoint or a read replica):"
        + " a switch writes there, and the application could not; point " + url + " (and cutover." + side.value()
        + ".direct-url, where set) at the primary (the writer endpoint; with several hosts, targetServerType=primary)";
  }

  /**
   * Why sessions opened as {@code c} was on {@code side} cannot write, or {@code null}: they start
   * read-only ({@code default_transaction_read_only = on}, a common maintenance fence, set for the
   * database, the role, the role in the database, the server, or by the URL's {@code options}). A
   * standby is told apart before ({@link #standbyProblem}). Asked of a connection opened the way the
   * switch's own or the application's are, so that the role's and the URL's settings apply; the
   * remedy follows where {@code pg_settings} says the default comes from.
   *
   * @param whose whose sessions {@code c} stands for
   * @param why what would fail
   */
  static String readOnlyProblem(Connection c, Target side, String whose, String why) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_catalog.current_setting("
        + "'transaction_read_only'), d.setting, d.source, current_user, pg_catalog.current_database()"
        + " FROM pg_catalog.pg_settings d WHERE d.name = 'default_transaction_read_only'")) {
      if (!rs.next() || !"on".equals(rs.getString(1)) && !"on".equals(rs.getString(2))) {
        return null;
      }
      String source = rs.getString(3);
      String role = Utils.escapeIdentifier(null, rs.getString(4)).toString();
      String database = Utils.escapeIdentifier(null, rs.getString(5)).toString();
      String reset = " RESET default_transaction_read_only";
      String[] origin = switch (source == null ? "" : source) {
        case "database" -> new String[] {"a default of database " + database, "ALTER DATABASE " + database + reset};
        case "user" -> new String[] {"a default of role " + role, "ALTER ROLE " + role + reset};
        case "database user" -> new String[] {"a default of role " + role + " in database " + database,
            "ALTER ROLE " + role + " IN DATABASE " + database + reset};
        case "client" -> new String[] {"set by the connection", "remove it from the URL's options (cutover." + side.value()
            + ".url, cutover." + side.value() + ".direct-url" + (side == Target.OLD ? ", the application's URL" : "")
            + ") or PGOPTIONS"};
        case "configuration file" -> new String[] {"set in the server's configuration",
            "ALTER SYSTEM" + reset + " (or edit postgresql.conf) and reload"};
        default -> new String[] {"from " + (source == null ? "an unknown source" : source), "ALTER DATABASE " + database
            + reset + ", ALTER ROLE " + role + reset + " or ALTER ROLE " + role + " IN DATABASE " + database + reset};
      };
      return whose + " on the " + side.value() + " database start read-only (default_transaction_read_only = on, "
          + origin[0] + "; a maintenance fence left in place?): " + why + "; " + origin[1]
          + ("database".equals(source) ? " (as a superuser or the database's owner)" : " (as a superuser)")
          + ", then switch again";
    }
  }

  /** Whether the application's connections to {@code side} go through a pooler: only possible with a direct URL. */
  private static boolean appPooled(Router router, Target side) throws SQLException {
    if (router.settings().directUrl(side).isEmpty()) {
      return false;
    }
    try (Connection app = appSession(router, side)) {
      return !SessionIdentity.of(app).direct();
    }
  }

  /**
   * Why the application's sessions on {@code from} would write past the fence, or {@code null}: the
   * fence is an ordinary trigger, which does not fire with {@code session_replication_role =
   * replica} (so that replication applies past it), and a role, database or server default, or the
   * URL's {@code options}, can start every session so. Their writes after the switch would land on
   * the fenced database and never reach the other (I2). Asked of an application connection, which
   * carries what the application's do.
   */
  /**
   * A session by the application's path to {@code side}, within the barrier timeout: a pooler
   * whose every server connection the application holds queues it, and the check fails saying so,
   * not as a silent network once the switch's whole budget ran out.
   */
  private static Connection appSession(Router router, Target side) throws SQLException {
    try {
      return router.openAppCheck(side);
    } catch (SQLException e) {
      String bound = router.settings().barrierTimeout().toMillis() + " ms";
      throw new SQLException("cutover: the switch could not get a session by the application's URL to the " + side.value()
          + " database within " + bound + " (cutover.barrier.timeout), which it needs to check that path: behind a pooler"
          + " whose every server connection the application holds (a session-mode pool no larger than the application's,"
          + " or transactions holding a transaction-mode one), its login waits in the pooler's queue; give the pooler's"
          + " pool room for one more connection than the application's pools take, or see the cause: " + e.getMessage(),
          e.getSQLState(), e);
    }
  }

  static String fenceBypassed(Router router, Target from) throws SQLException {
    try (Connection app = appSession(router, from); Statement s = app.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT pg_catalog.current_setting('session_replication_role'), current_user, pg_catalog.current_database()")) {
      rs.next();
      if (!"replica".equals(rs.getString(1))) {
        return null;
      }
      String role = Utils.escapeIdentifier(null, rs.getString(2)).toString();
      String database = Utils.escapeIdentifier(null, rs.getString(3)).toString();
      return "the application's sessions on the " + from.value() + " database start with session_replication_role ="
          + " replica (a default of role " + role + ", of the database or the server, or the URL's options), so the fence"
          + " would not stop their writes after the switch and they would be lost (I2); remove that default (ALTER ROLE "
          + role + " IN DATABASE " + database + " RESET session_replication_role, ALTER ROLE " + role + " RESET"
          + " session_replication_role or ALTER DATABASE " + database + " RESET session_replication_role, as a superuser),"
          + " or set cutover.switch.force=true to switch without this guarantee";
    }
  }

  /**
   * Why prepared transactions on {@code from} stand in the switch's way, or {@code null}: a
   * transaction prepared for two-phase commit (PREPARE TRANSACTION, as XA transaction managers
   * leave one between their two phases, or for ever when they crash) keeps the locks of its writes,
   * so raising the fence, which waits for every writer, would wait for it with the application held
   * at the gate until the drain timeout; and its writes would commit on the fenced side after the
   * switch. Those of other databases do not matter. Also said when the fence fails while one is
   * there (one prepared after this check).
   */
  static String preparedTransactions(Connection source, Target from) throws SQLException {
    List<String> found = new ArrayList<>();
    int count = 0;
    try (Statement s = source.createStatement(); ResultSet rs = s.executeQuery("SELECT p.gid, p.owner, p.prepared,"
        + " count(*) OVER () FROM pg_catalog.pg_prepared_xacts p WHERE p.database = pg_catalog.current_database()"
        + " ORDER BY p.prepared LIMIT 5")) {
      while (rs.next()) {
        found.add("'" + rs.getString(1) + "' of role " + rs.getString(2) + " since " + rs.getString(3));
        count = rs.getInt(4);
      }
    }
    if (found.isEmpty()) {
      return null;
    }
    return "the " + from.value() + " database holds " + count + " prepared transaction(s) (PREPARE TRANSACTION, as XA"
        + " transaction managers leave them): " + String.join(", ", found) + (count > found.size() ? ", ..." : "")
        + "; the fence would wait for their locks with the application held, and their writes would commit on "
        + from.value() + " after the switch; let their transaction manager finish them, or COMMIT PREPARED or ROLLBACK"
        + " PREPARED them there (pg_prepared_xacts lists them), then switch again";
  }

  /**
   * {@link #preparedTransactions} once those there have had up to {@code patience} to end, the gate
   * still open: a transaction manager between its two phases finishes one within moments, one that
   * crashed never does.
   */
  static String preparedTransactionsLeft(Connection source, Target from, Duration patience) throws SQLException {
    String[] left = new String[1];
    Poll.every(Duration.ofMillis(10), Duration.ofMillis(200)).within(patience, () -> (left[0] = preparedTransactions(source, from)) == null);
    return left[0];
  }

  /**
   * Why the way back's replication slots stand in the switch's way, or {@code null}. The replicator
   * asks the switch to create them on the target as it opens it ({@code reverse --prepare}), after
   * the release, with the application held; and a logical slot's creation waits for every
   * transaction that holds a transaction id on the target's server, in any database (a transaction
   * prepared and left, a session idle in a writing transaction, a long batch job). So those running
   * now get up to {@code patience}, the gate still open, and any left refuse the switch, naming
   * them; unless forced, when the switch opens the target without the slot if it cannot be made
   * within moments ({@code Switchover.slotWait}), the bound a transaction that begins after this
   * check and holds on meets too.
   */
  static String slotBlockersLeft(Connection target, Target to, Duration patience) throws SQLException {
    List<String> slots;
    try {
      slots = Coordination.slotsAtSwitch(target);
    } catch (SQLException e) {
      if (!"42883".equals(e.getSQLState())) {
        throw e;
      }
      return "the control schema on the " + to.value() + " database predates this driver (it lacks"
          + " cutover.slots_at_switch()): upgrade it in place (ControlSchema.install, which the replicator's"
          + " start runs, as the schema's owner), then switch again";
    }
    if (slots.isEmpty()) {
      return null;
    }
    Set<String> running = TransactionHolders.now(target);
    List<Set<String>> left = new ArrayList<>(List.of(running));
    Poll.every(Duration.ofMillis(10), Duration.ofMillis(200)).within(patience,
        () -> {
          left.set(0, TransactionHolders.left(target, running));
          return left.get(0).isEmpty();
        });
    String named = TransactionHolders.describe(target, left.get(0), ": ");
    if (named.isEmpty()) {
      return null;
    }
    return "the switch must create the way back's replication slot(s) " + String.join(", ", slots) + " on the " + to.value()
        + " database as it opens it, and creating a slot waits for every transaction that holds a transaction id on that"
        + " server (any database); these did not end within the drain timeout (cutover.drain.timeout)" + named
        + "; end them (COMMIT PREPARED or ROLLBACK PREPARED a prepared transaction; commit, roll back or pg_terminate_backend"
        + " a session's) and switch again, or set cutover.switch.force=true to switch anyway (" + to.value() + " then opens"
        + " without the slot if it cannot be made within a second, and the way back is armed afresh, missing the writes in"
        + " between)";
  }

  /** What {@link #controlProblem} says of a side without any control schema (none installed, or removed by cleanup). */
  static String noControlSchema(Target side) {
    return "the " + side.value() + " database has no Cutover control schema";
  }

  /** Why {@code side} cannot coordinate a switch, or {@code null} when its control schema is there. */
  static String controlProblem(Connection c, Target side) throws SQLException {
    OptionalInt version;
    try {
      version = ControlSchema.installedVersion(c);
    } catch (SQLException e) {
      if (!"42501".equals(e.getSQLState())) {
        throw e;
      }
      return "on the " + side.value() + " database, " + e.getMessage().replaceFirst("^cutover: ", "");
    }
    if (version.isEmpty()) {
      return noControlSchema(side);
    }
    if (version.getAsInt() != ControlSchema.VERSION) {
      return "the control schema on the " + side.value() + " database is version " + version.getAsInt()
          + ", this driver speaks " + ControlSchema.VERSION;
    }
    return null;
  }
}
