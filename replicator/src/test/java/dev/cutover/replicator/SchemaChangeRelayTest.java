package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Schema changes with relayed replication (started by a superuser, so schema change capture is
 * installed on old): they travel as rows of {@code cutover.ddl_log} in old's WAL, in order with the
 * rows around them, and new's trigger replays them; tables created after start reach new with
 * their rows (CREATE TABLE AS's and a new partition's included); a table without a key that gets
 * one is found by it. With the way back armed, a table the replay creates on new is captured there.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class SchemaChangeRelayTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void apply_schemaChangesWhileWriting_arriveInOrderAndNewTablesFollow(PostgresPair pair) throws Exception {
    String db = "ddl_relay";
    SchemaChangeFlowTest.database(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withJobs(2).withCapture(Capture.RELAY), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults());
        SchemaChangeFlowTest.AppWriter writer = new SchemaChangeFlowTest.AppWriter(pair.oldServer(), db)) {
      writer.awaitMore(20);
      try (Connection o = SchemaChangeFlowTest.app(pair.oldServer(), db)) {
        SchemaChangeFlowTest.changeSchemaWhileWriting(o);
        AppDatabase.execute(o, "ALTER TABLE account DROP COLUMN region");
      }
      SchemaChangeFlowTest.changeSchemaInReplicaMode(pair.oldServer(), db);
      writer.awaitMore(20);
      r.awaitCaughtUp(WAIT);

      SchemaChangeFlowTest.armWayBackAndConverge(pair, db, r, apply, writer);
      try (Connection o = pair.oldServer().connect(db); Connection n = pair.newServer().connect(db)) {
        for (String q : new String[] {"SELECT count(*) FROM rich", "SELECT count(*) FROM invoice WHERE paid",
            "SELECT count(*) FROM note WHERE b = 'keyed'", "SELECT count(*) FROM measurement_2025", "SELECT count(*) FROM late"}) {
          assertThat(AppDatabase.count(n, q)).as(q).isEqualTo(AppDatabase.count(o, q)).isPositive();
        }
        assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'account'::regclass AND attname = 'region'"))
            .as("the dropped column is gone on new").isZero();
        assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_trigger WHERE tgname = '#cutover_capture' AND tgrelid = 'late'::regclass"))
            .as("a table the replay created on new is captured for the way back").isOne();
      }
      assertThat(r.status().forward().problems()).noneMatch(p -> p.startsWith("schema change"));
    }
    r.cleanup();
    try (Connection o = pair.oldServer().connect(db)) {
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM pg_replication_slots WHERE database = '" + db + "'")).isZero();
    }
  }

  /** As {@link SchemaChangeEdgeTest#addColumn_nonConstantDefaultNullOnOneSideOnly_existingRowsReadOldsValueOnNew}, relayed. */
  @Test
  void addColumn_nonConstantDefaultNullOnOneSideOnly_existingRowsReadOldsValueOnNew(PostgresPair pair) throws Exception {
    String db = "ddl_null_default_relay";
    SchemaChangeFlowTest.database(pair, db);
    SchemaChangeEdgeTest.defaultsNullOnOneSide(pair, db);
    Replicator r = SchemaChangeFlowTest.replicator(pair, db);
    r.start(StartOptions.defaults().withCapture(Capture.RELAY), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      SchemaChangeEdgeTest.addColumnsNullOnOneSide(pair, db);
      r.awaitCaughtUp(WAIT);
    }
    SchemaChangeEdgeTest.assertColumnsNullOnOneSideCarried(pair, db, r);
    r.cleanup();
  }
}
