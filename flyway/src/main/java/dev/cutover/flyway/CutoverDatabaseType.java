package dev.cutover.flyway;

import java.sql.Connection;
import org.flywaydb.database.postgresql.PostgreSQLDatabaseType;

/**
 * Flyway's PostgreSQL support for {@code jdbc:cutover:postgresql:} URLs. Flyway picks a database
 * type by URL prefix when it opens connections itself (command line, Maven and Gradle plugins,
 * {@code Flyway.configure().dataSource(url, user, password)}) and found none for {@code
 * jdbc:cutover:} ("No Flyway database plugin found"); given a {@code DataSource}, as Spring Boot
 * gives it, it already recognised PostgreSQL by the server's product name.
 *
 * <p>Everything but the URL and the driver class is PostgreSQL's: migrations run through the
 * Cutover driver on the database that serves, and Flyway parses and executes them as on plain
 * PostgreSQL. Found by Flyway through {@code META-INF/services/org.flywaydb.core.extensibility.Plugin}.
 */
public final class CutoverDatabaseType extends PostgreSQLDatabaseType {
  static final String URL_PREFIX = "jdbc:cutover:postgresql:";
  static final String DRIVER = "dev.cutover.driver.CutoverDriver";

  @Override
  public String getName() {
    return "PostgreSQL";
  }

  @Override
  public boolean handlesJDBCUrl(String url) {
    return url != null && url.startsWith(URL_PREFIX);
  }

  @Override
  public String getDriverClass(String url, ClassLoader classLoader) {
    return DRIVER;
  }

  /** By product name the server is plain PostgreSQL: Flyway's own type handles it. */
  @Override
  public boolean handlesDatabaseProductNameAndVersion(String productName, String version, Connection connection) {
    return false;
  }
}
