package dev.cutover.torture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A record of a run plays again: the rounds and faults it names, in its order. A class of its own
 * so that it runs beside {@link TortureSmokeTest}'s run in the module's other test JVM.
 */
// Not leak-checked: the run starts its servers and instance processes itself and stops them before it returns.
class TortureReplayTest {
  private static final PrintStream OUT = System.out;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void replay_recordOfARun_playsItsRoundsAndFaultsAgain(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path out) throws Exception {
    Schedule.Generator generator = new Schedule.Generator(TortureSmokeTest.SEED, List.of("i0", "i1", "p0", "p1"), List.of("p0", "p1"));
    List<Schedule.Round> plans = List.of(generator.round(1), generator.round(2), generator.round(3));
    RunRecord written = new RunRecord(RunRecord.TOOL, TortureSmokeTest.options(0), "", "", plans.stream().map(p -> new RunRecord.RoundLog(
        p.number(), 0, 0, 0, "", "", p, List.of(), List.of(), List.of(), List.of())).toList(), List.of(), java.util.Map.of(),
        java.util.Map.of());
    Path file = out.resolve("given.json");
    written.write(file);

    RunRecord given = RunRecord.read(file);
    TortureRun.Result result = new TortureRun(given.options(), given.plans(), out.resolve("replay"), OUT).run();

    assertThat(result.summary().stopReason).isEqualTo("replayed every round of the record");
    RunRecord replayed = RunRecord.read(result.record());
    assertThat(replayed.plans()).isEqualTo(plans);
    for (RunRecord.RoundLog round : replayed.rounds()) {
      for (Schedule.Fault fault : round.plan().faults()) {
        assertThat(round.applied()).as("round %d played %s", round.number(), fault)
            .anySatisfy(a -> assertThat(a.what()).isEqualTo(fault.toString()));
      }
    }
    assertThat(result.summary().violations).isEmpty();
  }
}
