package dev.cutover.testkit;

import static dev.cutover.testkit.ReplicationScenario.queryRows;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The sources older than 12 that only trigger capture can move: 9.6 (major 9) and 10 start with the shared settings. */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 10)
class OlderVersionsTest {

  @Test
  void start_9dot6And10_runWithTheirOwnSettings(PostgresPair pair) throws Exception {
    try (Connection old = pair.oldServer().connect(); Connection nw = pair.newServer().connect()) {
      assertThat(queryRows(old, "SHOW server_version")).startsWith("9.6.");
      assertThat(queryRows(nw, "SHOW server_version")).startsWith("10.");
      assertThat(Sql.majorVersion(old)).isEqualTo(9);
      assertThat(queryRows(old, "SELECT count(*) FROM pg_settings WHERE name = 'max_logical_replication_workers'")).isEqualTo("0");
      assertThat(queryRows(nw, "SHOW max_logical_replication_workers")).isEqualTo(ServerSettings.ALL.get("max_logical_replication_workers"));
      assertThat(queryRows(old, "SHOW wal_level")).isEqualTo("logical");
      assertThat(queryRows(old, "SHOW fsync")).isEqualTo("off");
    }
  }
}
