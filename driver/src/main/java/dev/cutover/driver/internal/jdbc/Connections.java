package dev.cutover.driver.internal.jdbc;

import dev.cutover.driver.internal.switching.Route;
import dev.cutover.driver.internal.switching.Routing;
import java.sql.Connection;
import java.sql.SQLException;

/** Opens logical connections on a router: the one way into this package for the driver. */
public final class Connections {
  private Connections() {}

  /** A logical connection bound to a physical connection to the side that serves now. */
  public static Connection open(Routing router) throws SQLException {
    Route route = router.route();
    Connection physical = router.connect(route.serving());
    try {
      return Wrappers.connection(router, physical, route.serving(), route.gate() == null ? route : null);
    } catch (SQLException | RuntimeException e) {
      LogicalConnection.closeQuietly(physical);
      throw e;
    }
  }
}
