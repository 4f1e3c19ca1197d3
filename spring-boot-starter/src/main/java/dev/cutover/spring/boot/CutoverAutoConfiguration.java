package dev.cutover.spring.boot;

import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.micrometer.CutoverMetrics;
import java.util.Map;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import javax.sql.DataSource;
import liquibase.integration.spring.SpringLiquibase;
import org.flywaydb.core.Flyway;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.beans.factory.config.DestructionAwareBeanPostProcessor;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.UnboundElementsSourceFilter;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.Environment;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * Cutover in a Spring Boot 3 application: {@code cutover.*} settings reach every {@code
 * jdbc:cutover:} data source Spring Boot creates (the application's, and Flyway's or Liquibase's
 * own when they are given another user), an Actuator health indicator and Micrometer meters where
 * those are on the class path. The driver class is named by {@link CutoverDriverClassPostProcessor}.
 */
@AutoConfiguration
@EnableConfigurationProperties(CutoverProperties.class)
public class CutoverAutoConfiguration {

  /**
   * Binds {@code cutover.*} straight from the environment's property sources: post-processors are
   * created before the {@link CutoverProperties} bean is bound. Unknown keys fail as they do for
   * the bean (the environment variables, which the replicator shares, are not held against it).
   *
   * <p>The process's environment variables are left out: the driver reads {@code CUTOVER_*} itself,
   * as its fourth source, after {@code cutover.properties}. Handed on as JDBC properties (its
   * second source) they would beat that file, and HikariCP logs its data source properties at
   * DEBUG, so a {@code CUTOVER_NEW_PASSWORD} given there to keep it out of the pool's properties
   * would be printed in clear. Placeholders ({@code cutover.new.password=${DB_NEW_PASSWORD}}) still
   * resolve against the whole environment: what the application's configuration names is handed on.
   */
  static Map<String, String> settings(Environment environment) {
    BindHandler strict = new NoUnboundElementsBindHandler(BindHandler.DEFAULT, new UnboundElementsSourceFilter());
    return withoutSystemEnvironment(environment)
        .bind("cutover", Bindable.of(CutoverProperties.class), strict)
        .orElseGet(CutoverProperties::new)
        .toDriverSettings();
  }

  /** A binder over every property source of {@code environment} but the process's environment variables. */
  private static Binder withoutSystemEnvironment(Environment environment) {
    if (!(environment instanceof ConfigurableEnvironment configurable)) {
      return Binder.get(environment);
    }
    MutablePropertySources sources = new MutablePropertySources();
    for (PropertySource<?> source : configurable.getPropertySources()) {
      if (!isSystemEnvironment(source)) { // the attached configurationProperties view is skipped by from()
        sources.addLast(source);
      }
    }
    return new Binder(ConfigurationPropertySources.from(sources), new PropertySourcesPlaceholdersResolver(environment),
        ApplicationConversionService.getSharedInstance());
  }

  /** Spring Boot's wrapper of the environment variables keeps the standard name and type; either identifies it. */
  private static boolean isSystemEnvironment(PropertySource<?> source) {
    return source instanceof SystemEnvironmentPropertySource
        || StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME.equals(source.getName());
  }

  @Bean
  static BeanPostProcessor cutoverDataSourcePostProcessor(Environment environment) {
    return applyingSettings(environment, DataSource.class, ds -> ds, beanName -> "data source " + beanName);
  }

  /** Hands the settings, before it is initialised, to the data source of each bean of {@code type}, named {@code owner} in errors. */
  private static <T> BeanPostProcessor applyingSettings(Environment environment, Class<T> type, Function<T, DataSource> dataSource,
      UnaryOperator<String> owner) {
    CutoverSettingsApplier applier = new CutoverSettingsApplier(() -> settings(environment));
    return new BeanPostProcessor() {
      @Override
      public Object postProcessBeforeInitialization(Object bean, String beanName) {
        if (type.isInstance(bean)) {
          applier.apply(dataSource.apply(type.cast(bean)), owner.apply(beanName));
        }
        return bean;
      }
    };
  }

  /** Flyway given its own user or URL migrates through a data source of its own. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(Flyway.class)
  static class FlywaySettings {
    @Bean
    static BeanPostProcessor cutoverFlywayPostProcessor(Environment environment) {
      return applyingSettings(environment, Flyway.class, f -> f.getConfiguration().getDataSource(), beanName -> "Flyway");
    }
  }

  /** Liquibase given its own user or URL migrates through a data source of its own. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(SpringLiquibase.class)
  static class LiquibaseSettings {
    @Bean
    static BeanPostProcessor cutoverLiquibasePostProcessor(Environment environment) {
      return applyingSettings(environment, SpringLiquibase.class, SpringLiquibase::getDataSource, beanName -> "Liquibase");
    }
  }

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator")
  static class HealthIndicatorConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "cutoverHealthIndicator")
    @ConditionalOnEnabledHealthIndicator("cutover")
    CutoverHealthIndicator cutoverHealthIndicator() {
      return new CutoverHealthIndicator();
    }
  }

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "io.micrometer.core.instrument.MeterRegistry")
  static class MetricsConfiguration {
    @Bean
    @ConditionalOnMissingBean
    CutoverMetrics cutoverMetrics() {
      return new CutoverMetrics();
    }
  }

  /**
   * Closes a HikariCP pool's router with the pool when the context closes, rather than
   * {@code cutover.router.linger} later, so that a closed context leaves nothing running.
   */
  @Bean
  static DestructionAwareBeanPostProcessor cutoverRouterCloser() {
    return new DestructionAwareBeanPostProcessor() {
      @Override
      public void postProcessBeforeDestruction(Object bean, String beanName) {
        CutoverSettingsApplier.closeRouter((HikariDataSource) bean, "data source " + beanName);
      }

      @Override
      public boolean requiresDestruction(Object bean) {
        return bean instanceof HikariDataSource;
      }
    };
  }
}
