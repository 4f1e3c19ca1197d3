package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code check --app-role} on a 9.6 source, where the switch reads each sequence's value from its
 * relation, which takes SELECT: reviewer r14 found the usual {@code GRANT USAGE ON ALL SEQUENCES}
 * reported nothing while the switch then moved no sequence at all.
 */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 17)
class AppRoleSequences96Test {
  @Test
  void check_appRoleWithUsageOnlyOn96_isAnErrorNamingTheGrant(PostgresPair pair) throws Exception {
    String db = "approle96";
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = server.connect(); Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE app96seq LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      }
      server.createDatabase(db);
      try (Connection c = server.connect(db); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE orders (id serial PRIMARY KEY, who text); CREATE SEQUENCE ticket_seq;"
            + " GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app96seq;"
            + " GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA public TO app96seq");
      }
    }
    Replicator r = Replicator.builder()
        .old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db))
        .build();
    List<Finding> onOld = r.check(List.of("app96seq")).findings().stream()
        .filter(f -> f.code().equals("app-role-sequences") && f.side().equals("old")).toList();
    assertThat(onOld).filteredOn(f -> f.severity() == Severity.ERROR).singleElement().satisfies(f -> {
      assertThat(f.message()).contains("no SELECT on 2 sequence(s) on old");
      assertThat(f.remedy()).isEqualTo("GRANT SELECT ON SEQUENCE public.orders_id_seq, public.ticket_seq TO \"app96seq\"");
    });
  }
}
