package dev.cutover.replicator.status;

import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.ApplyFailures;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.ddl.SchemaChanges;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Forward relayed replication as {@code status} shows it: the slot on old and the WAL it holds, the
 * position on new, whether an apply process holds the direction, lag by heartbeat and by the age of
 * the last applied commit, and what is wrong (schema differences included: pgoutput carries none).
 */
final class RelayStatus {
  /** Behind by more than this much time and WAL, the direction is catching up. */
  private static final long BEHIND_MILLIS = 2_000;
  private static final long BEHIND_BYTES = 16L * 1024 * 1024;

  private RelayStatus() {}

  /** The forward direction where new relays old's slot, else null. */
  static StatusReport.Direction direction(Connection old, Connection nw) throws SQLException {
    Optional<RelayProgress.Position> at = RelayProgress.read(nw);
    if (at.isEmpty()) {
      return null;
    }
    RelayProgress.Position p = at.get();
    List<String> problems = new ArrayList<>();
    StatusReader.SlotRead read = StatusReader.slot(old, p.slot());
    boolean applying = Way.applying(nw, Way.FORWARD);
    Optional<ApplyFailures.Failed> failed = ApplyFailures.read(nw, Way.FORWARD);
    Instant oldNow = CaptureStatus.sourceClock(old);
    Long age = p.sourceTime() == null ? null : Math.max(0, Duration.between(p.sourceTime(), oldNow).toMillis());
    String state;
    if (read.slot() == null) {
      state = "broken";
      problems.add("slot " + p.slot() + " on old is missing: relaying cannot go on; run cleanup and start again");
    } else if ("lost".equals(read.slot().walStatus())) {
      state = "broken";
      problems.add("slot " + p.slot() + " on old lost WAL it needed (max_slot_wal_keep_size): relaying cannot resume;"
          + " run cleanup and start again");
    } else if (failed.filter(ApplyFailures.Failed::stopped).isPresent()) {
      // It refused the position for good (named below): no apply carries the direction again.
      state = "broken";
    } else if (failed.filter(ApplyFailures.Failed::recent).isPresent()) {
      // Between tries the apply process holds no session, and so no lock: it is not stopped.
      state = "failing";
    } else if (!applying && ApplyFailures.unreached(old, Way.FORWARD).isPresent()) {
      // It cannot log in to new, and noted so on old where it could: it runs, and a second one would not help.
      state = "failing";
      problems.add(ApplyFailures.describeUnreached(ApplyFailures.unreached(old, Way.FORWARD).get(), "new"));
    } else if (!applying) {
      state = "stopped";
      problems.add("no `cutover-replicator apply` runs for forward: slot " + p.slot() + " holds old's WAL ("
          + read.slot().retainedBytes() + " bytes now, from its restart_lsn) and lag grows; start it");
    } else if ((age == null || age > BEHIND_MILLIS) && read.lagBytes() != null && read.lagBytes() > BEHIND_BYTES) {
      state = "catching-up";
    } else {
      state = "streaming";
    }
    if (read.slot() != null && "unreserved".equals(read.slot().walStatus())) {
      problems.add("slot " + p.slot() + " on old is about to lose WAL (safe_wal_size " + read.slot().safeWalSizeBytes()
          + " bytes): keep `cutover-replicator apply` running");
    }
    SlotRetention.problem(old, "old", read.slot(), applying ? "let `cutover-replicator apply` catch up (it runs)"
        : "start `cutover-replicator apply`").ifPresent(problems::add);
    failed.ifPresent(f -> problems.add(f.describe("new")));
    if (p.missing() > 0) {
      problems.add(p.missing() + " change(s) found no row on new (changed there by someone else?): run verify");
    }
    List<TableName> carried = Catalog.publishedTables(old, p.publication());
    problems.addAll(SchemaChanges.drift(old, nw, "old", "new", carried::contains));
    problems.addAll(FenceOwnership.problems(old, Side.OLD));
    StatusReader.Beats beats = StatusReader.beats(Side.OLD, old, nw, problems);
    StatusReport.Relayed relay = new StatusReport.Relayed(p.lsn().asString(), age, p.batches(), p.changes(), p.missing(), applying);
    return new StatusReport.Direction(Way.FORWARD, "old", state, false, false, applying, Map.of(), read.slot(), read.lagBytes(),
        beats.lagMillis(), beats.ageMillis(), null, null, Map.of(), problems, null, relay);
  }
}
