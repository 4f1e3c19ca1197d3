package dev.cutover.driver.internal.switching;

import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/**
 * The JMX names of routers: {@code dev.cutover:type=Router,service=<service>,instance=<instance>,id=<n>}.
 * Values appear as written, so that {@code dev.cutover:type=Router,service=booking,*} finds
 * service {@code booking}'s routers; a value that ObjectName cannot hold unquoted (one with {@code
 * , = : " * ?} or a line break, such as the default instance id {@code host:pid:n}) is quoted
 * ({@link ObjectName#quote}).
 */
public final class RouterNames {
  public static final String DOMAIN = "dev.cutover";

  private RouterNames() {}

  /** One router's name. */
  public static ObjectName of(String service, String instance, long id) {
    return name(DOMAIN + ":type=Router,service=" + value(service) + ",instance=" + value(instance) + ",id=" + id);
  }

  /** A pattern matching every router of {@code service} in this JVM. */
  public static ObjectName pattern(String service) {
    return name(DOMAIN + ":type=Router,service=" + value(service) + ",*");
  }

  /** {@code value} as a key property value: as written when ObjectName allows it, else quoted. */
  public static String value(String value) {
    boolean plain = !value.isEmpty();
    for (int i = 0; i < value.length() && plain; i++) {
      plain = ",=:\"*?\n".indexOf(value.charAt(i)) < 0;
    }
    return plain ? value : ObjectName.quote(value);
  }

  private static ObjectName name(String text) {
    try {
      return new ObjectName(text);
    } catch (MalformedObjectNameException e) {
      throw new IllegalArgumentException("cutover.service or cutover.instance cannot name an MBean: " + text, e);
    }
  }
}
