package dev.cutover.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.ArrayList;
import java.util.List;
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
 *
 * <p>A test that stops or kills a server asks for a pair of its own with {@link OwnPair}, so
 * that the class's other tests keep theirs.
 */
public final class PostgresPairExtension implements ParameterResolver {

  /**
   * On a test method's {@link PostgresPair} parameter: a pair started for this test alone and
   * stopped after it (after the after-each callbacks, so {@link NoLeakedConnections} checks it too).
   */
  @Documented
  @Retention(RetentionPolicy.RUNTIME)
  @Target(ElementType.PARAMETER)
  public @interface OwnPair {}

  static final String OLD_PROPERTY = "cutover.test.old";
  static final String NEW_PROPERTY = "cutover.test.new";
  static final int DEFAULT_OLD = 12;
  static final int DEFAULT_NEW = 17;

  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(PostgresPairExtension.class);

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == PostgresPair.class;
  }

  /**
   * The pair in the store of the class context, or for an {@link OwnPair} of the test's context
   * (under its own key: a store also answers with its parents' values); JUnit closes the store,
   * stopping the pair, when that context ends.
   */
  @Override
  public PostgresPair resolveParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> testClass = context.getRequiredTestClass();
    if (parameter.isAnnotated(OwnPair.class)) {
      return context.getStore(NAMESPACE).getOrComputeIfAbsent(OwnPair.class, key -> start(testClass), PostgresPair.class);
    }
    return classContext(context).getStore(NAMESPACE).getOrComputeIfAbsent(PostgresPair.class, key -> start(testClass), PostgresPair.class);
  }

  /**
   * The pairs this extension has started that {@code context} sees: its test class's, if a
   * parameter has asked for it yet, and for a test's context that test's {@link OwnPair}.
   */
  static List<PostgresPair> started(ExtensionContext context) {
    List<PostgresPair> pairs = new ArrayList<>(2);
    ExtensionContext classContext = classContext(context);
    PostgresPair classPair = classContext.getStore(NAMESPACE).get(PostgresPair.class, PostgresPair.class);
    if (classPair != null) {
      pairs.add(classPair);
    }
    if (context != classContext) {
      PostgresPair ownPair = context.getStore(NAMESPACE).get(OwnPair.class, PostgresPair.class);
      if (ownPair != null) {
        pairs.add(ownPair);
      }
    }
    return pairs;
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
