package dev.cutover.replicator.copy;

import dev.cutover.common.Transactions;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.ServerShortage;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.sql.Column;
import dev.cutover.replicator.sql.ShortLocks;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.postgresql.copy.CopyOut;

/**
 * Copies tables from old to new under one exported snapshot, in parallel: every worker imports
 * the snapshot of the replication slot into a REPEATABLE READ transaction on old, so all of them
 * see exactly the rows committed before the slot's consistent point, and the subscription that
 * later streams from that slot starts exactly after them. No row is copied twice or missed.
 *
 * <p>A table copied whole goes in one stream with {@code COPY FREEZE}, in the transaction that
 * truncates it (it was verified empty, and is locked and checked again): its rows arrive frozen and
 * in old's order, so nothing on new has to set hint bits or freeze them later, and index builds
 * read an ordered heap. Tables that another table's foreign key references are not truncated
 * (that would need the other table too), so they are copied without FREEZE. Large tables may be
 * split into chunks instead: by block ranges ({@code ctid}, a TID range scan) where old is 14 or
 * newer, else by ranges of a single-column integer key, in a multiple of the jobs so that no
 * worker is left with one chunk alone at the end. Each chunk is one COPY from old piped into one
 * COPY into new, in binary where every column has the same built-in type on both sides (binary
 * arrays carry element type oids, which only built-in types share), else in text. No trigger of
 * the new side fires, as for replication itself: the session runs with
 * {@code session_replication_role = replica}, or, for a role that may not set it, each chunk's
 * transaction disables the tables' triggers and enables them again before commit
 * ({@link TriggersOff}).
 */
public final class InitialCopy {
  private static final int BUFFER = 256 * 1024;
  private static final Set<String> INTEGER_TYPES = Set.of("smallint", "integer", "bigint");

  /**
   * How to copy.
   *
   * @param jobs parallel workers (each holds one connection to each side)
   * @param chunkBytes a table larger than this (heap size on old) is split into chunks of about this size;
   *     {@link Long#MAX_VALUE} never splits
   * @param binary whether binary COPY may be used at all
   * @param triggersOff how new's triggers are kept from firing
   */
  public record Options(int jobs, long chunkBytes, boolean binary, TriggersOff triggersOff) {
    public Options {
      if (jobs < 1) {
        throw new IllegalArgumentException("jobs must be at least 1, not " + jobs);
      }
      if (chunkBytes < 1) {
        throw new IllegalArgumentException("chunk size must be positive, not " + chunkBytes);
      }
    }

    /** With {@code session_replication_role = replica} on new. */
    public Options(int jobs, long chunkBytes, boolean binary) {
      this(jobs, chunkBytes, binary, TriggersOff.REPLICA_ROLE);
    }
  }

  /** The same table on both sides. */
  public record TablePair(TableInfo old, TableInfo nw) {}

  /** One COPY: a whole table (frozen where it may be), or the rows matching {@code predicate}. */
  record Chunk(TablePair table, String predicate, int index, int of, long estimatedBytes, boolean binary, boolean freeze) {}

  private final Endpoint old;
  private final Endpoint nw;
  private final String snapshot;
  private final Options options;
  private final CopyProgress progress;
  private final CopyListener listener;
  private final boolean record;
  private volatile boolean failed;

  /**
   * @param record whether each chunk is recorded on new ({@link StartState}) in the transaction that commits it, for
   *     {@code start --resume}
   */
  public InitialCopy(Endpoint old, Endpoint nw, String snapshot, Options options, CopyProgress progress, CopyListener listener,
      boolean record) {
    this.old = old;
    this.nw = nw;
    this.snapshot = snapshot;
    this.options = options;
    this.progress = progress;
    this.listener = listener;
    this.record = record;
  }

  /**
   * Why a table cannot be copied into its counterpart (a column of old missing or generated on
   * new), or null when it can.
   */
  public static String incompatibility(TablePair t) {
    String split = splitOnNew(t);
    if (split != null) {
      return split;
    }
    for (Column c : t.old().copiedColumns()) {
      Column n = t.nw().column(c.name());
      if (n == null) {
        return "column " + c.name() + " of " + t.old().name() + " is missing on new";
      }
      if (n.generated()) {
        return "column " + c.name() + " of " + t.old().name() + " is generated on new but not on old";
      }
    }
    return null;
  }

