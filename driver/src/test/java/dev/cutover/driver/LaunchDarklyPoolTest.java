package dev.cutover.driver;

import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.FLAG_KEY;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.patch;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.put;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.stringFlag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.launchdarkly.SseStandIn;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * End to end with the real LaunchDarkly SDK: a live HikariCP pool through the driver follows a
 * flag served by a local streaming stand-in ({@link SseStandIn}, held-open {@code GET /all}), on
 * real PostgreSQL with native logical replication.
 */
@ExtendWith(PostgresPairExtension.class)
class LaunchDarklyPoolTest {
  private static final String SDK_KEY = "sdk-e2e-pool-secret-7f3a";

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
