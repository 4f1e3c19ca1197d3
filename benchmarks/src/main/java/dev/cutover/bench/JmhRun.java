package dev.cutover.bench;

import dev.cutover.testkit.ServerSettings;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link JdbcPathBenchmark} with the GC profiler and reports throughput and bytes per call:
 * a row per driver for {@code pointSelect}, facts for {@code heldStatement}. Bytes per operation
 * are the median of the measured iterations: the last one also counts what the trial's teardown
 * (closing the pool and the servers) allocates.
 */
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
      options.forks(1).jvmArgsAppend("-D" + ServerSettings.NUDGER_PROPERTY + "=off").warmupIterations(3).warmupTime(TimeValue.seconds(2))
          .measurementIterations(5).measurementTime(TimeValue.seconds(2));
    }
    Collection<RunResult> results = new Runner(options.build()).run();
    Report report = new Report("jmh per-call path", "driver", "ops/s", "error ops/s", "bytes/op");
    Map<String, RunResult> byRun = new HashMap<>();
    for (RunResult r : results) {
      String method = r.getParams().getBenchmark().substring(JdbcPathBenchmark.class.getName().length() + 1);
      byRun.put(method + "/" + r.getParams().getParam("driver"), r);
    }
    for (String driver : List.of("plain", "cutover")) {
      RunResult r = byRun.get("pointSelect/" + driver);
      report.row(driver, r.getPrimaryResult().getScore(), r.getPrimaryResult().getScoreError(), bytesPerOp(r));
    }
    report.fact("ratio cutover/plain", String.format("%.3f", score(byRun, "pointSelect/cutover")
        / score(byRun, "pointSelect/plain")));
    report.fact("bytes/op cutover/plain", String.format("%.3f",
        bytesPerOp(byRun.get("pointSelect/cutover")) / bytesPerOp(byRun.get("pointSelect/plain"))));
    report.fact("held statement bytes/op plain, cutover", String.format("%.1f, %.1f",
        bytesPerOp(byRun.get("heldStatement/plain")), bytesPerOp(byRun.get("heldStatement/cutover"))));
    report.fact("held statement ops/s plain, cutover", String.format("%.0f, %.0f",
        score(byRun, "heldStatement/plain"), score(byRun, "heldStatement/cutover")));
    report.fact("operation", "HikariCP borrow, prepare, bind, execute, read one row, return (PostgreSQL 17, loopback)");
    report.fact("held statement", "bind, execute, read one row on a statement kept open");
    return report;
  }

  private static double score(Map<String, RunResult> byRun, String key) {
    return byRun.get(key).getPrimaryResult().getScore();
  }

  /** The median over the measured iterations of the GC profiler's bytes per operation. */
  private static double bytesPerOp(RunResult r) {
    List<Double> perIteration = new ArrayList<>();
    for (BenchmarkResult b : r.getBenchmarkResults()) {
      for (IterationResult i : b.getIterationResults()) {
        Result<?> alloc = i.getSecondaryResults().get("gc.alloc.rate.norm");
        if (alloc != null) {
          perIteration.add(alloc.getScore());
        }
      }
    }
    if (perIteration.isEmpty()) {
      return Double.NaN;
    }
    Collections.sort(perIteration);
    int n = perIteration.size();
    return n % 2 == 1 ? perIteration.get(n / 2) : (perIteration.get(n / 2 - 1) + perIteration.get(n / 2)) / 2;
  }
}
