package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A start killed (SIGKILL, in a JVM of its own) in the middle of a multi-table copy while the
 * application writes, then {@code start --resume}: the tables it had finished are kept, the others
 * copied again from a new point, and no row is lost or doubled; with a subscription, and with the
 * apply process relaying the slot ({@code --capture relay}), which must skip exactly the changes
 * the second copy holds (the writer's updates are not idempotent: one applied twice shows in a sum).
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class ResumeTest {
  private static final int TABLES = 5;

  @ParameterizedTest
  @EnumSource(value = Capture.class, names = {"LOGICAL", "RELAY"})
  void startResume_afterStartWasKilledMidCopy_keepsFinishedTablesAndLosesOrDoublesNoRow(Capture engine, PostgresPair pair)
      throws Exception {
    String db = "resume_" + engine.name().toLowerCase(java.util.Locale.ROOT);
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(db);
      try (Connection c = s.connect(db)) {
        for (int t = 1; t <= TABLES; t++) {
          AppDatabase.execute(c, "CREATE TABLE t" + t + " (id bigserial PRIMARY KEY, grp int NOT NULL, body text NOT NULL);"
              + " CREATE INDEX t" + t + "_grp ON t" + t + " (grp)");
        }
        AppDatabase.execute(c, "ALTER TABLE t2 ADD CONSTRAINT t2_t1 FOREIGN KEY (grp) REFERENCES t1 (id)");
      }
    }
    try (Connection o = pair.oldServer().connect(db)) {
      for (int t = 1; t <= TABLES; t++) {
        // Sizes differ so that the copy's order (largest first) is t1, t2, ...
        AppDatabase.execute(o, "INSERT INTO t" + t + " (grp, body) SELECT 1 + g % 50, repeat('x', 100) FROM generate_series(1, "
            + (60_000 - t * 10_000) + ") g");
      }
      AppDatabase.execute(o, "ANALYZE");
    }

    // Default privileges (a managed service's usual setup) would give this role what start creates on new.
    try (Connection n = pair.newServer().connect(db)) {
      AppDatabase.execute(n, "DO $$ BEGIN CREATE ROLE resume_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      AppDatabase.execute(n, "ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO resume_reader");
    }
    Replicator r = Replicator.builder().old(AppDatabase.endpoint(pair.oldServer(), Side.OLD, db))
        .nw(AppDatabase.endpoint(pair.newServer(), Side.NEW, db)).build();
    try (Writer writer = new Writer(pair.oldServer(), db)) {
      writer.awaitMore(20);
      // Two jobs: t1 and t2 go first; the third chunk to start (t3) stops, and the process is killed there.
      Process crashing = CrashingStart.stopped(pair.oldServer().jdbcUrl(db), pair.newServer().jdbcUrl(db), pair.oldServer().user(),
          2, engine);
      // The stop comes when the first of t1 and t2 is in; the other job goes on copying its table until it is in too.
      try (Connection n = pair.newServer().connect(db)) {
        await().atMost(Duration.ofSeconds(60)).until(() -> AppDatabase.count(n, "SELECT count(*) FROM (SELECT table_name"
            + " FROM cutover.start_chunks WHERE table_name IN ('t1', 't2') GROUP BY 1 HAVING count(*) = max(chunks)) done") == 2);
      }
      writer.awaitMore(20);
      crashing.destroyForcibly();
      assertThat(crashing.waitFor(30, TimeUnit.SECONDS)).isTrue();
      writer.awaitMore(20);

      assertThatThrownBy(() -> r.start(ReplicationFlowTest.options().withCapture(engine), new CopyProgress(), CopyListener.NONE))
          .isInstanceOfSatisfying(ReplicatorException.class, e -> assertThat(e.remedy()).contains("start --resume"));
      StartReport report = r.start(StartOptions.defaults().withJobs(2).withResume(true), new CopyProgress(), CopyListener.NONE);
      StartReport.Resumed resumed = report.resumed();
      System.out.println("resumed: kept " + resumed.kept() + " (" + resumed.keptRows() + " rows, " + resumed.savedMillis()
          + " ms of copying saved), copied again " + resumed.copiedAgain());
      assertThat(resumed.kept()).contains("public.t1").doesNotContain("public.t5");
      assertThat(resumed.copiedAgain()).contains("public.t5");
      assertThat(resumed.keptRows()).isGreaterThanOrEqualTo(50_000);
      assertThat(resumed.savedMillis()).isPositive();
      assertThat(report.engine()).isEqualTo(engine);
      try (Connection n = pair.newServer().connect(db)) {
        assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_class WHERE relnamespace = 'cutover'::regnamespace"
            + " AND relkind = 'r' AND has_table_privilege('resume_reader', oid, 'SELECT, INSERT, UPDATE, DELETE')"))
            .as("the control schema's tables, relay_copied_again included, are the installer's alone").isZero();
        if (engine == Capture.RELAY) {
          assertThat(AppDatabase.count(n, "SELECT count(*) FROM cutover.relay_copied_again")).isPositive();
        }
      }
      writer.awaitMore(20);
    }
    if (engine == Capture.RELAY) {
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        assertConverged(pair, db, r);
        assertThat(apply.appliers().get(0).missing()).as("changes that found no row").isZero();
      }
    } else {
      assertConverged(pair, db, r);
    }
    r.cleanup();
  }

  private static void assertConverged(PostgresPair pair, String db, Replicator r) throws Exception {
    r.awaitCaughtUp(ReplicationFlowTest.CATCH_UP);
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      for (int t = 1; t <= TABLES; t++) {
        String sql = "SELECT count(*) || '/' || count(DISTINCT id) || '/' || sum(grp) FROM t" + t;
        assertThat(AppDatabase.strings(n, sql)).as("t" + t).isEqualTo(AppDatabase.strings(o, sql));
      }
      assertThat(StartAndVerifyTest.indexDefinitions(n)).isEqualTo(StartAndVerifyTest.indexDefinitions(o));
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
  }

  /** The application: inserts into and updates every table, one transaction each, until closed. */
  private static final class Writer implements AutoCloseable {
    private final AtomicLong commits = new AtomicLong();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile SQLException failure;

    Writer(PostgresServer old, String db) {
      thread = new Thread(() -> {
        try (Connection c = old.connect(db); Statement s = c.createStatement()) {
          for (int i = 1; running; i++) {
            int t = 1 + i % TABLES;
            s.execute("INSERT INTO t" + t + " (grp, body) VALUES (" + (1 + i % 50) + ", 'w" + i + "');"
                + " UPDATE t" + t + " SET grp = 1 + (grp + 1) % 50 WHERE id = " + (1 + (i * 7) % 10_000));
            commits.incrementAndGet();
          }
        } catch (SQLException e) {
          failure = e;
        }
      }, "resume-writer");
      thread.setDaemon(true);
      thread.start();
    }

    void awaitMore(long n) {
      long seen = commits.get();
      await().atMost(Duration.ofSeconds(30)).until(() -> commits.get() >= seen + n || failure != null);
      assertThat((Object) failure).as("the writer failed").isNull();
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.join(30_000);
    }
  }
}
