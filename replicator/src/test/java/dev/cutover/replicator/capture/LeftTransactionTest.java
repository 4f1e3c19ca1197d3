package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.internal.control.WayIn;
import dev.cutover.flags.Target;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A transaction left prepared for two-phase commit (a crashed XA manager's branch) while trigger
 * capture runs (review r35 #1 and #4): on new, holding a row old's writers update, it stalls the
 * apply's batch; on old, holding the retired change-log table, it keeps the log from being trimmed,
 * which then grows. Either way status names it by its gid, with the remedy; on new, so does the
 * driver's probe refusal, without offering force (g86).
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class LeftTransactionTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void status_preparedTransactionOnNewHoldsARowTheApplyUpdates_namesItsGidAndRollbackPrepared(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "left_on_new");
    Replicator r = db.replicator();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults().withNetworkTimeout(Duration.ofSeconds(2)))) {
      prepare(db.nw(), "xa_left_on_new", "UPDATE counter SET value = value WHERE name = 'c1'");
      try {
        try (Connection o = db.old()) {
          OwnedDatabase.execute(o, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
        }
        await().atMost(WAIT).untilAsserted(() -> {
          StatusReport.Direction forward = r.status().forward();
          assertThat(forward.state()).isEqualTo("failing");
          assertThat(forward.problems()).anySatisfy(p -> assertThat(p).contains("waits for a lock on new held by 1 transaction(s):"
              + " prepared transaction 'xa_left_on_new' of role " + OwnedDatabase.ROLE).contains("COMMIT PREPARED or ROLLBACK PREPARED a prepared one on new"));
          // The switch's probe refusal reads the same note (cutover.way_in), and does not offer force
          try (Connection n = db.nw(); Connection o = db.old()) {
            WayIn way = WayIn.read(n, o, Target.NEW).orElseThrow();
            assertThat(way.forcingLosesWrites()).isTrue();
            assertThat(WayIn.remedy(Optional.of(way), Target.OLD, Target.NEW, false))
                .contains("prepared transaction 'xa_left_on_new'").contains("fix the cause it names").contains("do not force the switch");
          }
        });
      } finally {
        finish(db.nw(), "ROLLBACK PREPARED 'xa_left_on_new'");
      }
      r.awaitCaughtUp(WAIT);
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.count(n, "SELECT value FROM counter WHERE name = 'c1'")).isEqualTo(1);
      }
    } finally {
      r.cleanup();
    }
  }

  @Test
  void status_preparedTransactionOnOldHoldsTheRetiredLog_namesItsGidAndThatTheLogGrows(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "left_on_old");
    Replicator r = db.replicator();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    // Rotating every 200 ms: the table the prepared row went into is retired within a moment, and "a few rotation periods" pass
    // soon. Rows committed after it into the same table are what the truncate must wait for (its own is invisible to the trim).
    try (ApplyProcess apply = r.apply(Applier.Options.defaults().withTrimming(Duration.ofMillis(50), Duration.ofMillis(200)));
        Connection o = db.old()) {
      prepare(db.old(), "xa_left_by_tm", "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
      AtomicInteger written = new AtomicInteger();
      try {
        await().atMost(WAIT).untilAsserted(() -> {
          OwnedDatabase.execute(o, "INSERT INTO scratch VALUES (" + (100_000 + written.incrementAndGet()) + ", 'after')");
          assertThat(r.status().forward().problems()).anySatisfy(p -> assertThat(p).contains("could not be truncated")
              .contains("prepared transaction 'xa_left_by_tm' of role " + OwnedDatabase.ROLE)
              .contains("COMMIT PREPARED or ROLLBACK PREPARED a prepared one on old").contains("grows"));
        });
      } finally {
        finish(db.old(), "COMMIT PREPARED 'xa_left_by_tm'");
      }
      r.awaitCaughtUp(WAIT);
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.count(n, "SELECT value FROM counter WHERE name = 'c1'")).isEqualTo(1);
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM scratch WHERE id > 100000")).isEqualTo(written.get());
      }
      await().atMost(WAIT).untilAsserted(() -> assertThat(r.status().forward().problems()).noneSatisfy(p -> assertThat(p)
          .contains("could not be truncated")));
    } finally {
      r.cleanup();
    }
  }

  /** Runs {@code sql} on {@code c} in a transaction left prepared as {@code gid}, and closes {@code c}. */
  private static void prepare(Connection c, String gid, String sql) throws Exception {
    try (c) {
      c.setAutoCommit(false);
      OwnedDatabase.execute(c, sql);
      OwnedDatabase.execute(c, "PREPARE TRANSACTION '" + gid + "'");
      c.setAutoCommit(true);
    }
  }

  /** Runs {@code sql} (COMMIT or ROLLBACK PREPARED) on {@code c}, and closes it. */
  private static void finish(Connection c, String sql) throws Exception {
    try (c) {
      OwnedDatabase.execute(c, sql);
    }
  }
}
