package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.ProviderAdmin.Run;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.replicator.schema.SchemaCopy;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The replicator run by an RDS-like admin (not a superuser) from PostgreSQL 16 to 17, where
 * {@code pg_create_subscription} lets it subscribe on both sides: every command works, {@code
 * schema} and the way back included, and {@code reverse --prepare} refuses up front while the admin lacks what the
 * reverse after it needs.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 16, newMajor = 17)
class LeastPrivilege16To17Test {
  private static final Duration CATCH_UP = Duration.ofSeconds(30);

  @BeforeAll
  static void providerRoles(PostgresPair pair) throws Exception {
    ProviderAdmin.install(pair);
  }

  /**
   * {@code schema} needs a pg_dump of 16 or later: Debian 12's is 15, so on such a machine the test
   * takes the one {@code .ci/pg-dump-17} unpacks (Debian 13's) and says so when it is missing.
   */
  @Test
  void rdsAdmin_everyCommand_runsTheWayBackIncluded(PostgresPair pair) throws Exception {
    String db = ProviderAdmin.database(pair, "lp16_flow");
    ProviderAdmin.shop(pair.oldServer(), db, true);

    Run schema = ProviderAdmin.cli(pair, db, Stream.concat(Stream.of("schema"), pgDump16().stream()).toArray(String[]::new));
    assertThat(schema.code()).as(schema.err()).isZero();
    assertThat(schema.out()).contains("3 table(s) on new");
    try (Connection n = ProviderAdmin.admin(pair.newServer(), db)) {
      assertThat(AppDatabase.strings(n, "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace"
          + " IN ('shop'::regnamespace, 'public'::regnamespace)")).containsExactly(ProviderAdmin.ADMIN);
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'shop'::regnamespace"
          + " AND has_table_privilege('shop_app', c.oid, 'INSERT') AND c.relkind = 'r'")).as("grants carried").isEqualTo(2);
    }

    Run check = ProviderAdmin.cli(pair, db, "check", "--app-role", ProviderAdmin.APP);
    assertThat(check.code()).as(check.out()).isZero();
    assertThat(check.out()).contains("connected as rds_admin (not superuser): replication slots yes, session_replication_role yes,"
        + " subscriptions yes");
    Run start = ProviderAdmin.cli(pair, db, "start", "--jobs", "2", "--no-progress");
    assertThat(start.code()).as(start.err()).isZero();
    try (Connection app = ProviderAdmin.app(pair.oldServer(), db)) {
      AppDatabase.execute(app, "INSERT INTO shop.customer (email) VALUES ('after-start@example.com');"
          + " UPDATE shop.orders SET total = total + 1 WHERE id <= 10; DELETE FROM public.note WHERE id = 5");
    }
    assertThat(ProviderAdmin.cli(pair, db, "catch-up", "--timeout", "30s").code()).isZero();
    Run status = ProviderAdmin.cli(pair, db, "status");
    assertThat(status.code()).as(status.err()).isZero();
    assertThat(status.out()).contains("tables: 6 of 6 ready").contains("schema changes on old are not captured");
    Run verify = ProviderAdmin.cli(pair, db, "verify");
    assertThat(verify.code()).as(verify.out() + verify.err()).isZero();
    Run sequences = ProviderAdmin.cli(pair, db, "sequences");
    assertThat(sequences.code()).as(sequences.err()).isZero();

    try (Connection o = pair.oldServer().connect()) {
      AppDatabase.execute(o, "REVOKE pg_create_subscription FROM " + ProviderAdmin.ADMIN);
    }
    Run refused = ProviderAdmin.cli(pair, db, "reverse", "--prepare");
    assertThat(refused.code()).isEqualTo(Failure.PRIVILEGE.exitCode());
    assertThat(refused.err()).contains("old: role rds_admin may not create subscriptions")
        .contains("GRANT pg_create_subscription TO \"rds_admin\", as a superuser").contains("reverse --prepare changed nothing");
    try (Connection o = pair.oldServer().connect()) {
      AppDatabase.execute(o, "GRANT pg_create_subscription TO " + ProviderAdmin.ADMIN);
    }
    assertThat(ProviderAdmin.cli(pair, db, "reverse", "--prepare").code()).isZero();
    Run reverse = ProviderAdmin.cli(pair, db, "reverse");
    assertThat(reverse.code()).as(reverse.err()).isZero();
    assertThat(reverse.out()).contains("replication new -> old armed, two-way");

    try (Connection n = ProviderAdmin.app(pair.newServer(), db); Connection o = ProviderAdmin.app(pair.oldServer(), db)) {
      AppDatabase.execute(n, "INSERT INTO shop.customer (id, email) VALUES (100001, 'made-on-new@example.com')");
      await().atMost(CATCH_UP).until(() -> AppDatabase.count(o, "SELECT count(*) FROM shop.customer WHERE id = 100001") == 1);
      AppDatabase.execute(o, "INSERT INTO shop.customer (id, email) VALUES (100002, 'made-on-old@example.com')");
      await().atMost(CATCH_UP).until(() -> AppDatabase.count(n, "SELECT count(*) FROM shop.customer WHERE id = 100002") == 1);
    }
    Run both = ProviderAdmin.cli(pair, db, "status");
    assertThat(both.code()).as(both.err()).isZero();
    assertThat(both.out()).contains("forward (old -> new): STREAMING").contains("reverse (new -> old): STREAMING")
        .doesNotContain("since statistics were reset");

    Run cleanup = ProviderAdmin.cli(pair, db, "cleanup");
    assertThat(cleanup.code()).as(cleanup.err()).isZero();
    ProviderAdmin.assertNothingOfOurs(pair.oldServer(), db);
    ProviderAdmin.assertNothingOfOurs(pair.newServer(), db);
  }

  /** {@code --pg-dump} and the pg_dump to use, or nothing when the one schema finds by itself dumps 16. */
  private static List<String> pgDump16() {
    if (SchemaCopy.availablePgDump().orElse(0) >= 16) {
      return List.of();
    }
    String home = System.getenv().getOrDefault("HOME", System.getProperty("user.home")); // where the script puts it
    Path unpacked = Path.of(home, ".cache", "cutover", "pg-dump-17", "pg_dump");
    assertThat(unpacked).as("no pg_dump of 16 or later on this machine: run .ci/pg-dump-17, which unpacks Debian 13's"
        + " into ~/.cache/cutover/pg-dump-17 (.ci/run does), or install postgresql-client-16 or later").isExecutable();
    return List.of("--pg-dump", unpacked.toString());
  }
}
