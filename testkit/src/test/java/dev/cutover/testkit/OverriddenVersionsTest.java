package dev.cutover.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@PostgresVersions(oldMajor = 16, newMajor = 18)
class OverriddenVersionsTest {

  @RegisterExtension
  static final PostgresPairExtension POSTGRES = new PostgresPairExtension();

  @RegisterExtension
  static final NoLeakedConnections LEAKS = new NoLeakedConnections();

  @Test
  void start_versionsAnnotation_oldIs16AndNewIs18(PostgresPair pair) {
    assertThat(pair.oldServer().majorVersion()).isEqualTo(16);
    assertThat(pair.newServer().majorVersion()).isEqualTo(18);
  }

  @Test
  void replicate_keyedTable_rowsArriveOnNew(PostgresPair pair) throws Exception {
    ReplicationScenario.replicateKeyedTable(pair);
  }
}
