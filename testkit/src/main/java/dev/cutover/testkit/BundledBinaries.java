package dev.cutover.testkit;

import io.zonky.test.db.postgres.embedded.PgBinaryResolver;
import java.io.IOException;
import java.io.InputStream;

/**
 * Finds the server archive of one major version among those bundled in this jar.
 *
 * <p>The zonky binaries artifacts of every version hold the same entry name, and Maven keeps one
 * version of an artifact per classpath, so the build unpacks each version's archive into its own
 * folder ({@code dev/cutover/testkit/binaries/<major>/}) of this jar. A record, because zonky caches
 * extracted binaries per resolver by {@code equals}. PostgreSQL 9.6 is major {@code 9}, as
 * {@code server_version_num / 10000} gives it (the only 9.x bundled).
 */
record BundledBinaries(int major) implements PgBinaryResolver {

  static final int OLDEST = 9;
  static final int NEWEST = 18;

  BundledBinaries {
    if (major < OLDEST || major > NEWEST) {
      throw new IllegalArgumentException("Embedded PostgreSQL major version must be " + OLDEST + " (9.6) to " + NEWEST + ", not " + major);
    }
  }

  @Override
  public InputStream getPgBinary(String system, String machineHardware) throws IOException {
    String resource = "dev/cutover/testkit/binaries/" + major + "/postgres-" + system.toLowerCase() + "-" + machineHardware + ".txz";
    InputStream archive = BundledBinaries.class.getClassLoader().getResourceAsStream(resource);
    if (archive == null) {
      throw new IOException("No embedded PostgreSQL " + major + " binaries for " + system + "/" + machineHardware + " at classpath resource " + resource + "; only Linux x86_64 is bundled");
    }
    return archive;
  }
}
