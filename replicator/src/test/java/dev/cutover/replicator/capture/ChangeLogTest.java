package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.apply.ApplyProgress;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Where a batch of the change log ends: at the read's own snapshot (one round trip for tick and
 * read) or at a tick given, and for a target behind, at a recorded tick that is after its
 * position, never one before.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 17)
class ChangeLogTest {
  private static final Duration SPAN = Duration.ofMillis(500);
  private static final Duration CATCH_UP = Duration.ofSeconds(60);

  @Test
  void read_toThePresent_aTransactionOpenAcrossTheRead_comesWholeInTheNextBatch(PostgresPair pair) throws Exception {
    OwnedDatabase db = started(pair, "now");
    try (Connection o = db.old(); Connection open = db.old()) {
      ChangeLog.Tick from = ChangeLog.tick(o);
      open.setAutoCommit(false);
      OwnedDatabase.execute(open, "UPDATE counter SET value = 10 WHERE name = 'c1'");
      OwnedDatabase.execute(o, "UPDATE counter SET value = 20 WHERE name = 'c2'");
      OwnedDatabase.execute(open, "UPDATE counter SET value = 11 WHERE name = 'c3'");

      List<ChangeLog.Change> first = new ArrayList<>();
      ChangeLog.Batch one = ChangeLog.read(o, from.snapshot(), null, 1, first::add);
      open.commit();
      List<ChangeLog.Change> second = new ArrayList<>();
      ChangeLog.Batch two = ChangeLog.read(o, one.tick().snapshot(), null, 1, second::add);
      ChangeLog.Batch three = ChangeLog.read(o, two.tick().snapshot(), null, 1, c -> { });
      // Read again up to the first tick, given: what committed after it stays out.
      ChangeLog.Batch again = ChangeLog.read(o, from.snapshot(), one.tick(), 1, c -> { });

      assertThat(first).extracting(ChangeLog.Change::newRow).singleElement().asString().contains("\"c2\"");
      assertThat(one.changes()).isOne();
      assertThat(second).extracting(ChangeLog.Change::newRow).hasSize(2)
          .satisfiesExactly(r -> assertThat(r).contains("\"c1\""), r -> assertThat(r).contains("\"c3\""));
      assertThat(three.changes()).isZero();
      assertThat(again.tick()).isEqualTo(one.tick());
      assertThat(again.changes()).isEqualTo(1);
      assertThat(from.snapshot().before(one.tick().snapshot())).isTrue();
      assertThat(one.tick().snapshot().before(two.tick().snapshot())).isTrue();
      assertThat(one.tick().sourceTime()).isAfterOrEqualTo(from.sourceTime());
    }
  }

  @Test
  void backlogTick_aTickTakenBeforeThePositionButTimedAfterIt_isNeverWhereABatchEnds(PostgresPair pair) throws Exception {
    OwnedDatabase db = started(pair, "backlog");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "DELETE FROM cutover.capture_tick");
      ChangeLog.Tick earlier = ChangeLog.tick(o);
      OwnedDatabase.execute(o, "UPDATE counter SET value = 1 WHERE name = 'c1'");
      ChangeLog.Tick applied = ChangeLog.tick(o);
      OwnedDatabase.execute(o, "UPDATE counter SET value = 2 WHERE name = 'c1'");
      ChangeLog.Tick later = ChangeLog.tick(o);
      // Far ahead of the position: the target is behind, so a recorded tick within the span is looked for.
      record(o, later.snapshot(), applied, SPAN.multipliedBy(4));
      // The only ones within the span were taken before the position, though timed after it, or at it (nothing committed between).
      record(o, earlier.snapshot(), applied, Duration.ofMillis(1));
      record(o, applied.snapshot(), applied, Duration.ofMillis(1));

      // Passed over, for the first one after them: neither is a reason to read the whole backlog as one batch (r28).
      assertThat(ChangeLog.backlogTick(o, applied.snapshot(), applied.sourceTime(), SPAN))
          .hasValueSatisfying(t -> assertThat(t.snapshot().text()).isEqualTo(later.snapshot().text()));

