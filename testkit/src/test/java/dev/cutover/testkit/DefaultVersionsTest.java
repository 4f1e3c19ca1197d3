package dev.cutover.testkit;

import static dev.cutover.testkit.ReplicationScenario.execute;
import static dev.cutover.testkit.ReplicationScenario.queryRows;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class DefaultVersionsTest {

  private static PostgresPair shared;

  @BeforeAll
  static void rememberPair(PostgresPair pair) {
    shared = pair;
  }

  @Test
  void start_noVersionsAnnotation_versionsFromSystemProperties(PostgresPair pair) throws Exception {
    assertThat(pair.oldServer().majorVersion()).isEqualTo(Integer.getInteger("cutover.test.old", 12));
    assertThat(pair.newServer().majorVersion()).isEqualTo(Integer.getInteger("cutover.test.new", 17));
    try (Connection old = pair.oldServer().connect(); Connection nw = pair.newServer().connect()) {
      assertThat(Sql.majorVersion(old)).isEqualTo(pair.oldServer().majorVersion());
      assertThat(Sql.majorVersion(nw)).isEqualTo(pair.newServer().majorVersion());
      assertThat(queryRows(old, "SHOW wal_level")).isEqualTo("logical");
    }
  }

  @Test
  void resolveParameter_beforeAllAndTest_sameStartedPair(PostgresPair pair) {
    assertThat(pair).isSameAs(shared);
    assertThat(pair.oldServer().port()).isNotEqualTo(pair.newServer().port());
  }

  @Test
  void replicate_keyedTable_rowsArriveOnNew(PostgresPair pair) throws Exception {
    ReplicationScenario.replicateKeyedTable(pair);
  }

  @Test
  void createExtension_pgStatStatements_countsStatements(PostgresPair pair) throws Exception {
    try (Connection old = pair.oldServer().connect(pair.oldServer().createDatabase("stats"))) {
      execute(old, "CREATE EXTENSION pg_stat_statements");
      execute(old, "SELECT 1 AS counted_marker");

      assertThat(queryRows(old, "SELECT sum(calls) FROM pg_stat_statements WHERE query LIKE '%counted_marker%' AND query NOT LIKE '%pg_stat_statements%'")).isEqualTo("1");
    }
  }

  @Test
  void createDatabase_nameNeedingQuotes_keepsNameExactly(PostgresPair pair) throws Exception {
    String name = pair.newServer().createDatabase("Mixed \"Case\" db");

    try (Connection connection = pair.newServer().connect(name)) {
      assertThat(queryRows(connection, "SELECT current_database()")).isEqualTo("Mixed \"Case\" db");
    }
  }

  @Test
  void start_versionWithoutBinaries_namesTheVersion() {
    assertThatThrownBy(() -> PostgresPair.start(8, 17))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("9 (9.6) to 18, not 8");
  }
}
