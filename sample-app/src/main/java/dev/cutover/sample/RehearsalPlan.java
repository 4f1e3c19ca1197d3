package dev.cutover.sample;

import dev.cutover.common.Secrets;
import dev.cutover.replicator.capture.Capture;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What a rehearsal does, validated as it is built: each error names the option and the bad value.
 *
 * @param databases embedded servers the rehearsal starts, or two databases it is given
 * @param flag who moves the routing flag: the rehearsal (a flag file) or an operator (LaunchDarkly)
 * @param houses houses to seed
 * @param users users to seed
 * @param instances simulated application instances, each with its own pool and driver router
 * @param poolSize connections per instance's pool, and worker threads per instance
 * @param rate transactions per second, shared by all instances
 * @param flips how many times to flip the flag: old to new, back, and so on
 * @param phase how long traffic runs before the first flip, between flips and after the last
 * @param reportDir where report.json and report.html go
 * @param seed seeds the data and the load's random choices
 * @param capture the replicator's engine: logical replication, trigger capture, or the one the databases allow
 */
record RehearsalPlan(Databases databases, FlagSource flag, int houses, int users, int instances, int poolSize, int rate,
    int flips, Duration phase, Path reportDir, long seed, Capture capture) {

  RehearsalPlan {
    if (databases == null || flag == null || capture == null) {
      throw new IllegalArgumentException("a rehearsal needs its databases and its flag source");
    }
    between("--houses", houses, 1, 1_000_000);
    between("--users", users, 1, 1_000_000);
    between("--instances", instances, 1, 32);
    between("--pool-size", poolSize, 1, 64);
    between("--rate", rate, 1, 100_000);
    between("--flips", flips, 0, 20);
    if (phase.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("--duration-per-phase=" + phase.toMillis() + "ms must be at least 1s");
    }
    if (reportDir == null) {
      throw new IllegalArgumentException("--report-dir must name a folder");
    }
  }

  /** A plan whose engine the databases choose ({@link Capture#AUTO}). */
  RehearsalPlan(Databases databases, FlagSource flag, int houses, int users, int instances, int poolSize, int rate, int flips,
      Duration phase, Path reportDir, long seed) {
    this(databases, flag, houses, users, instances, poolSize, rate, flips, phase, reportDir, seed, Capture.AUTO);
  }

  /** The defaults of the {@code rehearse} command: embedded 12 and 17, the flag file, 4 instances, there and back. */
  static RehearsalPlan defaults() {
    return new RehearsalPlan(new Embedded(12, 17), new FlagSource.File(), 200, 1000, 4, 4, 400, 2, Duration.ofSeconds(10),
        Path.of("target", "rehearsal"), 42);
  }

  /** Where the old and new databases come from. */
  sealed interface Databases permits Embedded, Given {}

  /**
   * Two embedded servers the rehearsal starts, creates its database on, and throws away.
   *
   * @param oldVersion PostgreSQL major version of the old server (9 for 9.6, or 10 to 18; below 12 only trigger capture moves it)
   * @param newVersion PostgreSQL major version of the new server (12 to 18)
   */
  record Embedded(int oldVersion, int newVersion) implements Databases {
    Embedded {
      between("--old-version", oldVersion, 9, 18);
      between("--new-version", newVersion, 12, 18);
    }
  }

  /**
   * Two databases that exist already ({@code --old-url}, {@code --new-url}). The rehearsal refuses
   * them unless they are empty or {@code allowExisting} says otherwise, and removes only what it
   * created.
   *
   * @param old how to reach the old database
   * @param nw how to reach the new database
   * @param allowExisting whether tables of others may be there (they then take part: copied, fenced, verified)
   */
  record Given(Login old, Login nw, boolean allowExisting) implements Databases {}

  /**
   * A plain PgJDBC URL and the credentials for it; {@link #toString()} masks the password.
   *
   * @param url {@code jdbc:postgresql://host:port/database}
   * @param user the role, or null for the URL's own (or PgJDBC's default)
   * @param password the password, or null; from the environment only
   */
  record Login(String url, String user, String password) {
    Login {
      if (url == null || !url.startsWith("jdbc:postgresql:")) {
        throw new IllegalArgumentException("'" + Secrets.maskUrl(url) + "' is not a plain PostgreSQL JDBC URL:"
            + " write jdbc:postgresql://host:port/database (not jdbc:cutover:)");
      }
      user = user == null || user.isBlank() ? null : user;
      password = password == null || password.isEmpty() ? null : password;
    }

    @Override
    public String toString() {
      return "Login[url=" + Secrets.maskUrl(url) + ", user=" + user + ", password=" + (password == null ? "none" : "***") + "]";
    }
  }

  /** Who moves the routing flag. */
  sealed interface FlagSource permits FlagSource.File, FlagSource.LaunchDarkly {

    /** A flag file in a temporary folder, which the rehearsal itself rewrites at each flip. */
    record File() implements FlagSource {}

    /**
     * A LaunchDarkly flag, which only an operator can flip: the rehearsal says what to flip and
     * waits for it.
     *
     * @param flagKey the flag that says old or new (or false / true)
     * @param sdkKey the server-side SDK key; {@link #toString()} masks it
     * @param baseUri a Relay Proxy's base URI, or null for LaunchDarkly itself
     * @param flipTimeout how long to wait for the operator at each flip
     */
    record LaunchDarkly(String flagKey, String sdkKey, URI baseUri, Duration flipTimeout) implements FlagSource {
      public LaunchDarkly {
        if (flagKey == null || flagKey.isBlank()) {
          throw new IllegalArgumentException("--ld-flag-key must name the LaunchDarkly flag that says old or new");
        }
        if (sdkKey == null || sdkKey.isBlank()) {
          throw new IllegalArgumentException("--ld-flag-key=" + flagKey + " needs a server-side SDK key:"
              + " set the LD_SDK_KEY environment variable (or --ld-sdk-key)");
        }
        if (flipTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
          throw new IllegalArgumentException("--flip-timeout=" + flipTimeout.toMillis() + "ms must be at least 1s");
        }
      }

      @Override
      public String toString() {
        return "LaunchDarkly[flagKey=" + flagKey + ", sdkKey=***, baseUri=" + baseUri + ", flipTimeout=" + flipTimeout + "]";
      }
    }
  }

  static void between(String option, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(option + "=" + value + " must be between " + min + " and " + max);
    }
  }
}
