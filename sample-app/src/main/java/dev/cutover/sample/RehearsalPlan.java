package dev.cutover.sample;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What a rehearsal does, validated as it is built: each error names the option and the bad value.
 *
 * @param oldVersion PostgreSQL major version of the old server (12 to 18)
 * @param newVersion PostgreSQL major version of the new server (12 to 18)
 * @param houses houses to seed
 * @param users users to seed
 * @param instances simulated application instances, each with its own pool and driver router
 * @param poolSize connections per instance's pool, and worker threads per instance
 * @param rate transactions per second, shared by all instances
 * @param flips how many times to flip the flag: old to new, back, and so on
 * @param phase how long traffic runs before the first flip, between flips and after the last
 * @param reportDir where report.json and report.html go
 * @param seed seeds the data and the load's random choices
 */
record RehearsalPlan(int oldVersion, int newVersion, int houses, int users, int instances, int poolSize, int rate,
    int flips, Duration phase, Path reportDir, long seed) {

  RehearsalPlan {
    between("--old-version", oldVersion, 12, 18);
    between("--new-version", newVersion, 12, 18);
    between("--houses", houses, 1, 1_000_000);
    between("--users", users, 1, 1_000_000);
    between("--instances", instances, 1, 32);
    between("--pool-size", poolSize, 1, 64);
    between("--rate", rate, 1, 100_000);
    between("--flips", flips, 0, 20);
    if (phase.isNegative() || phase.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("--duration-per-phase=" + phase.toMillis() + "ms must be at least 1s");
    }
    if (reportDir == null) {
      throw new IllegalArgumentException("--report-dir must name a folder");
    }
  }

  /** The defaults of the {@code rehearse} command. */
  static RehearsalPlan defaults() {
    return new RehearsalPlan(12, 17, 200, 1000, 4, 4, 400, 2, Duration.ofSeconds(10), Path.of("target", "rehearsal"), 42);
  }

  private static void between(String option, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(option + "=" + value + " must be between " + min + " and " + max);
    }
  }
}
