package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.driver.internal.control.Barrier;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.flags.Target;
import dev.cutover.replicator.cli.ReplicatorCli;
import dev.cutover.replicator.replication.HeartbeatWriter;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Commands that write given old's and new's URLs the wrong way round, or run in the direction a
 * switch has left behind: each is refused before it writes, naming the side and why, rather than
 * deleting the serving side's large objects (sync-large-objects), planting a heartbeat row that
 * stops replication (heartbeat), or advising start over a running migration (catch-up).
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SwappedCommandsTest {

  /** A replicator given new's URL as --old-url and old's as --new-url. */
  private static Replicator swapped(PostgresPair pair, AppDatabase db) {
    return Replicator.builder()
        .old(AppDatabase.endpoint(pair.newServer(), Side.OLD, db.name))
        .nw(AppDatabase.endpoint(pair.oldServer(), Side.NEW, db.name))
        .build();
  }

  private static void assertSwapped(Throwable e, String step) {
    assertThat(e).isInstanceOfSatisfying(ReplicatorException.class, x -> {
      assertThat(x.failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(x.getMessage()).contains("old and new look swapped").contains("(" + step + " changed nothing)");
    });
  }

  @Test
  void syncLargeObjects_urlsSwapped_refusedAndOldKeepsItsLargeObject(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "lo_swapped");
    ReplicationFlowTest.start(db.replicator());
    try (Connection o = db.old()) {
      AppDatabase.execute(o, "SELECT lo_from_bytea(515151, 'invoice written on old after start')");
    }

    assertSwapped(org.assertj.core.api.Assertions.catchThrowable(() -> swapped(pair, db).syncLargeObjects()), "sync-large-objects");

    try (Connection o = db.old()) {
      assertThat(AppDatabase.strings(o, "SELECT convert_from(lo_get(515151), 'UTF8')"))
          .as("old's large object, the serving side's").containsExactly("invoice written on old after start");
    }
  }

  @Test
  void syncLargeObjects_afterTheSwitchToNew_refusedAndNewKeepsItsLargeObjects(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "lo_after_switch");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    try (Connection o = db.old(); Connection n = db.nw()) {
      AppDatabase.fenceAsASwitch(o);
      AppDatabase.execute(n, "SELECT lo_from_bytea(525252, 'written on new after the switch')");
    }

    assertThatThrownBy(r::syncLargeObjects).isInstanceOfSatisfying(ReplicatorException.class, e -> {
      assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(e.getMessage()).contains("new serves").contains("old is fenced").contains("sync-large-objects changed nothing");
      assertThat(e.remedy()).contains("before the switch");
    });
    assertThat(largeObjectsOnNew(db)).as("new's large object, the serving side's").isOne();

    // The way back armed (forward dropped, below 16) and old's fence lowered by hand: new's writes
    // flow back to old, so new serves all the same.
    r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP, true));
    boolean twoWay = pair.oldServer().majorVersion() >= 16 && pair.newServer().majorVersion() >= 16;
    if (!twoWay) {
      try (Connection o = db.old()) {
        Fence.lower(o);
      }
      assertThatThrownBy(r::syncLargeObjects).isInstanceOfSatisfying(ReplicatorException.class, e -> {
        assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
        assertThat(e.getMessage()).contains("new serves").contains("reverse replication");
      });
      assertThat(largeObjectsOnNew(db)).isOne();
    }
  }

  /**
   * A switch to new released on old, and old's fence lowered by hand afterwards (which the docs
   * warn against): old's control schema still records that new serves.
   */
  @Test
  void syncLargeObjects_switchToNewReleasedThoughOldsFenceLowered_refused(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "lo_released");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    try (Connection o = db.old(); Connection n = db.nw()) {
      String id = Coordination.begin(o, "replicator-test", "released-" + System.nanoTime(), Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(o, "replicator-test", id)).isTrue();
      Fence.raise(o, "replicator-test", id, "test", Duration.ofSeconds(5));
      Coordination.release(o, "replicator-test", id, Barrier.writeForSwitch(o, "replicator-test", id), "test", 0);
      Fence.lower(o);
      AppDatabase.execute(n, "SELECT lo_from_bytea(525252, 'written on new after the switch')");
    }

    assertThatThrownBy(r::syncLargeObjects).isInstanceOfSatisfying(ReplicatorException.class, e -> {
      assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(e.getMessage()).contains("new serves").contains("service replicator-test to new as released");
    });
    assertThat(largeObjectsOnNew(db)).isOne();
  }

  private static long largeObjectsOnNew(AppDatabase db) throws Exception {
    try (Connection n = db.nw()) {
      return AppDatabase.count(n, "SELECT count(*) FROM pg_largeobject_metadata WHERE oid = 525252");
    }
  }

  @Test
  void heartbeat_urlsSwapped_refusedBeforeItWritesOnNew(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "beat_swapped");
    ReplicationFlowTest.start(db.replicator());

    assertSwapped(org.assertj.core.api.Assertions.catchThrowable(() -> {
      try (HeartbeatWriter beat = swapped(pair, db).heartbeat(Side.OLD, Duration.ofMillis(50))) {
        Thread.sleep(300);
      }
    }), "heartbeat");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = ReplicatorCli.run(new PrintWriter(out, true), new PrintWriter(err, true),
        Map.of("CUTOVER_REPLICATOR_OLD_PASSWORD", pair.newServer().password(), "CUTOVER_REPLICATOR_NEW_PASSWORD", pair.oldServer().password()),
        false, "heartbeat", "--duration", "1s", "--old-url", pair.newServer().jdbcUrl(db.name), "--new-url", pair.oldServer().jdbcUrl(db.name),
        "--old-user", pair.newServer().user(), "--new-user", pair.oldServer().user());
    assertThat(code).as(out + " " + err).isEqualTo(Failure.PRECONDITION.exitCode());
    assertThat(err.toString()).contains("old and new look swapped").doesNotContain("writing the heartbeat");
    assertThat(out.toString()).doesNotContain("beat(s) written");

    try (Connection n = db.nw()) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM cutover.replication_heartbeat WHERE origin = 'old'"))
          .as("no row 'old' on new, where forward's would collide with it").isZero();
    }
  }

  @Test
  void heartbeat_onTheWayBacksTarget_refusedBeforeItWrites(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "beat_way_back");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    try (Connection o = db.old()) {
      AppDatabase.fenceAsASwitch(o);
    }
    r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP, true));

    // --source new with swapped URLs: the endpoint given as new is old, the way back's target.
    assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> {
      try (HeartbeatWriter beat = swapped(pair, db).heartbeat(Side.NEW, Duration.ofMillis(50))) {
        Thread.sleep(300);
      }
    })).isInstanceOfSatisfying(ReplicatorException.class, e -> {
      assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(e.getMessage()).contains("heartbeat changed nothing");
    });

    try (Connection o = db.old()) {
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM cutover.replication_heartbeat WHERE origin = 'new'"))
          .as("no row 'new' on old, where the way back's would collide with it").isZero();
    }
    try (HeartbeatWriter beat = r.heartbeat(Side.NEW, Duration.ofMillis(50))) {
      org.awaitility.Awaitility.await().atMost(ReplicationFlowTest.CATCH_UP).until(() -> beat.beats() > 0);
    }
  }

  @Test
  void catchUp_urlsSwapped_saysSoRatherThanAdvisingStart(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "catch_up_swapped");
    ReplicationFlowTest.start(db.replicator());

    Throwable e = org.assertj.core.api.Assertions.catchThrowable(() -> swapped(pair, db).awaitCaughtUp(Duration.ofSeconds(5)));

    assertSwapped(e, "catch-up");
    assertThat(((ReplicatorException) e).remedy()).doesNotContain("cutover-replicator start`");
  }
}
