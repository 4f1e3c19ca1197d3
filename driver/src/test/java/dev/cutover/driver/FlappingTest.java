package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.testkit.LogicalReplication;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresVersions;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Test;
import org.postgresql.core.Utils;

/**
 * The flag flaps old → new → old → new → old under load, with replication running both ways
 * (origin = none, PostgreSQL 16+ on both sides): the service ends on the last value, every switch
 * completes, and no transaction fails or goes missing.
 */
@LeakCheckedPair
@PostgresVersions(oldMajor = 16, newMajor = 17)
class FlappingTest {
  private static final Duration SYNC = Duration.ofSeconds(30);

  @Test
  void flagFlapsUnderLoad_convergesOnTheLastValueWithoutFailures(PostgresPair pair) throws Exception {
    String db = "flapping";
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    for (Connection c : new Connection[] {pair.oldServer().connect(db), pair.newServer().connect(db)}) {
      try (c; Statement s = c.createStatement()) {
        s.execute(Workload.SCHEMA);
        ControlSchema.install(c);
      }
    }
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      LogicalReplication.publishAll(o, "to_new");
      LogicalReplication.publishAll(n, "to_old");
      subscribe(n, "from_old", pair.oldServer().libpqConnection(db), "to_new");
      subscribe(o, "from_new", pair.newServer().libpqConnection(db), "to_old");
      LogicalReplication.awaitSynced(o, n, "from_old", SYNC);
      LogicalReplication.awaitSynced(n, o, "from_new", SYNC);
    }
    ManualFlag flag = ManualFlag.named("flapping-flag");
    flag.set(Target.OLD);
    LinkedBlockingQueue<SwitchEvent> events = new LinkedBlockingQueue<>();
    dev.cutover.driver.SwitchListener listener = e -> {
      if (e.service().equals(db)) {
        events.add(e);
      }
    };
    CutoverDriver.addSwitchListener(listener);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl("jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/" + db
        + "?cutover.new.url=" + URLEncoder.encode(pair.newServer().jdbcUrl(db), StandardCharsets.UTF_8)
        + "&cutover.flag.provider=manual&cutover.flag.key=flapping-flag&cutover.service=" + db);
    config.setUsername(pair.oldServer().user());
    config.setMaximumPoolSize(4);
    try (HikariDataSource pool = new HikariDataSource(config); Workload load = new Workload(pool, 2, 0)) {
      await().atMost(SYNC).until(() -> load.commits.get() >= 30);

      flag.set(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1))
          .until(() -> RouterBean.anyHolding(db) || !events.isEmpty());
      flag.set(Target.OLD);
      flag.set(Target.NEW);
      flag.set(Target.OLD);

      await().atMost(Duration.ofSeconds(60)).during(Duration.ofSeconds(1)).until(() ->
          !RouterBean.anyHolding(db) && "old".equals(RouterBean.attribute(db, "Serving")));
      long settled = load.commits.get();
      await().atMost(SYNC).until(() -> load.commits.get() >= settled + 30);
      load.close();

      List<SwitchEvent> ended = new ArrayList<>(events);
      assertThat(ended).isNotEmpty()
          .allSatisfy(e -> assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.COMPLETED));
      assertThat(ended.get(ended.size() - 1).to()).isEqualTo(Target.OLD);
      assertThat(load.failures).isEmpty();
      assertThat(load.unreadWrites).isEmpty();
      try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
        LogicalReplication.awaitSynced(n, o, "from_new", SYNC);
        assertThat(load.missingFrom(o)).isEmpty();
      }
    } finally {
      CutoverDriver.removeSwitchListener(listener);
      CutoverDriver.shutdown(db);
    }
  }

  private static void subscribe(Connection subscriber, String name, String publisher, String publication)
      throws Exception {
    try (Statement s = subscriber.createStatement()) {
      s.execute("CREATE SUBSCRIPTION " + Utils.escapeIdentifier(null, name) + " CONNECTION "
          + Utils.escapeLiteral(new StringBuilder("'"), publisher, true).append('\'') + " PUBLICATION "
          + Utils.escapeIdentifier(null, publication) + " WITH (copy_data = false, origin = none)");
    }
  }
}
