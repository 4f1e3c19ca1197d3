package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Apply pacing ({@code Applier.Options.batchEvery}): single-row transactions committed on old in
 * quick succession are gathered into about one batch per {@code batchEvery} once the applier keeps
 * up, where an unpaced applier applies them nearly one batch each; either way all of them arrive.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 11, newMajor = 17)
class ApplyPacingTest {
  private static final int TRANSACTIONS = 40;
  private static final Duration WRITE_EVERY = Duration.ofMillis(25);
  private static final Duration PACED = Duration.ofMillis(300);
  private static final Duration CATCH_UP = Duration.ofSeconds(60);

  @Test
  void apply_batchEvery_appliesQuickSuccessiveWritesInFewerBatches(PostgresPair pair) throws Exception {
    Run unpaced = run(pair, "unpaced", Duration.ZERO);
    Run paced = run(pair, "paced", PACED);

    long atMost = paced.writeNanos / PACED.toNanos() + 2;
    assertThat(paced.batches).as("batches with batchEvery = %s over %d ms of writes", PACED, paced.writeNanos / 1_000_000)
        .isLessThanOrEqualTo(atMost);
    assertThat(paced.batches).as("batches paced vs unpaced (%d)", unpaced.batches).isLessThan(unpaced.batches);
  }

  private record Run(long batches, long writeNanos) {}

  /** Commits {@link #TRANSACTIONS} one-row updates on old, {@link #WRITE_EVERY} apart, and counts the batches that applied them. */
  private static Run run(PostgresPair pair, String prefix, Duration batchEvery) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, prefix);
    Replicator r = db.replicator();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    // No idle writes: every batch counted holds changes.
    Applier.Options defaults = Applier.Options.defaults();
    Applier.Options options = new Applier.Options(defaults.poll(), batchEvery, Duration.ofHours(1), defaults.trimEvery(),
        defaults.rotateAfter(), defaults.lockWait(), defaults.batchSpan(), defaults.tickEvery(), defaults.networkTimeout());
    try (ApplyProcess apply = r.apply(options)) {
      Applier forward = apply.appliers().get(0);
      r.awaitCaughtUp(CATCH_UP);
      long batches0 = forward.batches();
      long changes0 = forward.changes();
      long t0 = System.nanoTime();
      try (Connection o = db.old()) {
        for (int i = 0; i < TRANSACTIONS; i++) {
          OwnedDatabase.execute(o, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
          LockSupport.parkNanos(t0 + (i + 1) * WRITE_EVERY.toNanos() - System.nanoTime());
        }
      }
      long writeNanos = System.nanoTime() - t0;
      await().atMost(CATCH_UP).until(() -> forward.changes() >= changes0 + TRANSACTIONS);
      long batches = forward.batches() - batches0;

      r.awaitCaughtUp(CATCH_UP);
      VerifyReport verify = r.verify(Verifier.Options.defaults());
      assertThat(verify.differences()).as("%s", verify.tables()).isZero();
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.count(n, "SELECT value FROM counter WHERE name = 'c1'")).isEqualTo(TRANSACTIONS);
      }
      assertThat(forward.missing()).isZero();
      return new Run(batches, writeNanos);
    } finally {
      r.cleanup();
    }
  }
}
