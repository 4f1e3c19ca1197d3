package dev.cutover.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.flyway.FlywayAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.autoconfigure.liquibase.LiquibaseAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Flyway and Liquibase given a user of their own migrate through a data source Spring Boot derives
 * from the application's, without its JDBC properties: the starter hands the {@code cutover.*}
 * settings to that one too, so it reaches the serving database through the driver.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class MigrationDataSourcesTest {

  private static ApplicationContextRunner runner(PostgresPair pair, String db, String service) throws Exception {
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    return new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(CutoverAutoConfiguration.class, DataSourceAutoConfiguration.class,
            FlywayAutoConfiguration.class, LiquibaseAutoConfiguration.class))
        .withInitializer(context -> new CutoverDriverClassPostProcessor().postProcessEnvironment(context.getEnvironment(), null))
        .withPropertyValues(
            "spring.datasource.url=jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/" + db,
            "spring.datasource.username=nobody-the-migration-user-replaces",
            "cutover.new.url=" + pair.newServer().jdbcUrl(db),
            "cutover.service=" + service);
  }

  @Test
  void liquibase_ownUser_migratesThroughTheDriver(PostgresPair pair) throws Exception {
    try {
      runner(pair, "liquibase_app", "liquibase-migrations")
          .withPropertyValues("spring.flyway.enabled=false", "spring.liquibase.user=" + pair.oldServer().user(),
              "spring.liquibase.change-log=classpath:db/changelog/cutover-liquibase-test.sql")
          .run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(CutoverDriver.routers()).anyMatch(r -> r.getService().equals("liquibase-migrations"));
          });
      assertThat(tableOnOld(pair, "liquibase_app", "ledger")).isTrue();
    } finally {
      CutoverDriver.shutdown("liquibase-migrations");
    }
  }

  @Test
  void flyway_ownUser_migratesThroughTheDriver(PostgresPair pair) throws Exception {
    try {
      runner(pair, "flyway_app", "flyway-migrations")
          .withPropertyValues("spring.liquibase.enabled=false", "spring.flyway.user=" + pair.oldServer().user())
          .run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(CutoverDriver.routers()).anyMatch(r -> r.getService().equals("flyway-migrations"));
          });
      assertThat(tableOnOld(pair, "flyway_app", "booking")).isTrue();
    } finally {
      CutoverDriver.shutdown("flyway-migrations");
    }
  }

  private static boolean tableOnOld(PostgresPair pair, String db, String table) throws Exception {
    try (Connection c = pair.oldServer().connect(db); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT to_regclass('public." + table + "') IS NOT NULL")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }
}
