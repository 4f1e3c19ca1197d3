package dev.cutover.testkit;

import io.zonky.test.db.postgres.util.LinuxUtils;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Makes sure zonky can run PostgreSQL when the tests run as root, as CI's do. PostgreSQL refuses
 * root; zonky then runs initdb and pg_ctl in a user namespace ({@code unshare -U}), but decides
 * whether it can once per JVM, on first use, with no second try. When that one try failed (CI,
 * 2026-12-05: one surefire fork could start no server of any version while the other fork started
 * them all), every server of that JVM failed, with nothing saying why. Here the namespace is tried
 * first, a few times, before zonky decides; if zonky still cannot, the failure says so.
 */
final class RootAsUserNamespace {

  private static final int ATTEMPTS = 5;

  /** Guarded by the class: {@link #ensure} is synchronized. */
  private static boolean checked;

  /** Returns once zonky will run PostgreSQL in a user namespace, or at once when not root. */
  static synchronized void ensure() throws IOException {
    if (checked || !"root".equals(System.getProperty("user.name"))) {
      return;
    }
    String refusal = "";
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      refusal = tryUnshare();
      if (refusal.isEmpty() || attempt == ATTEMPTS) {
        break;
      }
      pause(attempt);
    }
    if (!LinuxUtils.isUnshareAvailable()) {
      throw new IOException("The tests run as root, which PostgreSQL refuses, and zonky found no user namespace to run it in"
          + " (`unshare -U id -u`" + (refusal.isEmpty() ? " works now, but not when zonky tried it" : ": " + refusal)
          + "). Run the tests as another user, or allow user namespaces (sysctl user.max_user_namespaces)");
    }
    checked = true;
  }

  /** An empty string when {@code unshare -U} runs a command, else what it printed and its exit code. */
  private static String tryUnshare() throws IOException {
    Process process = new ProcessBuilder("unshare", "-U", "id", "-u").redirectErrorStream(true).start();
    try {
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      int exit = process.waitFor();
      return exit == 0 ? "" : "exit " + exit + ", " + output;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while trying `unshare -U`", e);
    }
  }

  private static void pause(int attempt) throws IOException {
    try {
      Thread.sleep(200L * attempt);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while retrying `unshare -U`", e);
    }
  }

  private RootAsUserNamespace() {}
}
