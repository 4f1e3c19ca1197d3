package dev.cutover.driver;

import dev.cutover.driver.RouterMXBean;

/**
 * Told when a router starts (the first connection of a setting set) and when it stops ({@link
 * CutoverDriver#shutdown}); see {@link CutoverDriver#addRouterListener}. Called with the driver's
 * router registry locked: return quickly and do not open connections.
 */
public interface RouterListener {
  void started(RouterMXBean router);

  default void stopped(RouterMXBean router) {}
}
