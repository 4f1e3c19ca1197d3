package dev.cutover.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM whose first {@code unshare -U} fails still starts servers. Run in a JVM of its own, since
 * zonky decides once per JVM; the {@code unshare} on its PATH fails once, as CI's did on
 * 2026-12-05, and then runs the real one.
 */
class RootAsUserNamespaceTest {

  /** Started by the test in a JVM of its own: a pair, one query on each side, then exit 0. */
  public static void main(String[] args) throws Exception {
    try (PostgresPair pair = PostgresPair.start(12, 17)) {
      pair.oldServer().connect().close();
      pair.newServer().connect().close();
    }
  }

  @Test
  void unshareFailingOnce_serversStartAll_theSame(@TempDir Path tmp) throws Exception {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path unshare = bin.resolve("unshare");
    Files.writeString(unshare, "#!/bin/sh\n"
        + "if [ ! -e '" + tmp.resolve("failed") + "' ]; then touch '" + tmp.resolve("failed") + "';"
        + " echo 'unshare: unshare failed: No space left on device' >&2; exit 1; fi\n"
        + "exec /usr/bin/unshare \"$@\"\n");
    Files.setPosixFilePermissions(unshare, PosixFilePermissions.fromString("rwxr-xr-x"));
    ProcessBuilder child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), RootAsUserNamespaceTest.class.getName())
        .redirectErrorStream(true).redirectOutput(tmp.resolve("out.txt").toFile());
    child.environment().put("PATH", bin + ":" + System.getenv("PATH"));

    Process process = child.start();
    boolean ended = process.waitFor(3, TimeUnit.MINUTES);
    if (!ended) {
      process.destroyForcibly();
    }
    String out = Files.readString(tmp.resolve("out.txt"), StandardCharsets.UTF_8);
    assertThat(ended).as("the child JVM ended; it printed:%n%s", out).isTrue();
    assertThat(process.exitValue()).as("exit code; the child JVM printed:%n%s", out).isZero();
    if ("root".equals(System.getProperty("user.name"))) {
      assertThat(tmp.resolve("failed")).as("the failing unshare ran").exists();
    }
  }
}