  /**
   * Why a table partitioned on new but not on old is refused, or null for any other pair: new's changes to it are captured and
   * published under its partitions' names, which old does not have, so the way back would stop at
   * the first one (and verify would read none of its rows on new).
   */
  public static String splitOnNew(TablePair t) {
    if (!t.nw().partitioned() || t.old().partitioned()) {
      return null;
    }
    return "table " + t.old().name() + " is partitioned on new but not on old, which the way back cannot follow (new's changes to it"
        + " carry its partitions' names, which old does not have)";
  }

  /**
   * Whether binary COPY is safe: the same built-in type for every copied column on both sides, and
   * none an oid alias type (regclass, regtype, regproc, ...): those hold oids, which name objects by
   * each database's own numbering, so they go as text, names that new resolves (printed
   * schema-qualified, see {@link #openWorker}).
   */
  static boolean binaryCompatible(TablePair t) {
    for (Column c : t.old().copiedColumns()) {
      Column n = t.nw().column(c.name());
      if (n == null || !c.builtInType() || !n.builtInType() || c.typeOid() != n.typeOid() || !c.type().equals(n.type())
          || c.oidAlias()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Makes every copy still running stop at its next buffer, and later ones not start; called by
   * whoever recorded the first failure, so the failures this causes come second.
   */
  void abort() {
    failed = true;
  }

  /** Plans the chunks of every table (splitting under the snapshot), registering each table with the progress. */
  List<Chunk> plan(List<TablePair> tables, int oldMajor) throws Exception {
    List<Chunk> chunks = new ArrayList<>();
    int maxChunks = Math.max(1, options.jobs() * 4);
    List<TablePair> bySize = new ArrayList<>(tables);
    bySize.sort(Comparator.comparingLong((TablePair t) -> t.old().bytes()).reversed());
    try (Worker planner = openWorker()) {
      for (TablePair t : bySize) {
        boolean binary = options.binary() && binaryCompatible(t);
        long bytes = t.old().bytes();
        List<String> predicates = bytes > options.chunkBytes() ? split(planner.old, t.old(), chunks(bytes, maxChunks), oldMajor) : List.of();
        boolean freeze = predicates.isEmpty() && freezable(planner.nw, t.nw());
        if (predicates.isEmpty()) {
          predicates = Collections.singletonList(null);
        }
        progress.add(t.old().name(), t.old().estimatedRows(), bytes, predicates.size(), binary, freeze);
        for (int i = 0; i < predicates.size(); i++) {
          chunks.add(new Chunk(t, predicates.get(i), i + 1, predicates.size(), bytes / predicates.size(), binary, freeze));
        }
      }
    }
    return chunks;
  }

  /** How many chunks for {@code bytes}: a multiple of the jobs, at most {@code max}. */
  private int chunks(long bytes, int max) {
    long wanted = (bytes - 1) / options.chunkBytes() + 1;
    long rounded = (wanted + options.jobs() - 1) / options.jobs() * options.jobs();
    return (int) Math.min(max, rounded);
  }

  /**
   * Whether new's table may be truncated and filled with COPY FREEZE: a plain table that no other
   * table's foreign key references.
   */
  private static boolean freezable(Connection nw, TableInfo t) throws SQLException {
    return Sql.bool(nw, "SELECT c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_constraint f"
        + " WHERE f.contype = 'f' AND f.confrelid = c.oid AND f.conrelid <> c.oid)"
        + " FROM pg_class c WHERE c.oid = ?::regclass", t.name().regclass());
  }

  /** Predicates that split a table into about {@code n} parts, or an empty list when it cannot be split. */
  private static List<String> split(Connection old, TableInfo t, int n, int oldMajor) throws SQLException {
    List<String> out = new ArrayList<>();
    if (oldMajor >= 14) {
      long pages = Sql.number(old, "SELECT pg_relation_size(?::regclass) / current_setting('block_size')::bigint", t.name().regclass());
      if (pages < n) {
        return out;
      }
      long previous = 0;
      for (int i = 1; i <= n; i++) {
        long next = i == n ? -1 : pages * i / n;
        String lower = previous == 0 ? null : "ctid >= '(" + previous + ",0)'::tid";
        String upper = next < 0 ? null : "ctid < '(" + next + ",0)'::tid";
        out.add(lower == null ? upper : upper == null ? lower : lower + " AND " + upper);
        previous = next;
      }
      return out;
    }
    if (t.key().size() != 1 || !"primary key".equals(t.keyKind())) {
      return out;
    }
    Column k = t.column(t.key().get(0));
    if (k == null || !INTEGER_TYPES.contains(k.type())) {
      return out;
    }
    String col = Sql.ident(k.name());
    long min;
    long max;
    try (PreparedStatement ps = old.prepareStatement("SELECT min(" + col + "), max(" + col + ") FROM ONLY " + t.name().quoted());
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      if (rs.getObject(1) == null) {
        return out;
      }
      min = rs.getLong(1);
      max = rs.getLong(2);
    }
    long span;
    try {
      span = Math.subtractExact(max, min);
    } catch (ArithmeticException overflow) {
      return out;
    }
    if (span < n) {
      return out;
    }
    long previous = Long.MIN_VALUE;
    for (int i = 1; i <= n; i++) {
      long next = i == n ? Long.MIN_VALUE : min + span / n * i;
      String lower = previous == Long.MIN_VALUE ? null : col + " >= " + previous;
      String upper = next == Long.MIN_VALUE ? null : col + " < " + next;
      out.add(lower == null ? upper : upper == null ? lower : lower + " AND " + upper);
      previous = next;
    }
    return out;
  }

  /**
   * Truncates new's table in the current transaction, which COPY FREEZE requires, after checking
   * under an exclusive lock that it is still empty: rows that reached it since the preflight are
   * never removed; start fails with {@link Failure#PRECONDITION} instead. The lock is asked for in
   * short tries ({@link ShortLocks#first}): a session reading the table on new (a report, an
   * operator's transaction left open) kept the copy waiting as long as it lived, and every later
   * reader of the table queued behind the request.
   */
  private static void truncateEmpty(Connection nw, TableName table) throws SQLException, ReplicatorException {
    ShortLocks.first(nw, "new", table, "ACCESS EXCLUSIVE", "to empty it for the copy");
    if (Sql.bool(nw, "SELECT EXISTS (SELECT 1 FROM ONLY " + table.quoted() + ")")) {
      throw new ReplicatorException(Failure.PRECONDITION, table + " on new got rows from elsewhere while start was copying,"
          + " so start stopped and left every table on new as it was (some may hold rows it copied)",
          "find and stop what writes to new, empty its tables, then run start again");
    }
    Sql.execute(nw, "TRUNCATE ONLY " + table.quoted());
  }

  /** A worker's two connections: old inside the snapshot, new ready for COPY without triggers. */
  final class Worker implements AutoCloseable {
    final Connection old;
    final Connection nw;

    Worker(Connection old, Connection nw) {
      this.old = old;
      this.nw = nw;
    }

    @Override
    public void close() throws SQLException {
      try {
        old.close();
      } finally {
        if (nw != null) {
          nw.close();
        }
      }
    }
  }

  /** Opens a worker; the snapshot must still be exported (its replication connection open and idle). */
  Worker openWorker() throws Exception {
    Connection o = old.connect();
    Connection n = null;
    try {
      Sql.execute(o, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      Sql.execute(o, "SET TRANSACTION SNAPSHOT " + Sql.literal(snapshot));
      // Values of the oid alias types (regclass, ...) print as names: with only pg_catalog on the
      // path, schema-qualified, so new reads them as the same objects whatever its own path.
      Sql.execute(o, "SET search_path = pg_catalog");
      n = nw.connect();
      options.triggersOff().session(n);
      Sql.execute(n, "SET synchronous_commit = off");
      n.setAutoCommit(false);
      return new Worker(o, n);
    } catch (Exception e) {
      o.close();
      if (n != null) {
        n.close();
      }
      throw e;
    }
  }

  /** Copies every large object under the snapshot; returns how many and their bytes. */
  long[] copyLargeObjects(Worker w) throws Exception {
    if (failed) {
      throw new IllegalStateException("another worker failed");
    }
    long count = LargeObjects.count(w.old);
    long bytes = LargeObjects.copyAll(w.old, w.nw);
    if (record) {
      StartState.recordLargeObjects(w.nw);
      w.nw.commit();
    }
    return new long[] {count, bytes};
  }

  /** Copies one chunk, reporting to the progress and the listener; returns whether it was its table's last. */
  boolean copyChunk(Worker w, Chunk chunk) throws Exception {
    if (failed) {
      throw new IllegalStateException("another worker failed");
    }
    TableInfo t = chunk.table().old();
    CopyProgress.TableProgress tp = progress.get(t.name());
    listener.chunkStarting(t.name(), chunk.index(), chunk.of());
    tp.started();
    long started = System.nanoTime();
    if (t.copiedColumns().isEmpty()) {
      copyRowsWithoutColumns(w, chunk, tp, started);
    } else {
      copyStream(w, chunk, tp, started);
    }
    if (!tp.chunkDone()) {
      return false;
    }
    listener.tableCopied(tp);
    return true;
  }

  /**
   * A table without columns, or with generated columns only: COPY cannot name an empty column
   * list, and there is nothing to send but the number of rows. New gets as many rows (its
   * generated columns computed as on old).
   */
  private void copyRowsWithoutColumns(Worker w, Chunk chunk, CopyProgress.TableProgress tp, long started) throws Exception {
    TableInfo t = chunk.table().old();
    long rows = Sql.number(w.old, "SELECT count(*) FROM ONLY " + t.name().quoted()
        + (chunk.predicate() == null ? "" : " WHERE " + chunk.predicate()));
    TableName target = chunk.table().nw().name();
    try {
      if (chunk.freeze()) {
        truncateEmpty(w.nw, target);
      }
      try (PreparedStatement ps = w.nw.prepareStatement("INSERT INTO " + target.quoted() + " SELECT FROM generate_series(1, ?)")) {
        ps.setLong(1, rows);
        ps.executeUpdate();
      }
      recorded(w, chunk, rows, 0, started);
      w.nw.commit();
    } catch (Exception e) {
      Transactions.afterRollback(w.nw, false, e);
      throw e;
    }
    tp.add(rows, 0);
  }

  /** Records the chunk for a resumed start, in the transaction about to commit its rows. */
  private void recorded(Worker w, Chunk chunk, long rows, long bytes, long started) throws SQLException {
    if (record) {
      StartState.recordChunk(w.nw, chunk.table().nw().name(), chunk.index(), chunk.of(), rows, bytes,
          (System.nanoTime() - started) / 1_000_000);
    }
  }

  /** The next message of old's COPY; a shortage there is old's. */
  private static byte[] readFrom(CopyOut out) throws Exception {
    try {
      return out.readFromCopy();
    } catch (SQLException e) {
      throw ServerShortage.on(Side.OLD, e);
    }
  }

  /** One COPY from old piped into one COPY into new. */
  private void copyStream(Worker w, Chunk chunk, CopyProgress.TableProgress tp, long started) throws Exception {
    TableInfo t = chunk.table().old();
    String columns = t.copiedColumnList();
    String format = chunk.binary() ? " (FORMAT binary)" : "";
    String outSql = chunk.predicate() == null
        ? "COPY " + t.name().quoted() + " (" + columns + ") TO STDOUT" + format
        : "COPY (SELECT " + columns + " FROM ONLY " + t.name().quoted() + " WHERE " + chunk.predicate() + ") TO STDOUT" + format;
    TableName target = chunk.table().nw().name();
    String inFormat = chunk.binary() && chunk.freeze() ? " (FORMAT binary, FREEZE)" : chunk.freeze() ? " (FREEZE)" : format;
    String inSql = "COPY " + target.quoted() + " (" + columns + ") FROM STDIN" + inFormat;
    CopyManager outApi = w.old.unwrap(PGConnection.class).getCopyAPI();
    CopyManager inApi = w.nw.unwrap(PGConnection.class).getCopyAPI();
    CopyOut out = outApi.copyOut(outSql);
    CopyIn in = null;
    long counted = 0;
    long bytes = 0;
    try {
      if (chunk.freeze()) {
        truncateEmpty(w.nw, target);
      }
      List<String> disabled = options.triggersOff().disable(w.nw, target);
      in = inApi.copyIn(inSql);
      byte[] buffer = new byte[BUFFER];
      int fill = 0;
      long messages = 0;
      byte[] message;
      while ((message = readFrom(out)) != null) {
        messages++;
        if (fill + message.length > BUFFER) {
          in.writeToCopy(buffer, 0, fill);
          tp.add(messages, fill);
          bytes += fill;
          counted += messages;
          messages = 0;
          fill = 0;
          if (failed) {
            throw new IllegalStateException("another worker failed");
          }
        }
        if (message.length > BUFFER) {
          in.writeToCopy(message, 0, message.length);
          tp.add(0, message.length);
          bytes += message.length;
        } else {
          System.arraycopy(message, 0, buffer, fill, message.length);
          fill += message.length;
        }
      }
      if (fill > 0) {
        in.writeToCopy(buffer, 0, fill);
      }
      tp.add(messages, fill);
      bytes += fill;
      counted += messages;
      long copied = in.endCopy();
      options.triggersOff().enable(w.nw, target, disabled);
      recorded(w, chunk, copied, bytes, started);
      w.nw.commit();
      tp.add(copied - counted, 0);
    } catch (Exception e) {
      CopyStreams.cancelAfter(in, e);
      CopyStreams.cancelAfter(out, e);
      Transactions.afterRollback(w.nw, false, e);
      throw e;
    }
  }
}
