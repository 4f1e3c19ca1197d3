package dev.cutover.driver.internal.config;

import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;

/**
 * PgJDBC is a dependency the application declares, not part of the driver's jar: a build that declares
 * only cutover-driver, or shades PgJDBC away, would otherwise fail on the first connection with a
 * {@code NoClassDefFoundError} from deep inside. Checked before anything of the driver touches PgJDBC.
 */
public final class PgJdbcPresence {
  /** The oldest PgJDBC the driver supports: {@code pgjdbc.lowest} in driver/pom.xml (MissingPgJdbcTest pins it). */
  private static final String LOWEST = "42.2.9";
  /** The newest it is tested with, the one a snippet suggests: {@code postgresql.version} in the parent pom. */
  private static final String NEWEST_TESTED = "42.7.14";

  private PgJdbcPresence() {}

  /** @throws SQLException (08001) naming the missing dependency and how to add it */
  public static void require() throws SQLException {
    try {
      Class.forName("org.postgresql.Driver", false, PgJdbcPresence.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      throw new SQLNonTransientConnectionException("cutover: PgJDBC (org.postgresql:postgresql, " + LOWEST
          + " or later) is not on the class path of the driver's class loader; the cutover driver opens its"
          + " connections through it and does not bundle it. Add it beside cutover-driver: Maven"
          + " <dependency><groupId>org.postgresql</groupId><artifactId>postgresql</artifactId><version>"
          + NEWEST_TESTED + "</version></dependency>, Gradle runtimeOnly 'org.postgresql:postgresql:"
          + NEWEST_TESTED + "' (docs/releases.md, Supported PgJDBC)", "08001", e);
    }
  }
}
