package dev.cutover.driver;

import static dev.cutover.driver.FlagDisagreementTest.attribute;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.TcpProxy;
import java.sql.Connection;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * An instance that starts while the new database does not answer (restarted for an upgrade, failed
 * over) serves old as documented, and must still take part in the service's switches: before, it
 * never heartbeat, so a peer's switch neither waited for it nor told it, fenced old under its
 * writers (25006 on every write), and cleanup later went ahead under it (found by review, r29).
 */
@LeakCheckedPair
class NewLateTest {
  private static final Duration SWITCHED = Duration.ofSeconds(60);

  /**
   * Instance late starts with new refusing connections; its flag lags (held at old). Its peer's flag
   * flips while new still refuses late: the peer's switch waits for late, which cannot get ready, so
   * it is refused before any gate closes, naming late, and old stays unfenced under late's writers.
   * Once new answers, the peer's switch (tried again while its flag asks) drains late, which follows
   * to new through its heartbeat, and every write late acknowledged is on new.
   */
  @Test
  void peerSwitch_instanceStartedWhileNewRefused_isDrainedAndFollowsToNew(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    String laggingFlag = db.flagKey + "-lagging";
    ManualFlag.named(laggingFlag).set(Target.OLD);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer());
        SwitchEvents events = new SwitchEvents(db.database)) {
      proxy.refuse(true);
      try (HikariDataSource late = pool(db, proxy, laggingFlag);
          Workload load = new Workload(late, 2, 0);
          Connection peer = DrainTest.connect(db.url("cutover.instance=peer", "cutover.switch.retry-interval=1s"));
          Connection oldWatch = db.oldDirect();
          Connection watch = db.newDirect()) {
        await().atMost(Duration.ofSeconds(30)).until(() -> load.commits.get() >= 20);

        db.flip(Target.NEW);
        SwitchEvent refused = next(events, "peer");
        assertThat(refused.outcome()).as(refused.summary()).isEqualTo(Outcome.ABORTED);
        assertThat(refused.reason()).contains("instance late#").contains("cannot get ready")
            .contains("new database is unreachable");
        assertThat(refused.gateClosed()).as("refused before any gate closed").isFalse();
        assertThat(Fence.isRaised(oldWatch)).as("old's fence").isFalse();
        long atRefusal = load.commits.get();
        await().atMost(SWITCHED).until(() -> load.commits.get() >= atRefusal + 20);
        assertThat(attribute(db.database, "late", "Serving")).isEqualTo("old");
        assertThat(attribute(db.database, "late", "FlagDisagreement")).as("its joins aborted: it serves old, as its flag asks")
            .isEqualTo("");

        proxy.refuse(false);
        Set<String> switching = new HashSet<>(Set.of("peer", "late"));
        while (!switching.isEmpty()) {
          SwitchEvent e = events.next();
          if (e.outcome() == Outcome.COMPLETED) {
            switching.remove(e.instance());
          }
        }
        assertThat(attribute(db.database, "late", "Serving")).isEqualTo("new");
        long switched = load.commits.get();
        await().atMost(SWITCHED).until(() -> load.commits.get() >= switched + 20);
        load.close();
        load.assertIntact(watch);
        assertThat(DrainTest.sideOf(peer)).isEqualTo(pair.newServer().port());
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * What the start could not check on new is looked at again once new answers: the MBean's
   * ControlSchemaPresent and PendingGuarantees recover. Before, they kept saying new did not answer
   * for as long as the instance ran, unless its own flag asked for a switch.
   */
  @Test
  void start_newRefusedThenAnswers_controlSchemaAndPendingGuaranteesRecover(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer())) {
      proxy.refuse(true);
      try (HikariDataSource late = pool(db, proxy, db.flagKey)) {
        assertThat(attribute(db.database, "late", "ControlSchemaPresent")).isEqualTo(false);
        assertThat((String[]) attribute(db.database, "late", "PendingGuarantees"))
            .anySatisfy(p -> assertThat(p).contains("new database did not answer at start"));

        proxy.refuse(false);
        await().atMost(Duration.ofSeconds(30)).until(() -> (Boolean) attribute(db.database, "late", "ControlSchemaPresent"));
        assertThat((String[]) attribute(db.database, "late", "PendingGuarantees")).isEmpty();
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /** The next switch event of {@code instance}, past those of others. */
  private static SwitchEvent next(SwitchEvents events, String instance) throws InterruptedException {
    SwitchEvent e;
    do {
      e = events.next();
    } while (!e.instance().equals(instance));
    return e;
  }

  /** A pool of instance late, reaching new through {@code proxy} and following the flag {@code flagKey}. */
  private static HikariDataSource pool(Replicated db, TcpProxy proxy, String flagKey) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.urlWithNew(proxy.redirect(db.pair.newServer().jdbcUrl(db.database)), "cutover.instance=late",
        "cutover.switch.retry-interval=1s").replace("cutover.flag.key=" + db.flagKey, "cutover.flag.key=" + flagKey));
    config.setUsername(db.user());
    config.setMaximumPoolSize(2);
    config.setPoolName("late-" + db.database);
    return new HikariDataSource(config);
  }
}
