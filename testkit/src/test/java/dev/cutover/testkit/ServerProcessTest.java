package dev.cutover.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class ServerProcessTest {

  private static long count(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void killAndRestart_committedRowsSurvive_onTheSamePort(PostgresPair pair, @TempDir Path tmp) throws Exception {
    PostgresServer server = pair.oldServer();
    ServerProcess process = ServerProcess.of(server, tmp.resolve("server.log"));
    try (Connection c = server.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE crash_test (id int PRIMARY KEY)");
      s.execute("INSERT INTO crash_test SELECT generate_series(1, 100)");
    }
    long before = process.postmasterPid();
    Connection open = server.connect();

    assertThat(process.kill()).isTrue();
    assertThat(process.isRunning()).isFalse();
    assertThatThrownBy(() -> count(open, "SELECT 1")).isInstanceOf(SQLException.class);
    assertThatThrownBy(server::connect).as("nothing listens on the port").isInstanceOf(SQLException.class);

    process.restart(Duration.ofSeconds(60));
    assertThat(process.isRunning()).isTrue();
    assertThat(process.postmasterPid()).isNotEqualTo(before);
    try (Connection c = server.connect()) {
      assertThat(count(c, "SELECT count(*) FROM crash_test")).isEqualTo(100);
    }
    assertThat(Files.readString(tmp.resolve("server.log"))).as("the restarted server logs its crash recovery")
        .contains("database system was interrupted");
  }

  @Test
  void kill_serverNotRunning_returnsFalse(PostgresPair pair, @TempDir Path tmp) throws Exception {
    ServerProcess process = ServerProcess.of(pair.newServer(), tmp.resolve("server.log"));
    assertThat(process.kill()).isTrue();
    assertThat(process.kill()).isFalse();
    process.restart(Duration.ofSeconds(60));
    try (Connection c = pair.newServer().connect()) {
      assertThat(count(c, "SELECT 1")).isEqualTo(1);
    }
  }

  @Test
  void restart_runningServer_stopsAndStartsIt(PostgresPair pair, @TempDir Path tmp) throws Exception {
    ServerProcess process = ServerProcess.of(pair.newServer(), tmp.resolve("server.log"));
    long before = process.postmasterPid();
    process.restart(Duration.ofSeconds(60));
    assertThat(process.postmasterPid()).isNotEqualTo(before);
    try (Connection c = pair.newServer().connect()) {
      assertThat(count(c, "SELECT 1")).isEqualTo(1);
    }
  }
}
