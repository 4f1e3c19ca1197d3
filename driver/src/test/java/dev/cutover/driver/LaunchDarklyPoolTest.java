package dev.cutover.driver;

import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.FLAG_KEY;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.patch;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.put;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.stringFlag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.launchdarkly.SseStandIn;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.TcpProxy;
import java.sql.Connection;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * End to end with the real LaunchDarkly SDK: a live HikariCP pool through the driver follows a
 * flag served by a local streaming stand-in ({@link SseStandIn}, held-open {@code GET /all}), on
 * real PostgreSQL with native logical replication.
 */
@LeakCheckedPair
class LaunchDarklyPoolTest {
  private static final String SDK_KEY = "sdk-e2e-pool-secret-7f3a";
  private static final String NOTES = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void standInChange_oldToNewAndBack_movesLivePoolBothWays(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    db.prepareReverse();
    try (SseStandIn standIn = new SseStandIn(put(stringFlag(1, "old")));
        LivePool live = open(db, standIn)) {
      live.assertServedBy(pair.oldServer(), "old");
      assertThat(RouterBean.attribute(db.database, "FlagHealth")).isEqualTo("VALID");
      assertThat(standIn.authorizations()).containsOnly(SDK_KEY);

      live.flipUnderLoad("LaunchDarkly stand-in, patch old -> new", Target.NEW, 0,
          () -> standIn.send(patch(stringFlag(2, "new"))));

      db.armReverse();
      live.flipUnderLoad("LaunchDarkly stand-in, patch new -> old", Target.OLD, 100,
          () -> standIn.send(patch(stringFlag(3, "old"))));

      assertThat(RouterBean.attribute(db.database, "SwitchesCompleted")).isEqualTo(2L);
      assertThat(RouterBean.attribute(db.database, "SwitchesAborted")).isEqualTo(0L);
    }
  }

  @Test
  void standInServesUnknownValue_poolStaysOnCurrentSide_andValueIsCounted(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (SseStandIn standIn = new SseStandIn(put(stringFlag(1, "old")));
        LivePool live = open(db, standIn)) {
      assertThat(RouterBean.attribute(db.database, "FlagRejectedValues")).isEqualTo(0L);

      standIn.send(patch(stringFlag(2, "sideways", "sideways")));

      await().atMost(Duration.ofSeconds(5)).until(() -> (Long) RouterBean.attribute(db.database, "FlagRejectedValues") == 1);
      // No switch starts, none ends: watched for a second after the value was handled.
      await()
          .during(Duration.ofSeconds(1))
          .atMost(Duration.ofSeconds(3))
          .until(() -> !(Boolean) RouterBean.attribute(db.database, "Holding")
              && (Long) RouterBean.attribute(db.database, "SwitchesCompleted") == 0
              && (Long) RouterBean.attribute(db.database, "SwitchesAborted") == 0);
      assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
      assertThat(RouterBean.attribute(db.database, "FlagTarget")).isEqualTo("old");
      assertThat(RouterBean.attribute(db.database, "FlagHealth")).isEqualTo("VALID");
      live.assertServedBy(pair.oldServer(), "old");

      // The source is still followed after the bad value: the next good one moves the pool, once.
      live.flipUnderLoad("LaunchDarkly stand-in, sideways then new", Target.NEW, 0,
          () -> standIn.send(patch(stringFlag(3, "new"))));
      assertThat(RouterBean.attribute(db.database, "SwitchesCompleted")).isEqualTo(1L);
      assertThat(RouterBean.attribute(db.database, "FlagRejectedValues")).isEqualTo(1L);
    }
  }

  @Test
  void startWhileLaunchDarklyIsUnreachable_defaultNew_staysWhereTheServiceServesUntilAValueArrives(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, NOTES, true);
    try (SseStandIn standIn = new SseStandIn(put(stringFlag(1, "new")));
        TcpProxy network = TcpProxy.start("127.0.0.1", port(standIn));
        SwitchEvents events = new SwitchEvents(db.database)) {
      network.stall(); // LaunchDarkly answers nothing: the SDK connects and waits
      try (Connection c = DrainTest.connect(unreachable(db, network, "new"))) {
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.oldServer().port());
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
            .until(() -> "old".equals(RouterBean.attribute(db.database, "Serving"))
                && !(Boolean) RouterBean.attribute(db.database, "Holding"));
        assertThat(RouterBean.attribute(db.database, "SwitchesCompleted")).isEqualTo(0L);

        network.resume(); // the value it delivers equals the default: it is a decision only now
        SwitchEvent event = events.next();
        assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
        assertThat(event.to()).isEqualTo(Target.NEW);
        DrainTest.insert(c, "after the value arrived");
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.newServer().port());
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void startWhileLaunchDarklyIsUnreachable_serviceAlreadyOnNew_startsOnNewWhateverTheDefault(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, NOTES, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection first = DrainTest.connect(db.url())) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
    }
    CutoverDriver.shutdown(db.database);
    try (SseStandIn standIn = new SseStandIn(put(stringFlag(1, "new")));
        TcpProxy network = TcpProxy.start("127.0.0.1", port(standIn))) {
      network.stall();
      try (Connection c = DrainTest.connect(unreachable(db, network, "old"))) {
        assertThat(DrainTest.sideOf(c)).as("where the service serves, not cutover.flag.default")
            .isEqualTo(pair.newServer().port());
        DrainTest.insert(c, "written on new");
        assertThat(RouterBean.attribute(db.database, "SwitchesCompleted")).isEqualTo(0L);
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  private static int port(SseStandIn standIn) {
    return Integer.parseInt(standIn.baseUrl().substring(standIn.baseUrl().lastIndexOf(':') + 1));
  }

  /** The service's URL with its flag behind {@code network}, which the test silences, and {@code defaultTarget}. */
  private static String unreachable(Replicated db, TcpProxy network, String defaultTarget) {
    return db.urlWithFlag(Map.of(
        RoutingFlags.PROVIDER, "launchdarkly",
        RoutingFlags.KEY, FLAG_KEY,
        RoutingFlags.DEFAULT, defaultTarget,
        RoutingFlags.LD_STREAM_URI, "http://" + network.host() + ":" + network.port(),
        RoutingFlags.LD_EVENTS, "false",
        RoutingFlags.LD_START_WAIT, "300",
        RoutingFlags.LD_SDK_KEY, SDK_KEY));
  }

  private static LivePool open(Replicated db, SseStandIn standIn) {
    String url = db.urlWithFlag(Map.of(
        RoutingFlags.PROVIDER, "launchdarkly",
        RoutingFlags.KEY, FLAG_KEY,
        RoutingFlags.LD_STREAM_URI, standIn.baseUrl(),
        RoutingFlags.LD_EVENTS, "false",
        RoutingFlags.LD_START_WAIT, "3000"));
    // The SDK key as a JDBC property, as an application would pass a secret, never in the URL.
    return new LivePool(db, url, Map.of(RoutingFlags.LD_SDK_KEY, SDK_KEY));
  }
}
