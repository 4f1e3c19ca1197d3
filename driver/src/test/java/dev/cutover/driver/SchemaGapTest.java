package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * A migration run on old alone while native logical replication (which carries no schema change)
 * runs: the switch would leave new without what old enforces or runs on its tables.
 */
@LeakCheckedPair
class SchemaGapTest {
  /**
   * Besides {@code note}, a partitioned table with a foreign key and a row trigger on its parent and
   * a table whose foreign key references it: their partitions hold copies of both, internal on 12,
   * not on 17, which must not read as a gap in either direction.
   */
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL, tag text DEFAULT 'n');"
      + " CREATE TABLE tagging (note_id int);"
      + " CREATE TABLE device (id int PRIMARY KEY);"
      + " CREATE TABLE reading (id int NOT NULL REFERENCES device, at date NOT NULL, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);"
      + " CREATE TABLE reading_2026 PARTITION OF reading FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
      + " CREATE TABLE reading_2027 PARTITION OF reading FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');"
      + " CREATE TABLE mark (id int, at date, FOREIGN KEY (id, at) REFERENCES reading);"
      + " CREATE FUNCTION noted() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;"
      + " CREATE TRIGGER reading_noted AFTER INSERT ON reading FOR EACH ROW EXECUTE PROCEDURE noted()";

  /** What a migration on old added; run on new too, the switch completes. */
  private static final String MIGRATION = "ALTER TABLE note ALTER COLUMN tag SET NOT NULL;"
      + " CREATE UNIQUE INDEX note_body ON note (body);"
      + " ALTER TABLE note ADD CONSTRAINT body_short CHECK (length(body) < 100);"
      + " CREATE TRIGGER note_noted AFTER INSERT ON note FOR EACH ROW EXECUTE PROCEDURE noted();"
      + " CREATE RULE note_kept AS ON DELETE TO note DO INSTEAD NOTHING;"
      + " ALTER TABLE note ENABLE ROW LEVEL SECURITY; CREATE POLICY everyone ON note USING (true);"
      + " ALTER TABLE tagging ADD FOREIGN KEY (note_id) REFERENCES note";

  @Test
  void flip_newLacksWhatAMigrationOnOldAdded_refusedNamingItUntilMadeOnNew_thenBothWays(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    db.prepareReverse();
    execute(db.oldDirect(), MIGRATION);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(db.url())) {
      DrainTest.insert(app, "before");

      db.flip(Target.NEW);
      SwitchEvent refused = events.next();

      assertThat(refused.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(refused.reason()).startsWith("the new database lacks, on 2 table(s), what the old database enforces or runs"
          + " there: public.note (1 NOT NULL column, 1 unique index, 1 CHECK constraint, 1 trigger, 1 rule, row level security,"
          + " 1 policy), public.tagging (1 foreign key); after the switch new would take rows old refuses")
          .contains("`cutover-replicator status`").contains("cutover.switch.force=true");
      assertThat(refused.gateWaits()).isZero();
      assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
      DrainTest.insert(app, "after the refusal");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());

      execute(db.newDirect(), MIGRATION);
      db.flip(Target.OLD);
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "on new");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());

      db.armReverse();
      db.flip(Target.OLD);
      SwitchEvent back = events.next();
      assertThat(back.outcome()).as(back.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  private static void execute(Connection c, String sql) throws Exception {
    try (c; Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
