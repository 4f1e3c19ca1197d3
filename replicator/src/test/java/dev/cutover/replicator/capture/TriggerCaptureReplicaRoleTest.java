package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Trigger capture applied by a superuser, so with {@code session_replication_role = replica} on
 * new: the mode in which the applier holds changes back and writes them table by table, many rows
 * per statement (BatchWriter). The same writes of every kind as {@link TriggerCaptureFlow}, plus
 * one transaction that updates one key many times between other tables' changes, deletes and
 * inserts a key again, and changes a key: new ends equal to old, and no change finds no row.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 11, newMajor = 17)
class TriggerCaptureReplicaRoleTest {

  @Test
  void apply_asSuperuserUnderConcurrentWrites_verifyFindsNoDifference(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "replica");
    Replicator r = Replicator.builder().old(superuser(db, Side.OLD, pair.oldServer())).nw(superuser(db, Side.NEW, pair.newServer())).build();
    try (MixedWrites writes = new MixedWrites(db)) {
      await().atMost(TriggerCaptureFlow.CATCH_UP).until(() -> writes.commits.get() >= 20);
      r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
      try (Connection o = db.old()) {
        o.setAutoCommit(false);
        for (int k = 0; k < 30; k++) {
          OwnedDatabase.execute(o, "UPDATE counter SET value = value + " + k + " WHERE name = 'c3'");
          OwnedDatabase.execute(o, "INSERT INTO keyless VALUES (" + k + ", 'same-tx')");
          OwnedDatabase.execute(o, "UPDATE counter SET value = value * 3 WHERE name = 'c4'");
          OwnedDatabase.execute(o, "UPDATE scratch SET payload = 'p" + k + "' WHERE id = 7");
        }
        OwnedDatabase.execute(o, "DELETE FROM scratch WHERE id = 8");
        OwnedDatabase.execute(o, "INSERT INTO scratch VALUES (8, 'again')");
        OwnedDatabase.execute(o, "UPDATE scratch SET id = 1008 WHERE id = 9");
        OwnedDatabase.execute(o, "UPDATE scratch SET payload = 'after key change' WHERE id = 1008");
        o.commit();
      }
      writes.truncateToo();
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        long seen = writes.commits.get();
        await().atMost(TriggerCaptureFlow.CATCH_UP).until(() -> writes.commits.get() >= seen + 50);
        // The way back armed while the forward apply writes on new in replica mode, in a session
        // begun before new had capture triggers: what it applies must not be captured again.
        r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(30)));
        await().atMost(TriggerCaptureFlow.CATCH_UP).until(() -> apply.appliers().size() == 2);
        long armed = writes.commits.get();
        await().atMost(TriggerCaptureFlow.CATCH_UP).until(() -> writes.commits.get() >= armed + 50);
        // A superuser's fix on new in replica mode (skipping foreign key checks) must go back to old.
        try (Connection n = db.nwAsSuperuser()) {
          OwnedDatabase.execute(n, "SET session_replication_role = replica");
          OwnedDatabase.execute(n, "INSERT INTO counter VALUES ('fixed-on-new', 7)");
          OwnedDatabase.execute(n, "UPDATE counter SET value = 8 WHERE name = 'fixed-on-new'");
        }
        writes.close();
        assertThat(writes.failures).isEmpty();
        r.awaitCaughtUp(TriggerCaptureFlow.CATCH_UP);
        try (Connection o = db.old()) {
          await().atMost(TriggerCaptureFlow.CATCH_UP)
              .until(() -> OwnedDatabase.strings(o, "SELECT value::text FROM counter WHERE name = 'fixed-on-new'").equals(List.of("8")));
        }
        Applier back = apply.appliers().stream().filter(a -> a.way().name().equals(Way.REVERSE)).findFirst().orElseThrow();
        assertThat(back.changes()).as("changes carried back: the superuser's two, none the forward apply wrote").isEqualTo(2);
        assertThat(back.lastError()).isNull();

        VerifyReport verify = r.verify(Verifier.Options.defaults());
        assertThat(verify.differences()).as("%s", verify.tables()).isZero();
        try (Connection o = db.old(); Connection n = db.nw()) {
          for (String t : OwnedDatabase.TABLES) {
            assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM " + t)).as(t).isEqualTo(OwnedDatabase.count(o, "SELECT count(*) FROM " + t));
          }
          for (String q : new String[] {"SELECT name || '=' || value FROM counter ORDER BY 1",
              "SELECT id || '=' || coalesce(payload, '') FROM scratch ORDER BY id",
              "SELECT coalesce(a::text, '-') || coalesce(b, '-') FROM keyless ORDER BY 1"}) {
            assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
          }
        }
        assertThat(apply.appliers().get(0).missing()).as("changes that found no row").isZero();
      }
    }
    r.cleanup();
  }

  /**
   * {@link TriggerCaptureFlow#moveDeferrableKeys} applied in replica mode, where new checks no
   * DEFERRABLE constraint at all (their checks are triggers that fire on origin only). Before, the
   * swap was replayed by the deferrable primary key: its first step left two rows with id 2, its
   * second updated both, and new ended with a key twice and a row lost.
   */
  @Test
  void apply_deferrableKeysSwappedAndShiftedInOneStatement_newEndsAsOldInReplicaMode(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "deferrable");
    TriggerCaptureFlow.createDeferrableKeys(db);
    Replicator r = Replicator.builder().old(superuser(db, Side.OLD, pair.oldServer())).nw(superuser(db, Side.NEW, pair.newServer())).build();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      TriggerCaptureFlow.moveDeferrableKeys(db, r, apply);
    }
    r.cleanup();
  }

  /**
   * {@link TriggerCaptureFlow#applyNestedWritesInOrder} applied in replica mode, where new fires
   * neither the application's triggers nor its foreign keys' actions or checks.
   */
  @Test
  void apply_applicationTriggersWriteInNestedStatements_newEndsAsOldInReplicaMode(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "nested");
    TriggerCaptureFlow.createNestedWrites(db);
    Replicator r = Replicator.builder().old(superuser(db, Side.OLD, pair.oldServer())).nw(superuser(db, Side.NEW, pair.newServer())).build();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      TriggerCaptureFlow.applyNestedWritesInOrder(db, r, apply);
    }
    r.cleanup();
  }

  private static Endpoint superuser(OwnedDatabase db, Side side, PostgresServer server) {
    return Endpoint.of(side, db.url(server), server.user(), server.password());
  }
}
