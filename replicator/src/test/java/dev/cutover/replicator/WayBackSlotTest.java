package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The way back's slot on new and the transactions elsewhere on new's server that its creation
 * waits for: made by the switch as it opens new (reverse --prepare, below 16), or by reverse itself.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 12, newMajor = 17)
class WayBackSlotTest {
  @Test
  void reverse_switchOpenedNewWithoutThePreparedSlot_refusesNamingWhy(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "wayback");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    r.prepareReverse();
    String other = pair.newServer().createDatabase(db.name + "_other");
    try (Connection x = pair.newServer().connect(other); Connection n = db.nw(); Connection o = db.old()) {
      AppDatabase.execute(x, "CREATE TABLE batch (id int)");
      AppDatabase.execute(x, "BEGIN; INSERT INTO batch VALUES (1); PREPARE TRANSACTION 'left-on-new'");
      try {
        Coordination.Opened opened = AppDatabase.openAsASwitch(n, Duration.ofMillis(200));

        assertThat(opened.slots()).isZero();
        assertThat(opened.missedSlots()).startsWith("cutover_rev_");
        assertThat(opened.missedBecause()).contains("prepared transaction 'left-on-new'");
        AppDatabase.fenceAsASwitch(o);
        assertThatThrownBy(() -> r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP)))
            .isInstanceOfSatisfying(ReplicatorException.class, e -> {
              assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
              assertThat(e.getMessage()).contains("no slot " + opened.missedSlots() + " on new: reverse --prepare asked for it,"
                  + " but switch open-").contains("opened this database without it: creating it waited more than 200 ms")
                  .contains("'left-on-new'").contains("would miss every write committed on new since the switch");
              assertThat(e.remedy()).contains("--accept-missing-writes");
            });
      } finally {
        AppDatabase.execute(x, "ROLLBACK PREPARED 'left-on-new'");
      }
    }
    r.cleanup();
  }

  /**
   * Unprepared (or on 16+), reverse makes the way back's slot on new itself: a transaction prepared
   * and left in another database of new's server kept CREATE SUBSCRIPTION waiting in silence; now
   * the creation is watched and reverse gives up after --slot-wait naming it, and succeeds once it
   * has ended.
   */
  @Test
  void reverse_transactionLeftOnNewsServer_givesUpAfterTheSlotWaitNamingIt(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "wayslot");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    String other = pair.newServer().createDatabase(db.name + "_other");
    Reverse.Options options = new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP, true, Duration.ofSeconds(2));
    try (Connection x = pair.newServer().connect(other); Connection o = db.old()) {
      AppDatabase.fenceAsASwitch(o);
      AppDatabase.execute(x, "CREATE TABLE batch (id int)");
      AppDatabase.execute(x, "BEGIN; INSERT INTO batch VALUES (1); PREPARE TRANSACTION 'left-on-new'");
      try {
        assertThatThrownBy(() -> r.reverse(options)).isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.TIMEOUT);
          assertThat(e.getMessage()).startsWith("new: creating replication slot cutover_rev_").contains("waited 2 s for prepared"
              + " transaction 'left-on-new' of role " + pair.newServer().user() + " in database " + other);
          assertThat(e.remedy()).contains("COMMIT PREPARED").contains("run reverse again");
        });
      } finally {
        AppDatabase.execute(x, "ROLLBACK PREPARED 'left-on-new'");
      }
      Reverse.Report armed = r.reverse(options);
      assertThat(armed.way()).isEqualTo("new -> old");
    }
    r.cleanup();
  }
}
