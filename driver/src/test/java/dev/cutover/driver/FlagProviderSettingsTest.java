package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.cutover.driver.internal.switching.RouterNames;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.testkit.PostgresPair;
import java.lang.management.ManagementFactory;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * A flag source that cannot be opened fails {@code DriverManager.getConnection} with one clear
 * SQLException naming the setting, leaves no router behind, and never shows the SDK key.
 */
@LeakCheckedPair
class FlagProviderSettingsTest {
  private static final String SDK_KEY = "sdk-e2e-settings-secret-91c2";

  @Test
  void connect_unknownFlagProvider_namesTheKeyAndTheProviders(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    String url = db.urlWithFlag(Map.of(RoutingFlags.PROVIDER, "carrier-pigeon", RoutingFlags.KEY, "app-db-cutover"));

    SQLException e = connectFails(url, withSdkKey());

    assertThat(e.getSQLState()).isEqualTo("22023");
    assertThat(e.getMessage())
        .contains("cutover.flag.provider=carrier-pigeon")
        .contains("launchdarkly, file, fixed, manual");
    assertNoRouter(db.database);
  }

  @Test
  void connect_launchDarklyWithoutSdkKey_namesTheKeyAndTheVariable(PostgresPair pair) throws Exception {
    assumeTrue(System.getenv("LD_SDK_KEY") == null && System.getenv("CUTOVER_FLAG_LD_SDK_KEY") == null,
        "an SDK key is set in the environment");
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    String url = db.urlWithFlag(Map.of(RoutingFlags.PROVIDER, "launchdarkly", RoutingFlags.KEY, "app-db-cutover"));

    SQLException e = connectFails(url, new Properties());

    assertThat(e.getSQLState()).isEqualTo("22023");
    assertThat(e.getMessage())
        .contains("cutover.flag.ld.sdk-key")
        .contains("LD_SDK_KEY")
        .contains("cutover.flag.provider=launchdarkly");
    assertNoRouter(db.database);
  }

  @Test
  void connect_launchDarklyBadStreamUri_namesTheUriButNotTheSdkKey(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    String url = db.urlWithFlag(Map.of(
        RoutingFlags.PROVIDER, "launchdarkly",
        RoutingFlags.KEY, "app-db-cutover",
        RoutingFlags.LD_STREAM_URI, "ftp://127.0.0.1:1",
        RoutingFlags.LD_SDK_KEY, SDK_KEY)); // in the URL this time

    SQLException e = connectFails(url, new Properties());

    assertThat(e.getSQLState()).isEqualTo("22023");
    assertThat(e.getMessage()).contains("cutover.flag.ld.stream-uri=ftp://127.0.0.1:1");
    assertNoRouter(db.database);
  }

  @Test
  void connect_malformedUrlCarryingSdkKey_masksTheSdkKey(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    String url = "jdbc:cutover:postgresql://" + pair.oldServer().host() + ":notaport/" + db.database
        + "?cutover.flag.provider=launchdarkly&cutover.flag.key=app-db-cutover&cutover.flag.ld.sdk-key=" + SDK_KEY;

    SQLException e = connectFails(url, new Properties());

    assertThat(e.getMessage()).contains("malformed URL");
  }

  @Test
  void connect_sdkKeyWithInvalidCharacter_namesTheKeyInSqlException(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    String url = db.urlWithFlag(Map.of(RoutingFlags.PROVIDER, "launchdarkly", RoutingFlags.KEY, "app-db-cutover"));
    Properties properties = new Properties();
    properties.setProperty(RoutingFlags.LD_SDK_KEY, SDK_KEY + "\u00e9"); // a pasted accent

    SQLException e = connectFails(url, properties);

    assertThat(e.getMessage()).contains("cutover.flag.ld.sdk-key");
    assertNoRouter(db.database);
  }

  private static Properties withSdkKey() {
    Properties p = new Properties();
    p.setProperty(RoutingFlags.LD_SDK_KEY, SDK_KEY);
    return p;
  }

  /** Connects, expecting failure; checks that no message in the cause chain shows the SDK key. */
  private static SQLException connectFails(String url, Properties properties) {
    properties.setProperty("user", "postgres");
    SQLException e = catchThrowableOfType(SQLException.class, () -> DriverManager.getConnection(url, properties).close());
    assertThat((Throwable) e).as("connecting to %s", url).isNotNull();
    System.out.println("[flag settings] " + e.getSQLState() + " " + e.getMessage());
    List<String> messages = new ArrayList<>();
    for (Throwable t = e; t != null; t = t.getCause()) {
      messages.add(String.valueOf(t.getMessage()));
      messages.add(t.toString());
    }
    assertThat(messages).noneMatch(m -> m.contains(SDK_KEY));
    return e;
  }

  private static void assertNoRouter(String service) throws Exception {
    assertThat(ManagementFactory.getPlatformMBeanServer().queryNames(
            RouterNames.pattern(service), null))
        .as("router MBeans of %s after a failed connect", service)
        .isEmpty();
  }
}
