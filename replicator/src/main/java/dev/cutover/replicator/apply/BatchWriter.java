package dev.cutover.replicator.apply;

import dev.cutover.common.Transactions;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.FirstLine;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.capture.ChangeLog;
import dev.cutover.replicator.capture.ChangeLog.Change;
import dev.cutover.replicator.copy.TriggersOff;
import dev.cutover.replicator.ddl.DdlCapture;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Column;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * Writes batches of captured changes into one target connection, each batch in one transaction,
 * in the order given; one instance per connection, used by one thread.
 *
 * <p>Design notes. Each change becomes {@code EXECUTE} of a statement prepared once per session
 * and shape (table, operation, columns) with {@code PREPARE}; the row travels as JSON and
 * {@code json_to_record} reads the columns it needs, each as its type on the target, so every
 * value goes through its type's input function on the target exactly as the source printed it;
 * a json column whose value is the JSON null is named by the change (see {@link #value}). Statements
 * are sent in groups of {@value #GROUP}, each group one string in one simple-protocol message
 * (the connection comes from {@code Endpoint.connectSimpleProtocol}: a third faster than a JDBC
 * batch of the same statements), and the position update ends the batch, in one message with the
 * COMMIT. A row is found by the target's key (primary key, else replica identity or
 * unique index); by the old key where the change carries one (the key changed); and, for a
 * table without a key, by the whole old row's text, one matching row at a time. Consecutive
 * TRUNCATEs of one transaction become one statement, as they were one on the source (tables a
 * foreign key ties together can only be truncated together). After a change of
 * {@code cutover.ddl_log} (a schema change run on the target by its trigger) everything learnt
 * about the target's tables is forgotten. A replayed {@code ALTER TYPE ... ADD VALUE} is committed
 * ahead of the batch on a connection of its own ({@link EnumValuesAhead}), so that the batch's
 * later transactions may use the value.
 *
 * <p>Memory. A batch is as large as the source's transactions, one of which may write millions of
 * rows or gigabytes of text in one go; the writer never holds a batch whole. What has gathered is
 * sent as soon as it is {@value #GROUP} statements or {@link #SEND_CHARS} characters of rows in
 * statements (16 Mi; a statement of held rows is at most {@value #HELD} of them, or what passed
 * that many characters), and held-back rows are written out at {@value #HELD} changes or as many
 * characters; the batch's transaction stays open on the target across the sends, which only
 * commits at the batch's end, so it is applied whole or not at all as before. Unsent, the writer
 * thus holds at most about twice {@link #SEND_CHARS} characters of rows (as changes held back, and
 * as statement text), plus one row of any size; a sent group is kept only until its answer, to
 * name its changes in an error. Sending at {@value #GROUP} statements alone, a transaction of large
 * rows regrouped {@value #HELD} per statement was held whole (up to 500,000 changes, twice), and
 * ran the apply out of heap at every try of the same batch.
 *
 * <p>Many rows per statement. A statement costs the target far more than the row it writes (a
 * multi-row UPDATE over {@code json_populate_recordset} cost a third of single-row EXECUTEs per row,
 * measured by hand), but a batch interleaves its tables. So where nothing on the target can see the
 * order in which different tables' rows are written inside the batch's transaction, changes are
 * held back per table and written table by table, each table's changes in their own order, runs of
 * the same kind and columns as one statement. Nothing can see it when: the session runs with
 * {@code session_replication_role = replica} (no foreign key checks, no ordinary triggers), the
 * table has no trigger that fires there anyway (ENABLE ALWAYS or REPLICA) and no rule, and it is
 * not in schema {@code cutover} (schema changes, the switch's barrier). Every other change is a
 * barrier: what is held is written first. Inserts run in their order inside one statement, as they
 * would one by one; deletes by key cannot collide. Updates that keep the key go as one statement
 * only where the key is the table's sole unique index (no exclusion constraint), so rows written in
 * another order inside the statement cannot collide either. An UPDATE ... FROM writes a row once
 * however many source rows match it, so a key that repeats in a run keeps only its latest image:
 * each captured update carries the whole new row, and nothing on the target sees the row between
 * two updates of one batch, so the latest image is the row the updates in order would leave. A hot
 * row (a counter, a branch total) is thus written once per run rather than once per change, each
 * write walking the versions the batch's earlier ones left. Keys are compared by their text, so
 * only tables whose key types have canonical text (integers, text, uuid) are regrouped this way;
 * a missing row updated several times in one run counts once in {@code missing}. The batch commits
 * as one transaction, so readers see the same state either way.
 */
final class BatchWriter {
  private static final int GROUP = 500;
  /** Characters of rows and statements gathered, unsent, at which they are sent (see the class notes). */
  static final int SEND_CHARS = 16 << 20;
  /** Changes held back per table (see the class notes) before they are written. */
  private static final int HELD = 1000;
  /** Key types whose text is the value's only text, so equal text is equal keys: int2, int4, int8, text, varchar, uuid. */
  private static final Set<Long> CANONICAL_KEY_TYPES = Set.of(21L, 23L, 20L, 25L, 1043L, 2950L);
  private static final String UNDEFINED_COLUMN = "42703";
  private static final String UNDEFINED_TABLE = "42P01";
  /** "unsafe use of new value ... of enum type": a value added by the same, uncommitted transaction. */
  private static final String UNSAFE_NEW_ENUM_VALUE = "55P04";
  /** SQLState class 22, data exception: a value its type's input refuses, JSON that cannot be read. */
  private static final String DATA_EXCEPTION = "22";
  private static final String INSUFFICIENT_PRIVILEGE = "42501";
  /** The alias of the table an UPDATE or DELETE writes (see {@link #target}). */
  private static final String TARGET = "t";

  private final Connection target;
  private final String targetLabel;
  private final TriggersOff triggersOff;
  private final Map<TableName, TableInfo> tables = new HashMap<>();
  private final Map<TableName, Cascades> cascading = new HashMap<>();
  private final Map<TableName, Regroup> regroup = new HashMap<>();
  /** Per table, its GENERATED ALWAYS identity columns ({@link #alwaysIdentity}). */
  private final Map<TableName, Set<String>> identityAlways = new HashMap<>();
  private final Map<String, String> prepared = new HashMap<>();
  private int statementCount;
  private final int sendChars;
  /** Characters of the statements in {@link #sql} that carry rows ({@link #queue}). */
  private long queuedChars;
  /** Characters of the rows {@link #held}. */
  private long heldChars;

  /** The current batch. */
  private final List<String> sql = new ArrayList<>();
  /** Per entry of {@link #sql}: the changes it applies (one, or a run of one table's), or null for other statements. */
  private final List<List<Change>> applies = new ArrayList<>();
  /** Changes held back per table, in order (see the class notes). */
  private final Map<TableName, List<Change>> held = new LinkedHashMap<>();
  private int heldCount;
  /** Tables whose own triggers are off in this batch (see {@link #turnOff}). */
  private final Set<TableName> disabled = new HashSet<>();
  /** Tables whose triggers are off in this batch along with those of every table their cascading foreign keys reach. */
  private final Set<TableName> reached = new HashSet<>();
  private final List<TableName> truncating = new ArrayList<>();
  private long truncatingTxid;
  private long changes;
  private long missing;

  /** The statement each batch begins with, or null. */
  private final String opening;
  private boolean opened;
  /** Where an enum value a replayed schema change adds is committed ahead of the batch, or null. */
  private final EnumValuesAhead enumValues;

  BatchWriter(Connection target, String targetLabel, TriggersOff triggersOff) throws SQLException {
    this(target, targetLabel, triggersOff, null, null);
  }

  /**
   * @param opening a statement each batch runs before anything else ({@link ApplyProgress#markSql}), or null
   * @param targetEndpoint the target, where an enum value that a replayed schema change adds is committed ahead
   *     of the batch ({@link EnumValuesAhead}); null: replayed inside the batch only
   */
  BatchWriter(Connection target, String targetLabel, TriggersOff triggersOff, String opening, Endpoint targetEndpoint) throws SQLException {
    this(target, targetLabel, triggersOff, opening, targetEndpoint, SEND_CHARS);
  }

  /** As above, sending what has gathered once it holds {@code sendChars} characters (tests: small, to see a batch sent in pieces). */
  BatchWriter(Connection target, String targetLabel, TriggersOff triggersOff, String opening, Endpoint targetEndpoint, int sendChars)
      throws SQLException {
    this.sendChars = sendChars;
    this.target = target;
    this.targetLabel = targetLabel;
    this.triggersOff = triggersOff;
    this.opening = opening;
    this.enumValues = targetEndpoint == null ? null : new EnumValuesAhead(targetEndpoint);
    // A committed batch lets the source let go of what it held: the relay confirms its slot (the
    // source drops the WAL), trigger capture trims its log by the position. So it must be on the
    // target's disk whatever the target's database or role says: with synchronous_commit off, a
    // crash of the target lost batches the source no longer had, and the apply could only refuse.
    Sql.execute(target, "SET synchronous_commit = on");
    triggersOff.session(target);
    // The target's capture triggers (ENABLE ALWAYS, never turned off) leave this session out by
    // its token, in either mode, those made after it began included.
    ApplyToken.carry(target);
    if (triggersOff == TriggersOff.IN_TRANSACTION) {
      TriggerSwitch.install(target);
    }
    Sql.execute(target, "SET standard_conforming_strings = on");
    target.setAutoCommit(false);
  }

  /** Which changes of a table may be held back and written many rows per statement (see the class notes). */
  private enum Regroup { NONE, INSERT_DELETE, ALL }

  /** Adds one change of the current batch; sends what has gathered when a group is full (see the class notes). */
  void add(Change c) throws SQLException, ReplicatorException {
    open();
    changes++;
    TableName table = new TableName(c.schema(), c.table());
    if (c.op() != 'T' || c.txid() != truncatingTxid) {
      endTruncate();
    }
    if (holds(table, c)) {
      held.computeIfAbsent(table, t -> new ArrayList<>()).add(c);
      heldChars += length(c.newRow()) + length(c.oldKey());
      if (++heldCount >= HELD || heldChars >= sendChars) {
        release();
        if (full()) {
          send();
        }
      }
      return;
    }
    release();
    turnOff(table, c.op());
    boolean schemaChange = table.equals(DdlCapture.LOG);
    if (schemaChange) {
      checkDeferred();
    }
    if (enumValues != null && c.op() == 'I' && triggersOff == TriggersOff.REPLICA_ROLE && schemaChange) {
      // Replayed only with session_replication_role = replica (cutover.ddl_apply), so only then ahead.
      enumValues.commit(c.newRow());
    }
    switch (c.op()) {
      case 'T' -> {
        truncating.add(table);
        truncatingTxid = c.txid();
      }
      case 'I' -> queue(insert(table, List.of(c)), List.of(c));
      case 'U' -> update(table, c);
      case 'D' -> queue(delete(table, List.of(c)), List.of(c));
      default -> throw new IllegalStateException("unknown change kind '" + c.op() + "' in the change log");
    }
    if (schemaChange) {
      deferAgain();
      sendUnbounded();
      // The replay may have run code of the role that made the change, which can set this
      // session's settings for good (its search_path above all): set ours again before anything else.
      Endpoint.resetSession(target);
      Sql.execute(target, "SET synchronous_commit = on; SET standard_conforming_strings = on");
      ApplyToken.setAgain(target);
      forget();
      captureAfterSchemaChange();
    } else if (full()) {
      send();
    }
  }

  /** Whether what has gathered is to be sent now: {@value #GROUP} statements, or {@link #sendChars} characters of them. */
  private boolean full() {
    return sql.size() >= GROUP || queuedChars >= sendChars;
  }

  /**
   * Ends the batch: triggers turned back on, the position moved by the statement {@code advance}
   * makes of the count of changes that found no row (UPDATE, DELETE), commit. The position and the
   * COMMIT go in one message, one round trip fewer than a commit of its own: a failure of either
   * throws here, and the transaction is then rolled back whole, as a failed commit is.
   *
   * @return that count
   */
  long commit(java.util.function.LongFunction<String> advance) throws SQLException, ReplicatorException {
    open();
    release();
    endTruncate();
    if (!disabled.isEmpty()) {
      checkDeferred();
      sql.add(TriggerSwitch.on());
      applies.add(null);
    }
    send();
    long notFound = missing;
    sql.add(advance.apply(notFound));
    applies.add(null);
    sql.add("COMMIT");
    applies.add(null);
    send();
    reset();
    return notFound;
  }

  /** Characters of rows this writer holds unsent now, held back or in statements: what the batch costs in memory beyond its changes in flight. */
  long unsentChars() {
    return queuedChars + heldChars;
  }

  /** Changes added to the current batch so far. */
  long changes() {
    return changes;
  }

  /** Abandons the current batch (rolls back). */
  void rollback() throws SQLException {
    reset();
    target.rollback();
  }

  /**
   * Abandons the current batch after {@code failure}, which the caller then throws. A target whose
   * statement went unanswered was closed by PgJDBC and refuses the rollback; the refusal is kept as
   * suppressed, so that the applier still sees the timeout and names the silent side.
   */
  void abandon(Exception failure) {
    reset();
    Transactions.afterRollback(target, false, failure);
  }

  /** Queues the opening statements at the start of a batch. */
  private void open() {
    if (!opened && opening != null) {
      sql.add(opening);
      applies.add(null);
    }
    if (!opened) {
      deferAgain();
    }
    opened = true;
  }

  /**
   * Defers the target's DEFERRABLE constraints to the end of the batch, where the mode checks them
   * ({@link TriggersOff#IN_TRANSACTION}; in replica mode no constraint trigger fires at all). The
   * source checked them at its commits, which may be later than each statement: a key swap in one
   * UPDATE, or any state an application's {@code SET CONSTRAINTS ... DEFERRED} allowed. Replayed
   * row by row and checked at each statement, such changes failed the batch for ever; the state at
   * the batch's end is the source's at a commit, valid there.
   */
  private void deferAgain() {
    if (triggersOff == TriggersOff.IN_TRANSACTION) {
      sql.add("SET CONSTRAINTS ALL DEFERRED");
      applies.add(null);
    }
  }

  /**
   * Checks the deferred constraints now, before an ALTER TABLE or TRUNCATE: PostgreSQL refuses
   * either on a table with checks still pending ("cannot ALTER TABLE ... because it has pending
   * trigger events"), which deferring leaves after each change of a deferrable key or foreign key.
   */
  private void checkDeferred() {
    if (triggersOff == TriggersOff.IN_TRANSACTION) {
      sql.add("SET CONSTRAINTS ALL IMMEDIATE");
      applies.add(null);
    }
  }

  private void reset() {
    opened = false;
    sql.clear();
    applies.clear();
    disabled.clear();
    reached.clear();
    truncating.clear();
    held.clear();
    heldCount = 0;
    heldChars = 0;
    queuedChars = 0;
    changes = 0;
    missing = 0;
  }

  private void queue(String statement, List<Change> cs) {
    sql.add(statement);
    applies.add(cs);
    queuedChars += statement.length();
  }

  private static int length(String s) {
    return s == null ? 0 : s.length();
  }

  /** Whether {@code c} may be held back with its table's other changes (see the class notes). */
  private boolean holds(TableName table, Change c) throws SQLException {
    if (triggersOff != TriggersOff.REPLICA_ROLE || c.op() == 'T' || "cutover".equals(table.schema())) {
      return false;
    }
    Regroup r = regroup(table);
    return switch (c.op()) {
      case 'I' -> r != Regroup.NONE;
      case 'D' -> r != Regroup.NONE && byKey(table(table), JsonKeys.of(c.oldKey()));
      case 'U' -> r == Regroup.ALL && c.oldKey() == null;
      default -> false;
    };
  }

  private Regroup regroup(TableName t) throws SQLException {
    Regroup known = regroup.get(t);
    if (known == null) {
      // Keys are compared by their text: a nondeterministic collation (12+) makes different texts one key.
      String textIsKey = Sql.majorVersionOf(target) < 12 ? "" : " AND NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a"
          + " ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) JOIN pg_collation co ON co.oid = a.attcollation"
          + " WHERE i.indrelid = t.r AND i.indisunique AND NOT co.collisdeterministic)";
      String[] row = Sql.rows(target, "WITH t AS (SELECT ?::regclass AS r)"
          + " SELECT NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = t.r AND NOT tgisinternal AND tgenabled IN ('A', 'R'))"
          + " AND NOT EXISTS (SELECT 1 FROM pg_rewrite WHERE ev_class = t.r AND rulename <> '_RETURN'),"
          + " (SELECT count(*) FROM pg_index WHERE indrelid = t.r AND indisunique) <= 1"
          + " AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = t.r AND contype = 'x')" + textIsKey + " FROM t",
          t.regclass()).get(0);
      TableInfo info = table(t);
      boolean canonicalKey = info.hasKey() && info.key().stream().allMatch(k -> info.column(k) != null
          && CANONICAL_KEY_TYPES.contains(info.column(k).typeOid()));
      // An update that keeps the key keeps a GENERATED ALWAYS identity column in it, left out of SET (see update()).
      Set<String> always = alwaysIdentity(t);
      boolean setsByKey = info.key().containsAll(always)
          && info.columns().stream().anyMatch(col -> !col.generated() && !always.contains(col.name()));
      known = !"t".equals(row[0]) ? Regroup.NONE : "t".equals(row[1]) && canonicalKey && setsByKey ? Regroup.ALL : Regroup.INSERT_DELETE;
      regroup.put(t, known);
    }
    return known;
  }

  /** Writes what is held, table by table, runs of one kind and shape as one statement each. */
  private void release() throws SQLException {
    if (heldCount == 0) {
      return;
    }
    for (Map.Entry<TableName, List<Change>> e : held.entrySet()) {
      TableName t = e.getKey();
      TableInfo info = table(t);
      List<Change> run = new ArrayList<>();
      Map<List<String>, Integer> updated = new HashMap<>();
      String runShape = null;
      for (Change c : e.getValue()) {
        String row = c.op() == 'D' ? c.oldKey() : c.newRow();
        String shape = c.op() + "|" + (c.op() == 'D' ? JsonKeys.of(row) : writable(info, JsonKeys.of(row)));
        List<String> key = c.op() == 'U' ? JsonKeys.values(c.newRow(), info.key()) : null;
        // An update whose key is not known by its text, or a row naming JSON nulls (see rows()), is a run of its own.
        boolean alone = c.op() == 'U' && key == null || !JsonKeys.nulls(row).isEmpty();
        if (!shape.equals(runShape) || alone) {
          writeRun(t, run);
          run.clear();
          updated.clear();
        }
        Integer earlier = key == null ? null : updated.putIfAbsent(key, run.size());
        if (earlier == null) {
          run.add(c);
        } else {
          run.set(earlier, c); // the row's later image supersedes the earlier one (see the class notes)
        }
        runShape = alone ? null : shape;
      }
      writeRun(t, run);
    }
    held.clear();
    heldCount = 0;
    heldChars = 0;
  }

  private void writeRun(TableName t, List<Change> run) throws SQLException {
    if (run.isEmpty()) {
      return;
    }
    List<Change> cs = List.copyOf(run);
    switch (cs.get(0).op()) {
      case 'I' -> queue(insert(t, cs), cs);
      case 'U' -> {
        if (cs.size() == 1) {
          update(t, cs.get(0));
        } else {
          queue(updateByKey(t, cs), cs);
        }
      }
      default -> queue(delete(t, cs), cs);
    }
  }

  private void endTruncate() {
    if (!truncating.isEmpty()) {
      checkDeferred();
      sql.add("TRUNCATE ONLY " + truncating.stream().map(TableName::quoted).collect(Collectors.joining(", ")));
      applies.add(null);
      deferAgain();
      truncating.clear();
    }
  }

  /**
   * Turns the table's triggers and rules off before its first change in this batch, where the mode
   * needs it; before its first UPDATE or DELETE also those of every table its cascading foreign
   * keys reach ({@link TriggerSwitch}): the target's own ON DELETE/UPDATE action writes them
   * there, and their triggers must not fire for it, as they would not in replica mode (where
   * nothing cascades) and did not for the changes the cascade made on the source, which arrive
   * anyway. An INSERT or TRUNCATE cascades nowhere, so a table that only takes inserts (a hub
   * that many tables refer to) leaves its children alone.
   */
  private void turnOff(TableName table, char op) {
    if (triggersOff == TriggersOff.REPLICA_ROLE) {
      return;
    }
    boolean cascades = op == 'U' || op == 'D';
    boolean first = cascades ? reached.add(table) : !reached.contains(table) && !disabled.contains(table);
    if (first) {
      disabled.add(table);
      sql.add(TriggerSwitch.off(table, cascades));
      applies.add(null);
    }
  }

  /**
   * Sends what is gathered, ending with a schema change replayed by the target's trigger, with no
   * network timeout: an index build or a table rewrite may take long, and giving it up would only
   * start it over.
   */
  private void sendUnbounded() throws SQLException, ReplicatorException {
    Sql.answeringWithin(Duration.ZERO, () -> {
      send();
      return null;
    }, target);
  }

  /**
   * Sends the statements gathered so far as one string in one round trip and checks what each
   * change did: every statement returns exactly one update count, in order.
   */
  private void send() throws SQLException, ReplicatorException {
    if (sql.isEmpty()) {
      return;
    }
    int i = 0;
    try (Statement s = target.createStatement()) {
      s.execute(String.join(";\n", sql));
      do {
        List<Change> cs = i < applies.size() ? applies.get(i) : null;
        if (cs != null && cs.get(0).op() != 'I' && s.getUpdateCount() < cs.size() && !cascaded(cs.get(0))) {
          missing += cs.size() - s.getUpdateCount();
        }
        i++;
      } while (s.getMoreResults() || s.getUpdateCount() != -1);
    } catch (SQLException e) {
      List<Change> group = applies.stream().filter(java.util.Objects::nonNull).flatMap(List::stream).toList();
      String what = group.isEmpty() ? "a statement of the batch" : "changes " + group.get(0).seq() + " to "
          + group.get(group.size() - 1).seq() + " (" + group.stream().map(c -> kind(c.op()) + " " + c.schema() + "." + c.table())
          .distinct().limit(5).collect(Collectors.joining(", ")) + ")";
      boolean enumValue = UNSAFE_NEW_ENUM_VALUE.equals(e.getSQLState());
      // A schema change's replay (cutover.ddl_apply) says in its hint what to do by hand, which
      // depends on the change (a table whose rows follow must be created empty): passed on, as
      // the message's first line is all that is kept of it.
      ServerErrorMessage server = e instanceof PSQLException p ? p.getServerErrorMessage() : null;
      String hint = server != null && String.valueOf(server.getMessage()).startsWith("cutover: the schema change ")
          ? server.getHint() : null;
      if (e.getSQLState() != null && e.getSQLState().startsWith(DATA_EXCEPTION)) {
        ReplicatorException unreadable = unreadable(group, e);
        if (unreadable != null) {
          throw unreadable;
        }
      }
      Refusal refusal = INSUFFICIENT_PRIVILEGE.equals(e.getSQLState()) ? refusal(group) : null;
      if (refusal != null) {
        throw new ReplicatorException(Failure.PRECONDITION, targetLabel + ": applying " + what + " failed: "
            + FirstLine.of(e.getMessage()) + ": " + refusal.what(), refusal.remedy(), e);
      }
      throw new ReplicatorException(Failure.PRECONDITION, targetLabel + ": applying " + what + " failed: " + FirstLine.of(e.getMessage())
          + (enumValue ? ": a schema change of this same batch added the value, and it could not be committed on " + targetLabel
              + " ahead of the batch (the apply's log says why), so the batch's transaction may not use it yet" : ""),
          enumValue ? "commit the value on " + targetLabel + " by hand: run the ALTER TYPE ... ADD VALUE IF NOT EXISTS of that schema"
              + " change there (`cutover-replicator status` prints it); its replay then finds the value and the apply goes on"
              : hint != null ? "on " + targetLabel + ": " + hint
              : "fix the cause on " + targetLabel + " (see `cutover-replicator status`)", e);
    }
    sql.clear();
    applies.clear();
    queuedChars = 0;
  }

  /** What the apply's role lacks on a table of the target, and the statement that gives it. */
  private record Refusal(String what, String remedy) {}

  /**
   * After 42501 in a group: the first of its tables on which the role the apply writes as is
   * neither a member of the owner (which triggers off by ALTER TABLE need) nor holds a privilege
   * its changes need, with the remedy; null where it lacks nothing there (another object refused
   * it). The remedy used to be "fix the cause on new (see `cutover-replicator status`)", and status
   * quoted it back (r34). Run on the failure path only: the batch is rolled back first.
   */
  private Refusal refusal(List<Change> group) throws SQLException {
    target.rollback();
    Map<TableName, Set<String>> needed = new LinkedHashMap<>();
    for (Change c : group) {
      Set<String> privileges = needed.computeIfAbsent(new TableName(c.schema(), c.table()), t -> new TreeSet<>());
      privileges.add(kind(c.op()));
      if (c.op() == 'U' || c.op() == 'D') {
        privileges.add("SELECT"); // the key in its WHERE clause is read
      }
    }
    String role = Catalog.currentUser(target);
    String as = "role " + role + ", as which the apply writes into " + targetLabel + ", ";
    for (Map.Entry<TableName, Set<String>> e : needed.entrySet()) {
      TableName t = e.getKey();
      String table = t.sqlName();
      String[] owner = Sql.rows(target, "SELECT pg_get_userbyid(relowner), pg_has_role(relowner, 'USAGE')::text FROM pg_class"
          + " WHERE oid = ?::regclass", t.regclass()).stream().findFirst().orElse(null);
      if (owner == null) {
        continue;
      }
      if (!Boolean.parseBoolean(owner[1]) && triggersOff != TriggersOff.REPLICA_ROLE) {
        return new Refusal(as + "neither owns " + table + " nor is a member of its owner " + owner[0] + " (it turns the"
            + " table's triggers off there in each batch)", "ALTER TABLE " + table + " OWNER TO " + Sql.ident(role) + ", or GRANT "
            + Sql.ident(owner[0]) + " TO " + Sql.ident(role) + ", on " + targetLabel + "; the apply retries the batch");
      }
      List<String> lacking = new ArrayList<>();
      for (String privilege : e.getValue()) {
        if (!Sql.bool(target, "SELECT has_table_privilege(?::regclass, ?)", t.regclass(), privilege)) {
          lacking.add(privilege);
        }
      }
      if (!lacking.isEmpty()) {
        String privileges = String.join(", ", lacking);
        return new Refusal(as + "lacks " + privileges + " on " + table + " (owned by " + owner[0] + ")", "GRANT " + privileges
            + " ON " + table + " TO " + Sql.ident(role) + " on " + targetLabel + " (or make it the owner or a member of the owner,"
            + " with its privileges); the apply retries the batch");
      }
    }
    return null;
  }

  /**
   * After a data exception (22xxx) in a group: the first of its changes whose logged JSON the
   * target's column types cannot read at all ({@code json_to_record} alone, the value or the JSON
   * itself, such as a string holding {@code \u0000}; the failure says which of the two, {@link #jsonRefused}),
   * as a failure that says retrying cannot help,
   * or null when each reads (the exception came from writing, a cause on the target). Run on the
   * failure path only: the batch is rolled back first, each change read in a statement of its own.
   */
  private ReplicatorException unreadable(List<Change> group, SQLException failure) throws SQLException {
    target.rollback();
    try {
      for (Change c : group) {
        String read = readOnly(c);
        if (read == null) {
          continue;
        }
        try (Statement s = target.createStatement()) {
          s.execute(read);
        } catch (SQLException e) {
          target.rollback();
          if (e.getSQLState() == null || !e.getSQLState().startsWith(DATA_EXCEPTION)) {
            continue;
          }
          String table = c.schema() + "." + c.table();
          boolean json = jsonRefused(c);
          String neverApplied = "the change can never be applied: stop the writes of such values into " + table + " on the source,"
              + " then `cutover-replicator cleanup` and `start` again, which copies the table as it is";
          return new ReplicatorException(Failure.PRECONDITION, targetLabel + ": applying change " + c.seq() + " (" + kind(c.op()) + " "
              + table + ") failed: " + FirstLine.of(e.getMessage()) + ": " + (json ? targetLabel + "'s JSON functions refuse the row"
              + " the source logged, whatever the columns' types (a value the capture should have carried as its text)"
              : targetLabel + "'s column types cannot read the row the source logged") + ", so " + ApplyFailures.HOPELESS
              + " (the change stays next in line, and every later one waits behind it)",
              Side.OLD.label().equals(targetLabel) ? wayBackRemedy(c, table) : json ? neverApplied : "if a column of " + table
              + " has another type on " + targetLabel + " than on the source, change it on " + targetLabel + " to the source's type and"
              + " the apply goes on; otherwise " + neverApplied,
              failure);
        }
      }
      return null;
    } finally {
      target.rollback();
    }
  }

  /**
   * Whether the target's JSON parse refuses {@code c}'s logged JSON itself, before any column's
   * type reads a value ({@code json_each_text} unescapes every string, as {@code json_to_record}
   * does): a string holding the escape of NUL, say. Rolls back after a failure.
   */
  private boolean jsonRefused(Change c) throws SQLException {
    for (String json : new String[] {c.newRow(), c.oldKey()}) {
      if (json == null) {
        continue;
      }
      try (Statement s = target.createStatement()) {
        s.execute("SELECT count(*) FROM pg_catalog.json_each_text(" + Sql.literal(json) + "::pg_catalog.json)");
      } catch (SQLException e) {
        target.rollback();
        if (e.getSQLState() != null && e.getSQLState().startsWith(DATA_EXCEPTION)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * What to do about a change of new that old cannot read, on the way back: old is the side the
   * service left, so the forward remedy (cleanup, then start again) would remove the way back with
   * every change old has not got, and start copies old onto new. The change stays first in line
   * whatever happens on new later, so the value must go both from new's rows and from the logged
   * rows that hold it, which the apply reads again at its next try.
   */
  private static String wayBackRemedy(Change c, String table) {
    return "this is the way back (new -> old) into old, the side the service left: `cutover-replicator cleanup` and `start` again"
        + " are no remedy (cleanup removes the way back with every change old has not got, and start copies old onto new). If a"
        + " column of " + table + " has another type on old than on new, change it on old to new's type and the apply goes on."
        + " Otherwise old's version cannot hold the value, and the way back stays blocked at change " + c.seq() + " (a switch back"
        + " to old cannot catch up meanwhile) until the value is gone from new and from the changes that logged it: stop the"
        + " application writing such values into " + table + " on new, change the rows holding one there to values old can read,"
        + " then rewrite each logged row holding one in new's change log the same way, this one first (on new: UPDATE"
        + " cutover.change_log_0 SET new_row = '<the row as old can read it>' WHERE seq = " + c.seq() + ", and the same on"
        + " cutover.change_log_1, which holds it if _0 does not; old_key too where the key holds such a value); the apply takes"
        + " them at its next try. Or give the way back up once no flip back is wanted: `cutover-replicator cleanup --give-up-way-back`";
  }

  /** A statement that only reads {@code c}'s logged row (and old key) as the target's types, or null for a change with neither. */
  private String readOnly(Change c) throws SQLException {
    if (c.op() == 'T') {
      return null;
    }
    TableInfo info = table(new TableName(c.schema(), c.table()));
    List<String> parts = new ArrayList<>();
    if (c.newRow() != null) {
      List<String> cols = writable(info, JsonKeys.of(c.newRow()));
      parts.add("(SELECT count(*) FROM " + rows(info, Sql.literal(c.newRow()) + "::json", false, JsonKeys.nulls(c.newRow()), cols, "r") + ")");
    }
    if (c.oldKey() != null) {
      List<String> cols = matched(info, JsonKeys.of(c.oldKey()));
      parts.add("(SELECT count(*) FROM " + rows(info, Sql.literal(c.oldKey()) + "::json", false, JsonKeys.nulls(c.oldKey()), cols, "o") + ")");
    }
    return parts.isEmpty() ? null : "SELECT " + String.join(" + ", parts);
  }

  /**
   * Whether a change that found no row is expected: with foreign keys checked
   * ({@link TriggersOff#IN_TRANSACTION}) the target's own ON DELETE/UPDATE actions have already
   * done what the source logged after the change that caused them (PostgreSQL fires a cascade's
   * row triggers after the causing row's). Only what such an action can do counts: a DELETE where
   * a key of the table deletes on cascade; an UPDATE that finds its row by the old key or old row
   * (the key, or for a table without one the row, changed) where a key of the table updates on
   * cascade or sets null or a default. An UPDATE found by its unchanged key found its row on the
   * source and the cascade leaves the key alone, so one that finds nothing is a row new lacks,
   * unless a DEFERRABLE key deletes on cascade: deferred on the source to its commit, such a
   * cascade may run earlier on the target, where the batch checks its deferred constraints before
   * a TRUNCATE or a schema change.
   */
  private boolean cascaded(Change c) throws SQLException {
    if (triggersOff == TriggersOff.REPLICA_ROLE) {
      return false;
    }
    TableName table = new TableName(c.schema(), c.table());
    Cascades known = cascading.get(table);
    if (known == null) {
      String[] row = Sql.rows(target, "SELECT coalesce(bool_or(confdeltype = 'c'), false),"
          + " coalesce(bool_or(confupdtype IN ('c', 'n', 'd') OR confdeltype IN ('n', 'd')), false),"
          + " coalesce(bool_or(confdeltype = 'c' AND condeferrable), false)"
          + " FROM pg_constraint WHERE contype = 'f' AND conrelid = ?::regclass", table.regclass()).get(0);
      known = new Cascades("t".equals(row[0]), "t".equals(row[1]), "t".equals(row[2]));
      cascading.put(table, known);
    }
    return switch (c.op()) {
      case 'D' -> known.deletes();
      case 'U' -> known.deferredDeletes() || c.oldKey() != null && known.moves();
      default -> false;
    };
  }

  /** What the target's foreign keys of a table do to it on cascade (see {@link #cascaded}). */
  private record Cascades(boolean deletes, boolean moves, boolean deferredDeletes) {
  }

  /**
   * The table's GENERATED ALWAYS identity columns (10+), which take the source's value only when
   * told to: an INSERT with {@code OVERRIDING SYSTEM VALUE}, and an UPDATE never (it may set them
   * to {@code DEFAULT} only; see {@link #update}).
   */
  private Set<String> alwaysIdentity(TableName table) throws SQLException {
    Set<String> known = identityAlways.get(table);
    if (known == null) {
      known = Sql.majorVersionOf(target) < 10 ? Set.of() : Set.copyOf(Sql.strings(target, "SELECT attname::text FROM pg_attribute"
          + " WHERE attrelid = ?::regclass AND attidentity = 'a' AND NOT attisdropped", table.regclass()));
      identityAlways.put(table, known);
    }
    return known;
  }

  /**
   * After a schema change replayed here: where this side captures too (the way back is armed), a
   * table it created gets its capture triggers, and altered ones get theirs again, in the batch's
   * transaction. The event trigger that does this for the application's own schema changes does
   * it here too, where it exists; this is for a role that may set {@code session_replication_role}
   * but not create event triggers, and for an install whose event trigger skips replica mode.
   */
  private void captureAfterSchemaChange() throws SQLException {
    if (Sql.bool(target, "SELECT to_regprocedure('cutover.capture_table(pg_catalog.regclass, boolean)') IS NOT NULL")) {
      Sql.bool(target, "SELECT count(cutover.capture_table(c.oid, true)) >= 0 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND " + Catalog.SYSTEM_SCHEMA_FILTER);
    }
  }

  /** Forgets what was learnt about the target's tables and statements, after a schema change. */
  private void forget() throws SQLException {
    try (Statement s = target.createStatement()) {
      for (String name : prepared.values()) {
        s.execute("DEALLOCATE " + name);
      }
    }
    prepared.clear();
    tables.clear();
    cascading.clear();
    regroup.clear();
    identityAlways.clear();
  }

  private TableInfo table(TableName t) throws SQLException {
    TableInfo info = tables.get(t);
    if (info == null) {
      info = Catalog.describe(target, t).orElseThrow(() -> new SQLException(targetLabel + ": table " + t + " does not exist, and the"
          + " source's changes write it (renamed or created there, a schema change that did not reach " + targetLabel + "); rename or"
          + " create it here as it is there (`cutover-replicator status` prints the statement); the apply goes on once it exists",
          UNDEFINED_TABLE));
      tables.put(t, info);
    }
    return info;
  }

  /**
   * Columns of {@code row} the target table has and can be written (not generated). A column the
   * target lacks (a schema change on the source that did not reach it) fails the batch, as it
   * stops PostgreSQL's own apply: leaving it out would lose its values without a word, also once
   * the column is added here by hand.
   */
  private List<String> writable(TableInfo info, List<String> row) throws SQLException {
    Set<String> present = Set.copyOf(row);
    List<String> out = new ArrayList<>();
    int known = (present.contains(ChangeLog.JSON_NULLS) ? 1 : 0) + (present.contains(ChangeLog.JSON_TEXT) ? 1 : 0);
    for (Column c : info.columns()) {
      if (present.contains(c.name())) {
        known++;
        if (!c.generated()) {
          out.add(c.name());
        }
      }
    }
    if (known < present.size()) {
      throw missingColumns(info, present);
    }
    return out;
  }

  private SQLException missingColumns(TableInfo info, Set<String> present) {
    Set<String> missing = new TreeSet<>(present);
    missing.remove(ChangeLog.JSON_NULLS);
    missing.remove(ChangeLog.JSON_TEXT);
    info.columns().forEach(c -> missing.remove(c.name()));
    return new SQLException(targetLabel + ": table " + info.name() + " has no column " + String.join(", ", missing)
        + ", which the source's changes carry (a schema change there that did not reach " + targetLabel + "); add it here as it is"
        + " there, or rename the column it was renamed from (`cutover-replicator status` prints the statement); the apply goes on"
        + " once it exists", UNDEFINED_COLUMN);
  }

  /** One INSERT of {@code cs} (rows of the same columns), in their order. */
  private String insert(TableName t, List<Change> cs) throws SQLException {
    TableInfo info = table(t);
    List<String> cols = writable(info, JsonKeys.of(cs.get(0).newRow()));
    List<String> nulls = JsonKeys.nulls(cs.get(0).newRow());
    String shape = "I|" + t + "|" + cols + "|" + many(cs) + "|" + nulls;
    String name = prepared.get(shape);
    if (name == null) {
      // A table with nothing to write takes rows of defaults, with no column list (which cannot be empty).
      String list = cols.isEmpty() ? "" : " (" + cols.stream().map(Sql::ident).collect(Collectors.joining(", ")) + ")";
      String overriding = alwaysIdentity(t).isEmpty() ? "" : " OVERRIDING SYSTEM VALUE";
      name = statement(shape, "(json) AS INSERT INTO " + t.quoted() + list + overriding + " SELECT "
          + cols.stream().map(col -> value("r", col, nulls)).collect(Collectors.joining(", "))
          + " FROM " + rows(info, "$1", many(cs), nulls, cols, "r"));
    }
    return "EXECUTE " + name + "(" + json(cs, Change::newRow) + ")";
  }

  /** One UPDATE of several rows that keep their key, no key twice (see the class notes). */
  private String updateByKey(TableName t, List<Change> cs) throws SQLException {
    TableInfo info = table(t);
    Set<String> always = alwaysIdentity(t);
    List<String> cols = writable(info, JsonKeys.of(cs.get(0).newRow())).stream().filter(col -> !always.contains(col)).toList();
    List<String> nulls = JsonKeys.nulls(cs.get(0).newRow());
    String name = statement("US|" + t + "|" + cols + "|" + info.key() + "|" + nulls, "(json) AS UPDATE " + target(info) + " SET "
        + set(cols, nulls) + " FROM " + rows(info, "$1", many(cs), nulls, withKey(cols, info), "r") + " WHERE "
        + keyMatch(info, info.key(), "r", nulls));
    return "EXECUTE " + name + "(" + json(cs, Change::newRow) + ")";
  }

  /** Whether a statement over {@code cs} takes a JSON array of rows rather than one row. */
  private static boolean many(List<Change> cs) {
    return cs.size() > 1;
  }

  /**
   * The row, or rows ({@code many}), that parameter {@code param} holds, as the FROM item
   * {@code alias}: the columns {@code read}, each with its type on the target
   * ({@code json_to_record}), less those the change names as JSON nulls (one row at a time; see
   * {@link #value}). Not {@code json_populate_record} into the table's row type: with no row to
   * start from, it runs every column the JSON lacks (all but the key of an old key) through its
   * type's input with NULL, which a NOT NULL domain refuses.
   */
  private static String rows(TableInfo info, String param, boolean many, List<String> nulls, List<String> read, String alias) {
    if (many && !nulls.isEmpty()) {
      throw new IllegalStateException("changes naming JSON nulls or json carried as text are written one row per statement");
    }
    List<String> typed = read.stream().filter(col -> !nulls.contains(col))
        .map(col -> Sql.ident(col) + " " + (nulls.contains(JsonKeys.AS_TEXT + col) ? "text" : info.column(col).type())).toList();
    if (typed.isEmpty()) {
      // Nothing to read (a table with no column but generated ones, or none at all): one row per row.
      return many ? "json_array_elements(" + param + ") AS " + alias : "(SELECT) " + alias;
    }
    String from = (many ? "json_to_recordset(" : "json_to_record(") + param + ") AS " + alias + "(" + String.join(", ", typed) + ")";
    if (nulls.stream().noneMatch(col -> col.startsWith(JsonKeys.AS_TEXT))) {
      return from;
    }
    // Columns carried as their text (ChangeLog.JSON_TEXT) are read as text and cast to their type.
    return "(SELECT " + read.stream().filter(col -> !nulls.contains(col)).map(col -> nulls.contains(JsonKeys.AS_TEXT + col)
        ? alias + "." + Sql.ident(col) + "::" + info.column(col).type() + " AS " + Sql.ident(col) : alias + "." + Sql.ident(col))
        .collect(Collectors.joining(", ")) + " FROM " + from + ") " + alias;
  }

  /** {@code cols} and the table's key columns. */
  private static List<String> withKey(List<String> cols, TableInfo info) {
    List<String> out = new ArrayList<>(cols);
    info.key().stream().filter(k -> !out.contains(k)).forEach(out::add);
    return out;
  }

  /** The old row's columns a match by {@code old} reads: the key, or those the target has. */
  private static List<String> matched(TableInfo info, List<String> old) {
    return byKey(info, old) ? info.key() : old.stream().filter(col -> info.column(col) != null).toList();
  }

  /** The literal of the row, or of the array of the rows, that {@code part} takes from each change. */
  private static String json(List<Change> cs, java.util.function.Function<Change, String> part) {
    if (!many(cs)) {
      return Sql.literal(part.apply(cs.get(0)));
    }
    StringBuilder b = new StringBuilder("[");
    for (Change c : cs) {
      b.append(b.length() > 1 ? "," : "").append(part.apply(c));
    }
    return Sql.literal(b.append(']').toString());
  }

  /** Whether a change with this old row is found by the target's key. */
  private static boolean byKey(TableInfo info, List<String> old) {
    return old.containsAll(info.key()) && info.hasKey();
  }

  /**
   * Queues the UPDATE of one change. A GENERATED ALWAYS identity column can only be set to
   * {@code DEFAULT} by an UPDATE, whatever the value ("column ... can only be updated to DEFAULT"),
   * so it is left out of SET: an update that keeps it (any that keeps a key holding it) writes the
   * other columns. One that moved it ({@code SET id = DEFAULT} on the source) is written as a DELETE
   * of the row and an INSERT ... OVERRIDING SYSTEM VALUE of the new one, in one statement: where
   * the old row carries the column, when its value differs from the new row's; where it does not
   * (the column beside the key), after the UPDATE, of the row the new key finds when its value there
   * differs. With foreign keys checked ({@link TriggersOff#IN_TRANSACTION}), such a move fires
   * new's ON DELETE actions of keys that refer to the row rather than its ON UPDATE ones.
   */
  private void update(TableName t, Change c) throws SQLException {
    TableInfo info = table(t);
    List<String> all = writable(info, JsonKeys.of(c.newRow()));
    Set<String> always = alwaysIdentity(t);
    List<String> identity = all.stream().filter(always::contains).toList();
    List<String> cols = identity.isEmpty() ? all : all.stream().filter(col -> !always.contains(col)).toList();
    List<String> nulls = JsonKeys.nulls(c.newRow());
    List<Change> change = List.of(c);
    List<String> old = c.oldKey() == null ? info.key() : JsonKeys.of(c.oldKey());
    boolean oldCarriesIdentity = old.containsAll(identity);
    if (c.oldKey() != null && !identity.isEmpty() && oldCarriesIdentity) {
      List<String> was = JsonKeys.values(c.oldKey(), identity);
      if (was == null || !was.equals(JsonKeys.values(c.newRow(), identity))) {
        queue(move(info, c, all, nulls), change);
        return;
      }
    }
    if (cols.isEmpty()) {
      // Nothing but identity columns to write, and they stay (an UPDATE of no column can only keep them): no row changes.
      return;
    }
    String set = set(cols, nulls);
    if (c.oldKey() == null) {
      String from = "FROM " + rows(info, "$1", false, nulls, withKey(cols, info), "r");
      String name = statement("U|" + t + "|" + cols + "|" + info.key() + "|" + nulls, "(json) AS UPDATE " + target(info) + " SET " + set
          + " " + from + " WHERE " + keyMatch(info, info.key(), "r", nulls));
      queue("EXECUTE " + name + "(" + Sql.literal(c.newRow()) + ")", change);
    } else {
      List<String> oldNulls = JsonKeys.nulls(c.oldKey());
      OldRow found = oldRow(info, old, "$2", false, oldNulls);
      String name = statement("UO|" + t + "|" + cols + "|" + nulls + "|" + old + "|" + oldNulls, "(json, json) AS " + found.with() + "UPDATE "
          + target(info) + " SET " + set + " FROM " + rows(info, "$1", false, nulls, cols, "r") + ", " + found.from() + " WHERE " + found.where());
      queue("EXECUTE " + name + "(" + Sql.literal(c.newRow()) + ", " + Sql.literal(c.oldKey()) + ")", change);
    }
    if (!identity.isEmpty() && !oldCarriesIdentity && info.hasKey() && all.containsAll(info.key())) {
      // The identity column beside the key may have moved: the row the new key finds is moved when it differs.
      String differs = "ROW(" + identity.stream().map(col -> TARGET + "." + Sql.ident(col)).collect(Collectors.joining(", "))
          + ") IS DISTINCT FROM ROW(" + identity.stream().map(col -> value("r", col, nulls)).collect(Collectors.joining(", ")) + ")";
      String name = statement("UM|" + t + "|" + all + "|" + info.key() + "|" + nulls, "(json) AS WITH d AS (DELETE FROM " + target(info)
          + " USING " + rows(info, "$1", false, nulls, all, "r") + " WHERE " + keyMatch(info, info.key(), "r", nulls) + " AND " + differs
          + " RETURNING 1) " + insertMoved(info, all, nulls));
      String statement = "EXECUTE " + name + "(" + Sql.literal(c.newRow()) + ")";
      sql.add(statement);
      applies.add(null);
      queuedChars += statement.length();
    }
  }

  /** DELETE of the row the change's old row finds and INSERT of its new row, in one statement (see {@link #update}). */
  private String move(TableInfo info, Change c, List<String> all, List<String> nulls) {
    List<String> old = JsonKeys.of(c.oldKey());
    List<String> oldNulls = JsonKeys.nulls(c.oldKey());
    OldRow found = oldRow(info, old, "$2", false, oldNulls);
    String with = found.with().isEmpty() ? "WITH " : found.with().stripTrailing() + ", ";
    String name = statement("UD|" + info.name() + "|" + all + "|" + nulls + "|" + old + "|" + oldNulls, "(json, json) AS " + with
        + "d AS (DELETE FROM " + target(info) + " USING " + found.from() + " WHERE " + found.where() + " RETURNING 1) "
        + insertMoved(info, all, nulls));
    return "EXECUTE " + name + "(" + Sql.literal(c.newRow()) + ", " + Sql.literal(c.oldKey()) + ")";
  }

  /** The INSERT of the new row in {@code $1} that follows the DELETE {@code d} of a move, only where it deleted a row. */
  private static String insertMoved(TableInfo info, List<String> cols, List<String> nulls) {
    return "INSERT INTO " + info.name().quoted() + " (" + cols.stream().map(Sql::ident).collect(Collectors.joining(", "))
        + ") OVERRIDING SYSTEM VALUE SELECT " + cols.stream().map(col -> value("r", col, nulls)).collect(Collectors.joining(", ")) + " FROM "
        + rows(info, "$1", false, nulls, cols, "r") + " WHERE EXISTS (SELECT FROM d)";
  }

  /** One DELETE of {@code cs} (old rows of the same columns; several only when found by key). */
  private String delete(TableName t, List<Change> cs) throws SQLException {
    TableInfo info = table(t);
    List<String> old = JsonKeys.of(cs.get(0).oldKey());
    List<String> nulls = JsonKeys.nulls(cs.get(0).oldKey());
    OldRow found = oldRow(info, old, "$1", many(cs), nulls);
    String name = statement("D|" + t + "|" + old + "|" + many(cs) + "|" + nulls, "(json) AS " + found.with() + "DELETE FROM " + target(info)
        + " USING " + found.from() + " WHERE " + found.where());
    return "EXECUTE " + name + "(" + json(cs, Change::oldKey) + ")";
  }

  /**
   * The table an UPDATE or DELETE writes, under an alias of ours: under its own name it would
   * clash with a FROM item of the same name ({@code r}, {@code o}), "specified more than once".
   */
  private static String target(TableInfo info) {
    return info.ownRows() + " AS " + TARGET;
  }

  /** {@code t.k1 = o.k1 AND ...} over the target's key, with its index's operators ({@link TableInfo#keyEquals}). */
  private static String keyMatch(TableInfo info, List<String> key, String alias, List<String> nulls) {
    if (key.isEmpty()) {
      throw new IllegalStateException("table " + info.name() + " has no key on the target, and the change carries no old row");
    }
    return key.stream().map(k -> info.keyEquals(k, TARGET + "." + Sql.ident(k), value(alias, k, nulls))).collect(Collectors.joining(" AND "));
  }

  /**
   * How an UPDATE or DELETE finds the row that the old row in {@code param} names: by the target's
   * key; without one, the first row whose text over the old row's columns is the old row's, by its
   * ctid. A ctid is a place in one table, so in a partitioned target (a table split on new only)
   * the partition ({@code tableoid}) goes with it, or the row at that place in every partition
   * would be changed; found once, ahead (the CTE), where each partition takes a TID scan.
   */
  private static OldRow oldRow(TableInfo info, List<String> old, String param, boolean many, List<String> nulls) {
    String rows = rows(info, param, many, nulls, matched(info, old), "o");
    if (byKey(info, old)) {
      return new OldRow("", rows, keyMatch(info, info.key(), "o", nulls));
    }
    List<String> cols = old.stream().filter(col -> info.column(col) != null).toList();
    String same = "ROW(" + cols.stream().map(col -> "m." + Sql.ident(col)).collect(Collectors.joining(", ")) + ")::text = ROW("
        + cols.stream().map(col -> value("o", col, nulls)).collect(Collectors.joining(", ")) + ")::text";
    if (!info.partitioned()) {
      return new OldRow("", rows, TARGET + ".ctid = (SELECT m.ctid FROM " + info.ownRows() + " m WHERE " + same + " LIMIT 1)");
    }
    return new OldRow("WITH x AS (SELECT m.tableoid, m.ctid FROM " + rows + ", " + info.ownRows() + " m WHERE " + same + " LIMIT 1) ", "x",
        TARGET + ".tableoid = x.tableoid AND " + TARGET + ".ctid = x.ctid");
  }

  /** What {@link #oldRow} adds to a statement: a CTE before it, a FROM item, and the condition. */
  private record OldRow(String with, String from, String where) {
  }

  /** {@code SET c1 = r.c1, ...}: the new row's values of {@code cols}. */
  private static String set(List<String> cols, List<String> nulls) {
    return cols.stream().map(col -> Sql.ident(col) + " = " + value("r", col, nulls)).collect(Collectors.joining(", "));
  }

  /**
   * Column {@code col} of the row {@code alias}; the JSON value {@code null} where the change names
   * the column in {@link ChangeLog#JSON_NULLS}, as an untyped literal that takes the column's type.
   */
  private static String value(String alias, String col, List<String> nulls) {
    return nulls.contains(col) ? "'null'" : alias + "." + Sql.ident(col);
  }

  /** The name of the prepared statement of this shape, preparing it (first in the batch) if it is new. */
  private String statement(String shape, String definition) {
    String name = prepared.get(shape);
    if (name == null) {
      name = "cutover_apply_" + (++statementCount);
      sql.add("PREPARE " + name + " " + definition);
      applies.add(null);
      prepared.put(shape, name);
    }
    return name;
  }

  private static String kind(char op) {
    return switch (op) {
      case 'I' -> "INSERT";
      case 'U' -> "UPDATE";
      case 'D' -> "DELETE";
      default -> "TRUNCATE";
    };
  }

}
