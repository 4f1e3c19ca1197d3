package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.HeartbeatWriter;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A backlog written on old while no apply ran (review r28 #2): the heartbeat records ticks
 * meanwhile, so apply, started again, applies it in batches between them rather than as one
 * transaction on new; without them, status says so while apply is stopped, and apply when the one
 * batch grows large.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 11, newMajor = 17)
class StoppedApplyBacklogTest {
  private static final int WRITES = 5;
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void apply_afterBacklogWrittenWithHeartbeatRunning_appliesItInBatchesBetweenItsTicks(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "stopped_backlog");
    Replicator r = db.replicator();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    try {
      // No apply runs: each write is followed by a beat that began after it committed, and the tick after that beat.
      try (HeartbeatWriter beat = r.heartbeat(Side.OLD, Duration.ofMillis(50)); Connection o = db.old()) {
        for (int i = 0; i < WRITES; i++) {
          OwnedDatabase.execute(o, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
          long beats = beat.beats();
          await().atMost(WAIT).until(() -> beat.beats() >= beats + 2);
        }
      }
      // Every tick a boundary (none is within the span of another); no idle writes, so every batch counted holds changes.
      Applier.Options defaults = Applier.Options.defaults();
      Applier.Options options = new Applier.Options(defaults.poll(), defaults.batchEvery(), Duration.ofHours(1), defaults.trimEvery(),
          defaults.rotateAfter(), defaults.lockWait(), Duration.ofMillis(10), defaults.tickEvery(), defaults.networkTimeout());
      try (ApplyProcess apply = r.apply(options)) {
        Applier forward = apply.appliers().get(0);
        r.awaitCaughtUp(WAIT);
        assertThat(forward.batches()).as("batches that applied %d writes separated by ticks", WRITES).isGreaterThanOrEqualTo(WRITES);
      }
      VerifyReport verify = r.verify(Verifier.Options.defaults());
      assertThat(verify.differences()).as("%s", verify.tables()).isZero();
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.count(n, "SELECT value FROM counter WHERE name = 'c1'")).isEqualTo(WRITES);
      }
    } finally {
      r.cleanup();
    }
  }

  @Test
  void apply_backlogWithoutTicks_saysItComesAsOneTransaction(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "one_batch");
    Replicator r = db.replicator();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        "dev.cutover.replicator.apply.TickFeed");
    List<String> said = new CopyOnWriteArrayList<>();
    AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent e) {
        said.add(e.getLevel() + " " + e.getFormattedMessage());
      }
    };
    appender.start();
    log.addAppender(appender);
    try {
      // 12 transactions while no apply and no heartbeat ran: no tick between them.
      try (Connection o = db.old()) {
        for (int i = 0; i < 12; i++) {
          OwnedDatabase.execute(o, "INSERT INTO scratch SELECT g, 'backlog' FROM generate_series(" + (100_000 + i * 1000) + ", "
              + (100_999 + i * 1000) + ") g");
        }
      }
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        r.awaitCaughtUp(WAIT);
      }
      assertThat(said).anySatisfy(m -> assertThat(m).startsWith("WARN old -> new: this batch holds 10000 change(s) and more")
          .contains("applied on new as one transaction").contains("keep the heartbeat running while apply is stopped"));
    } finally {
      log.detachAppender(appender);
      r.cleanup();
    }
  }

  @Test
  void status_applyStoppedWithoutTicks_warnsTheBacklogComesAsOneTransactionUntilTheHeartbeatRuns(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "stopped_ticks");
    Replicator r = db.replicator();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    try {
      try (Connection o = db.old()) {
        OwnedDatabase.execute(o, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
      }
      await().atMost(WAIT).untilAsserted(() -> assertThat(r.status().forward().problems()).anySatisfy(p -> assertThat(p)
          .startsWith("no tick recorded on old for ").contains("applied on new as one transaction")
          .contains("run `cutover-replicator heartbeat --source old`")));

      try (HeartbeatWriter beat = r.heartbeat(Side.OLD, Duration.ofMillis(100))) {
        await().atMost(WAIT).untilAsserted(() -> assertThat(r.status().forward().problems()).noneMatch(p -> p.startsWith("no tick")));
      }
    } finally {
      r.cleanup();
    }
  }
}
