package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What PostgreSQL 18 added to table definitions, through logical replication from 18 to 18: primary
 * keys {@code WITHOUT OVERLAPS} (backed by a GiST index, which the copy cannot build as a unique
 * index and then attach, as it does a btree one), foreign keys with {@code PERIOD}, virtual
 * generated columns, {@code NOT ENFORCED} foreign keys, and a unique constraint {@code NULLS NOT
 * DISTINCT} with {@code INCLUDE} columns (15, 11), which the copy sets aside and attaches again. Trigger capture's side is in
 * {@code TriggerCapture18To18Test}.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 18, newMajor = 18)
class Postgres18FeaturesTest {
  static final String SCHEMA = "CREATE EXTENSION IF NOT EXISTS btree_gist;"
      + " CREATE TABLE room (id int, open tstzrange, PRIMARY KEY (id, open WITHOUT OVERLAPS));"
      + " CREATE TABLE stay (room int, during tstzrange, guest text, PRIMARY KEY (room, during WITHOUT OVERLAPS),"
      + " FOREIGN KEY (room, PERIOD during) REFERENCES room (id, PERIOD open));"
      + " CREATE TABLE priced (id int PRIMARY KEY, net numeric NOT NULL, gross numeric GENERATED ALWAYS AS (net * 1.2) VIRTUAL);"
      + " CREATE TABLE note (id int PRIMARY KEY, priced int REFERENCES priced NOT ENFORCED,"
      + " code text, tag text, CONSTRAINT note_code UNIQUE NULLS NOT DISTINCT (code) INCLUDE (tag) DEFERRABLE)";

  @Test
  void start_temporalKeysVirtualColumnsAndUnenforcedKeys_arriveAndVerifyClean(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "pg18");
    try (Connection o = db.old(); Connection n = db.nw()) {
      AppDatabase.execute(n, SCHEMA);
      AppDatabase.execute(o, SCHEMA);
      AppDatabase.execute(o, "INSERT INTO room SELECT g, tstzrange('2026-01-01', '2028-01-01') FROM generate_series(0, 4) g;"
          + " INSERT INTO stay SELECT g % 5, tstzrange('2026-12-01'::timestamptz + g * interval '1 day', '2026-12-01'::timestamptz"
          + " + (g + 1) * interval '1 day'), 'guest ' || g FROM generate_series(1, 20) g;"
          + " INSERT INTO priced (id, net) SELECT g, g FROM generate_series(1, 50) g; INSERT INTO note VALUES (1, 1, 'a', 'x'), (2, 999, NULL, 'y')");
    }
    Replicator r = db.replicator();
    r.start(ReplicationFlowTest.options(), new CopyProgress(), CopyListener.NONE);
    try (Connection o = db.old(); Connection n = db.nw()) {
      AppDatabase.execute(o, "UPDATE stay SET guest = 'moved' WHERE room = 1");
      AppDatabase.execute(o, "UPDATE stay SET during = tstzrange(lower(during), upper(during) + interval '1 hour') WHERE room = 2");
      AppDatabase.execute(o, "DELETE FROM stay WHERE room = 3");
      AppDatabase.execute(o, "UPDATE priced SET net = net * 2 WHERE id % 3 = 0");
      AppDatabase.execute(o, "INSERT INTO note VALUES (3, 998, 'c', 'z')");
      r.awaitCaughtUp(Duration.ofSeconds(60));
      for (String q : List.of("SELECT room || ' ' || during || ' ' || guest FROM stay ORDER BY room, during",
          "SELECT id || ' ' || net || ' ' || gross FROM priced ORDER BY id", "SELECT id || ' ' || priced FROM note ORDER BY id")) {
        assertThat(AppDatabase.strings(n, q)).as(q).isEqualTo(AppDatabase.strings(o, q)).isNotEmpty();
      }
      String constraints = "SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
          + " WHERE conrelid IN ('room'::regclass, 'stay'::regclass, 'note'::regclass) AND contype IN ('p', 'u', 'f') ORDER BY 1";
      assertThat(AppDatabase.strings(n, constraints)).as("constraints set aside and built again").hasSize(6)
          .isEqualTo(AppDatabase.strings(o, constraints));
    }
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.differences()).as("differences: %s", verify.tables()).isZero();
  }
}
