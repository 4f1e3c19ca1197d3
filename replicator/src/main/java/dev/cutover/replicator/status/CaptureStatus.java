package dev.cutover.replicator.status;

import dev.cutover.common.Quoting;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyFailures;
import dev.cutover.replicator.apply.ApplyProgress;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.capture.ChangeLog;
import dev.cutover.replicator.capture.TxidSnapshot;
import dev.cutover.replicator.ddl.SchemaChanges;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A direction of trigger capture as {@code status} shows it: the change log on the source (size,
 * rows still to apply, age), the position on the target, whether an apply process holds the
 * direction, lag by heartbeat and by the age of the last applied snapshot, and what is wrong (the
 * schemas compared included: where no event trigger captures a schema change, that is how one shows).
 */
final class CaptureStatus {
  /** A direction whose last applied snapshot is older than this (while changes wait) is catching up. */
  private static final long BEHIND_MILLIS = 2_000;

  private CaptureStatus() {}

  /** The direction {@code name} from {@code source} to {@code target}, or null where it has no trace. */
  static StatusReport.Direction direction(String name, Side sourceSide, Connection source, Connection target) throws SQLException {
    boolean logged = CaptureSchema.installed(source);
    // The trim first, then the position: read the other way round, an apply that committed a batch and trimmed the log up to it in
    // between showed as changes lost ("broken", with the remedy of starting over).
    Optional<TxidSnapshot> trimmed = logged ? ChangeLog.trimmedTo(source) : Optional.empty();
    Optional<ApplyProgress.Position> at = ApplyProgress.read(target, name);
    if (!logged && at.isEmpty()) {
      return null;
    }
    String sourceLabel = sourceSide.label();
    String targetLabel = sourceSide.other().label();
    List<String> problems = new ArrayList<>();
    Map<String, String> tables = new LinkedHashMap<>();
    List<TableName> carried = logged ? CaptureSchema.capturedTables(source) : List.of();
    for (TableName t : carried) {
      tables.put(t.toString(), "captured");
    }
    // A change log on new with neither triggers nor a position: a reverse that died before it armed the way back, nothing captured.
    boolean reverseUnfinished = Way.REVERSE.equals(name) && logged && at.isEmpty() && carried.isEmpty();
    List<TableName> uncaptured = new ArrayList<>();
    for (TableName t : logged && !reverseUnfinished ? Catalog.applicationTables(source) : List.<TableName>of()) {
      if (tables.putIfAbsent(t.toString(), "not captured") == null) {
        uncaptured.add(t);
      }
    }
    if (!uncaptured.isEmpty()) {
      // The event trigger gives a table its triggers when it is created: with it, a table without is
      // one made logged since start (unlogged, neither engine carried it) or stripped by hand.
      String why = CaptureSchema.followsSchemaChanges(source)
          ? "made logged since start (ALTER TABLE … SET LOGGED: the event trigger captures tables as they are created), or their"
              + " triggers dropped by hand"
          : "created after start, where no event trigger could give them theirs: that needs a superuser";
      problems.add(uncaptured.size() + " table(s) on " + sourceLabel + " have no capture triggers (" + why + "): their changes do"
          + " not reach " + targetLabel + ": " + names(uncaptured) + ". " + captureLate(uncaptured, sourceLabel, targetLabel));
    }
    List<TableName> disabled = logged ? CaptureSchema.disabledTables(source) : List.of();
    if (!disabled.isEmpty()) {
      problems.add("capture triggers are disabled on " + disabled.size() + " table(s) on " + sourceLabel + " (ALTER TABLE … DISABLE"
          + " TRIGGER, with no event trigger to enable them again: that needs a superuser): " + names(disabled) + "; their writes since"
          + " do not reach " + targetLabel + ". Run " + remake(disabled, source, sourceLabel) + ", then `cutover-replicator verify`: rows"
          + " it finds different were written meanwhile, and need `cutover-replicator cleanup` and start again (or the same write made on "
          + targetLabel + ")");
    }
    List<TableName> stale = logged ? CaptureSchema.staleTables(source) : List.of();
    stale = stale.stream().filter(t -> !disabled.contains(t)).toList();
    if (!stale.isEmpty()) {
      problems.add(stale.size() + " table(s) on " + sourceLabel + " changed their key or json columns since their capture triggers"
          + " were made (no event trigger made them again: that needs a superuser): " + names(stale) + "; until they are made again,"
          + " an UPDATE that changes the new key may be logged as one that keeps it (and find no row on " + targetLabel + "), and a"
          + " JSON null in a new json column arrives as SQL NULL; run " + remake(stale, source, sourceLabel)
          + ", then `cutover-replicator verify`");
    }
    boolean applying = Way.applying(target, name);
    StatusReport.Captured captured = null;
    String state;
    if (!logged) {
      state = "broken";
      problems.add(targetLabel + " holds an apply position for " + name + " but " + sourceLabel + " has no change log: run cleanup and start again");
    } else if (reverseUnfinished) {
      state = "broken";
      problems.add("a `reverse` did not finish: " + sourceLabel + " has a change log but no capture triggers, and " + targetLabel
          + " no apply position for " + name + ", so nothing is carried back yet; run `cutover-replicator reverse` again");
    } else if (at.isEmpty()) {
      state = "broken";
      problems.add(sourceLabel + " captures changes but " + targetLabel + " has no apply position for " + name + " (an interrupted"
          + " start?): the log only grows; run `cutover-replicator cleanup` and start again");
    } else {
      ApplyProgress.Position p = at.get();
      ChangeLog.Size size = ChangeLog.size(source, p.snapshot());
      Instant sourceNow = sourceClock(source);
      long appliedAge = Math.max(0, Duration.between(p.sourceTime(), sourceNow).toMillis());
      captured = new StatusReport.Captured(size.rows(), size.rowsEstimated(), size.bytes(), size.pending(), size.morePending(),
          size.oldestAgeMillis(), p.snapshot().text(), appliedAge, p.batches(), p.changes(), p.missing(), applying);
      Optional<ApplyFailures.Failed> failed = ApplyFailures.read(target, name);
      Optional<ApplyFailures.Failed> unreached = applying ? Optional.empty() : ApplyFailures.unreached(source, name);
      boolean stopped = failed.filter(ApplyFailures.Failed::stopped).isPresent();
      // As apply refuses it: the log trimmed past the position, or the source behind it. "N not applied yet" counts only what
      // the log still holds, and "start it" would only meet the refusal (r25).
      Optional<ReplicatorException> lost = stopped ? Optional.empty()
          : ChangeLog.cannotResume(source, trimmed, new ChangeLog.Tick(p.snapshot(), p.sourceTime()), sourceLabel, targetLabel);
      if (stopped) {
        // An apply refused the position for good (named below, r31): old's transaction ids may have passed it since.
        state = "broken";
      } else if (lost.isPresent()) {
        state = "broken";
        problems.add(lost.get().getMessage() + "; changes are lost and " + name + " cannot resume (`cutover-replicator apply` refuses"
            + " it): " + lost.get().remedy());
      } else if (failed.filter(ApplyFailures.Failed::recent).isPresent()) {
        // Between tries the apply process holds no session, and so no lock: it is not stopped.
        state = "failing";
      } else if (unreached.isPresent()) {
        // It cannot log in to the target, and noted so on the source: it runs, and a second one would not help.
        state = "failing";
        problems.add(ApplyFailures.describeUnreached(unreached.get(), targetLabel));
      } else if (!applying) {
        state = "stopped";
        problems.add("no `cutover-replicator apply` runs for " + name + ": changes wait in the change log on " + sourceLabel + " ("
            + (size.morePending() ? "more than " : "") + size.pending() + " row(s) now) and lag grows; start it");
        Optional<Duration> sinceTick = ChangeLog.lastTickAge(source);
        if (size.pending() > 0 && sinceTick.map(t -> t.toMillis() > StatusReader.WRITER_GONE_MILLIS).orElse(true)) {
          // Ticks cut a backlog into batches (Ticker): without them, it comes back as one (r28).
          problems.add("no tick recorded on " + sourceLabel + sinceTick.map(t -> " for " + t.toSeconds() + " s").orElse("")
              + " (apply and `cutover-replicator heartbeat` record them): the changes written since will be applied on " + targetLabel
              + " as one transaction when apply starts, counted only once it commits, and slowly where a row is updated often;"
              + " run `cutover-replicator heartbeat --source " + sourceLabel + "` (or `status --watch`) until apply runs again, so"
              + " that what is written from now on comes in batches");
        }
      } else if (size.pending() > 0 && appliedAge > BEHIND_MILLIS) {
        state = "catching-up";
      } else {
        state = "streaming";
      }
      failed.ifPresent(f -> problems.add(f.describe(targetLabel)));
      ChangeLog.trimHeld(source, Applier.Options.defaults().rotateAfter(), sourceLabel).ifPresent(problems::add);
      if (p.missing() > 0) {
        problems.add(p.missing() + " change(s) found no row on " + targetLabel + " (changed there by someone else?): run verify");
      }
    }
    if (logged && at.isPresent()) {
      boolean otherWay = ApplyProgress.read(source, sourceSide == Side.OLD ? Way.REVERSE : Way.FORWARD).isPresent();
      problems.addAll(SchemaChanges.logProblems(source, target, sourceLabel, targetLabel, applying, otherWay));
      problems.addAll(SchemaChanges.drift(source, target, sourceLabel, targetLabel, carried::contains));
    }
    // An unfinished reverse armed nothing whose heartbeat could be missed.
    StatusReader.Beats beats = StatusReader.beats(sourceSide, source, target, reverseUnfinished ? new ArrayList<>() : problems);
    problems.addAll(FenceOwnership.problems(source, sourceSide));
    return new StatusReport.Direction(name, sourceLabel, state, false, false, applying, tables, null, null, beats.lagMillis(),
        beats.ageMillis(), null, null, Map.of(), problems, captured);
  }

