package dev.cutover.driver;

import java.io.IOException;
import java.net.ServerSocket;

/** Ports for tests of unreachable databases. */
final class Ports {
  private Ports() {}

  /** A loopback port nothing listens on (it was free a moment ago): connecting to it is refused. */
  static int closed() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
