package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.internal.switching.RouterNames;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

/**
 * Instances whose flags do not agree with where the service serves: one without a flag provider
 * never moves the service, and one that joined a peer's switch against its own flag says so.
 */
@LeakCheckedPair
class FlagDisagreementTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  /**
   * The service moved to new and the way back is armed; one more instance starts with the same
   * URL but no flag provider (a Flyway run, say). Before, its implicit {@code fixed}/{@code old}
   * led a switch back to old, and the instance whose flag says new joined it.
   */
  @Test
  void start_noProviderAfterTheServiceMovedToNew_servesNewAndLeadsNoSwitch(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    db.prepareReverse();
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection flagged = DrainTest.connect(db.url("cutover.instance=flagged"))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      db.armReverse();

      try (Connection unflagged = DrainTest.connect(db.urlWithFlag(Map.of(), "cutover.instance=unflagged"))) {
        DrainTest.insert(unflagged, "written without a flag provider");
        assertThat(DrainTest.sideOf(unflagged)).as("where the service serves").isEqualTo(pair.newServer().port());
        assertThat(attribute(db.database, "unflagged", "SwitchesCompleted")).isEqualTo(0L);
        assertThat(attribute(db.database, "unflagged", "FlagTarget")).isEqualTo("none");
      }
      DrainTest.insert(flagged, "written by the flagged instance");
      assertThat(DrainTest.sideOf(flagged)).isEqualTo(pair.newServer().port());
      assertThat(attribute(db.database, "flagged", "SwitchesCompleted")).isEqualTo(1L);
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * Two instances on new, each following its own flag; the second's flag goes back to old, so it
   * leads a switch to old, and the first joins it because a live peer asks, while its own flag
   * still says new. It says so (a warning, the MBean) until its flag agrees again.
   */
  @Test
  void join_againstItsOwnFlag_warnsAndReportsTheDisagreementUntilTheFlagAgrees(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    db.prepareReverse();
    String otherFlag = db.flagKey + "-other";
    ManualFlag.named(otherFlag).set(Target.OLD);
    try (LogCapture logs = new LogCapture();
        SwitchEvents events = new SwitchEvents(db.database);
        Connection first = DrainTest.connect(db.url("cutover.instance=first"));
        Connection second = DrainTest.connect(db.url("cutover.instance=second")
            .replace("cutover.flag.key=" + db.flagKey, "cutover.flag.key=" + otherFlag))) {
      ManualFlag.named(otherFlag).set(Target.NEW);
      db.flip(Target.NEW);
      assertThat(List.of(events.next(), events.next())).allSatisfy(e -> assertThat(e.outcome()).isEqualTo(Outcome.COMPLETED));
      db.armReverse();

      ManualFlag.named(otherFlag).set(Target.OLD);
      assertThat(List.of(events.next(), events.next())).allSatisfy(e -> assertThat(e.outcome()).isEqualTo(Outcome.COMPLETED));

      DrainTest.insert(first, "joined the switch back");
      assertThat(DrainTest.sideOf(first)).as("joined the switch its peer's flag asked for").isEqualTo(pair.oldServer().port());
      assertThat(logs.lines()).anySatisfy(line -> assertThat(line)
          .contains("instance first").contains("flag asks for new").contains("serves old"));
      assertThat((String) attribute(db.database, "first", "FlagDisagreement"))
          .contains("flag asks for new").contains("serves old");
      assertThat(attribute(db.database, "second", "FlagDisagreement")).isEqualTo("");

      db.flip(Target.OLD);
      await().atMost(Duration.ofSeconds(10)).until(() -> "".equals(attribute(db.database, "first", "FlagDisagreement")));
      assertThat(DrainTest.sideOf(first)).isEqualTo(pair.oldServer().port());
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /** An attribute of the router MBean of {@code instance} in {@code service}. */
  static Object attribute(String service, String instance, String name) throws Exception {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    for (ObjectName n : server.queryNames(RouterNames.pattern(service), null)) {
      if (instance.equals(server.getAttribute(n, "Instance"))) {
        return server.getAttribute(n, name);
      }
    }
    throw new AssertionError("no router MBean of instance " + instance + " in " + service);
  }
}
