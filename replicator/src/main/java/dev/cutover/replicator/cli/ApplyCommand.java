package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "apply", mixinStandardHelpOptions = true,
    description = {"Applies trigger-captured changes (start --capture triggers), or relays old's slot (start --capture relay), until interrupted.",
        "Connects to both sides (new never connects to old) and applies every armed direction: old -> new from start on, and new -> old as soon as `reverse` arms it. Each batch (the changes of the transactions committed between two snapshots of the source) is applied in one transaction on the target together with its position, so the process can be stopped or killed at any moment and restarted: it goes on from where the target stands, losing nothing and applying nothing twice. With --capture relay, old -> new reads old's slot over a replication connection instead, a batch being one or more whole transactions of old, confirmed to the slot once committed on new. Run one per migration, for as long as the cutover lasts. Exit code 5 when nothing is armed or another apply process runs; 1 when an apply thread ends on an error it does not retry (such as running out of heap)."})
final class ApplyCommand extends BaseCommand {
  @Option(names = "--poll", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "10ms",
      description = "Wait after an empty batch before looking again (default: ${DEFAULT-VALUE}).")
  Duration poll;

  @Option(names = "--batch-every", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "0ms",
      description = "Trigger capture: once caught up, start a batch no sooner than this after the previous one started: fewer, larger batches,"
          + " lag about this plus the time to apply one; 0 applies as soon as possible (default: ${DEFAULT-VALUE}).")
  Duration batchEvery;

  @Option(names = "--progress", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "10s",
      description = "Print what was applied on standard error this often (default: ${DEFAULT-VALUE}).")
  Duration progress;

  @Option(names = "--duration", paramLabel = "DURATION", converter = Units.DurationConverter.class,
      description = "Stop after this long (default: run until interrupted).")
  Duration duration;

  @Option(names = "--lock-wait", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "30s",
      description = "How long to wait for another apply process of the same direction to let go (default: ${DEFAULT-VALUE}).")
  Duration lockWait;

  @Option(names = "--network-timeout", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "60s",
      description = "How long a statement may wait for an answer before its connection is given up as silent (a database or a network gone"
          + " without a word) and the batch starts over on a new one; a schema change replayed on the target is not limited"
          + " (default: ${DEFAULT-VALUE}).")
  Duration networkTimeout;

  @Override
  int run(Replicator r) throws Exception {
    Applier.Options options = Applier.Options.defaults().withPoll(poll).withBatchEvery(batchEvery).withLockWait(lockWait)
        .withNetworkTimeout(networkTimeout);
    CountDownLatch stopped = new CountDownLatch(1);
    ApplyProcess process = r.apply(options);
    Thread hook = new Thread(() -> {
      process.close();
      stopped.countDown();
    }, "cutover-apply-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    err().println("cutover-replicator: applying " + String.join(", ", process.appliers().stream().map(a -> a.way().label()).toList())
        + " until interrupted" + (duration == null ? "" : " or " + Units.duration(duration) + " passed"));
    err().flush();
    long until = duration == null ? Long.MAX_VALUE : System.nanoTime() + duration.toNanos();
    long nextPrint = System.nanoTime() + progress.toNanos();
    try {
      while (System.nanoTime() - until < 0 && stopped.getCount() > 0) {
        process.await(Duration.ofMillis(Math.min(500, Math.max(1, progress.toMillis()))));
        ReplicatorException refused = refusal(process.appliers());
        if (refused != null) {
          throw refused;
        }
        crashed(process.appliers());
        if (System.nanoTime() - nextPrint >= 0) {
          process.appliers().forEach(a -> err().println("cutover-replicator: " + line(a)));
          err().flush();
          nextPrint = System.nanoTime() + progress.toNanos();
        }
      }
    } finally {
      process.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // The hook runs already and closes the process itself.
      }
    }
    Map<String, Object> result = new LinkedHashMap<>();
    for (Applier a : process.appliers()) {
      result.put(a.way().name(), Map.of("batches", a.batches(), "changes", a.changes(), "notFound", a.missing()));
    }
    print(result, () -> process.appliers().forEach(a -> out().println(line(a))));
    return 0;
  }

  private static ReplicatorException refusal(List<Applier> appliers) {
    for (Applier a : appliers) {
      if (a.refusal() != null) {
        return a.refusal();
      }
    }
    return null;
  }

  /**
   * Ends the command where an applier's thread ended on its own (an Error such as an
   * OutOfMemoryError): with no thread applying, going on would print "0 batch(es)" for ever and
   * exit 0, a healthy process to any supervisor. Exit code 1, the cause and its trace.
   */
  private static void crashed(List<Applier> appliers) {
    for (Applier a : appliers) {
      Throwable t = a.crash();
      if (t != null) {
        throw new IllegalStateException(a.way().label() + ": the apply thread ended: " + t.getClass().getSimpleName() + ": "
            + t.getMessage() + "; nothing of the batch in flight was committed, so run `cutover-replicator apply` again: it goes on from"
            + " the target's position" + (t instanceof OutOfMemoryError ? " (with more heap, e.g. JAVA_TOOL_OPTIONS=-Xmx4g)" : ""), t);
      }
    }
  }

  private static String line(Applier a) {
    Instant at = a.appliedSourceTime();
    long inFlight = a.inFlight();
    return a.way().label() + ": " + Units.count(a.batches()) + " batch(es), " + Units.count(a.changes()) + " change(s) applied"
        + (inFlight == 0 ? "" : ", " + Units.count(inFlight) + " more written in the open batch (one transaction, counted once it commits)")
        + (a.missing() == 0 ? "" : ", " + a.missing() + " found no row")
        + (at == null ? "" : ", up to the source's " + at)
        + (a.lastError() == null ? "" : "; retrying after: " + a.lastError());
  }
}
