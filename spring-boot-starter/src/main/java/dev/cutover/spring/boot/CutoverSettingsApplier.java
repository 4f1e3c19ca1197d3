package dev.cutover.spring.boot;

import com.zaxxer.hikari.HikariDataSource;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the bound {@code cutover.*} settings to a data source whose URL is {@code jdbc:cutover:},
 * as JDBC properties (the driver's second source, after URL parameters). HikariCP data sources,
 * Spring Boot's default, are supported; they must not have opened a connection yet, which holds
 * for the beans Spring Boot creates (their pools start on first use). A setting given both here
 * and in {@code spring.datasource.hikari.data-source-properties} with another value is refused.
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
      String url = hikari.getJdbcUrl();
      if (url == null || !url.startsWith(URL_PREFIX)) {
        return dataSource;
      }
      for (Map.Entry<String, String> e : settings.get().entrySet()) {
        Object existing = hikari.getDataSourceProperties().get(e.getKey());
        if (existing == null) {
          hikari.addDataSourceProperty(e.getKey(), e.getValue());
        } else if (!Objects.equals(existing.toString(), e.getValue())) {
          throw new IllegalStateException(e.getKey() + " is set twice with different values for " + owner
              + ": as " + e.getKey() + " and in spring.datasource.hikari.data-source-properties; keep one");
        }
      }
    } else if (dataSource != null && !settings.get().isEmpty()) {
      LOG.debug("cutover: {} is a {}, not HikariCP: cutover.* settings reach it only as URL parameters or through"
          + " cutover.properties", owner, dataSource.getClass().getName());
    }
    return dataSource;
  }
}
