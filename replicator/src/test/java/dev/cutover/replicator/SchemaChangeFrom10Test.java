package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Schema changes on a PostgreSQL 10 source, the oldest whose changes are captured (trigger capture):
 * 10 has no missing values ({@code pg_attribute.atthasmissing}, 11+), which the capture read for
 * every ALTER TABLE, so each one failed on old with "column a.attmissingval does not exist".
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 10, newMajor = 17)
class SchemaChangeFrom10Test {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void alterTable_on10_runsThereAndArrivesOnNew(PostgresPair pair) throws Exception {
    String db = "ddl_from10";
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = s.connect()) {
        AppDatabase.execute(c, "CREATE DATABASE " + db);
      }
      try (Connection c = s.connect(db)) {
        AppDatabase.execute(c, "CREATE TABLE account (id int PRIMARY KEY, owner text NOT NULL)");
      }
    }
    try (Connection o = pair.oldServer().connect(db)) {
      AppDatabase.execute(o, "INSERT INTO account SELECT g, 'seed' || g FROM generate_series(1, 50) g");
    }
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withCapture(Capture.TRIGGERS), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      try (Connection o = pair.oldServer().connect(db)) {
        // (On 10 a column added with any default rewrites the table, which the capture refuses on a
        // table with rows, with the way that replicates: the column, UPDATE, SET DEFAULT.)
        AppDatabase.execute(o, "ALTER TABLE account ADD COLUMN region text, ADD COLUMN note text");
        AppDatabase.execute(o, "UPDATE account SET region = 'eu'");
        AppDatabase.execute(o, "ALTER TABLE account ALTER COLUMN region SET DEFAULT 'eu', ALTER COLUMN region SET NOT NULL");
        AppDatabase.execute(o, "INSERT INTO account (id, owner, note) VALUES (51, 'after', 'noted')");
      }
      r.awaitCaughtUp(WAIT);
    }
    String rows = "SELECT id || ' ' || owner || ' ' || region || ' ' || coalesce(note, 'null') FROM account ORDER BY id";
    try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
      assertThat(AppDatabase.strings(n, rows)).hasSize(51).isEqualTo(AppDatabase.strings(o, rows)).contains("51 after eu noted", "1 seed1 eu null");
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
    r.cleanup();
  }
}
