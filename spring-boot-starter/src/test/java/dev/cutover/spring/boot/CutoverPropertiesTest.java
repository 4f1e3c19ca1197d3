package dev.cutover.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.internal.config.CutoverSettings;
import dev.cutover.driver.internal.config.SettingKey;
import dev.cutover.driver.internal.config.SettingSources;
import dev.cutover.flags.FlagKey;
import dev.cutover.flags.RoutingFlags;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.test.context.support.TestPropertySourceUtils;

/** Binding and validation of {@code cutover.*}, the driver class, and the IDE metadata; no database. */
class CutoverPropertiesTest {
  private final ApplicationContextRunner runner =
      new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(CutoverAutoConfiguration.class));

  @Test
  void bind_misspeltKey_failsAtStartNamingIt() {
    runner.withPropertyValues("cutover.flag.kye=app-db-cutover").run(context -> {
      assertThat(context).hasFailed();
      assertThat(context.getStartupFailure()).hasStackTraceContaining("cutover.flag.kye");
    });
  }

  @Test
  void bind_badDuration_failsAtStartNamingTheKey() {
    runner.withPropertyValues("cutover.drain.timeout=soon").run(context -> {
      assertThat(context).hasFailed();
      assertThat(context.getStartupFailure()).hasStackTraceContaining("cutover.drain.timeout");
    });
  }

  @Test
  void bind_bareNumberAndDecimalUnit_meanWhatTheyMeanToTheDriver() {
    runner.withPropertyValues("cutover.new.url=jdbc:postgresql://new/app", "cutover.drain.timeout=5000",
        "cutover.barrier.timeout=1.5m", "cutover.flag.ld.start-wait=0").run(context -> {
          assertThat(context).hasNotFailed();
          Properties info = new Properties();
          info.putAll(context.getBean(CutoverProperties.class).toDriverSettings());
          CutoverSettings settings = CutoverSettings.resolve("jdbc:cutover:postgresql://old/app", info, SettingSources.of(Map.of(), null));

          assertThat(settings.drainTimeout()).isEqualTo(Duration.ofSeconds(5));
          assertThat(settings.barrierTimeout()).isEqualTo(Duration.ofSeconds(90));
          assertThat(settings.values()).containsEntry("cutover.flag.ld.start-wait", "0");
        });
  }

  @ParameterizedTest
  @ValueSource(strings = {"cutover.drain.timeout=-5s", "cutover.gate.max-pause=PT5S", "cutover.router.linger=1d",
      "cutover.barrier.timeout=0", "cutover.flag.ld.poll-interval=30 seconds"})
  void bind_durationTheDriverRefuses_failsAtStartNamingTheKey(String setting) {
    String key = setting.substring(0, setting.indexOf('='));
    runner.withPropertyValues(setting).run(context -> {
      assertThat(context).hasFailed();
      assertThat(context.getStartupFailure()).hasStackTraceContaining(key + "=" + setting.substring(key.length() + 1));
    });
  }

  @Test
  void bind_badTarget_failsAtStart() {
    runner.withPropertyValues("cutover.flag.default=blue").run(context -> assertThat(context).hasFailed());
  }

  @Test
  void bind_serviceAndInstanceWithTrailingBlanks_areHandedOnTrimmed() {
    // A .properties line keeps its trailing blank; inline test properties would trim it.
    runner.withInitializer(context -> context.getEnvironment().getPropertySources().addFirst(new MapPropertySource(
        "application.properties", Map.of("cutover.service", "booking ", "cutover.instance", " web-1\t"))))
        .run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context.getBean(CutoverProperties.class).toDriverSettings())
              .containsEntry("cutover.service", "booking").containsEntry("cutover.instance", "web-1");
        });
  }

  @ParameterizedTest
  @ValueSource(strings = {"cutover.service", "cutover.instance"})
  void bind_blankServiceOrInstance_failsAtStartNamingTheKey(String key) {
    runner.withInitializer(context -> context.getEnvironment().getPropertySources().addFirst(new MapPropertySource(
        "application.properties", Map.of(key, " ")))).run(context -> {
          assertThat(context).hasFailed();
          assertThat(context.getStartupFailure()).hasStackTraceContaining(key + " is blank");
        });
  }

  @Test
  void toDriverSettings_setValues_onlyThoseInTheDriversForm() {
    runner.withPropertyValues("cutover.new.url=jdbc:postgresql://new/app", "cutover.drain.timeout=3s",
        "cutover.gate.max-pause=1m", "cutover.flag.default=new", "cutover.flag.ld.start-wait=2s",
        "cutover.switch.force=true", "cutover.old.direct-url=jdbc:postgresql://old-direct/app",
        "cutover.session.custom-settings=app.tenant_id").run(context -> {
          assertThat(context).hasNotFailed();
          assertThat(context.getBean(CutoverProperties.class).toDriverSettings()).containsExactlyInAnyOrderEntriesOf(Map.of(
              "cutover.new.url", "jdbc:postgresql://new/app",
              "cutover.drain.timeout", "3s",
              "cutover.gate.max-pause", "1m",
              "cutover.flag.default", "new",
              "cutover.flag.ld.start-wait", "2s",
              "cutover.switch.force", "true",
              "cutover.old.direct-url", "jdbc:postgresql://old-direct/app",
              "cutover.session.custom-settings", "app.tenant_id"));
        });
  }

  @Test
  void environment_cutoverUrlWithoutDriverClass_namesTheDriver() {
    StandardEnvironment environment = new StandardEnvironment();
    TestPropertySourceUtils.addInlinedPropertiesToEnvironment(environment,
        "spring.datasource.url=jdbc:cutover:postgresql://old/app", "spring.flyway.url=jdbc:postgresql://old/app",
        "spring.liquibase.url=jdbc:cutover:postgresql://old/app", "spring.liquibase.driver-class-name=com.example.Mine");

    new CutoverDriverClassPostProcessor().postProcessEnvironment(environment, new SpringApplication());

    assertThat(environment.getProperty("spring.datasource.driver-class-name")).isEqualTo(CutoverDriver.class.getName());
    assertThat(environment.getProperty("spring.flyway.driver-class-name")).isNull();
    assertThat(environment.getProperty("spring.liquibase.driver-class-name")).isEqualTo("com.example.Mine");
  }

  @Test
  void apply_sameKeySetTwiceDifferently_refused() {
    try (HikariDataSource hikari = new HikariDataSource()) {
      hikari.setJdbcUrl("jdbc:cutover:postgresql://old/app");
      hikari.addDataSourceProperty("cutover.service", "booking");
      CutoverSettingsApplier applier = new CutoverSettingsApplier(() -> Map.of("cutover.service", "billing"));

      assertThatThrownBy(() -> applier.apply(hikari, "data source dataSource"))
          .hasMessageContaining("cutover.service is set twice with different values for data source dataSource");
    }
  }

  /**
   * docs/driver.md and this page tell users to give secrets as CUTOVER_* variables to keep them out
   * of HikariCP's DEBUG dump of its data source properties. The driver reads the environment
   * itself; the starter hands on only what the application's configuration sets. Before, Spring's
   * relaxed binding read CUTOVER_NEW_PASSWORD as cutover.new.password and the starter added it to
   * the pool's data source properties, which HikariCP logs in clear.
   */
  @Test
  void apply_secretsInTheEnvironment_neverReachTheDataSourceProperties() {
    runner.withInitializer(context -> simulateEnvironment(context.getEnvironment(), Map.of(
            "CUTOVER_NEW_PASSWORD", "EnvNewS3cret", "CUTOVER_FLAG_LD_SDK_KEY", "sdk-EnvLdS3cret",
            "CUTOVER_NEW_URL", "jdbc:postgresql://new-from-env/app")))
        .withPropertyValues("cutover.service=booking")
        .withBean("dataSource", HikariDataSource.class, CutoverPropertiesTest::pool)
        .run(context -> {
          assertThat(context).hasNotFailed();
          Properties handedOn = context.getBean(HikariDataSource.class).getDataSourceProperties();

          assertThat(handedOn).containsEntry("cutover.service", "booking");
          assertThat(handedOn).doesNotContainKeys("cutover.new.password", "cutover.flag.ld.sdk-key", "cutover.new.url");
          assertThat(handedOn.toString()).doesNotContain("S3cret");
        });
  }

  /**
   * The driver's order holds through the starter: cutover.properties (third) beats a CUTOVER_*
   * variable (fourth), as for the driver alone. Before, the starter handed the variable on as a
   * JDBC property (second), so the environment won.
   */
  @Test
  void apply_fileAndEnvironmentBothSetAKey_fileWinsAsWithoutTheStarter(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("cutover.properties"), "cutover.instance=from-file\n");
    Map<String, String> env = Map.of("CUTOVER_INSTANCE", "from-env", "CUTOVER_CONFIG", file.toString());
    String url = "jdbc:cutover:postgresql://old/app";
    Properties plain = new Properties();
    plain.setProperty("cutover.new.url", "jdbc:postgresql://new/app");
    assertThat(CutoverSettings.resolve(url, plain, SettingSources.of(env, null)).values())
        .as("the driver alone").containsEntry("cutover.instance", "from-file");

    runner.withInitializer(context -> simulateEnvironment(context.getEnvironment(), env))
        .withPropertyValues("cutover.new.url=jdbc:postgresql://new/app")
        .withBean("dataSource", HikariDataSource.class, CutoverPropertiesTest::pool)
        .run(context -> {
          assertThat(context).hasNotFailed();
          Properties info = new Properties();
          info.putAll(context.getBean(HikariDataSource.class).getDataSourceProperties());

          assertThat(CutoverSettings.resolve(url, info, SettingSources.of(env, null)).values())
              .as("through the starter").containsEntry("cutover.instance", "from-file");
        });
  }

  /** A cutover.* key the application's configuration sets still reaches the pool, secrets included (documented). */
  @Test
  void apply_secretInTheApplicationsProperties_handedOnAsADataSourceProperty() {
    runner.withInitializer(context -> simulateEnvironment(context.getEnvironment(), Map.of("CUTOVER_NEW_PASSWORD", "from-env")))
        .withPropertyValues("cutover.new.password=from-application-properties")
        .withBean("dataSource", HikariDataSource.class, CutoverPropertiesTest::pool)
        .run(context -> assertThat(context.getBean(HikariDataSource.class).getDataSourceProperties())
            .containsEntry("cutover.new.password", "from-application-properties"));
  }

  /** A CUTOVER_* variable the driver will refuse still stops the application at start (the CutoverProperties bean binds it). */
  @Test
  void bind_badDurationInTheEnvironment_failsAtStartNamingTheKey() {
    runner.withInitializer(context -> simulateEnvironment(context.getEnvironment(), Map.of("CUTOVER_DRAIN_TIMEOUT", "soon")))
        .run(context -> {
          assertThat(context).hasFailed();
          assertThat(context.getStartupFailure()).hasStackTraceContaining("cutover.drain.timeout");
        });
  }

  /** The process's environment as Spring Boot shows it, replaced by {@code variables}. */
  private static void simulateEnvironment(org.springframework.core.env.ConfigurableEnvironment environment,
      Map<String, String> variables) {
    environment.getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
        new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, Map.copyOf(variables)));
  }

  private static HikariDataSource pool() {
    HikariDataSource hikari = new HikariDataSource();
    hikari.setJdbcUrl("jdbc:cutover:postgresql://old/app");
    return hikari;
  }

  @Test
  void metadata_everyDriverSetting_describedForTheIde() throws Exception {
    String metadata = metadata();
    TreeSet<String> keys = new TreeSet<>(RoutingFlags.SETTINGS);
    for (SettingKey key : SettingKey.values()) {
      keys.add(key.key());
    }
    for (String key : keys) {
      assertThat(metadata).as("metadata of %s", key).contains("\"name\": \"" + key + "\"");
    }
    assertThat(metadata).contains("jdbc:postgresql: URL of the database to move to")
        .contains("The target until the flag source delivers its first value");
  }

  @Test
  void metadata_aKeyWithADefaultValue_describesThatValue() throws Exception {
    Map<String, String> defaults = new TreeMap<>();
    for (FlagKey key : FlagKey.values()) {
      defaults.put(key.key(), key.defaultValue());
    }
    for (SettingKey key : SettingKey.values()) {
      defaults.put(key.key(), key.defaultValue());
    }
    Map<String, String> described = new TreeMap<>();
    for (JsonNode property : new ObjectMapper().readTree(metadata()).get("properties")) {
      described.put(property.get("name").asText(), property.path("description").asText());
    }

    defaults.forEach((key, value) -> {
      if (value != null) {
        assertThat(described.get(key)).as(key).endsWith("Default: " + value + ".");
      }
    });
  }

  private String metadata() throws Exception {
    try (InputStream in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
      assertThat(in).as("spring-configuration-metadata.json generated by the configuration processor").isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
