package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A switch by the application's own role (no superuser) into a PostgreSQL 13 target, whose
 * {@code pg_subscription} shows a subscription's oid to superusers only: a table the subscription
 * does not replicate yet (published on old, which publishes every table, but not refreshed on new)
 * still refuses it. Before, the check was skipped where the oid was hidden, and the switch
 * completed, the table's writes staying on old.
 */
@PostgresVersions(oldMajor = 12, newMajor = 13)
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SubscriptionCopy12To13Test {
  private static final Duration CATCH_UP = Duration.ofSeconds(30);
  private static final String APP = "copy13_app";

  @Test
  void switch_tableNotYetReplicatedBySubscription_refusedUntilRefreshedAndCopied(PostgresPair pair) throws Exception {
    String db = "copy13";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection admin = s.connect()) {
        AppDatabase.execute(admin, "CREATE ROLE " + APP + " LOGIN NOSUPERUSER");
      }
      s.createDatabase(db);
      try (Connection c = s.connect(db)) {
        AppDatabase.execute(c, "CREATE TABLE item (id int PRIMARY KEY, n int NOT NULL); GRANT ALL ON item TO " + APP);
      }
    }
    try (Connection o = pair.oldServer().connect(db)) {
      AppDatabase.execute(o, "INSERT INTO item SELECT g, g FROM generate_series(1, 100) g");
    }
    Replicator r = Replicator.builder().old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db)).appRoles(List.of(APP)).build();
    r.start(StartOptions.defaults(), new CopyProgress(), CopyListener.NONE);
    String sub = Names.of(db).forward();
    ManualFlag flag = ManualFlag.named(db + "-flag");
    flag.set(Target.OLD);
    Properties as = new Properties();
    as.setProperty("user", APP);
    try (SwitchEventQueue events = new SwitchEventQueue(db); Connection app = DriverManager.getConnection(CutoverUrl.manualFlag(pair,
        db), as); Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_catalog.pg_subscription WHERE"
          + " has_column_privilege('" + APP + "', 'pg_catalog.pg_subscription', 'oid', 'SELECT')")).as("the oid hidden from the app").isZero();
      // A table made on both sides by hand, its schema change not captured: old's publication has it, new's subscription not.
      AppDatabase.execute(n, "SET cutover.ddl_capture = off; CREATE TABLE late (id int PRIMARY KEY); GRANT ALL ON late TO " + APP);
      AppDatabase.execute(o, "SET cutover.ddl_capture = off; CREATE TABLE late (id int PRIMARY KEY); GRANT ALL ON late TO " + APP);
      AppDatabase.execute(app, "INSERT INTO late VALUES (1)");

      flag.set(Target.NEW);
      SwitchEvent refused = events.next(CATCH_UP);
      assertThat(refused.outcome()).as(refused.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(refused.summary()).contains("public.late (not replicated by subscription " + sub + " yet: ALTER SUBSCRIPTION "
          + sub + " REFRESH PUBLICATION WITH (copy_data = true) on the new database)");
      flag.set(Target.OLD);

      AppDatabase.execute(n, "ALTER SUBSCRIPTION " + sub + " REFRESH PUBLICATION WITH (copy_data = true)");
      await().atMost(CATCH_UP).until(() -> AppDatabase.count(n, "SELECT count(*) FROM pg_subscription_rel"
          + " WHERE srrelid = 'late'::regclass AND srsubstate = 'r'") == 1);
      flag.set(Target.NEW);
      // A retry of the first switch, begun before the flag turned back, may have ended meanwhile.
      SwitchEvent completed = events.next(e -> e.outcome() == Outcome.COMPLETED, CATCH_UP);
      assertThat(completed).as("a completed switch").isNotNull();
      AppDatabase.execute(app, "INSERT INTO late VALUES (2)");
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM late")).as("written on old before the switch, and on new after")
          .isEqualTo(2);
    } finally {
      CutoverDriver.shutdown(db);
    }
  }
}
