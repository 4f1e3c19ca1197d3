package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.replication.Reverse;
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

/** Trigger capture from PostgreSQL 18, the newest source, to 18: what 18 added to table definitions, and tables with nothing to write. */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 18, newMajor = 18)
class TriggerCapture18To18Test {

  /**
   * 18's virtual generated columns (the default kind there), computed when read and never stored;
   * primary keys {@code WITHOUT OVERLAPS} and foreign keys with {@code PERIOD}, whose GiST index the
   * copy adds back whole (before, building it as a unique index failed the start); and a {@code NOT
   * ENFORCED} foreign key, whose dangling references the copy and the apply keep. The copy,
   * inserts, updates, key changes and deletes arrive; new computes the same values and has the
   * same constraints.
   */
  @Test
  void start_virtualColumnsTemporalKeysAndUnenforcedKeys_arriveAndVerifyClean(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "virtual");
    for (Connection c : List.of(db.nwAsSuperuser(), db.oldAsSuperuser())) {
      try (c) {
        OwnedDatabase.execute(c, "CREATE EXTENSION btree_gist");
      }
    }
    db.executeOnBoth("CREATE TABLE room (id int, open tstzrange, PRIMARY KEY (id, open WITHOUT OVERLAPS));"
        + " CREATE TABLE booking (room int, during tstzrange, guest text, PRIMARY KEY (room, during WITHOUT OVERLAPS),"
        + " FOREIGN KEY (room, PERIOD during) REFERENCES room (id, PERIOD open))");
    db.executeOnBoth("CREATE TABLE priced (id int PRIMARY KEY, net numeric NOT NULL, gross numeric GENERATED ALWAYS AS (net * 1.2) VIRTUAL,"
        + " label text GENERATED ALWAYS AS ('#' || id) VIRTUAL, stored numeric GENERATED ALWAYS AS (net + 1) STORED);"
        + " CREATE TABLE note (id int PRIMARY KEY, priced int REFERENCES priced NOT ENFORCED)");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO priced (id, net) SELECT g, g FROM generate_series(1, 50) g");
      OwnedDatabase.execute(o, "INSERT INTO room SELECT g, tstzrange('2026-01-01', '2028-01-01') FROM generate_series(0, 4) g");
      OwnedDatabase.execute(o, "INSERT INTO note VALUES (1, 1), (2, 999)");
      OwnedDatabase.execute(o, "INSERT INTO booking SELECT g % 5, tstzrange('2026-12-01'::timestamptz + g * interval '1 day',"
          + " '2026-12-01'::timestamptz + (g + 1) * interval '1 day'), 'guest ' || g FROM generate_series(1, 20) g");
    }
    assertThat(db.replicator().check(List.of(), Capture.TRIGGERS).findings())
        .filteredOn(f -> f.message().contains("booking") || f.message().contains("priced")).isEmpty();
    Replicator r = TriggerCaptureFlow.started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO priced (id, net) VALUES (100, 10), (101, 11)");
      OwnedDatabase.execute(o, "UPDATE priced SET net = net * 2 WHERE id % 3 = 0");
      OwnedDatabase.execute(o, "UPDATE priced SET id = id + 1000 WHERE id IN (5, 9, 100)");
      OwnedDatabase.execute(o, "DELETE FROM priced WHERE id IN (7, 101)");
      OwnedDatabase.execute(o, "UPDATE booking SET guest = 'moved' WHERE room = 1");
      OwnedDatabase.execute(o, "UPDATE booking SET during = tstzrange(lower(during), upper(during) + interval '1 hour') WHERE room = 2");
      OwnedDatabase.execute(o, "DELETE FROM booking WHERE room = 3");
      OwnedDatabase.execute(o, "INSERT INTO note VALUES (3, 998)");
      OwnedDatabase.execute(o, "INSERT INTO booking VALUES (3, tstzrange('2027-01-01', '2027-01-02'), 'new')");
      r.awaitCaughtUp(TriggerCaptureFlow.CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      String q = "SELECT id || ' ' || net || ' ' || gross || ' ' || label || ' ' || stored FROM priced ORDER BY id";
      assertThat(OwnedDatabase.strings(n, q)).hasSize(50).isEqualTo(OwnedDatabase.strings(o, q)).contains("1100 10 12.0 #1100 11", "1009 18 21.6 #1009 19");
      String b = "SELECT room || ' ' || during || ' ' || guest FROM booking ORDER BY room, during";
      assertThat(OwnedDatabase.strings(n, b)).hasSize(17).isEqualTo(OwnedDatabase.strings(o, b));
      assertThat(OwnedDatabase.strings(n, "SELECT id || ' ' || priced FROM note ORDER BY id")).containsExactly("1 1", "2 999", "3 998");
      String keys = "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE contype IN ('p', 'f')"
          + " AND conrelid IN ('booking'::regclass, 'note'::regclass) ORDER BY 1";
      assertThat(OwnedDatabase.strings(n, keys)).hasSize(4).isEqualTo(OwnedDatabase.strings(o, keys));
    }
    db.assertConverged(r);
  }

  /**
   * Tables whose rows have no column the apply can write: none at all, or only generated ones.
   * Their rows are inserted as rows of defaults, one at a time and several in one statement (the
   * apply in replica mode, which new's role may set here, writes a table's inserts together), and
   * deleted whole. Before, every INSERT into such a table was {@code INSERT INTO t () ...}, a syntax
   * error, and the apply retried that batch for ever.
   */
  @Test
  void apply_tablesWithNothingToWrite_rowsOfDefaultsArrive(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "nothing");
    try (Connection n = db.nwAsSuperuser()) {
      OwnedDatabase.execute(n, "GRANT SET ON PARAMETER session_replication_role TO " + OwnedDatabase.ROLE);
    }
    db.executeOnBoth("CREATE TABLE nocols (); CREATE TABLE gen_only (g int GENERATED ALWAYS AS (7) STORED);"
        + " CREATE TABLE gen_key (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, g int GENERATED ALWAYS AS (id * 2) VIRTUAL)");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO nocols SELECT FROM generate_series(1, 3); INSERT INTO gen_only SELECT FROM generate_series(1, 4);"
          + " INSERT INTO gen_key DEFAULT VALUES");
    }
    Replicator r = TriggerCaptureFlow.started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO nocols DEFAULT VALUES");
      OwnedDatabase.execute(o, "BEGIN; INSERT INTO nocols SELECT FROM generate_series(1, 5); INSERT INTO gen_only SELECT FROM generate_series(1, 3);"
          + " INSERT INTO gen_key SELECT FROM generate_series(1, 3); COMMIT");
      OwnedDatabase.execute(o, "DELETE FROM nocols WHERE ctid = (SELECT min(ctid) FROM nocols);"
          + " DELETE FROM gen_only WHERE ctid = (SELECT min(ctid) FROM gen_only); DELETE FROM gen_key WHERE id = 1");
      r.awaitCaughtUp(TriggerCaptureFlow.CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      for (String q : List.of("SELECT count(*)::text FROM nocols", "SELECT count(*) || ' ' || sum(g) FROM gen_only",
          "SELECT string_agg(id || ':' || g, ',' ORDER BY id) FROM gen_key")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.strings(n, "SELECT count(*)::text FROM nocols")).containsExactly("8");
    }
    db.assertConverged(r);
  }

  /**
   * {@link OwnedDatabase#assertIdentityAlwaysUpdatesArrive} with trigger capture, applied with
   * triggers turned off per table (new's role may not set {@code session_replication_role} here).
   */
  @Test
  void apply_updatesOfIdentityAlwaysTables_arriveInsteadOfStallingTheApply(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "identity");
    try (Connection n = db.nwAsSuperuser()) {
      // Granted on the whole server by other tests of this class, whatever their order.
      OwnedDatabase.execute(n, "REVOKE SET ON PARAMETER session_replication_role FROM " + OwnedDatabase.ROLE);
    }
    db.assertIdentityAlwaysUpdatesArrive(TriggerCaptureFlow.options());
  }

  /** As above, applied in replica mode, where a transaction's updates of a table that keep its key go as one statement. */
  @Test
  void apply_updatesOfIdentityAlwaysTablesInReplicaMode_arriveInsteadOfStallingTheApply(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "identityreplica");
    try (Connection n = db.nwAsSuperuser()) {
      OwnedDatabase.execute(n, "GRANT SET ON PARAMETER session_replication_role TO " + OwnedDatabase.ROLE);
    }
    db.assertIdentityAlwaysUpdatesArrive(TriggerCaptureFlow.options());
  }

  /**
   * Floats written in sessions with {@code extra_float_digits} 0 and -15, which PostgreSQL 12 and
   * later still round to 15 and 1 significant digits (only a value above 0 prints the shortest
   * exact text): float8, real, a float8 array, a point, an array of composites with a float field, a cube,
   * inserted, updated with and without a key change, deleted, and in a keyless table's old row, on
   * old and, with the way back armed, on new. Both sides hold the same values, compared as text
   * printed with {@code extra_float_digits = 3}, and verify finds no difference. Before, such
   * tables got the lean capture without pinning (only before 12 were floats pinned), and old's
   * 0.30000000000000004 arrived on new as 0.3.
   */
  @Test
  void capture_floatsWrittenWithExtraFloatDigitsZeroAndBelow_arriveWithEveryBit(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "floats");
    for (Connection c : List.of(db.nwAsSuperuser(), db.oldAsSuperuser())) {
      try (c) {
        OwnedDatabase.execute(c, "CREATE EXTENSION cube");
      }
    }
    db.executeOnBoth("CREATE TYPE comp AS (a float8, b text);"
        + " CREATE TABLE f (id int PRIMARY KEY, d float8, r real, a float8[], p point, c comp[], cu cube);"
        + " CREATE TABLE f_keyless (d float8, n int); CREATE TABLE fs (id int PRIMARY KEY, d float8, r real, p point, cu cube)");
    Replicator r = TriggerCaptureFlow.started(db);
    String values = "0.1::float8 + %1$d * 0.2, 1::real / (%1$d + 2), ARRAY[0.1::float8 + 0.2, pi() / %1$d], point(1.0::float8 / 3, 0.1::float8 + 0.2),"
        + " ARRAY[ROW(2.0::float8 / %1$d, 'x')]::comp[], cube(ARRAY[1.0::float8 / %1$d, 0.1::float8 + 0.2])";
    List<String> queries = List.of("SELECT x::text FROM f x ORDER BY id", "SELECT x::text FROM f_keyless x ORDER BY n",
        "SELECT x::text FROM fs x ORDER BY id");
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      String inserts = "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = '%s'::regclass AND tgname = '#cutover_capture'";
      // Scalars only: flag f alone, which the lean function had before. Arrays at any depth add j (their bounds).
      assertThat(OwnedDatabase.strings(o, String.format(inserts, "fs"))).singleElement().asString().endsWith("cutover.capture('-f', '-')");
      assertThat(OwnedDatabase.strings(o, String.format(inserts, "f"))).singleElement().asString().contains("cutover.capture('-fj', '-'");
      assertThat(OwnedDatabase.strings(o, String.format(inserts, "scratch"))).as("no floats: the lean function")
          .singleElement().asString().endsWith("cutover.capture_row()");
      writeFloats(o, values, 0);
      r.awaitCaughtUp(TriggerCaptureFlow.CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      assertThat(strings(o, queries.get(0))).as("old holds the exact sum").anyMatch(row -> row.contains("0.30000000000000004"));
      for (String q : queries) {
        assertThat(strings(n, q)).as(q).isEqualTo(strings(o, q)).isNotEmpty();
      }
    }
    db.assertConverged(r);
    r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(5)));
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      writeFloats(n, values, 1000);
      await().atMost(TriggerCaptureFlow.CATCH_UP).until(() -> apply.appliers().stream().anyMatch(a -> a.lastError() != null)
          || queries.stream().allMatch(q -> sameOnBoth(o, n, q)));
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      for (String q : queries) {
        assertThat(strings(o, q)).as("the way back: " + q).isEqualTo(strings(n, q));
      }
    }
  }

  /** Writes floats on {@code c} (ids from {@code base}) in sessions whose extra_float_digits is 0, then -15, and puts 3 back. */
  private static void writeFloats(Connection c, String values, int base) throws Exception {
    for (int digits : List.of(0, -15)) {
      int id = base + (digits == 0 ? 1 : 11);
      OwnedDatabase.execute(c, "SET extra_float_digits = " + digits);
      for (int k = 0; k < 4; k++) {
        OwnedDatabase.execute(c, "INSERT INTO f VALUES (" + (id + k) + ", " + String.format(values, k + 1) + ")");
      }
      OwnedDatabase.execute(c, "UPDATE f SET d = d / 3, a = a || (1.0::float8 / 7), p = point(2.0::float8 / 3, 0.7::float8 * 3) WHERE id = " + id);
      OwnedDatabase.execute(c, "UPDATE f SET id = id + 100, r = r / 3 WHERE id = " + (id + 1));
      OwnedDatabase.execute(c, "DELETE FROM f WHERE id = " + (id + 2));
      OwnedDatabase.execute(c, "INSERT INTO fs SELECT id, d, r, p, cu FROM f WHERE id IN (" + id + ", " + (id + 3) + ")");
      OwnedDatabase.execute(c, "UPDATE fs SET d = d * 3, p = point(0.7::float8 * 3, 1.0::float8 / 3) WHERE id = " + id);
      OwnedDatabase.execute(c, "INSERT INTO f_keyless VALUES (0.1::float8 + 0.2, " + id + "), (1.0::float8 / 3, " + (id + 1) + ")");
      OwnedDatabase.execute(c, "UPDATE f_keyless SET n = n + 50 WHERE n = " + id + "; DELETE FROM f_keyless WHERE n = " + (id + 1));
    }
    OwnedDatabase.execute(c, "SET extra_float_digits = 3");
  }

  private static boolean sameOnBoth(Connection o, Connection n, String sql) {
    try {
      return strings(o, sql).equals(strings(n, sql));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The rows of {@code sql} on {@code c}, floats printed exactly ({@code extra_float_digits = 3}). */
  private static List<String> strings(Connection c, String sql) throws Exception {
    OwnedDatabase.execute(c, "SET extra_float_digits = 3");
    return OwnedDatabase.strings(c, sql);
  }
}
