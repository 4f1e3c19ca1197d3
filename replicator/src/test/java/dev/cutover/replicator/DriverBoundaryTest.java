package dev.cutover.replicator;

import dev.cutover.testkit.DriverBoundary;
import org.junit.jupiter.api.Test;

/** This module's main code uses the driver only through its public packages (docs/design-decisions.md). */
class DriverBoundaryTest {
  @Test
  void mainClasses_driverInternals_notReferenced() {
    DriverBoundary.check("dev.cutover.replicator");
  }
}
