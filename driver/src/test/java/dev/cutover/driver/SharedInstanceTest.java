package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Two routers of one service that share {@code cutover.instance} (an application's pool and its
 * migration data source in one JVM, or pods given one cutover.properties) meet in the control
 * schema as two instances: the leader waits for both to drain.
 */
@LeakCheckedPair
class SharedInstanceTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  /**
   * Before, both wrote one heartbeat row: the idle router's drain marked the row drained, the
   * leader fenced old while the other router's transaction still ran, and that transaction's next
   * write failed with 25006.
   */
  @Test
  void flip_twoRoutersWithTheSameInstance_leaderWaitsForTheOtherOnesTransaction(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection busy = DrainTest.connect(db.url("cutover.instance=pod-1", "cutover.drain.timeout=20s"));
        Connection idle = DrainTest.connect(db.url("cutover.instance=pod-1", "cutover.drain.timeout=20s",
            "cutover.router.linger=29s"))) {
      assertThat(CutoverDriver.routers()).filteredOn(r -> r.getService().equals(db.database)).hasSize(2);
      busy.setAutoCommit(false);
      DrainTest.insert(busy, "begun before the flip");

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(20)).until(() -> fenced(db) || waitingForOneOfTwo(db));
      DrainTest.insert(busy, "written while the idle router has drained");
      busy.commit();

      assertThat(List.of(events.next(), events.next())).allSatisfy(e -> assertThat(e.outcome()).as(e.summary())
          .isEqualTo(Outcome.COMPLETED));
      busy.setAutoCommit(true);
      assertThat(DrainTest.sideOf(busy)).isEqualTo(pair.newServer().port());
      try (Connection n = db.newDirect(); PreparedStatement ps = n.prepareStatement("SELECT count(*) FROM note");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertThat(rs.getInt(1)).as("both rows of the transaction, replicated to new").isEqualTo(2);
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  private static boolean fenced(Replicated db) throws Exception {
    try (Connection o = db.oldDirect()) {
      return Fence.isRaised(o);
    }
  }

  /** Whether the service's switch has two live instances, one of them drained. */
  private static boolean waitingForOneOfTwo(Replicated db) throws Exception {
    try (Connection o = db.oldDirect(); PreparedStatement ps = o.prepareStatement(
        "SELECT count(*) FROM cutover.instance WHERE service = ?")) {
      Optional<Coordination.Decision> d = Coordination.decision(o, db.database);
      if (d.isEmpty()) {
        return false;
      }
      ps.setString(1, db.database);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1) == 2
            && Coordination.undrained(o, db.database, d.get().id(), Duration.ofSeconds(5)).size() == 1;
      }
    }
  }
}
