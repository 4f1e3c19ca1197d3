package dev.cutover.testkit;

import static dev.cutover.testkit.ReplicationScenario.execute;
import static dev.cutover.testkit.ReplicationScenario.queryRows;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.Test;

/** Embedded servers start from copies of one initdb per version and side, and behave as freshly initialized ones. */
class DataTemplatesTest {

  @Test
  void start_sameVersionBothSides_twoDatabasesTheRehearsalTellsApart() throws Exception {
    try (PostgresPair pair = PostgresPair.start(17, 17); Connection old = pair.oldServer().connect();
        Connection nw = pair.newServer().connect()) {
      assertThat(identifier(old)).isNotEqualTo(identifier(nw));
    }
  }

  @Test
  void start_afterAServerOfTheSameSideWasUsed_startsEmptyAndTheUsedDataIsGone() throws Exception {
    Path used;
    String usedIdentifier;
    try (PostgresPair pair = PostgresPair.start(12, 17); Connection old = pair.oldServer().connect()) {
      execute(old, "CREATE TABLE left_behind (id int)");
      used = Path.of(queryRows(old, "SHOW data_directory"));
      usedIdentifier = identifier(old);
    }
    assertThat(used).doesNotExist();

    try (PostgresPair pair = PostgresPair.start(12, 17); Connection old = pair.oldServer().connect()) {
      assertThat(queryRows(old, "SELECT count(*) FROM pg_class WHERE relname = 'left_behind'")).isEqualTo("0");
      assertThat(identifier(old)).as("copied from the same template").isEqualTo(usedIdentifier);
      Path data = Path.of(queryRows(old, "SHOW data_directory"));
      assertThat(data).isNotEqualTo(used);
      assertThat(data.resolve("PG_VERSION")).hasContent("12");
    }
  }

  private static String identifier(Connection c) throws Exception {
    return queryRows(c, "SELECT system_identifier FROM pg_control_system()");
  }
}
