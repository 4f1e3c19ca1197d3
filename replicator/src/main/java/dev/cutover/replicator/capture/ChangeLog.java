package dev.cutover.replicator.capture;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.common.Poll;
import dev.cutover.common.Transactions;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.LockHolders;
import dev.cutover.replicator.sql.Sql;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * Reading and trimming a source's change log (see {@link CaptureSchema}).
 *
 * <p>Design notes. A batch is delimited by two ticks, {@code txid_current_snapshot()}s of the
 * source: it holds exactly the changes of the transactions that are visible in the later one and
 * not in the earlier one, i.e. that committed between the two, however long ago they began and
 * wrote (PgQ's rule, {@code pgq.batch_event_sql}). Sequence order alone would not do: a long
 * transaction takes low sequence numbers and commits late, and its changes must come after those
 * of every transaction that committed before it. Within a batch, changes are applied in sequence
 * order; two transactions that touch the same row cannot interleave there, because the second
 * waits for the first's row lock (or unique index entry) and logs its change only after the first
 * committed. A row's changes therefore keep commit order, and changes that commute may interleave.
 *
 * <p>The candidates are found by txid on an index: those that began after the earlier tick
 * ({@code txid >= xmax}) and those running at it (its {@code xip}); the visibility tests then keep
 * exactly the batch. A transaction that committed after the later tick is visible to the query
 * itself but not in the tick, so it waits for the next batch.
 */
public final class ChangeLog {
  /** One captured change. {@code op} is I, U, D or T; {@code newRow} and {@code oldKey} are JSON text or null. */
  public record Change(long seq, long txid, String schema, String table, char op, String newRow, String oldKey) {}

  /**
   * The member a logged row ({@code newRow}, {@code oldKey}) carries, last, when some of its json
   * or jsonb columns hold the JSON value {@code null}: an array of their names. In the row itself
   * such a value prints {@code null}, as SQL NULL does, and {@code json_populate_record} makes SQL
   * NULL of both. The name is longer than any column's (63 bytes at most), so no column can be
   * mistaken for it, and statements that take only the target's columns leave it out by
   * themselves.
   */
  public static final String JSON_NULLS = "cutover: the columns of this row whose json or jsonb value is the JSON null, not SQL NULL";

  /**
   * The member a logged row carries, last, when some of its json columns (or domains over json)
   * are carried as their text in a JSON string rather than as JSON: an array of their names. The
   * capture does so for a row whose JSON holds the escape of the NUL character (a backslash, then {@code u0000}),
   * which a json value may hold but which every JSON parse of the row that unescapes its strings
   * (the apply's {@code json_to_record}, {@code ->}) refuses; the apply reads such a column as text
   * and casts it to the column's type.
   */
  public static final String JSON_TEXT = "cutover: the columns of this row whose json value is carried as its text, in a JSON string";

  /** Receives the changes of a batch in order. */
  @FunctionalInterface
  public interface Sink {
    void accept(Change change) throws Exception;
  }

  /**
   * A tick: the source's snapshot and its clock when it was taken.
   *
   * @param snapshot where the next batch ends
   * @param sourceTime the source's {@code clock_timestamp()} at that moment
   */
  public record Tick(TxidSnapshot snapshot, Instant sourceTime) {}

  /**
   * What the log holds on a source. Each log table is counted up to {@link #COUNTED} rows: a log
   * left to grow while apply is stopped holds tens of millions, and counting them whole put full
   * scans on the source, the production database, at every status.
   *
   * @param rows rows in both log tables
   * @param rowsEstimated whether {@code rows} is an estimate: a table past {@link #COUNTED} rows is
   *     estimated from the catalog, as the planner does ({@code reltuples} per page times the pages
   *     it has now), and never below the rows counted
   * @param bytes their size with indexes
   * @param pending rows not yet applied (not visible in the applied snapshot)
   * @param morePending whether more than {@code pending} rows are not applied yet: a table holds
   *     more than {@link #COUNTED} of them, of which {@code pending} counts {@link #COUNTED}
   * @param oldestAgeMillis how long ago the older of the two tables began to be written, when it holds rows
   */
  public record Size(long rows, boolean rowsEstimated, long bytes, long pending, boolean morePending, long oldestAgeMillis) {}

  /** Up to how many rows of each log table {@link #size} counts, and of those not applied. */
  static final long COUNTED = 100_000;

  /**
   * A batch: the changes of the transactions visible in its end snapshot and not in the applied one
   * (the last parameter), after a first row that is the end snapshot, the source's clock and its
   * WAL insert and flush positions (see {@link Batch}). The end is a tick given (the first
   * parameter) or, where that is null, the statement's own snapshot: one round trip where a tick
   * and then a read took two. {@code txid_current_snapshot()} is the snapshot the statement's scans
   * see, so every transaction visible in it is visible to the read. The first row's columns are
   * evaluated left to right during execution, after that snapshot was taken: the insert position
   * is after the commit record of every transaction visible in it, and the flush is read after it.
   */
  private static final String BATCH_PART = "SELECT seq, txid, nsp, rel, op, new_row::text, old_key::text, NULL, NULL, NULL, NULL FROM %s"
      + " WHERE ((txid >= ? AND txid < txid_snapshot_xmax((SELECT s FROM e))) OR txid = ANY (?))"
      + " AND txid_visible_in_snapshot(txid, (SELECT s FROM e)) AND NOT txid_visible_in_snapshot(txid, ?::txid_snapshot)";
  private static final String BATCH = "WITH e AS (SELECT coalesce(?::txid_snapshot, txid_current_snapshot()) AS s)"
      + " SELECT NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, (SELECT s FROM e)::text,"
      + " clock_timestamp(), %s()::text, %s()::text UNION ALL " + String.format(BATCH_PART, CaptureSchema.logTable(0))
      + " UNION ALL " + String.format(BATCH_PART, CaptureSchema.logTable(1)) + " ORDER BY 1 NULLS FIRST";

  /** How long {@link #awaitDurable} lets the source's own WAL writer flush before it makes the source flush. */
  private static final Duration FLUSH_GRACE = Duration.ofMillis(100);
  /** How {@link #awaitDurable} asks for the flush position meanwhile. */
  private static final Poll FLUSHED = Poll.every(Duration.ofMillis(1), Duration.ofMillis(20));
  /** How many rotation periods without one {@link #trimHeld} lets pass before it looks for what holds the retired table. */
  private static final int HELD_PERIODS = 3;

  private ChangeLog() {}

  /**
   * Where the next batch after {@code appliedAt} (the source's clock at the applied tick) ends when
   * the source is more than {@code span} ahead: the latest recorded tick (see {@link Ticker}) within
   * {@code span} of it (or the first one after it), so that a backlog is applied in batches of about
   * {@code span} of the source's transactions, never as one. Empty when the source is less than
   * {@code span} ahead: the batch then ends at the read's own snapshot ({@link #read}). Only ticks
   * whose snapshot is after {@code applied} count: a tick's time is read just after its snapshot,
   * so a tick taken a moment before {@code applied} may carry a later time, and ending a batch there
   * would step back and apply again what was applied; and a tick with the same snapshot (taken
   * while nothing committed, as after start's copy) ends nothing. Such a tick is passed over, not
   * taken as a reason to read up to the present: that made a whole backlog one batch (r28).
   */
  public static Optional<Tick> backlogTick(Connection source, TxidSnapshot applied, Instant appliedAt, Duration span)
      throws SQLException {
    String after = " AND (txid_snapshot_xmax(snapshot::txid_snapshot) > ? OR EXISTS (SELECT 1 FROM unnest(?::bigint[]) x"
        + " WHERE txid_visible_in_snapshot(x, snapshot::txid_snapshot)))";
    try (PreparedStatement ps = source.prepareStatement("SELECT snapshot, at FROM ("
        + " (SELECT snapshot, at, 1 AS rank FROM cutover.capture_tick WHERE at > ? AND at <= ?" + after + " ORDER BY at DESC LIMIT 1)"
        + " UNION ALL (SELECT snapshot, at, 2 FROM cutover.capture_tick WHERE at > ?" + after + " ORDER BY at LIMIT 1)) t"
        + " WHERE EXISTS (SELECT 1 FROM cutover.capture_tick WHERE at > ?) ORDER BY rank LIMIT 1")) {
      java.sql.Timestamp from = java.sql.Timestamp.from(appliedAt);
      java.sql.Timestamp until = java.sql.Timestamp.from(appliedAt.plus(span));
      Array xip = source.createArrayOf("bigint", applied.xip().toArray());
      ps.setTimestamp(1, from);
      ps.setTimestamp(2, until);
      ps.setLong(3, applied.xmax());
      ps.setArray(4, xip);
      ps.setTimestamp(5, from);
      ps.setLong(6, applied.xmax());
      ps.setArray(7, xip);
      ps.setTimestamp(8, until);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new Tick(TxidSnapshot.parse(rs.getString(1)), rs.getTimestamp(2).toInstant())) : Optional.empty();
      }
    }
  }

  /**
   * How long ago, by the source's clock, its newest tick was recorded; empty where it holds none.
   * Where that is long, no apply and no heartbeat writer ticks there, and what is written meanwhile
   * will be applied as one batch ({@link Ticker}).
   */
  public static Optional<Duration> lastTickAge(Connection source) throws SQLException {
    String millis = Sql.string(source,
        "SELECT round(extract(epoch FROM clock_timestamp() - max(at)) * 1000)::bigint::text FROM cutover.capture_tick");
    return millis == null ? Optional.empty() : Optional.of(Duration.ofMillis(Long.parseLong(millis)));
  }

  /** Takes a tick on the source (in its own statement, outside any transaction of the caller's). */
  public static Tick tick(Connection source) throws SQLException {
    try (Statement s = source.createStatement();
        ResultSet rs = s.executeQuery("SELECT txid_current_snapshot()::text, clock_timestamp()")) {
      rs.next();
      return new Tick(TxidSnapshot.parse(rs.getString(1)), rs.getTimestamp(2).toInstant());
    }
  }

  /**
   * A batch read: where it ended, and how many changes it held.
   *
   * @param wal the source's WAL insert position when the batch's end was known (after the commit
   *     record of every transaction visible in it), or -1 where the source had already flushed that far
   */
  public record Batch(Tick tick, long changes, long wal) {
    /** Whether every transaction visible in the batch's end was on the source's disk when it was read. */
    public boolean durable() {
      return wal < 0;
    }
  }

  /**
   * Streams the batch from {@code from} to {@code to} (null: the source's present, taken by the
   * read itself) to {@code sink} in sequence order, reading with a cursor so that a large batch is
   * never held in memory. The batch's end may be handed on as a target's position only once
   * {@link Batch#durable} or {@link #awaitDurable} says it is on the source's disk.
   */
  public static Batch read(Connection source, TxidSnapshot from, Tick to, int fetchSize, Sink sink) throws Exception {
    String sql = String.format(BATCH, walFunction(source, "insert"), walFunction(source, "flush"));
    boolean autoCommit = source.getAutoCommit();
    source.setAutoCommit(false);
    long n = 0;
    Tick end;
    long wal;
    try (PreparedStatement ps = source.prepareStatement(sql)) {
      ps.setString(1, to == null ? null : to.snapshot().text());
      Array xip = source.createArrayOf("bigint", from.xip().toArray());
      for (int i = 1; i < 7; i += 3) {
        ps.setLong(i + 1, from.xmax());
        ps.setArray(i + 2, xip);
        ps.setString(i + 3, from.text());
      }
      ps.setFetchSize(fetchSize);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        end = to != null ? to : new Tick(TxidSnapshot.parse(rs.getString(8)), rs.getTimestamp(9).toInstant());
        long inserted = lsn(rs.getString(10));
        wal = lsn(rs.getString(11)) >= inserted ? -1 : inserted;
        while (rs.next()) {
          sink.accept(new Change(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5).charAt(0),
              rs.getString(6), rs.getString(7)));
          n++;
        }
      }
      source.commit();
    } catch (Exception e) {
      Transactions.afterRollback(source, autoCommit, e);
      throw e;
    }
    source.setAutoCommit(autoCommit);
    return new Batch(end, n, wal);
  }

  /**
   * Waits until the source has flushed its WAL up to {@code batch}'s {@link Batch#wal}, so that
   * its end may become a target's position: a source that commits asynchronously
   * ({@code synchronous_commit = off}) shows commits before they are on its disk, and a crash then
   * loses them and hands their transaction ids out again; a target that held them would take those
   * new transactions as applied and skip them for good. Polls the flush position for a moment
   * (with {@code synchronous_commit} on, another commit's flush passes it within milliseconds);
   * after {@link #FLUSH_GRACE} flushes it itself rather than waiting up to three
   * {@code wal_writer_delay}s: a transaction with a row lock on {@code cutover.capture_state} (WAL
   * and a transaction id, needing no more than trimming does) committed with
   * {@code synchronous_commit = local}, which flushes everything before its commit record.
   *
   * @param keepWaiting false when the caller stops: returns false at once
   * @return whether the batch's end is on the source's disk
   */
  public static boolean awaitDurable(Connection source, Batch batch, BooleanSupplier keepWaiting) throws SQLException {
    if (batch.durable()) {
      return true;
    }
    String flushed = "SELECT " + walFunction(source, "flush") + "()::text";
    if (!FLUSHED.within(FLUSH_GRACE, () -> !keepWaiting.getAsBoolean() || lsn(Sql.string(source, flushed)) >= batch.wal())) {
      // Its commit record comes after batch.wal, and the commit waits until it is flushed.
      inTransaction(source, () -> Sql.rows(source, "SELECT set_config('synchronous_commit', 'local', true) FROM cutover.capture_state FOR UPDATE"));
    }
    return keepWaiting.getAsBoolean();
  }

  /** The name of the function that returns the source's WAL {@code insert} or {@code flush} position (9.6 has its own). */
  private static String walFunction(Connection source, String which) throws SQLException {
    return Sql.majorVersionOf(source) < 10 ? "pg_current_xlog_" + which + "_location" : "pg_current_wal_" + which + "_lsn";
  }

  /** A WAL position ({@code pg_lsn}, {@code X/Y} in hex) as a number that orders as positions do. */
  static long lsn(String text) {
    int slash = text.indexOf('/');
    return Long.parseUnsignedLong(text.substring(0, slash), 16) << 32 | Long.parseUnsignedLong(text.substring(slash + 1), 16);
  }

  /**
   * Trims the log once {@code applied} (the last tick whose batch is committed on the target), and
   * the ticks before it:
   * truncates the retired table when every row in it has been applied, or else, when it is empty
   * and the current table has been written for {@code rotateAfter}, rotates so that the capture
   * function writes into the empty one. The truncate runs under an exclusive lock taken without
   * waiting more than a moment: holding it proves that no transaction that wrote there is still
   * running, so every row is committed (and checked to be applied) or belongs to an aborted
   * transaction. Nothing that is not applied is ever removed.
   *
   * @return rows removed
   */
  public static long trim(Connection source, Tick applied, Duration rotateAfter) throws SQLException {
    try (PreparedStatement ps = source.prepareStatement("DELETE FROM cutover.capture_tick WHERE at < ?")) {
      ps.setTimestamp(1, java.sql.Timestamp.from(applied.sourceTime()));
      ps.executeUpdate();
    }
    return trimLog(source, applied.snapshot(), rotateAfter);
  }

  private static long trimLog(Connection source, TxidSnapshot applied, Duration rotateAfter) throws SQLException {
    try {
      return inTransaction(source, () -> trimOrRotate(source, applied, rotateAfter));
    } catch (SQLException e) {
      if ("55P03".equals(e.getSQLState())) {
        return 0; // someone still writes into the retired table: next time
      }
      throw e;
    }
  }

  private static long trimOrRotate(Connection source, TxidSnapshot applied, Duration rotateAfter) throws SQLException {
    try (Statement s = source.createStatement()) {
      s.execute("SET LOCAL lock_timeout = '50ms'");
      String[] state = Sql.rows(source, "SELECT current_log, extract(epoch FROM now() - switched_at) * 1000"
          + " FROM cutover.capture_state FOR UPDATE").get(0);
      int current = Integer.parseInt(state[0]);
      String retired = CaptureSchema.logTable(1 - current);
      long removed = 0;
      if (Sql.bool(source, "SELECT EXISTS (SELECT 1 FROM " + retired + ")")) {
        s.execute("LOCK TABLE " + retired + " IN ACCESS EXCLUSIVE MODE");
        if (!Sql.bool(source, "SELECT EXISTS (SELECT 1 FROM " + retired + " WHERE NOT txid_visible_in_snapshot(txid, ?::txid_snapshot))",
            applied.text())) {
          removed = Sql.number(source, "SELECT count(*) FROM " + retired);
          s.execute("TRUNCATE " + retired);
          s.execute("UPDATE cutover.capture_state SET trimmed_to = " + Sql.literal(applied.text()));
        }
      } else if (Double.parseDouble(state[1]) >= rotateAfter.toMillis()) {
        for (String sql : CaptureSchema.functionSql(source, 1 - current)) {
          s.execute(sql);
        }
        s.execute("UPDATE cutover.capture_state SET current_log = " + (1 - current)
            + ", previous_switched_at = switched_at, switched_at = now()");
      }
      return removed;
    }
  }

  /**
   * What keeps the retired log table from being truncated, said for {@code status} once the current
   * one has been written for more than {@link #HELD_PERIODS} times the last rotation's period
   * ({@code rotateAfter} before the second rotation): the apply rotates only after the truncate, so a
   * log that stops rotating is one whose truncate cannot have its lock ({@link #trim} tries again
   * each time, silently). Whoever holds it wrote into it before it was retired and is still open: a
   * transaction left prepared for two-phase commit or idle in transaction, which may stay for hours
   * while the current table takes every write. Empty while the log rotates, and where the retired
   * table is empty or nothing holds it (a stopped apply, said on its own). One short query while it
   * rotates.
   */
  public static Optional<String> trimHeld(Connection source, Duration rotateAfter, String sourceLabel) throws SQLException {
    List<String[]> late = Sql.rows(source, "SELECT current_log, extract(epoch FROM now() - switched_at)::bigint FROM cutover.capture_state"
        + " WHERE now() - switched_at > " + HELD_PERIODS + " * coalesce(switched_at - previous_switched_at, ?::interval)",
        rotateAfter.toMillis() + " milliseconds");
    if (late.isEmpty()) {
      return Optional.empty();
    }
    String retired = CaptureSchema.logTable(1 - Integer.parseInt(late.get(0)[0]));
    String held = Sql.bool(source, "SELECT EXISTS (SELECT 1 FROM " + retired + ")") ? LockHolders.ofTable(source, retired, sourceLabel) : "";
    if (held.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of("the change log's retired table " + retired + " on " + sourceLabel + " could not be truncated for "
        + late.get(0)[1] + " s, held by " + held + "; until then the log does not rotate and its current table grows with every"
        + " write on " + sourceLabel);
  }

  /**
   * Makes the source keep the tick up to which its log was trimmed ({@code capture_state.trimmed_to}:
   * rows of transactions visible in it may be gone), where an install from before lacks it. Needs
   * the control schema's owner, as trimming does.
   */
  public static void recordTrims(Connection source) throws SQLException {
    if (!Sql.bool(source, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'cutover.capture_state'::regclass"
        + " AND attname = 'trimmed_to' AND NOT attisdropped)")) {
      Sql.execute(source, "ALTER TABLE cutover.capture_state ADD COLUMN IF NOT EXISTS trimmed_to text");
    }
  }

  /**
   * Refuses to apply from {@code applied}, a target's position, when the source's log was trimmed
   * past it: the target lost batches it had committed (a failover to a standby that was behind, a
   * restore from a backup), and what the source's log held between is gone, so applying on would
   * skip it without a word. A target behind a log not yet trimmed gets those batches again.
   */
  public static void requireNotTrimmedPast(Connection source, TxidSnapshot applied, String sourceSide, String targetSide)
      throws SQLException, ReplicatorException {
    Optional<ReplicatorException> past = trimmedPast(trimmedTo(source), applied, sourceSide, targetSide);
    if (past.isPresent()) {
      throw past.get();
    }
  }

  /**
   * The tick up to which {@code source}'s log was trimmed, or empty where it never was. Read it
   * before the target's position it is compared with: apply commits a position on the target
   * before it records a trim up to it here, so a position read after is never behind a trim that
   * apply made, while one read before may be (an apply that committed and trimmed in between).
   */
  public static Optional<TxidSnapshot> trimmedTo(Connection source) throws SQLException {
    // Read as jsonb: an install from before the column lacks it until an apply adds it (recordTrims), and status reads only.
    String text = Sql.string(source, "SELECT to_jsonb(s) ->> 'trimmed_to' FROM cutover.capture_state s");
    return text == null ? Optional.empty() : Optional.of(TxidSnapshot.parse(text));
  }

  /**
   * Why applying from {@code applied} cannot resume, as {@link #requireNotTrimmedPast}, {@link
   * #requireNotBehind} and {@link #requireHoldsTick} refuse it, or empty: for {@code status}, which said only "stopped ... start
   * it" of a direction apply refuses for good (r25). {@code trimmed} is {@link #trimmedTo} as read
   * before {@code applied} was: read after, a running apply's next batch and trim looked like lost
   * changes, whose remedy (empty the target and start again) throws the migration away. Reads only.
   */
  public static Optional<ReplicatorException> cannotResume(Connection source, Optional<TxidSnapshot> trimmed, Tick applied,
      String sourceSide, String targetSide) throws SQLException {
    Optional<ReplicatorException> past = trimmedPast(trimmed, applied.snapshot(), sourceSide, targetSide);
    if (past.isPresent()) {
      return past;
    }
    Optional<ReplicatorException> behind = behind(source, applied.snapshot(), sourceSide, targetSide);
    return behind.isPresent() || !keepsTicks(source) ? behind : lacksTick(source, applied, sourceSide, targetSide);
  }

  private static Optional<ReplicatorException> trimmedPast(Optional<TxidSnapshot> trimmedTo, TxidSnapshot applied, String sourceSide,
      String targetSide) {
    if (trimmedTo.isEmpty()) {
      return Optional.empty();
    }
    TxidSnapshot trimmed = trimmedTo.get();
    if (applied.before(trimmed)) {
      return Optional.of(new ReplicatorException(Failure.PRECONDITION, sourceSide + "'s change log was trimmed past " + targetSide + "'s apply"
          + " position (trimmed up to tick " + trimmed + ", " + targetSide + " applied up to tick " + applied + "): " + targetSide
          + " lost batches it had committed (a failover to a standby that was behind, a restore from a backup), and the changes"
          + " between are gone from " + sourceSide + "'s log", "`cutover-replicator verify` lists what differs; run"
          + " `cutover-replicator cleanup`, empty " + targetSide + "'s tables and start again"));
    }
    return Optional.empty();
  }

  /**
   * Refuses to apply from {@code applied}, a target's position, when the source has not yet handed
   * out the transaction ids it covers (the source's present snapshot's xmax is below the
   * position's): the source lost commits the target already holds (a crash while it committed
   * asynchronously, a failover to a standby that was behind, a restore from a backup), and it hands
   * those ids out again, to transactions the target would take as applied and skip for good. Both
   * snapshots are 64-bit, epoch-extended, so they compare across wraparound. A batch's end becomes
   * a position only once it is on the source's disk ({@link #awaitDurable}), so a source that only
   * crashed never comes back behind one.
   */
  public static void requireNotBehind(Connection source, TxidSnapshot applied, String sourceSide, String targetSide)
      throws SQLException, ReplicatorException {
    Optional<ReplicatorException> behind = behind(source, applied, sourceSide, targetSide);
    if (behind.isPresent()) {
      throw behind.get();
    }
  }

  private static Optional<ReplicatorException> behind(Connection source, TxidSnapshot applied, String sourceSide, String targetSide)
      throws SQLException {
    TxidSnapshot now = TxidSnapshot.parse(Sql.string(source, "SELECT txid_current_snapshot()::text"));
    if (now.xmax() < applied.xmax()) {
      return Optional.of(new ReplicatorException(Failure.PRECONDITION, sourceSide + " is behind " + targetSide + "'s apply position (" + sourceSide
          + "'s present tick " + now + ", " + targetSide + " applied up to tick " + applied + "): " + sourceSide + " lost commits "
          + targetSide + " already holds (a crash while it committed with synchronous_commit off, a failover to a standby that was"
          + " behind, a restore from a backup), and the transactions it runs now would reuse their ids and be skipped",
          "`cutover-replicator verify` lists what differs; run `cutover-replicator cleanup`, empty " + targetSide
          + "'s tables and start again"));
    }
    return Optional.empty();
  }

  /**
   * Keeps {@code tick} on the source as a row of {@code cutover.capture_tick} (once), before it
   * becomes a target's position, so that {@link #requireHoldsTick} can find it there: a row
   * committed after every transaction visible in its snapshot, since each of them committed before
   * the snapshot was taken. Its commit waits as the session's {@code synchronous_commit = on} does
   * (for a synchronous standby too, where there is one): a standby that takes over then holds it.
   */
  public static void keep(Connection source, Tick tick) throws SQLException {
    inTransaction(source, () -> {
      Sql.rows(source, "SELECT set_config('synchronous_commit', 'on', true)");
      try (PreparedStatement ps = source.prepareStatement("INSERT INTO cutover.capture_tick (snapshot, at) SELECT ?, ?"
          + " WHERE NOT EXISTS (SELECT 1 FROM cutover.capture_tick WHERE at = ? AND snapshot = ?)")) {
        java.sql.Timestamp at = java.sql.Timestamp.from(tick.sourceTime());
        ps.setString(1, tick.snapshot().text());
        ps.setTimestamp(2, at);
        ps.setTimestamp(3, at);
        ps.setString(4, tick.snapshot().text());
        return ps.executeUpdate();
      }
    });
  }

  /**
   * Refuses to apply from {@code applied}, a target's position, when the source lacks its tick
   * ({@link #keep}, or a recorded tick a backlog batch ended at) while it still holds ticks from
   * before it: the source came back without commits the target holds (a failover to a standby
   * that was behind, a restore from a backup). Unlike {@link #requireNotBehind} this does not pass
   * once the source has handed out more transaction ids than the position covers. A source that
   * holds no tick at or before the position trimmed them after a later position (a target restored
   * behind it, which {@link #requireNotTrimmedPast} judges by the log). Where the source's ticks
   * were not kept so (an install from before, {@code capture_state.ticks_kept} false or missing), the
   * position's tick is kept now, once {@link #requireNotBehind} has passed, and checked from then on
   * ({@link CaptureSchema#keepsTicks}). One look-up on the ticks' index.
   */
  public static void requireHoldsTick(Connection source, Tick applied, String sourceSide, String targetSide)
      throws SQLException, ReplicatorException {
    boolean kept = keepsTicks(source);
    Optional<ReplicatorException> lacks = lacksTick(source, applied, sourceSide, targetSide);
    if (lacks.isPresent() && kept) {
      throw lacks.get();
    }
    if (!kept) {
      keep(source, applied);
      CaptureSchema.keepsTicks(source);
    }
  }

  /** Whether every position since the source's first apply (of this version) has its tick kept there ({@link #requireHoldsTick}). */
  private static boolean keepsTicks(Connection source) throws SQLException {
    // As jsonb: an install from before may lack the column (CaptureSchema#keepsTicks adds it), and status reads only.
    return "true".equals(Sql.string(source, "SELECT to_jsonb(s) ->> 'ticks_kept' FROM cutover.capture_state s"));
  }

  private static Optional<ReplicatorException> lacksTick(Connection source, Tick applied, String sourceSide, String targetSide)
      throws SQLException {
    java.sql.Timestamp at = java.sql.Timestamp.from(applied.sourceTime());
    if (Sql.bool(source, "SELECT EXISTS (SELECT 1 FROM cutover.capture_tick WHERE at = ? AND snapshot = ?)"
        + " OR NOT EXISTS (SELECT 1 FROM cutover.capture_tick WHERE at <= ?)", at, applied.snapshot().text(), at)) {
      return Optional.empty();
    }
    return Optional.of(new ReplicatorException(Failure.PRECONDITION, sourceSide + " is behind " + targetSide + "'s apply position: "
        + sourceSide + " lacks the tick " + targetSide + " applied up to (" + applied.snapshot() + " at " + applied.sourceTime()
        + "), which it recorded before " + targetSide + " took it: " + sourceSide + " lost commits " + targetSide + " already holds"
        + " (a failover to a standby that was behind, a restore from a backup), and the transactions it runs now would reuse their"
        + " ids and be skipped", "`cutover-replicator verify` lists what differs; run `cutover-replicator cleanup`, empty "
        + targetSide + "'s tables and start again"));
  }

  /**
   * Rows of the application's tables in the log on {@code source} that {@code applied} has not yet
   * covered: those of the control tables that travel only to measure and to mark (heartbeat,
   * barrier) are left out, since a heartbeat beats on a fenced side too.
   */
  public static long pendingApplicationRows(Connection source, TxidSnapshot applied) throws SQLException {
    return unapplied(source, applied, " AND NOT (nsp = 'cutover' AND rel IN ('barrier', 'replication_heartbeat'))");
  }

  /** Rows in both logs on {@code source} that {@code applied} has not covered and that match {@code and} (SQL, or empty). */
  private static long unapplied(Connection source, TxidSnapshot applied, String and) throws SQLException {
    String which = " WHERE NOT txid_visible_in_snapshot(txid, ?::txid_snapshot)" + and;
    return Sql.number(source, "SELECT (SELECT count(*) FROM cutover.change_log_0" + which + ") + (SELECT count(*) FROM cutover.change_log_1"
        + which + ")", applied.text(), applied.text());
  }

  /**
   * The log's size on a source, and what of it {@code applied} has not yet covered, each count
   * stopping after {@link #COUNTED} rows (see {@link Size}). Rows not applied are those of
   * transactions at or after the snapshot's xmax or running at it (its xip), the candidates of a
   * batch, found through the txid index: in txid order, so that applied rows before them are not read.
   */
  public static Size size(Connection source, TxidSnapshot applied) throws SQLException {
    long rows = 0;
    long bytes = 0;
    long pending = 0;
    boolean estimated = false;
    boolean morePending = false;
    Array xip = source.createArrayOf("bigint", applied.xip().toArray());
    for (int n = 0; n < CaptureSchema.LOGS; n++) {
      String table = CaptureSchema.logTable(n);
      String[] row = Sql.rows(source, "SELECT (SELECT count(*) FROM (SELECT 1 FROM " + table + " LIMIT " + (COUNTED + 1) + ") r),"
          + " CASE WHEN reltuples > 0 AND relpages > 0 THEN round(reltuples::float8 / relpages * (pg_relation_size(oid)"
          + "   / current_setting('block_size')::int))::bigint ELSE 0 END, pg_total_relation_size(oid),"
          + " (SELECT count(*) FROM (SELECT 1 FROM " + table + " WHERE txid >= ? ORDER BY txid LIMIT " + (COUNTED + 1) + ") a)"
          + "   + (SELECT count(*) FROM (SELECT 1 FROM " + table + " WHERE txid = ANY (?) LIMIT " + (COUNTED + 1) + ") x)"
          + " FROM pg_catalog.pg_class WHERE oid = " + Sql.literal(table) + "::regclass", applied.xmax(), xip).get(0);
      long counted = Long.parseLong(row[0]);
      estimated |= counted > COUNTED;
      rows += counted > COUNTED ? Math.max(counted, Long.parseLong(row[1])) : counted;
      bytes += Long.parseLong(row[2]);
      long notApplied = Long.parseLong(row[3]);
      morePending |= notApplied > COUNTED;
      pending += Math.min(notApplied, COUNTED);
    }
    String age = Sql.string(source, "SELECT CASE WHEN EXISTS (SELECT 1 FROM cutover.change_log_0 WHERE current_log = 1)"
        + "   OR EXISTS (SELECT 1 FROM cutover.change_log_1 WHERE current_log = 0)"
        + "   THEN extract(epoch FROM now() - coalesce(previous_switched_at, switched_at)) * 1000"
        + "   ELSE extract(epoch FROM now() - switched_at) * 1000 END"
        + " FROM cutover.capture_state");
    return new Size(rows, estimated, bytes, pending, morePending, rows == 0 ? 0 : Math.round(Double.parseDouble(age)));
  }
}
