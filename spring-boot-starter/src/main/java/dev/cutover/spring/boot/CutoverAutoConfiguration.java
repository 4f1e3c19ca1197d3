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
import org.springframework.boot.context.properties.source.UnboundElementsSourceFilter;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

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
   * Binds {@code cutover.*} straight from the environment: post-processors are created before the
   * {@link CutoverProperties} bean is bound. Unknown keys fail as they do for the bean (the
   * environment variables, which the replicator shares, are not held against it).
   */
  static Map<String, String> settings(Environment environment) {
    BindHandler strict = new NoUnboundElementsBindHandler(BindHandler.DEFAULT, new UnboundElementsSourceFilter());
    return Binder.get(environment)
        .bind("cutover", Bindable.of(CutoverProperties.class), strict)
        .orElseGet(CutoverProperties::new)
        .toDriverSettings();
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
