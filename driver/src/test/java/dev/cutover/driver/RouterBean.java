package dev.cutover.driver;

import dev.cutover.driver.internal.switching.RouterNames;
import java.lang.management.ManagementFactory;
import java.util.Set;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/** Reads a router's MBean, as an operator's tool would. */
final class RouterBean {
  private RouterBean() {}

  /** Whether any router (instance) of {@code service} holds transactions at its gate. */
  static boolean anyHolding(String service) throws Exception {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    for (ObjectName n : server.queryNames(RouterNames.pattern(service), null)) {
      if ((Boolean) server.getAttribute(n, "Holding")) {
        return true;
      }
    }
    return false;
  }

  static Object attribute(String service, String name) throws Exception {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    Set<ObjectName> names = server.queryNames(RouterNames.pattern(service), null);
    if (names.size() != 1) {
      throw new AssertionError("expected one router MBean for " + service + ", found " + names);
    }
    return server.getAttribute(names.iterator().next(), name);
  }
}
