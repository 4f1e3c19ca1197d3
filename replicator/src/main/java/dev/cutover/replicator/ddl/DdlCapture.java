package dev.cutover.replicator.ddl;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.ShortLocks;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Schema changes made during the migration window travel in the change stream, so that each
 * applies on the other side at the same point as on its own: the rows written before it apply
 * against the old shape, those after against the new one.
 *
 * <p>Design notes. On each side, event triggers ({@code ddl_command_end}; {@code ddl_command_start}
 * for CREATE TABLE AS and SELECT INTO, whose rows follow in the stream; {@code sql_drop};
 * {@code table_rewrite}) call the SECURITY DEFINER function {@code cutover.ddl_capture()}, which
 * inserts the statement, the role and search_path it ran with, and the objects it touched into
 * {@code cutover.ddl_log}, a replicated table. On the other side a trigger on that table, ENABLE
 * ALWAYS so that it fires inside the apply worker (and the trigger engine's applier), both with
 * {@code session_replication_role = replica}, runs the statement as that role ({@code
 * cutover.ddl_apply()}). The event triggers are ENABLE ALWAYS: a superuser's change made with
 * {@code session_replication_role = replica} (a data fix, another replication tool) is captured
 * too, where ordinary event triggers would miss it and stop the apply at the first row that uses
 * it. The replay turns capture off ({@code cutover.ddl_capture}) while it runs, so nothing loops
 * back.
 *
 * <ul>
 *   <li><b>Which statement.</b> {@code current_query()} is the client's whole query string, which
 *       may hold several statements (or data changes, which replicate by themselves). It is split
 *       at top-level semicolons as PostgreSQL's lexer would (with the writer's
 *       {@code standard_conforming_strings}, which decides whether a backslash ends a literal), and
 *       each event is matched to the next statement whose keywords, outside literals and comments,
 *       are its command tag's and, where a statement that fires no event trigger starts alike (a
 *       role's GRANT, a COMMENT on a role), whose object is of a kind that fires one, of the type
 *       the event trigger reports. A command run inside a function or DO
 *       block (the PL/pgSQL context shows more than our own frame) has no statement of its own:
 *       it is logged without one, and {@code status} asks for it by hand.</li>
 *   <li><b>Who may write the log.</b> Only the event trigger's function: the table is revoked
 *       from PUBLIC, and the function takes no argument. The role a change is replayed as is the
 *       session's current role (the {@code role} setting, else {@code session_user}), which is
 *       exactly what the session could do anyway; the replay never runs as the superuser that
 *       owns the apply (a SECURITY DEFINER function created on old by an application role would
 *       otherwise belong to the superuser on new).</li>
 *   <li><b>New tables join replication with their rows.</b> A table created on old is published
 *       at once (FOR ALL TABLES; a listed publication gets it added in the same transaction). The
 *       apply worker skips changes of tables that are not in {@code pg_subscription_rel}; the
 *       replay inserts the table there, state ready, in the same transaction that creates it.
 *       Every row it will ever hold comes later in the stream, so no copy is needed. (A
 *       {@code REFRESH PUBLICATION} cannot run inside the apply transaction, and one run later by
 *       a process would have to copy the rows the apply worker skipped meanwhile.) A table that
 *       was there before and became published (SET LOGGED) has rows old holds and new does not:
 *       it is inserted in state init instead, after new's copy of it is emptied, so that a table
 *       sync copies old's rows (see {@code UnsubscribedTables}).</li>
 *   <li><b>Values computed at the change.</b> A column added with a non-constant default
 *       ({@code now()}, {@code current_user}) gives existing rows one value, stored as the
 *       column's missing value: the log carries old's, and the replay sets it on new. A column
 *       filled row by row with a volatile default ({@code random()}, a sequence) rewrites the
 *       table, which is not in the stream: refused on a table that has rows, with the way to do
 *       it that replicates; so is a column given a new type by a {@code USING} expression that
 *       the replay would compute anew ({@code random()}, {@code now()}), found by the function
 *       names in the statement ({@code cutover.ddl_unrepeatable}).</li>
 *   <li><b>Rows that follow.</b> CREATE TABLE AS and SELECT INTO are replayed with no rows of
 *       their own (SELECT INTO as {@code CREATE TABLE ... AS ... WITH NO DATA}, since PL/pgSQL's
 *       {@code EXECUTE} refuses it; CREATE TABLE AS emptied after): old's arrive next in the
 *       stream. Done by hand, such a table must be created empty, which the replay's hint says.</li>
 *   <li><b>What every new table needs.</b> The driver's fence trigger, so that the switch fences
 *       it too; REPLICA IDENTITY FULL while it has no key, so that UPDATE and DELETE on it keep
 *       working on old once published.</li>
 * </ul>
 *
 * <p>Event triggers need a superuser (RDS: rds_superuser). Without one nothing is captured:
 * {@code check} says so, and {@code status} compares both schemas and prints the statements to
 * run. The replicator's own sessions set {@code cutover.ddl_capture = off}, so its index builds and
 * control-schema installs are not captured.
 */
