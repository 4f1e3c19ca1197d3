package dev.cutover.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.common.Poll;
import dev.cutover.driver.CutoverDriver;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * An application context that closes leaves no router running: HikariCP closes only its own
 * connections, so the starter closes the router they used with the pool rather than after
 * {@code cutover.router.linger}.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class ContextCloseTest {
  private static final String SERVICE = "context-close";

  @Test
  void close_hikariPoolOfACutoverUrl_closesItsRouterWithoutWaitingForTheLinger(PostgresPair pair) throws Exception {
    String db = pair.oldServer().createDatabase("context_close");
    pair.newServer().createDatabase(db);
    try {
      new ApplicationContextRunner()
          .withConfiguration(AutoConfigurations.of(CutoverAutoConfiguration.class, DataSourceAutoConfiguration.class))
          .withInitializer(context -> new CutoverDriverClassPostProcessor().postProcessEnvironment(context.getEnvironment(), null))
          .withPropertyValues(
              "spring.datasource.url=jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/" + db,
              "spring.datasource.username=" + pair.oldServer().user(),
              "spring.datasource.password=" + pair.oldServer().password(),
              "cutover.new.url=" + pair.newServer().jdbcUrl(db),
              "cutover.service=" + SERVICE,
              "cutover.router.linger=10m")
          .run(context -> {
            try (Connection c = context.getBean(DataSource.class).getConnection(); Statement s = c.createStatement()) {
              s.execute("SELECT 1");
            }
            assertThat(CutoverDriver.routers()).anyMatch(r -> r.getService().equals(SERVICE));
          });

      assertThat(Poll.every(Duration.ofMillis(5), Duration.ofMillis(100))
          .within(Duration.ofSeconds(10), () -> CutoverDriver.routers().stream().noneMatch(r -> r.getService().equals(SERVICE))))
          .as("the router closed with the context, not 10 minutes later").isTrue();
    } finally {
      CutoverDriver.shutdown(SERVICE);
    }
  }
}
