package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.ServiceLoader;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * An application that has the driver but not PgJDBC (only cutover-driver declared, or PgJDBC shaded
 * away) gets, on its first connection, an SQLException that names the missing dependency, the oldest
 * version the driver supports and how to add it, not a {@code NoClassDefFoundError} from deep inside.
 * The driver runs in a class loader over this module's class path without PgJDBC, registered through
 * its {@code META-INF/services} entry as {@code DriverManager} finds it. The versions named are the
 * build's ({@code pgjdbc.lowest}, {@code postgresql.version}), so the message cannot drift from them.
 */
class MissingPgJdbcTest {
  private static final String URL = "jdbc:cutover:postgresql://localhost:5432/app?cutover.flag.value=old";

  @Test
  void driver_withoutPgJdbc_namesTheDependencyAndItsVersion() throws Exception {
    try (URLClassLoader loader = withoutPgJdbc()) {
      Driver driver = registeredCutoverDriver(loader);
      try {
        assertThat(driver.acceptsURL(URL)).isTrue();
        assertThatThrownBy(() -> driver.connect(URL, new Properties()))
            .isInstanceOf(SQLException.class)
            .satisfies(MissingPgJdbcTest::namesTheDependency);
      } finally {
        DriverManager.deregisterDriver(driver);
      }
    }
  }

  @Test
  void dataSource_withoutPgJdbc_namesTheDependencyAndItsVersion() throws Exception {
    try (URLClassLoader loader = withoutPgJdbc()) {
      Driver driver = registeredCutoverDriver(loader);
      try {
        DataSource ds = (DataSource) loader.loadClass(CutoverDataSource.class.getName())
            .getDeclaredConstructor().newInstance();
        ds.getClass().getMethod("setUrl", String.class).invoke(ds, URL);
        assertThatThrownBy(ds::getConnection)
            .isInstanceOf(SQLException.class)
            .satisfies(MissingPgJdbcTest::namesTheDependency);
      } finally {
        DriverManager.deregisterDriver(driver);
      }
    }
  }

  private static void namesTheDependency(Throwable e) {
    SQLException sql = (SQLException) e;
    String lowest = System.getProperty("cutover.pgjdbc.lowest");
    String newest = System.getProperty("cutover.pgjdbc.expected");
    assertThat(lowest).as("driver/pom.xml's surefire passes pgjdbc.lowest").isNotBlank();
    assertThat(sql.getMessage())
        .contains("org.postgresql:postgresql, " + lowest + " or later")
        .contains("<artifactId>postgresql</artifactId><version>" + newest + "</version>")
        .contains("runtimeOnly 'org.postgresql:postgresql:" + newest + "'");
    assertThat(sql.getSQLState()).isEqualTo("08001");
  }

  /** The driver as the class path's META-INF/services entry registers it, loaded without PgJDBC. */
  private static Driver registeredCutoverDriver(ClassLoader loader) {
    for (Driver d : ServiceLoader.load(Driver.class, loader)) {
      if (d.getClass().getName().equals(CutoverDriver.class.getName()) && d.getClass().getClassLoader() == loader) {
        return d;
      }
    }
    throw new AssertionError("no CutoverDriver registered through META-INF/services in " + loader);
  }

  /** This module's class path (the driver's classes and its dependencies) without PgJDBC's jar. */
  private static URLClassLoader withoutPgJdbc() throws Exception {
    Path pgJdbc = Path.of(org.postgresql.Driver.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    List<URL> urls = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      Path p = Path.of(entry).toAbsolutePath();
      if (!p.equals(pgJdbc.toAbsolutePath())) {
        urls.add(p.toUri().toURL());
      }
    }
    assertThat(urls).as("class path without PgJDBC").hasSizeGreaterThan(3);
    URLClassLoader loader = new URLClassLoader("without-pgjdbc", urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
    assertThatThrownBy(() -> Class.forName("org.postgresql.Driver", false, loader)).isInstanceOf(ClassNotFoundException.class);
    return loader;
  }
}
