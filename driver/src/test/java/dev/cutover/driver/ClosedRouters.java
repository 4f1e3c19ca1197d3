package dev.cutover.driver;

import dev.cutover.testkit.NoLeakedConnections;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Closes every router after each test (after the class, for a {@link NoLeakedConnections.PerClass}
 * class), as an application server does at undeploy with {@link CutoverDriver#shutdown()}: a router
 * of {@code DriverManager} connections outlives its last connection by {@code cutover.router.linger}
 * on purpose, and its heartbeat and warm connections are not a leak. What {@link NoLeakedConnections}
 * then still finds is: a physical connection of a logical connection left open, or one a router,
 * switch or statement forgot to close.
 */
public final class ClosedRouters implements AfterEachCallback, AfterAllCallback {

  @Override
  public void afterEach(ExtensionContext context) {
    if (!AnnotationSupport.isAnnotated(context.getRequiredTestClass(), NoLeakedConnections.PerClass.class)) {
      CutoverDriver.shutdown();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    CutoverDriver.shutdown();
  }
}