  private static String names(List<TableName> tables) {
    return tables.stream().map(TableName::toString).collect(Collectors.joining(", "));
  }

  /**
   * How to capture tables created after start: {@code adopt} makes them on the target, gives them
   * their capture triggers and copies the rows written before ({@link dev.cutover.replicator.capture.Adopt}).
   */
  private static String captureLate(List<TableName> tables, String sourceLabel, String targetLabel) {
    return "Run `cutover-replicator adopt " + (sourceLabel.equals("old") ? "" : "--from " + sourceLabel + " ")
        + tables.stream().map(t -> Quoting.shellWord(t.sqlName())).collect(Collectors.joining(" ")) + "`: it makes each on " + targetLabel
        + " where missing, gives it its capture triggers and copies the rows it holds, its writers on " + sourceLabel
        + " waiting meanwhile";
  }

  /** The statements that (re)make {@code tables}' capture triggers, each ending in ";". */
  private static String captureTables(List<TableName> tables) {
    return tables.stream().map(t -> "SELECT cutover.capture_table(" + Sql.literal(t.quoted()) + ");").collect(Collectors.joining(" "));
  }

  /** The statements that make {@code tables}' capture triggers again, and where and as whom to run them. */
  private static String remake(List<TableName> tables, Connection source, String sourceLabel) throws SQLException {
    return captureTables(tables) + " on " + sourceLabel + " as " + Catalog.currentUser(source);
  }

  /** The source's clock now. */
  static Instant sourceClock(Connection source) throws SQLException {
    try (var s = source.createStatement(); var rs = s.executeQuery("SELECT clock_timestamp()")) {
      rs.next();
      return rs.getTimestamp(1).toInstant();
    }
  }
}
