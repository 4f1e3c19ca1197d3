package dev.cutover.replicator.apply;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.capture.ChangeLog.Change;
import dev.cutover.replicator.copy.TriggersOff;
import dev.cutover.replicator.relay.JsonTypes;
import dev.cutover.replicator.relay.PgOutputDecoder;
import dev.cutover.replicator.relay.SlotStream;
import dev.cutover.replicator.replication.MigrationPair;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import org.postgresql.replication.LogSequenceNumber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relayed logical replication's feed ({@code start --capture relay}): the source's slot decodes
 * with {@code pgoutput}, {@link SlotStream} brings it over a replication connection the apply
 * process opens, {@link PgOutputDecoder} turns it into the same changes trigger capture logs, and
 * the same {@link BatchWriter} writes them; new never connects to old.
 *
 * <p>Design notes. A batch is one or more whole source transactions in commit order, committed on
 * the target together with the position (the last one's commit end), and only then confirmed to
 * the slot: after a crash the target holds a batch and its position or neither, and the slot
 * resends everything after the position. A transaction whose commit lies before the position is
 * skipped whole, should the server send it again. After {@code start --resume}, the tables it
 * copied again under a later snapshot skip their changes committed before that snapshot's point
 * ({@link RelayProgress#copiedAgain}). A batch ends when the stream has nothing more
 * waiting between transactions, or at the first commit after {@value #BATCH_CHANGES} changes or
 * 20 ms since its first change: under a steady load something is always waiting, and batches
 * would otherwise grow to a second of the source's time and lag with them (measured with {@code
 * bench lag --capture relay} at 2,000 TPC-B tx/s: lag p99 1,004 ms without the limit, 92 ms with
 * 50 ms, 40 ms with 20 ms; the apply ceiling stayed within the runs' spread, 18,600-24,100 tx/s). The target commits with
 * {@code synchronous_commit = on}: confirming lets the source drop the WAL, so what came before
 * must be on the target's disk. While idle, the position follows the server's keepalives (WAL of
 * other tables and databases), written every {@code idleWrite}, so the slot does not hold the
 * source's WAL. Every {@code idleWrite} the source is also asked for its flushed WAL position over
 * the ordinary connection (answered within the network timeout, else that side is given up as
 * silent): when it is ahead of everything the stream brought and the stream stayed silent for the
 * network timeout, the replication connection is given up as silent too. A stream given up leaves
 * its walsender on the source holding the slot until the source notices ({@code wal_sender_timeout},
 * never where it is 0): the next try ends that walsender, this feed's own by pid and start time,
 * before it opens a stream; a slot held by any other session is refused naming it and the remedy.
 */
final class SlotFeed implements Feed {
  private static final Logger LOG = LoggerFactory.getLogger(SlotFeed.class);
  /** What the server says when a slot is active for another process. */
  private static final String OBJECT_IN_USE = "55006";
  private static final int BATCH_CHANGES = 10_000;
  /** A batch ends at the first commit after its first change is this old: under a steady load the stream is never empty. */
  private static final long BATCH_NANOS = Duration.ofMillis(20).toNanos();
  private static final Duration STATUS_INTERVAL = Duration.ofSeconds(1);

  /**
   * The walsender of this feed's last stream on the source ({@code pid} and {@code backend_start}),
   * to end it should it outlive its connection; the apply thread's.
   */
  private String[] walsender;

  @Override
  public void apply(Applier applier, Connection source, Connection target, TriggersOff mode) throws Exception {
    Way way = applier.way();
    RelayProgress.Position at = RelayProgress.read(target).orElseThrow(() -> new ReplicatorException(Failure.PRECONDITION,
        way.label() + " is not relayed: " + way.target().side().label() + " has no relay position",
        "run `cutover-replicator start --capture relay`"));
    requireSlotNotAhead(source, way, at);
    applier.announce("slot " + at.slot() + " at " + at.lsn().asString(), mode);
    BatchWriter writer = new BatchWriter(target, way.target().side().label(), mode, null, way.target());
    endOwnWalsender(source, way, at.slot(), applier.silenceMillis());
    try (SlotStream stream = open(source, way, at, applier.silenceMillis())) {
      walsender = Sql.rows(source, "SELECT a.pid::text, a.backend_start::text FROM pg_replication_slots s JOIN pg_stat_activity a"
          + " ON a.pid = s.active_pid WHERE s.slot_name = ? AND s.database = current_database()", at.slot()).stream().findFirst()
          .orElse(null);
      new Loop(applier, source, writer, stream, new PgOutputDecoder(JsonTypes.catalogOf(source)), at,
          RelayProgress.copiedAgain(target)).run();
    }
  }

  /**
   * Ends this feed's previous walsender on the source if it still holds the slot: a stream given up
   * as silent (a NAT entry dropped, a network that lost the close) leaves the walsender waiting for
   * its client until {@code wal_sender_timeout} (never where it is 0), and meanwhile the slot is
   * active for it and every new stream is refused. Only that very session is ended (same pid and
   * start time, still the slot's {@code active_pid}), never another consumer of the slot; the
   * role may end its own role's sessions. Waits up to {@code waitMillis} for the slot to be let go.
   */
  private void endOwnWalsender(Connection source, Way way, String slot, long waitMillis) throws SQLException {
    String[] last = walsender;
    if (last == null) {
      return;
    }
    boolean ended = Sql.bool(source, "SELECT count(pg_terminate_backend(a.pid)) > 0 FROM pg_replication_slots s"
        + " JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = ? AND s.database = current_database()"
        + " AND a.pid = ?::int AND a.backend_start = ?::timestamptz", slot, last[0], last[1]);
    walsender = null;
    if (!ended) {
      return;
    }
    LOG.info("{} apply: ended its previous walsender on {} (pid {}), which still held slot {} after its stream was given up",
        way.label(), way.source().side().label(), last[0], slot);
    long deadline = System.nanoTime() + Duration.ofMillis(waitMillis).toNanos();
    while (Sql.bool(source, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ? AND active_pid = ?::int)", slot, last[0])
        && System.nanoTime() - deadline < 0) {
      LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
    }
  }

  /**
   * Opens the slot's stream; where another session holds the slot, says which (its pid, role and
   * application) and how to free it: this feed's own leftover walsender it has ended already.
   */
  private static SlotStream open(Connection source, Way way, RelayProgress.Position at, long silenceMillis)
      throws SQLException, ReplicatorException {
    try {
      return SlotStream.open(way.source(), at.slot(), at.publication(), at.lsn(), STATUS_INTERVAL, Duration.ofMillis(silenceMillis));
    } catch (SQLException e) {
      if (!OBJECT_IN_USE.equals(e.getSQLState())) {
        throw e;
      }
      String side = way.source().side().label();
      List<String[]> holder = Sql.rows(source, "SELECT s.active_pid::text, coalesce(quote_ident(a.usename::text), 'unknown'),"
          + " coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local') FROM pg_replication_slots s"
          + " LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = ? AND s.active", at.slot());
      if (holder.isEmpty()) {
        throw new ReplicatorException(Failure.PRECONDITION, side + ": replication slot " + at.slot() + " was in use by another"
            + " session when the stream started, and is free now", "nothing to do: the apply retries", e);
      }
      String[] h = holder.get(0);
      throw new ReplicatorException(Failure.PRECONDITION, side + ": replication slot " + at.slot() + " is in use by process " + h[0]
          + " (role " + h[1] + (h[2].isEmpty() ? "" : ", application " + h[2]) + ", from " + h[3] + "), which is not this apply's own"
          + " stream (a stream of its own left behind it ends by itself)", "if it is the walsender of an earlier apply"
          + " process whose connection was lost, end it on " + side + " (SELECT pg_terminate_backend(" + h[0] + "), as its role or a"
          + " member of pg_signal_backend) or wait for " + side + "'s wal_sender_timeout; otherwise stop whatever else reads the"
          + " slot, only `cutover-replicator apply` may; the apply retries meanwhile", e);
    }
  }

  /**
   * Refuses a slot that is gone, or whose confirmed position is past the target's: only this feed
   * confirms, and only what the target has committed, so someone else read or advanced it
   * ({@code pg_logical_slot_get_changes}, {@code pg_replication_slot_advance}, another relay of
   * the same slot), or the target went back (a failover to a standby that was behind, a restore).
   * The server would start at its position without a word, and what lay between is gone from the
   * slot.
   */
  private static void requireSlotNotAhead(Connection source, Way way, RelayProgress.Position at) throws SQLException, ReplicatorException {
    String side = way.source().side().label();
    String confirmed = Sql.string(source, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = ?"
        + " AND database = current_database()", at.slot());
    if (confirmed == null) {
      throw new ReplicatorException(Failure.PRECONDITION, side + " has no replication slot " + at.slot() + " any more: what was"
          + " written there since " + at.lsn().asString() + " cannot be relayed", "run `cutover-replicator cleanup`, empty "
          + way.target().side().label() + "'s tables and start again");
    }
    if (LogSequenceNumber.valueOf(confirmed).compareTo(at.lsn()) > 0) {
      String target = way.target().side().label();
      throw new ReplicatorException(Failure.PRECONDITION, side + "'s replication slot " + at.slot() + " was moved past "
          + target + "'s position (confirmed up to " + confirmed + ", applied up to " + at.lsn().asString() + "): the changes"
          + " between are gone from it (someone else read or advanced it: pg_logical_slot_get_changes, pg_replication_slot_advance,"
          + " a second relay of this slot; or " + target + " lost batches it had committed: a failover to a standby that was"
          + " behind, a restore from a backup)", "`cutover-replicator verify` lists what differs; run"
          + " `cutover-replicator cleanup`, empty " + target + "'s tables and start again");
    }
  }

  /** One connection's worth of relaying: the batch in flight and the positions. */
  private static final class Loop {
    private final Applier applier;
    private final Connection source;
    private final BatchWriter writer;
    private final SlotStream stream;
    private final PgOutputDecoder decoder;
    /** Tables a resumed start copied again, until the position passes the point of their copy. */
    private final Map<TableName, LogSequenceNumber> copiedAgain;
    /** The position on the target. */
    private LogSequenceNumber persisted;
    /** The commit end of the last whole transaction read; null when none is waiting. */
    private LogSequenceNumber batchEnd;
    /** The commit time of the last whole transaction read, else of the one the target's position ends (null: unknown). */
    private Instant batchTime;
    private long batchChanges;
    /** When the batch's first change was read ({@link System#nanoTime()}). */
    private long batchStarted;
    private boolean skipping;
    /** The commit position of the transaction being read. */
    private LogSequenceNumber finalLsn;
    /** Whether the next change is its transaction's first. */
    private boolean first;
    /** Whether the transaction being read is the way back's own (see {@link ApplyProgress#markSql}). */
    private boolean echo;
    private long lastWrite = System.nanoTime();
    private long lastLook;
    private long lastHeard = System.nanoTime();
    private LogSequenceNumber heard;

    Loop(Applier applier, Connection source, BatchWriter writer, SlotStream stream, PgOutputDecoder decoder, RelayProgress.Position at,
        Map<TableName, LogSequenceNumber> copiedAgain) {
      this.applier = applier;
      this.source = source;
      this.writer = writer;
      this.stream = stream;
      this.decoder = decoder;
      this.copiedAgain = copiedAgain;
      this.persisted = at.lsn();
      this.batchTime = at.sourceTime();
      this.heard = stream.lastReceive();
    }

    void run() throws Exception {
      Applier.Options options = applier.options();
      try {
        while (!applier.stopping()) {
          ByteBuffer message = stream.readPending();
          if (message != null) {
            lastHeard = System.nanoTime();
            read(decoder.decode(message));
            continue;
          }
          Optional<LogSequenceNumber> through = stream.receivedThrough();
          if (through.isPresent() && batchChanges > 0) {
            commit(batchEnd, batchTime);
          } else if (System.nanoTime() - lastLook >= options.idleWrite().toNanos()) {
            look(through);
          } else {
            applier.pauseUntil(System.nanoTime() + options.poll().toNanos());
          }
        }
      } catch (Exception e) {
        writer.abandon(e);
        throw e;
      }
    }

    private void read(PgOutputDecoder.Event event) throws Exception {
      if (event instanceof PgOutputDecoder.Begin b) {
        // A transaction that committed before the position is on the target already.
        skipping = b.finalLsn().compareTo(persisted) < 0;
        finalLsn = b.finalLsn();
        first = true;
      } else if (event instanceof PgOutputDecoder.Changes cs && !skipping) {
        if (first && ApplyProgress.isMark(cs.changes().get(0))) {
          echo = true; // the way back wrote it into old: it came from new
        }
        first = false;
        if (!echo) {
          if (batchChanges == 0) {
            batchStarted = System.nanoTime();
          }
          for (Change c : cs.changes()) {
            // The control schema's local records (switch, fence, the pair's record) are the source's own, never applied.
            if ((copiedAgain.isEmpty() || !inCopy(c)) && !ControlSchema.localTable(c.schema(), c.table())
                && !MigrationPair.table(c.schema(), c.table())) {
              writer.add(c);
              batchChanges++;
            }
          }
        }
      } else if (event instanceof PgOutputDecoder.Commit c) {
        echo = false;
        if (!skipping) {
          batchEnd = c.endLsn();
          batchTime = c.commitTime();
          if (batchChanges >= BATCH_CHANGES || batchChanges > 0 && System.nanoTime() - batchStarted >= BATCH_NANOS) {
            commit(batchEnd, batchTime);
          }
        }
        skipping = false;
      }
    }

    /** Whether {@code c}'s table was copied again under a snapshot that holds {@code c}'s transaction already. */
    private boolean inCopy(Change c) {
      LogSequenceNumber copied = copiedAgain.get(new TableName(c.schema(), c.table()));
      return copied != null && finalLsn.compareTo(copied) < 0;
    }

    /** Commits the batch with the position {@code lsn}, then confirms it to the slot. */
    private void commit(LogSequenceNumber lsn, Instant sourceTime) throws Exception {
      long n = batchChanges;
      applier.applied(n, writer.commit(missing -> RelayProgress.advanceSql(lsn, sourceTime, n, missing)));
      stream.confirm(lsn);
      persisted = lsn;
      // Every transaction read from now on committed after lsn: none can be in those copies any more.
      copiedAgain.values().removeIf(copied -> copied.compareTo(lsn) <= 0);
      applier.reached(sourceTime);
      batchEnd = null;
      batchChanges = 0;
      lastWrite = System.nanoTime();
    }

    /**
     * With nothing waiting: asks the source how far its WAL is; between transactions, moves the
     * position where only empty transactions or keepalives went past it (every {@code idleWrite});
     * gives the stream up as silent where the source moved on and the stream brought nothing for
     * the network timeout, also in the middle of a transaction.
     */
    private void look(Optional<LogSequenceNumber> through) throws Exception {
      lastLook = System.nanoTime();
      LogSequenceNumber flushed;
      Instant clock;
      try (Statement s = source.createStatement();
          ResultSet rs = s.executeQuery("SELECT pg_current_wal_flush_lsn()::text, clock_timestamp()")) {
        rs.next();
        flushed = LogSequenceNumber.valueOf(rs.getString(1));
        clock = rs.getTimestamp(2).toInstant();
      }
      LogSequenceNumber received = stream.lastReceive();
      if (!received.equals(heard)) {
        heard = received;
        lastHeard = System.nanoTime();
      }
      // Inside a transaction (its Begin read, its Commit not yet) the source is ahead by definition.
      LogSequenceNumber reached = through.isEmpty() ? persisted : later(later(through.get(), batchEnd), persisted);
      boolean caughtUp = through.isPresent() && flushed.compareTo(reached) <= 0;
      if (caughtUp) {
        applier.reached(clock);
      } else if (System.nanoTime() - lastHeard > Duration.ofMillis(applier.silenceMillis()).toNanos()) {
        throw applier.silentStream("the slot's stream brought nothing for " + applier.silenceMillis() + "ms while "
            + applier.way().source().side().label() + "'s WAL moved on to " + flushed.asString());
      }
      if (reached.compareTo(persisted) > 0 && System.nanoTime() - lastWrite >= applier.options().idleWrite().toNanos()) {
        commit(reached, caughtUp || batchTime == null ? clock : batchTime);
      }
    }

    private static LogSequenceNumber later(LogSequenceNumber a, LogSequenceNumber b) {
      return b == null || a.compareTo(b) >= 0 ? a : b;
    }
  }
}
