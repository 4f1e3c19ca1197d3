package dev.cutover.replicator.cli;

import static dev.cutover.replicator.cli.CliTest.run;
import static dev.cutover.replicator.cli.CliTest.sql;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.cli.CliTest.Run;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A --new-url that reaches old's database under another name (a copied setting, a host name not
 * moved yet) is refused by the commands that would act on the pair or vouch for it, before they
 * change anything: start and reverse would capture old and apply it into itself, catch-up and verify
 * would call it caught up and equal to itself, sequences would move its sequences by the margin, and
 * schema would call new not empty, naming old's own table.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SameDatabaseTest {
  @Test
  void commands_newUrlReachesOldsDatabase_refusedBeforeAnythingChanges(PostgresPair pair) throws Exception {
    String db = "same_db";
    pair.oldServer().createDatabase(db);
    sql(pair.oldServer(), db, "CREATE TABLE account (id bigint PRIMARY KEY, balance int NOT NULL)");
    String[] urls = {"--old-url", pair.oldServer().jdbcUrl(db), "--new-url", "jdbc:postgresql://127.0.0.1:" + pair.oldServer().port() + "/" + db,
        "--old-user", pair.oldServer().user(), "--new-user", pair.oldServer().user()};
    for (List<String> command : List.of(List.of("check"), List.of("schema"), List.of("start", "--capture", "triggers"), List.of("start", "--capture", "logical"),
        List.of("catch-up"), List.of("verify"), List.of("apply"), List.of("reverse"), List.of("reverse", "--prepare"),
        List.of("sequences"), List.of("sequences", "--from", "new"), List.of("sync-large-objects"), List.of("refresh"))) {
      Run r = run(CliTest.with(command.toArray(String[]::new), urls));
      assertThat(r.code()).as(command + ": " + r.err()).isEqualTo(5);
      assertThat(r.err().strip()).as(command.toString()).doesNotContain("\n")
          .contains("old and new are one and the same database").contains("point --new-url at the new database");
    }
    try (Connection c = pair.oldServer().connect(db); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'")) {
      rs.next();
      assertThat(rs.getLong(1)).as("nothing made").isZero();
    }
  }
}
