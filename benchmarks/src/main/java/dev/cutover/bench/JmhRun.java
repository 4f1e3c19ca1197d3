package dev.cutover.bench;

import java.util.Collection;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/** Runs {@link JdbcPathBenchmark} with the GC profiler and reports throughput and bytes per call. */
final class JmhRun {
  private final boolean smoke;

  JmhRun(boolean smoke) {
    this.smoke = smoke;
  }

  Report run() throws Exception {
    ChainedOptionsBuilder options = new OptionsBuilder()
        .include(JdbcPathBenchmark.class.getName())
        .addProfiler(GCProfiler.class)
        .shouldFailOnError(true);
    if (smoke) {
      options.forks(0).warmupIterations(1).warmupTime(TimeValue.milliseconds(200))
          .measurementIterations(1).measurementTime(TimeValue.milliseconds(200));
    } else {
      options.forks(1).warmupIterations(3).warmupTime(TimeValue.seconds(2))
          .measurementIterations(5).measurementTime(TimeValue.seconds(2));
    }
    Collection<RunResult> results = new Runner(options.build()).run();
    Report report = new Report("jmh per-call path", "driver", "ops/s", "error ops/s", "bytes/op");
    double plain = 0;
    double cutover = 0;
    for (RunResult r : results) {
      String driver = r.getParams().getParam("driver");
      Result<?> primary = r.getPrimaryResult();
      Result<?> alloc = r.getSecondaryResults().get("gc.alloc.rate.norm");
      report.row(driver, primary.getScore(), primary.getScoreError(), alloc == null ? Double.NaN : alloc.getScore());
      if ("plain".equals(driver)) {
        plain = primary.getScore();
      } else {
        cutover = primary.getScore();
      }
    }
    report.fact("ratio cutover/plain", String.format("%.3f", cutover / plain));
    report.fact("operation", "HikariCP borrow, prepare, bind, execute, read one row, return (PostgreSQL 17, loopback)");
    return report;
  }
}
