package dev.cutover.spring.boot;

import dev.cutover.driver.CutoverDriver;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.config.ConfigDataEnvironmentPostProcessor;
import org.springframework.boot.env.EnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Names the Cutover driver wherever a {@code jdbc:cutover:} URL is configured without a driver
 * class: Spring Boot picks a driver class by URL prefix and knows none for {@code jdbc:cutover:}
 * ("Failed to determine a suitable driver class"). Covers {@code spring.datasource}, and {@code
 * spring.flyway} and {@code spring.liquibase} when they are given a URL of their own. An explicit
 * {@code driver-class-name} is left alone. Runs after the application's configuration is loaded.
 */
public final class CutoverDriverClassPostProcessor implements EnvironmentPostProcessor, Ordered {
  static final String SOURCE = "cutoverDriverClass";
  private static final List<String> PREFIXES = List.of("spring.datasource", "spring.flyway", "spring.liquibase");

  @Override
  public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
    Map<String, Object> names = new LinkedHashMap<>();
    for (String prefix : PREFIXES) {
      String url = environment.getProperty(prefix + ".url");
      if (url != null && url.startsWith(CutoverSettingsApplier.URL_PREFIX)
          && environment.getProperty(prefix + ".driver-class-name") == null) {
        names.put(prefix + ".driver-class-name", CutoverDriver.class.getName());
      }
    }
    if (!names.isEmpty()) {
      environment.getPropertySources().addLast(new MapPropertySource(SOURCE, names));
    }
  }

  @Override
  public int getOrder() {
    return ConfigDataEnvironmentPostProcessor.ORDER + 1;
  }
}
