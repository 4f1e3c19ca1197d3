package dev.cutover.replicator.cli;

import static dev.cutover.replicator.cli.CliTest.run;
import static dev.cutover.replicator.cli.CliTest.sql;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.cli.CliTest.Run;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.Standby;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A URL that reaches a standby (a read replica's endpoint) is refused by every command at once,
 * naming the side and the remedy: check found nothing wrong with one, and start then failed on its
 * first write with the server's own error.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 12, newMajor = 17) // Debian 12's pg_basebackup (15) backs up 15 and older
class StandbyTest {
  @Test
  void commands_oldOrNewIsAStandby_refusedNamingIt(PostgresPair pair) throws Exception {
    String db = "replica_of_old";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      sql(s, db, "CREATE TABLE account (id bigint PRIMARY KEY, balance int NOT NULL)");
    }
    sql(pair.oldServer(), db, "INSERT INTO account SELECT g, g FROM generate_series(1, 100) g");
    try (Standby standby = Standby.of(pair.oldServer())) {
      String[] fromStandby = {"--old-url", standby.jdbcUrl(db), "--new-url", pair.newServer().jdbcUrl(db),
          "--old-user", pair.oldServer().user(), "--new-user", pair.newServer().user()};
      for (List<String> command : List.of(List.of("check"), List.of("start", "--capture", "triggers"))) {
        Run r = run(CliTest.with(command.toArray(String[]::new), fromStandby));
        assertThat(r.code()).as(command + ": " + r.err()).isEqualTo(3);
        assertThat(r.err().strip()).as(command.toString()).doesNotContain("\n")
            .contains("old: --old-url reaches a standby (a server in recovery, read-only), not the primary")
            .contains("point --old-url at the primary (with several hosts in the URL, add targetServerType=primary)");
      }
      Run intoStandby = run("check", "--old-url", pair.oldServer().jdbcUrl(db), "--new-url", standby.jdbcUrl(db),
          "--old-user", pair.oldServer().user(), "--new-user", pair.oldServer().user());
      assertThat(intoStandby.code()).as(intoStandby.err()).isEqualTo(3);
      assertThat(intoStandby.err()).contains("new: --new-url reaches a standby");
    }
  }
}
