package dev.cutover.testkit;

import java.util.Locale;

/** Where servers come from, chosen with the system property {@value #PROPERTY}. */
enum Provider {
  /** Bundled zonky binaries started by this JVM: the default, needs nothing installed. */
  EMBEDDED,
  /** {@code postgres:<major>} images through Testcontainers: needs Docker. */
  TESTCONTAINERS,
  /** Servers named by {@code CUTOVER_TEST_OLD_URL} and {@code CUTOVER_TEST_NEW_URL}; requested versions are ignored. */
  EXTERNAL;

  static final String PROPERTY = "cutover.test.postgres";

  static Provider fromSystemProperty() {
    String value = System.getProperty(PROPERTY, "embedded");
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(PROPERTY + " must be embedded, testcontainers or external, not '" + value + "'", e);
    }
  }

  /** Starts (or, for external servers, connects to) the server for {@code side}. */
  PostgresServer start(Side side, int majorVersion) throws Exception {
    switch (this) {
      case EMBEDDED:
        return EmbeddedServer.start(majorVersion, side);
      case TESTCONTAINERS:
        return ContainerServer.start(majorVersion);
      default:
        return ExternalServer.fromEnvironment(side.urlVariable);
    }
  }

  /** Which server of a pair: external servers have a URL each, and embedded ones a data template each. */
  enum Side {
    OLD("CUTOVER_TEST_OLD_URL"),
    NEW("CUTOVER_TEST_NEW_URL");

    final String urlVariable;

    Side(String urlVariable) {
      this.urlVariable = urlVariable;
    }
  }
}
