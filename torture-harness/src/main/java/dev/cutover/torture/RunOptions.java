package dev.cutover.torture;

/**
 * What a run does, all of it in the record so that a replay runs the same way.
 *
 * @param oldVersion old's PostgreSQL major version
 * @param newVersion new's PostgreSQL major version
 * @param minutes how long to run (rounds start until then)
 * @param maxAttempts stop after this many switch attempts; 0 for no limit
 * @param seed the schedule's and the workload's seed
 * @param threads application instances in the harness's JVM
 * @param processes application instances in JVMs of their own
 * @param rate operations per second per instance
 * @param writers writer threads per instance
 * @param poolSize HikariCP pool size per instance
 * @param drainMillis {@code cutover.drain.timeout}
 * @param barrierMillis {@code cutover.barrier.timeout}
 * @param without kinds of fault the nemesis leaves out (none by default)
 */
record RunOptions(int oldVersion, int newVersion, double minutes, int maxAttempts, long seed, int threads, int processes,
    double rate, int writers, int poolSize, long drainMillis, long barrierMillis, java.util.Set<Schedule.FaultKind> without) {

  RunOptions {
    if (minutes <= 0) {
      throw new IllegalArgumentException("--minutes must be above 0, not " + minutes);
    }
    if (threads < 0 || processes < 0 || threads + processes < 2) {
      throw new IllegalArgumentException("a switch needs at least 2 instances (--threads + --processes), not "
          + threads + " + " + processes);
    }
    if (rate <= 0 || writers < 1 || poolSize < writers + 3) {
      throw new IllegalArgumentException("--rate must be above 0, --writers at least 1 and --pool at least writers + 3"
          + " (reader, read-back, straggler or cursor), not " + rate + ", " + writers + ", " + poolSize);
    }
    without = without == null ? java.util.Set.of() : java.util.Set.copyOf(without);
    if (without.size() == Schedule.FaultKind.values().length) {
      throw new IllegalArgumentException("--without leaves no fault for the nemesis");
    }
    if (drainMillis < 1 || barrierMillis < 1) {
      throw new IllegalArgumentException("--drain and --barrier must be at least 1 ms, not " + drainMillis + ", " + barrierMillis);
    }
  }

  Fleet.Options fleet() {
    return new Fleet.Options(threads, processes, rate, writers, poolSize, drainMillis, barrierMillis);
  }

  /** The kinds of fault the nemesis picks from. */
  java.util.Set<Schedule.FaultKind> faults() {
    java.util.Set<Schedule.FaultKind> kinds = java.util.EnumSet.allOf(Schedule.FaultKind.class);
    kinds.removeAll(without);
    return kinds;
  }
}