      record(o, later.snapshot(), applied, Duration.ofMillis(2));
      assertThat(ChangeLog.backlogTick(o, applied.snapshot(), applied.sourceTime(), SPAN))
          .hasValueSatisfying(t -> assertThat(t.snapshot().text()).isEqualTo(later.snapshot().text()));
    }
  }

  /**
   * A batch read while its commit is not yet on the source's disk (committed asynchronously) is
   * durable once {@link ChangeLog#awaitDurable} returns: the source's flush position is then past the
   * WAL position taken with the batch's end. On 9.6, with its own names for those functions, as the
   * tables' owner.
   */
  @Test
  void awaitDurable_aBatchCommittedAsynchronously_isOnTheSourcesDiskAfterwards(PostgresPair pair) throws Exception {
    OwnedDatabase db = started(pair, "durable");
    try (Connection o = db.old(); Connection writer = db.old()) {
      ChangeLog.Tick from = ChangeLog.tick(o);
      OwnedDatabase.execute(writer, "SET synchronous_commit = off");
      OwnedDatabase.execute(writer, "UPDATE counter SET value = 30 WHERE name = 'c1'");
      ChangeLog.Batch batch = ChangeLog.read(o, from.snapshot(), null, 10, c -> { });
      assertThat(batch.changes()).isOne();
      assertThat(ChangeLog.awaitDurable(o, batch, () -> true)).isTrue();
      assertThat(ChangeLog.lsn(OwnedDatabase.strings(o, "SELECT pg_current_xlog_flush_location()::text").get(0)))
          .isGreaterThanOrEqualTo(batch.wal());
    }
  }

  /**
   * What status reads of a large change log (apply stopped for days) is bounded: before, it
   * counted both log tables whole, twice, on old (the production database), in every status and
   * every `status --watch` round, and could outlast `--network-timeout`, reported as a silent
   * network (r28). Measured in the rows its statements read (this transaction's statistics), not in
   * time; without parallel workers, whose reads those statistics leave out. Status then says
   * which of its figures are an estimate or a lower bound.
   */
  @Test
  void size_aLogOfAMillionRows_readsABoundedPartOfIt(PostgresPair pair) throws Exception {
    OwnedDatabase db = started(pair, "large");
    try (Connection o = db.old()) {
      ChangeLog.Tick applied = ChangeLog.tick(o);
      // As the capture logs them: a million changes in one transaction, none applied.
      OwnedDatabase.execute(o, "INSERT INTO cutover.change_log_0 (nsp, rel, op, new_row) SELECT 'public', 'scratch', 'I',"
          + " json_build_object('id', g, 'payload', 'p') FROM generate_series(1, 1000000) g");
      OwnedDatabase.execute(o, "ANALYZE cutover.change_log_0");
      o.setAutoCommit(false);
      OwnedDatabase.execute(o, "SET LOCAL max_parallel_workers_per_gather = 0");
      ChangeLog.Size size = ChangeLog.size(o, applied.snapshot());
      long read = OwnedDatabase.count(o, "SELECT sum(pg_stat_get_xact_tuples_returned(c.oid) + pg_stat_get_xact_tuples_fetched(c.oid))"
          + " FROM pg_class c WHERE c.relnamespace = 'cutover'::regnamespace AND c.relname LIKE 'change\\_log\\_%'");
      o.rollback();

      assertThat(read).as("rows and index entries of the change log read by status's statements").isLessThan(1_000_000);
      assertThat(size.rowsEstimated()).isTrue();
      assertThat(size.rows()).isCloseTo(1_000_000, withinPercentage(10));
      assertThat(size.pending()).isEqualTo(ChangeLog.COUNTED);
      assertThat(size.morePending()).isTrue();
      assertThat(size.bytes()).isGreaterThan(1_000_000 * 30L);
      // As status shows them: no apply ran since start, so every row waits.
      assertThat(db.statusCli()).contains("row(s) (estimated), ").contains("more than 100,000 not applied yet");
      assertThat(db.replicator().status().forward().problems())
          .anySatisfy(p -> assertThat(p).contains("changes wait in the change log on old (more than 100000 row(s) now)"));
    }
  }

  /**
   * On a log below {@link ChangeLog#COUNTED} rows a table, status's figures are counts: every row,
   * and as not applied those of transactions that committed after the position and of one running
   * at it (in its xip), found through the txid index as a batch finds them.
   */
  @Test
  void size_aSmallLog_countsItsRowsAndThoseNotApplied_aTransactionRunningAtThePositionIncluded(PostgresPair pair) throws Exception {
    OwnedDatabase db = started(pair, "small");
    try (Connection o = db.old(); Connection open = db.old()) {
      long before = ChangeLog.size(o, ChangeLog.tick(o).snapshot()).rows();
      open.setAutoCommit(false);
      OwnedDatabase.execute(open, "UPDATE counter SET value = 40 WHERE name = 'c1'");
      OwnedDatabase.execute(o, "UPDATE counter SET value = 41 WHERE name = 'c2'");
      ChangeLog.Tick applied = ChangeLog.tick(o);
      open.commit();
      OwnedDatabase.execute(o, "INSERT INTO scratch SELECT g, 'after' FROM generate_series(900001, 900003) g");

      ChangeLog.Size size = ChangeLog.size(o, applied.snapshot());

      assertThat(applied.snapshot().xip()).isNotEmpty();
      assertThat(size.rows()).isEqualTo(before + 5);
      assertThat(size.rowsEstimated()).isFalse();
      assertThat(size.pending()).as("the open transaction's change and the three after the position").isEqualTo(4);
      assertThat(size.morePending()).isFalse();
    }
  }

  /**
   * A new install keeps the tick of every position from start on, so that its first apply already
   * checks that old holds the position's tick. Before, the install had no {@code ticks_kept}: the
   * first apply added it (ALTER TABLE on old as the apply started) and checked by transaction ids alone.
   */
  @Test
  void start_aNewInstall_keepsTicksBeforeAnyApply(PostgresPair pair) throws Exception {
    OwnedDatabase db = started(pair, "ticks_new");
    try (Connection o = db.old()) {
      assertThat(OwnedDatabase.strings(o, "SELECT ticks_kept::text FROM cutover.capture_state")).containsExactly("true");
    }
  }

  /**
   * An install made before ticks were kept: its {@code capture_state} lacks {@code ticks_kept}, and
   * old holds ticks from before new's position but not the position's own (that build kept none).
   * Apply neither refuses for that tick nor goes on checking by transaction ids alone: it applies,
   * keeps the position's tick, completes the install in place, and from then on refuses a position
   * whose tick old lost.
   */
  @Test
  void apply_anInstallFromBeforeTicksWereKept_appliesThenChecksByTicks(PostgresPair pair) throws Exception {
    OwnedDatabase db = started(pair, "ticks_before");
    Replicator r = db.replicator();
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "ALTER TABLE cutover.capture_state DROP COLUMN ticks_kept");
      loseTick(o, position(db));
      OwnedDatabase.execute(o, "UPDATE counter SET value = 7 WHERE name = 'c1'");
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers().get(0).refusal()).isNull();
    }
    try (Connection o = db.old(); Connection n = db.nw()) {
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM counter WHERE name = 'c1' AND value = 7")).isOne();
      assertThat(OwnedDatabase.strings(o, "SELECT ticks_kept::text FROM cutover.capture_state")).containsExactly("true");
      loseTick(o, position(db));
    }
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      Applier forward = apply.appliers().get(0);
      await().atMost(CATCH_UP).until(() -> forward.refusal() != null);
      assertThat(forward.refusal().getMessage()).contains("old lacks the tick new applied up to");
    }
  }

  /** New's position now. */
  private static ChangeLog.Tick position(OwnedDatabase db) throws Exception {
    try (Connection n = db.nw()) {
      ApplyProgress.Position p = ApplyProgress.read(n, Way.FORWARD).orElseThrow();
      return new ChangeLog.Tick(p.snapshot(), p.sourceTime());
    }
  }

  /** Old loses the tick of {@code position} while it holds one from before it, as a source that came back behind it would. */
  private static void loseTick(Connection o, ChangeLog.Tick position) throws Exception {
    record(o, position.snapshot(), position, Duration.ofSeconds(-1));
    try (PreparedStatement ps = o.prepareStatement("DELETE FROM cutover.capture_tick WHERE snapshot = ? AND at = ?")) {
      ps.setString(1, position.snapshot().text());
      ps.setTimestamp(2, Timestamp.from(position.sourceTime()));
      ps.executeUpdate();
    }
  }

  private static OwnedDatabase started(PostgresPair pair, String prefix) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, prefix);
    Replicator r = db.replicator();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    return db;
  }

  /** Records {@code snapshot} as a tick timed {@code after} the time of {@code applied}. */
  private static void record(Connection o, TxidSnapshot snapshot, ChangeLog.Tick applied, Duration after) throws Exception {
    try (PreparedStatement ps = o.prepareStatement("INSERT INTO cutover.capture_tick (snapshot, at) VALUES (?, ?)")) {
      ps.setString(1, snapshot.text());
      ps.setTimestamp(2, Timestamp.from(applied.sourceTime().plus(after)));
      ps.executeUpdate();
    }
  }
}
