package dev.cutover.flags;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version of Cutover these classes were built as ({@code 0.2.0}, or {@code 0.2.0-SNAPSHOT}
 * between releases), written into a resource by the build. It lives here, in the module every
 * other one depends on, so the driver, the replicator and reports all name the same version.
 */
public final class CutoverVersion {
  private static final String RESOURCE = "cutover-version.properties";
  private static final String VERSION = read();

  private CutoverVersion() {}

  /** The full version, for example {@code 0.2.0}. */
  public static String get() {
    return VERSION;
  }

  /** The major version number: 0 for {@code 0.2.0}. */
  public static int major() {
    return part(0);
  }

  /** The minor version number: 2 for {@code 0.2.0}. */
  public static int minor() {
    return part(1);
  }

  private static int part(int index) {
    String[] parts = VERSION.split("[.-]");
    try {
      return parts.length > index ? Integer.parseInt(parts[index]) : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static String read() {
    try (InputStream in = CutoverVersion.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the cutover-flags classes: a broken build");
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }
}
