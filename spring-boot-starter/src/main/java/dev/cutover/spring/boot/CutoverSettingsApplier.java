package dev.cutover.spring.boot;

import com.zaxxer.hikari.HikariDataSource;
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
