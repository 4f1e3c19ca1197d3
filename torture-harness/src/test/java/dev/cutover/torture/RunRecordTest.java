package dev.cutover.torture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunRecordTest {

  @Test
  void read_writtenRecord_givesBackOptionsAndPlans(@TempDir Path tmp) throws IOException {
    RunOptions options = new RunOptions(12, 17, 5, 0, 99, 2, 2, 20, 2, 6, 1000, 3000, java.util.Set.of(Schedule.FaultKind.KILL_APP));
    Schedule.Generator g = new Schedule.Generator(99, List.of("i0", "p0"), List.of("p0"));
    List<RunRecord.RoundLog> rounds = IntStream.rangeClosed(1, 30).mapToObj(n -> new RunRecord.RoundLog(n, n * 1000L,
        n * 1000L + 900, 120, "old", "new", g.round(n), List.of(new Nemesis.Applied("flag -> new", 1, 1, "")),
        List.of(new Attempts.Attempt(n, "id" + n, "old", "new", Attempts.Outcome.COMPLETED, "", "", List.of("i0.1"), 1234)),
        List.of("a note"), List.of())).toList();
    RunRecord written = new RunRecord(RunRecord.TOOL, options, "machine", "servers", rounds, List.of("I1: lost"),
        Map.of("old server log", "/x/old.log"), Map.of("old", List.of("LOG: ready")));
    Path file = tmp.resolve("record.json");
    written.write(file);

    RunRecord read = RunRecord.read(file);
    assertThat(read.options()).isEqualTo(options);
    assertThat(read.plans()).isEqualTo(rounds.stream().map(RunRecord.RoundLog::plan).toList());
    assertThat(read).isEqualTo(written);
  }

  @Test
  void read_otherJson_isRefusedWithTheFileNamed(@TempDir Path tmp) throws IOException {
    Path file = Files.writeString(tmp.resolve("summary.json"), "{\"rounds\": 3}");
    assertThatThrownBy(() -> RunRecord.read(file)).isInstanceOf(IOException.class).hasMessageContaining("summary.json");
  }
}
