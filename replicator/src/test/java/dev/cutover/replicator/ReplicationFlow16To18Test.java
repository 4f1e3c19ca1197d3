package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The same flow between PostgreSQL 16 and 18, where reverse replication runs beside forward (origin = none). */
@PostgresVersions(oldMajor = 16, newMajor = 18)
class ReplicationFlow16To18Test extends ReplicationFlow {

  /**
   * Old's slot lost WAL it needed (max_slot_wal_keep_size, from 13, so here and not in the 12 -> 17 class) while the subscription was
   * stopped: replication can never resume, status says broken, and catch-up fails at once with
   * status's remedy rather than waiting out its timeout and saying only that it did not catch up.
   */
  @Test
  void catchUp_slotLostItsWal_failsAtOnceNamingTheSlot(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "lostslot");
    Replicator r = db.replicator();
    start(r);
    r.awaitCaughtUp(CATCH_UP);
    try (Connection o = db.old(); Connection n = db.nw()) {
      String sub = AppDatabase.strings(n, "SELECT subname FROM pg_subscription WHERE subdbid"
          + " = (SELECT oid FROM pg_database WHERE datname = current_database())").get(0);
      AppDatabase.execute(n, "ALTER SUBSCRIPTION " + sub + " DISABLE");
      await().atMost(Duration.ofSeconds(20)).until(() -> AppDatabase.count(o, "SELECT count(*) FROM pg_replication_slots"
          + " WHERE slot_name = '" + sub + "' AND active") == 0);
      try {
        AppDatabase.execute(o, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
        AppDatabase.execute(o, "SELECT pg_reload_conf()");
        await().atMost(Duration.ofSeconds(30)).until(() -> {
          AppDatabase.execute(o, "SELECT pg_logical_emit_message(false, 'test', repeat('x', 1000)); SELECT pg_switch_wal(); CHECKPOINT");
          return AppDatabase.strings(o, "SELECT coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = '" + sub + "'")
              .equals(List.of("lost"));
        });
      } finally {
        AppDatabase.execute(o, "ALTER SYSTEM RESET max_slot_wal_keep_size");
        AppDatabase.execute(o, "SELECT pg_reload_conf()");
      }
      assertThat(r.status().forward().state()).isEqualTo("broken");

      long t0 = System.nanoTime();
      assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofSeconds(20))).isInstanceOfSatisfying(ReplicatorException.class, e -> {
        assertThat(e.failure()).isEqualTo(Failure.TIMEOUT);
        assertThat(e.getMessage()).contains("slot " + sub + " on old lost WAL it needed (max_slot_wal_keep_size)");
        assertThat(e.remedy()).contains("run cleanup and start again");
      });
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
    }
  }

  /**
   * Two-way (16+): the way back's slot on new lost its WAL while old's subscription was stopped,
   * and the operator dropped that subscription as status advises. Plain reverse dropped the lost
   * slot and armed from a new one without a word of refusal, missing what the lost slot held; now
   * it refuses as below 16, and --accept-missing-writes arms it from a new slot.
   */
  @Test
  void reverse_twoWaySlotLostItsWal_refusedUnlessMissingWritesAreAccepted(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "lostboth");
    Replicator r = db.replicator();
    start(r);
    String slot = r.reverse(new dev.cutover.replicator.replication.Reverse.Options(Duration.ZERO, CATCH_UP)).slot();
    try (Connection o = db.old(); Connection n = db.nw()) {
      AppDatabase.execute(o, "ALTER SUBSCRIPTION " + slot + " DISABLE");
      await().atMost(Duration.ofSeconds(20)).until(() -> AppDatabase.count(n, "SELECT count(*) FROM pg_replication_slots"
          + " WHERE slot_name = '" + slot + "' AND active") == 0);
      WayBackSlotTest.loseWal(n, slot);
      AppDatabase.execute(o, "ALTER SUBSCRIPTION " + slot + " SET (slot_name = NONE); DROP SUBSCRIPTION " + slot);

      assertThatThrownBy(() -> r.reverse(new dev.cutover.replicator.replication.Reverse.Options(Duration.ZERO, CATCH_UP)))
          .isInstanceOfSatisfying(ReplicatorException.class, e -> {
            assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
            assertThat(e.getMessage()).contains("slot " + slot + " on new lost WAL it needed");
            assertThat(e.remedy()).contains("reverse --accept-missing-writes");
          });
      r.reverse(new dev.cutover.replicator.replication.Reverse.Options(Duration.ZERO, CATCH_UP, true));
      AppDatabase.execute(n, "INSERT INTO customer (id, email) VALUES (900403, 'after-lost-two-way@example.com')");
      await().atMost(CATCH_UP).until(() -> AppDatabase.count(o, "SELECT count(*) FROM customer WHERE id = 900403") == 1);
    }
  }
}
