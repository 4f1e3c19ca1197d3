package dev.cutover.testkit;

import java.util.Optional;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Injects a {@link PostgresPair} into test constructors, {@code @BeforeAll} and test methods,
 * starting it once per test class and stopping it after the class.
 *
 * <p>Use with {@code @ExtendWith(PostgresPairExtension.class)} or as a static
 * {@code @RegisterExtension} field. Versions come from {@link PostgresVersions} on the test class,
 * else from the system properties {@value #OLD_PROPERTY} (default {@value #DEFAULT_OLD}) and
 * {@value #NEW_PROPERTY} (default {@value #DEFAULT_NEW}). The pair is started lazily, when a
 * parameter first asks for it, so classes that never ask start nothing.
 */
public final class PostgresPairExtension implements ParameterResolver {

  static final String OLD_PROPERTY = "cutover.test.old";
  static final String NEW_PROPERTY = "cutover.test.new";
  static final int DEFAULT_OLD = 12;
  static final int DEFAULT_NEW = 17;

  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(PostgresPairExtension.class);

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == PostgresPair.class;
  }

  /** The store of the class context, which JUnit closes (stopping the pair) after the class. */
  @Override
  public PostgresPair resolveParameter(ParameterContext parameter, ExtensionContext context) {
    ExtensionContext classContext = classContext(context);
    Class<?> testClass = classContext.getRequiredTestClass();
    return classContext.getStore(NAMESPACE).getOrComputeIfAbsent(PostgresPair.class, key -> start(testClass), PostgresPair.class);
  }

  /** The pair this extension started for the test class of {@code context}, if a parameter has asked for it yet. */
  static Optional<PostgresPair> started(ExtensionContext context) {
    return Optional.ofNullable(classContext(context).getStore(NAMESPACE).get(PostgresPair.class, PostgresPair.class));
  }

  private static ExtensionContext classContext(ExtensionContext context) {
    ExtensionContext classContext = context;
    while (classContext.getTestMethod().isPresent()) {
      classContext = classContext.getParent().orElseThrow();
    }
    return classContext;
  }

  private static PostgresPair start(Class<?> testClass) {
    return AnnotationSupport.findAnnotation(testClass, PostgresVersions.class)
        .map(versions -> PostgresPair.start(versions.oldMajor(), versions.newMajor()))
        .orElseGet(() -> PostgresPair.start(versionProperty(OLD_PROPERTY, DEFAULT_OLD), versionProperty(NEW_PROPERTY, DEFAULT_NEW)));
  }

  private static int versionProperty(String key, int defaultVersion) {
    String value = System.getProperty(key);
    if (value == null || value.isBlank()) {
      return defaultVersion;
    }
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a PostgreSQL major version such as " + defaultVersion + ", not '" + value + "'", e);
    }
  }
}
