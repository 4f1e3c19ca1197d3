package dev.cutover.driver;

import dev.cutover.driver.internal.switching.RouterNames;
import javax.management.ObjectName;

/**
 * The JMX names under which routers register their {@link RouterMXBean}: {@code
 * dev.cutover:type=Router,service=<service>,instance=<instance>,id=<n>}, values quoted only where
 * ObjectName requires it.
 */
public final class RouterObjectNames {
  private RouterObjectNames() {}

  /** A pattern matching every router of {@code service} in this JVM, for {@code MBeanServer.queryNames}. */
  public static ObjectName service(String service) {
    return RouterNames.pattern(service);
  }
}
