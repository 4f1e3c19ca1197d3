package dev.cutover.torture;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.ContextInitializer;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;

/**
 * Where the driver's and the replicator's log lines go: {@code driver.log} in the run's folder (the
 * instances' JVMs get their own through {@code -Dtorture.log.file}). Logback reads the file name
 * when it configures itself; a JVM that runs several runs (tests) is configured again for each.
 */
final class DriverLog {
  static final String PROPERTY = "torture.log.file";

  private DriverLog() {}

  static void into(Path file) {
    System.setProperty(PROPERTY, file.toAbsolutePath().toString());
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context.reset();
      try {
        new ContextInitializer(context).autoConfig();
      } catch (Exception e) {
        System.err.println("torture: cannot log to " + file + ": " + e);
      }
    }
  }
}
