package dev.cutover.spring.boot;

import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.CutoverDriver;
import java.sql.SQLException;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.datasource.AbstractDriverBasedDataSource;

/**
 * Hands the bound {@code cutover.*} settings to a data source whose URL is {@code jdbc:cutover:},
 * as JDBC properties (the driver's second source, after URL parameters). HikariCP data sources,
 * Spring Boot's default, are supported, and Spring's driver-based ones, which Spring Boot derives
 * for Flyway and Liquibase when they have a user of their own; a pool must not have opened a
 * connection yet, which holds for the beans Spring Boot creates (pools start on first use). A
 * setting given both here and in the data source's own properties with another value is refused.
 */
final class CutoverSettingsApplier {
  static final String URL_PREFIX = "jdbc:cutover:";
  private static final Logger LOG = LoggerFactory.getLogger(CutoverSettingsApplier.class);

  private final Supplier<Map<String, String>> settings;

  CutoverSettingsApplier(Supplier<Map<String, String>> settings) {
    this.settings = settings;
  }

  /** Applies the settings when {@code dataSource} is a Cutover data source; returns it. */
  DataSource apply(DataSource dataSource, String owner) {
    if (dataSource instanceof HikariDataSource hikari) {
      if (isCutover(hikari.getJdbcUrl())) {
        Properties properties = new Properties();
        properties.putAll(hikari.getDataSourceProperties());
        merge(properties, owner).forEach((k, v) -> {
          if (!hikari.getDataSourceProperties().containsKey(k)) {
            hikari.addDataSourceProperty((String) k, v);
          }
        });
      }
    } else if (dataSource instanceof AbstractDriverBasedDataSource driverBased) {
      if (isCutover(driverBased.getUrl())) {
        Properties properties = new Properties();
        if (driverBased.getConnectionProperties() != null) {
          properties.putAll(driverBased.getConnectionProperties());
        }
        driverBased.setConnectionProperties(merge(properties, owner));
      }
    } else if (dataSource != null && !settings.get().isEmpty()) {
      LOG.debug("cutover: {} is a {}, not HikariCP: cutover.* settings reach it only as URL parameters or through"
          + " cutover.properties", owner, dataSource.getClass().getName());
    }
    return dataSource;
  }

  /**
   * Closes a HikariCP pool of a {@code jdbc:cutover:} URL, then at once the router its connections
   * used: HikariCP closes only its connections, and the router (its flag client, heartbeat and warm
   * connections) would outlive the application context by {@code cutover.router.linger}. The
   * router is found by the properties HikariCP hands the driver: its data source properties, with
   * its username and password unless those properties name them.
   */
  static void closeRouter(HikariDataSource hikari, String owner) {
    if (!isCutover(hikari.getJdbcUrl())) {
      return;
    }
    hikari.close();
    Properties info = new Properties();
    info.putAll(hikari.getDataSourceProperties());
    if (hikari.getUsername() != null) {
      info.put("user", info.getProperty("user", hikari.getUsername()));
    }
    if (hikari.getPassword() != null) {
      info.put("password", info.getProperty("password", hikari.getPassword()));
    }
    try {
      CutoverDriver.closeIfUnused(hikari.getJdbcUrl(), info);
    } catch (SQLException e) {
      LOG.debug("cutover: {} has no router to close: {}", owner, e.getMessage()); // its settings never opened one
    }
  }

  private static boolean isCutover(String url) {
    return url != null && url.startsWith(URL_PREFIX);
  }

  /** {@code properties} with the settings added; a different value already there is refused. */
  private Properties merge(Properties properties, String owner) {
    for (Map.Entry<String, String> e : settings.get().entrySet()) {
      Object existing = properties.get(e.getKey());
      if (existing == null) {
        properties.setProperty(e.getKey(), e.getValue());
      } else if (!Objects.equals(existing.toString(), e.getValue())) {
        throw new IllegalStateException(e.getKey() + " is set twice with different values for " + owner
            + ": as " + e.getKey() + " and in the data source's own properties; keep one");
      }
    }
    return properties;
  }
}
