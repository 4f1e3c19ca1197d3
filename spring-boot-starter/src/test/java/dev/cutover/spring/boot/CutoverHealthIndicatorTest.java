package dev.cutover.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.SoftAssertions.assertSoftly;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.micrometer.CutoverMetrics;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.TcpProxy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** The {@code cutover} health component of an application whose new database does not answer. */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class CutoverHealthIndicatorTest {
  private static final String SERVICE = "health-pending";
  private static final String SECRET = "s3cret-health-pw";

  /**
   * New refuses every connection, so the flag's switch to new is refused before its gate: health
   * stays UP (old serves), shows the pending guarantee that names new, without the password given
   * in new's URL and settings, and counts the refusal as refused, as the Micrometer binder tags it.
   * Before, health showed no pending guarantee (only {@code controlSchema: false}) and counted the
   * refusal in {@code switchesAborted}, while the binder had no aborted switch.
   */
  @Test
  void health_newUnreachableAndSwitchRefused_upWithPendingGuaranteesAndTheRefusalCountedAsMetricsCountIt(PostgresPair pair)
      throws Exception {
    String db = pair.oldServer().createDatabase("health_pending");
    pair.newServer().createDatabase(db);
    for (Connection c : new Connection[] {pair.oldServer().connect(db), pair.newServer().connect(db)}) {
      try (c) {
        ControlSchema.install(c);
      }
    }
    String flag = SERVICE + "-flag";
    ManualFlag.named(flag).set(Target.OLD);
    try (TcpProxy newDown = TcpProxy.in(pair.newServer())) {
      newDown.refuse(true);
      new ApplicationContextRunner()
          .withConfiguration(AutoConfigurations.of(CutoverAutoConfiguration.class, DataSourceAutoConfiguration.class))
          .withInitializer(context -> new CutoverDriverClassPostProcessor().postProcessEnvironment(context.getEnvironment(), null))
          .withPropertyValues(
              "spring.datasource.url=jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/" + db,
              "spring.datasource.username=" + pair.oldServer().user(),
              "spring.datasource.password=" + pair.oldServer().password(),
              "cutover.new.url=" + newDown.redirect(pair.newServer().jdbcUrl(db)) + "?password=" + SECRET + "&connectTimeout=2",
              "cutover.new.password=" + SECRET,
              "cutover.service=" + SERVICE,
              "cutover.flag.provider=manual",
              "cutover.flag.key=" + flag,
              "cutover.switch.retry-interval=1h")
          .run(context -> {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            context.getBean(CutoverMetrics.class).bindTo(registry);
            try (SwitchEventQueue events = new SwitchEventQueue(SERVICE);
                Connection c = context.getBean(DataSource.class).getConnection(); Statement s = c.createStatement()) {
              s.execute("SELECT 1");
              ManualFlag.named(flag).set(Target.NEW);
              SwitchEvent event = events.next(Duration.ofSeconds(60));
              assertThat(event).as("a switch event within 60 s").isNotNull();
              assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
              assertThat(event.gateClosed()).as(event.summary()).isFalse();
            }

            Health health = context.getBean(CutoverHealthIndicator.class).health();
            String shown = new ObjectMapper().writeValueAsString(health);
            System.out.println("[health] " + shown);
            assertThat(health.getStatus()).as("old still serves").isEqualTo(Status.UP);
            assertThat(shown).doesNotContain(SECRET);
            @SuppressWarnings("unchecked")
            Map<String, Object> router = ((List<Map<String, Object>>) health.getDetails().get("routers")).stream()
                .filter(r -> SERVICE.equals(r.get("service"))).findFirst().orElseThrow();
            assertSoftly(soft -> {
              soft.assertThat(router).containsEntry("serving", "old");
              soft.assertThat(String.valueOf(router.get("pendingGuarantees"))).as("pendingGuarantees")
                  .contains("the new database did not answer at start");
              soft.assertThat(router).as("switch counts").containsEntry("switchesAborted", 0L).containsEntry("switchesRefused", 1L);
            });
            assertThat(registry.get("cutover.switches").tag("outcome", "refused").counter().count()).isEqualTo(1);
            assertThat(registry.find("cutover.switches").tag("outcome", "aborted").counter()).isNull();
          });
    } finally {
      CutoverDriver.shutdown(SERVICE);
    }
  }
}