public final class DdlCapture {
  /** Event triggers, in the database (not in the schema): dropped explicitly. */
  private static final String[][] EVENT_TRIGGERS = {
    {"cutover_ddl_start", "ddl_command_start WHEN TAG IN ('CREATE TABLE AS', 'SELECT INTO')"},
    {"cutover_ddl_end", "ddl_command_end"},
    {"cutover_ddl_drop", "sql_drop"},
    {"cutover_ddl_rewrite", "table_rewrite"},
  };
  private static final String SCRIPT = script();

  /** The log, a replicated table. */
  public static final TableName LOG = new TableName("cutover", "ddl_log");

  private DdlCapture() {}

  /**
   * Installs the log and its apply trigger on {@code c}, the {@code side} database, and the
   * capture where the role may create event triggers; needs the control schema. Idempotent.
   *
   * @return a warning when schema changes on this side cannot be captured, else null
   */
  public static String install(Connection c, Side side) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(SCRIPT.replace(":side", Sql.literal(side.label())));
    }
    ControlSchema.seal(c);
    if (!Capabilities.mayCreateEventTriggers(c)) {
      return "schema changes on " + side.label() + " are not captured: event triggers need a superuser (RDS: rds_superuser), and "
          + Catalog.currentUser(c) + " is not one; a change there stops replication until it is made on the other side too"
          + " (`cutover-replicator status` compares both schemas and prints the statements)";
    }
    try (Statement s = c.createStatement()) {
      for (String[] t : EVENT_TRIGGERS) {
        s.execute("DROP EVENT TRIGGER IF EXISTS " + t[0]);
        s.execute("CREATE EVENT TRIGGER " + t[0] + " ON " + t[1] + " EXECUTE PROCEDURE cutover.ddl_capture()");
        s.execute("ALTER EVENT TRIGGER " + t[0] + " ENABLE ALWAYS");
      }
    }
    return null;
  }

  /**
   * Fails when old's log holds a schema change inside {@code snapshot}: one made while start was
   * getting ready, after the tables were planned and before the copy's snapshot, which the copy
   * cannot place.
   */
  public static void requireNoneBefore(Endpoint old, String snapshot) throws Exception {
    try (Connection c = old.connect()) {
      Sql.execute(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      Sql.execute(c, "SET TRANSACTION SNAPSHOT " + Sql.literal(snapshot));
      if (logExists(c) && Sql.number(c, "SELECT count(*) FROM cutover.ddl_log") > 0) {
        throw new ReplicatorException(Failure.PRECONDITION, "old: the schema changed while start was getting ready ("
            + Sql.string(c, "SELECT string_agg(tag, ', ' ORDER BY at) FROM cutover.ddl_log") + ")", "run start again");
      }
    }
  }

  /** Whether schema changes on this database are captured (the event trigger exists and is enabled). */
  public static boolean installed(Connection c) throws SQLException {
    return Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'cutover_ddl_end' AND evtenabled <> 'D')");
  }

  /**
   * Empties old's log before the copy (the schema changes before it are in the copied schema): a
   * TRUNCATE, whose lock every later schema change on old (each writes the log) queues behind, so
   * it is tried briefly and refused naming the log rather than waiting for a migration left open.
   */
  public static void emptyLog(Connection old) throws SQLException, ReplicatorException {
    ShortLocks.run(old, "old", List.of(LOG), "to empty it before the copy", () -> {
      Sql.execute(old, "TRUNCATE " + LOG.quoted());
      return null;
    });
  }

  /** Whether the log exists here (it may without capture: the side only receives). */
  public static boolean logExists(Connection c) throws SQLException {
    return Sql.relationExists(c, "cutover.ddl_log");
  }

  /** Whether the log exists here and this role may read it (it is revoked from PUBLIC). */
  public static boolean logReadable(Connection c) throws SQLException {
    return logExists(c) && Sql.bool(c, "SELECT has_table_privilege('cutover.ddl_log', 'SELECT')");
  }

  /** Removes the event triggers; the rest goes with the control schema. */
  public static void uninstall(Connection c) throws SQLException {
    for (String[] t : EVENT_TRIGGERS) {
      Sql.execute(c, "DROP EVENT TRIGGER IF EXISTS " + t[0]);
    }
  }

  /**
   * Refuses {@code id} when neither side's log holds it (where the log is readable): marking it would
   * be reported as done while the change the operator meant stays pending (a mistyped id). Names the
   * changes still pending: logged on one side only, or without a statement, and marked done on
   * neither. Nothing to check where neither side's log is readable.
   */
  public static void requireLogged(Connection o, Connection n, String id) throws SQLException, ReplicatorException {
    Map<String, Logged> logged = new LinkedHashMap<>();
    Set<String> done = new HashSet<>();
    boolean readable = false;
    for (Connection c : List.of(o, n)) {
      if (logReadable(c)) {
        readable = true;
        done.addAll(Sql.strings(c, "SELECT id FROM cutover.ddl_done"));
        for (String[] row : Sql.rows(c, "SELECT id, source, tag, command IS NULL FROM cutover.ddl_log ORDER BY at")) {
          logged.merge(row[0], new Logged(row[1], row[2], "t".equals(row[3]) || "true".equals(row[3]), 1),
              (a, b) -> new Logged(a.source(), a.tag(), a.byHand() || b.byHand(), a.sides() + b.sides()));
        }
      }
    }
    if (!readable || logged.containsKey(id)) {
      return;
    }
    List<String> pending = new ArrayList<>();
    logged.forEach((change, l) -> {
      if (!done.contains(change) && (l.byHand() || l.sides() == 1)) {
        pending.add(change + " (" + l.tag() + " on " + l.source() + ")");
      }
    });
    throw new ReplicatorException(Failure.PRECONDITION, "no schema change " + id + " in cutover.ddl_log on old or new, so"
        + " nothing was marked; pending: " + (pending.isEmpty() ? "none"
            : String.join(", ", pending.subList(0, Math.min(10, pending.size())))
                + (pending.size() > 10 ? " and " + (pending.size() - 10) + " more" : "")),
        "copy the id from `cutover-replicator status`, which names each change that needs a step by hand");
  }

  /** A logged change: its side, its tag, whether it came without a statement, on how many sides it is logged. */
  private record Logged(String source, String tag, boolean byHand, int sides) {}

  /** Marks a schema change as done by hand: its replay is skipped, and status stops asking for it. */
  public static void markDone(Connection c, String id) throws SQLException {
    try (java.sql.PreparedStatement ps = Sql.prepare(c, "INSERT INTO cutover.ddl_done (id) VALUES (?) ON CONFLICT DO NOTHING", id)) {
      ps.executeUpdate();
    }
  }

  private static String script() {
    try (InputStream in = DdlCapture.class.getResourceAsStream("/dev/cutover/replicator/ddl/ddl-capture.sql")) {
      if (in == null) {
        throw new IllegalStateException("ddl-capture.sql is missing from the replicator's jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
