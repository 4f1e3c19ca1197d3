package dev.cutover.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.testkit.LogicalReplication.InitialData;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;

/** One old-to-new replication of a keyed table, shared by the tests of each version pair. */
final class ReplicationScenario {

  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  private ReplicationScenario() {}

  /** Replicates rows written before and after subscribing, then drops everything it made on both sides. */
  static void replicateKeyedTable(PostgresPair pair) throws Exception {
    String name = "t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    String database = pair.oldServer().createDatabase(name);
    pair.newServer().createDatabase(name);
    try (Connection old = pair.oldServer().connect(database); Connection nw = pair.newServer().connect(database)) {
      String table = "CREATE TABLE booking (id bigint PRIMARY KEY, guest text NOT NULL)";
      execute(old, table);
      execute(nw, table);
      execute(old, "INSERT INTO booking VALUES (1, 'before subscribe')");
      LogicalReplication.publishAll(old, name);
      LogicalReplication.subscribe(nw, name, pair.oldServer().libpqConnection(database), name, InitialData.COPY);
      LogicalReplication.awaitSynced(old, nw, name, TIMEOUT);
      execute(old, "INSERT INTO booking VALUES (2, 'after subscribe')");
      execute(old, "UPDATE booking SET guest = 'updated' WHERE id = 1");

      LogicalReplication.awaitSynced(old, nw, name, TIMEOUT);

      assertThat(queryRows(nw, "SELECT id || ':' || guest FROM booking ORDER BY id")).isEqualTo("1:updated,2:after subscribe");
      LogicalReplication.drop(old, nw, name, TIMEOUT);
      assertThat(queryRows(old, "SELECT slot_name FROM pg_replication_slots")).doesNotContain(name);
      assertThat(queryRows(nw, "SELECT subname FROM pg_subscription")).doesNotContain(name);
    }
  }

  static void execute(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  /** The first column of every row, joined by commas. */
  static String queryRows(Connection connection, String sql) throws SQLException {
    StringBuilder rows = new StringBuilder();
    try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
      while (rs.next()) {
        rows.append(rows.length() == 0 ? "" : ",").append(rs.getString(1));
      }
    }
    return rows.toString();
  }
}
