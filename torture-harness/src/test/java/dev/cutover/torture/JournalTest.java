package dev.cutover.torture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalTest {

  @Test
  void readNew_afterEachAppend_returnsOnlyWhatIsNew(@TempDir Path tmp) {
    JournalReader reader = new JournalReader("p0.1", tmp);
    assertThat(reader.readNew().acks()).isEmpty();
    try (Journal journal = new Journal(tmp)) {
      journal.ack(1, "NOTE", 10, 100, 1000, "old");
      journal.failure(2, 3, "BATCH", "40001", Journal.Phase.AT_COMMIT, "abc:COMPLETED", "rolled\tback\nretry");
      JournalReader.Batch first = reader.readNew();
      assertThat(first.acks()).containsExactly(new JournalReader.Ack("p0.1", 1, "NOTE", 10, 100, 1000, "old"));
      assertThat(first.failures()).singleElement().satisfies(f -> {
        assertThat(f.ops()).isEqualTo(3);
        assertThat(f.phase()).isEqualTo(Journal.Phase.AT_COMMIT);
        assertThat(f.message()).isEqualTo("rolled back retry");
      });
      journal.violation("I4", "op 7 not read back");
      JournalReader.Batch second = reader.readNew();
      assertThat(second.acks()).isEmpty();
      assertThat(second.violations()).containsExactly(new JournalReader.Violation("p0.1", "I4", "op 7 not read back"));
    }
  }

  @Test
  void readNew_tornLastLineOfAKilledInstance_isNotReadUntilComplete(@TempDir Path tmp) throws IOException {
    try (Journal journal = new Journal(tmp)) {
      journal.ack(1, "NOTE", 10, 100, 1000, "old");
    }
    Path file = tmp.resolve(Journal.FILE);
    Files.writeString(file, "A\t2\tNOTE\t11\t10", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    JournalReader reader = new JournalReader("p0.1", tmp);
    assertThat(reader.readNew().acks()).extracting(JournalReader.Ack::op).containsExactly(1L);
    Files.writeString(file, "1\t1001\told\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    assertThat(reader.readNew().acks()).extracting(JournalReader.Ack::op, JournalReader.Ack::tick).containsExactly(
        org.assertj.core.groups.Tuple.tuple(2L, 101L));
  }
}
