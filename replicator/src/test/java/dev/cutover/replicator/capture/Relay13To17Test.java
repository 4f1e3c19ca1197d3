package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
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
 * {@link RelayFlow}'s tests from PostgreSQL 13, and those of the relay whose path is the same from
 * every source it supports (values as pgoutput prints them, verify, check and the settings of
 * either database), run from here only.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 13, newMajor = 17)
class Relay13To17Test extends RelayFlow {

  @Override
  Capture autoEngine() {
    return Capture.LOGICAL;
  }

  /**
   * json values (and a domain over json) holding the escape of the NUL character (a backslash, then
   * u0000), which json accepts and the apply's {@code json_to_record} refuses wherever it stands:
   * inserted, updated and deleted, in a keyed table and in a keyless one (REPLICA IDENTITY FULL,
   * whose old row carries them too), beside an escaped backslash before u0000, which is no NUL.
   * They arrive as written and the apply goes on. Before, the relay embedded them as JSON and the
   * apply failed at every retry with "unsupported Unicode escape sequence: new's column types cannot
   * read the row", and nothing after them arrived.
   */
  @Test
  void apply_jsonHoldingTheEscapeOfNul_arrivesAsWrittenAndTheApplyGoesOn(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "jnul");
    db.executeOnBoth("CREATE DOMAIN jdoc AS json; CREATE TABLE jt (id int PRIMARY KEY, j json, d jdoc, t text);"
        + " CREATE TABLE jt_keyless (j json, n int)");
    Replicator r = db.replicator();
    r.start(relay(), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO jt VALUES (1, '{\"a\": \"x\\u0000y\"}', '[\"\\u0000\"]', 'a')");
      OwnedDatabase.execute(o, "INSERT INTO jt VALUES (2, '{}', '{\"c\": \"\\\\u0000\"}', 'b')");
      OwnedDatabase.execute(o, "UPDATE jt SET t = 'c' WHERE id = 1; UPDATE jt SET id = 3 WHERE id = 2");
      OwnedDatabase.execute(o, "INSERT INTO jt_keyless VALUES ('{\"k\": \"\\u0000\"}', 1), ('[1]', 2), ('\"\\u0000\"', 3);"
          + " UPDATE jt_keyless SET n = n + 10 WHERE n = 1; DELETE FROM jt_keyless WHERE n = 3");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      for (String q : List.of("SELECT id || ' ' || j::text || ' ' || d::text || ' ' || t FROM jt ORDER BY id",
          "SELECT j::text || ' ' || n FROM jt_keyless ORDER BY n")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.strings(n, "SELECT j::text || ' ' || d::text FROM jt WHERE id = 1"))
          .containsExactly("{\"a\": \"x\\u0000y\"} [\"\\u0000\"]");
      assertThat(OwnedDatabase.strings(n, "SELECT k.n::text FROM jt_keyless k ORDER BY k.n")).containsExactly("2", "11");
    }
    r.cleanup();
  }

  /**
   * Old refuses the relay apply's login mid-window (r34 #2: its password rotated; here its role may
   * no longer log in, the same path) and its sessions, the walsender's too, are ended. Before, status
   * said "NOT running … start it" beside the stale "Database connection failed when reading from
   * copy", and catch-up "start `cutover-replicator apply`". The apply notes on new that it cannot
   * reach old, both say it runs and name old's password; once old admits it, the rows written
   * meanwhile arrive once.
   */
  @Test
  void status_relayApplyCannotLogInToOld_saysItRunsAndCannotReachOld(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "relayunreached");
    Replicator r = db.replicator();
    r.start(relay(), new CopyProgress(), CopyListener.NONE);
    Replicator readsOldAsSuperuser = Replicator.builder()
        .old(Endpoint.of(Side.OLD, db.url(pair.oldServer()), pair.oldServer().user(), pair.oldServer().password()))
        .nw(db.endpoint(Side.NEW)).build();
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection admin = db.oldAsSuperuser()) {
      r.awaitCaughtUp(CATCH_UP);
      OwnedDatabase.execute(admin, "ALTER ROLE " + OwnedDatabase.ROLE + " NOLOGIN");
      try {
        OwnedDatabase.execute(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + OwnedDatabase.ROLE + "'");
        OwnedDatabase.execute(admin, "INSERT INTO keyless SELECT g, 'while old refused the apply', NULL FROM generate_series(1, 3) g");
        await().atMost(CATCH_UP).untilAsserted(() -> {
          var forward = readsOldAsSuperuser.status().forward();
          assertThat(forward.state()).isEqualTo("failing");
          assertThat(forward.problems()).anyMatch(p -> p.contains("an apply into new runs but cannot reach old")
              && p.contains("not permitted to log in") && p.contains("CUTOVER_REPLICATOR_OLD_PASSWORD"));
          assertThat(forward.problems()).noneMatch(p -> p.contains("no `cutover-replicator apply` runs") || p.contains("; start it"));
        });
        ReplicatorException refused = catchThrowableOfType(ReplicatorException.class,
            () -> readsOldAsSuperuser.awaitCaughtUp(Duration.ofSeconds(2)));
        assertThat(refused).as("catch-up while the apply cannot reach old").isNotNull();
        assertThat(refused.oneLine()).contains("an apply into new runs but cannot reach old").contains("CUTOVER_REPLICATOR_OLD_PASSWORD")
            .doesNotContain("start `cutover-replicator apply`");
        assertThat(apply.appliers().get(0).running()).isTrue();
      } finally {
        OwnedDatabase.execute(admin, "ALTER ROLE " + OwnedDatabase.ROLE + " LOGIN");
      }
      r.awaitCaughtUp(CATCH_UP);
      assertThat(r.status().forward().problems()).noneMatch(p -> p.contains("cannot reach"));
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM keyless WHERE b = 'while old refused the apply'")).isEqualTo(3);
      }
    }
    r.cleanup();
  }

  /**
   * verify while no relay apply runs: a row changed by hand on new is reported as found, and the
   * note says no apply runs into new, instead of a recheck waiting 30 s for a barrier nothing
   * carries; with the apply running, the recheck passes its barrier and the row still differs.
   */
  @Test
  void verify_noApplyRunning_reportsDifferencesAsFoundSayingSo(PostgresPair pair) throws Exception {
    OwnedDatabase db = database(pair, "verifynoapply");
    Replicator r = db.replicator();
    r.start(relay(), new CopyProgress(), CopyListener.NONE);
    try (Connection n = db.nw()) {
      OwnedDatabase.execute(n, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
    }

    VerifyReport stopped = r.verify(Verifier.Options.defaults());
    assertThat(stopped.differences()).isOne();
    assertThat(stopped.rechecked()).isFalse();
    assertThat(stopped.note()).contains("no `cutover-replicator apply` runs into new").contains("not rechecked");

    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      await().atMost(CATCH_UP).until(() -> r.status().forward().relay().applying());
      VerifyReport running = r.verify(Verifier.Options.defaults());
      assertThat(running.rechecked()).as(running.note()).isTrue();
      assertThat(running.differences()).isOne();
    }
    r.cleanup();
  }

  /**
   * {@link OwnedDatabase#assertKeyOfAnExtensionTypeOffThePathArrives} over the relay: before, with
   * the path left out alone, the apply failed on "operator does not exist: public.ltree = public.ltree".
   */
  @Test
  void apply_keyOfAnExtensionTypeInASchemaLeftOutOfThePath_comparedWithItsIndexsOperators(PostgresPair pair) throws Exception {
    database(pair, "ltree").assertKeyOfAnExtensionTypeOffThePathArrives(relay());
  }

  /** {@link OwnedDatabase#assertIdentityAlwaysUpdatesArrive} over the relay (pgoutput's old key only where the key changed). */
  @Test
  void apply_updatesOfIdentityAlwaysTables_arriveInsteadOfStallingTheApply(PostgresPair pair) throws Exception {
    database(pair, "identity").assertIdentityAlwaysUpdatesArrive(relay());
  }

  /** {@link OwnedDatabase#assertRowSecurityThatAppliesIsRefused} for relayed replication. */
  @Test
  void check_rowLevelSecurityAppliesToTheRole_refusedRatherThanCopiedInPart(PostgresPair pair) throws Exception {
    database(pair, "rls").assertRowSecurityThatAppliesIsRefused(relay());
  }

  /** {@link OwnedDatabase#assertIntervalsPrintedTheSqlStandardWayArrive} over the relay: pgoutput prints in the replication session's styles. */
  @Test
  void start_oldPrintsIntervalsTheSqlStandardWay_theyArriveUnchanged(PostgresPair pair) throws Exception {
    database(pair, "styles").assertIntervalsPrintedTheSqlStandardWayArrive(relay());
  }

  /** {@link OwnedDatabase#assertObjectNamesHeldAsValuesArriveUnderADatabasePath}: pgoutput prints them under the walsender's path. */
  @Test
  void start_oldsDatabaseHasADefaultPath_regclassAndRegtypeValuesArriveNamingTheSameObjects(PostgresPair pair) throws Exception {
    database(pair, "regpath").assertObjectNamesHeldAsValuesArriveUnderADatabasePath(relay());
  }

  /** {@link OwnedDatabase#assertLegacyStringReadingOnNewChangesNothing}: the apply's statements carry values as literals and arrays as text. */
  @Test
  void start_newReadsStringsAndArraysTheLegacyWay_valuesArriveUnchanged(PostgresPair pair) throws Exception {
    database(pair, "legacy").assertLegacyStringReadingOnNewChangesNothing(relay());
  }

  /** {@link OwnedDatabase#assertReadOnlyByDefaultStillReplicates}. */
  @Test
  void start_bothDatabasesReadOnlyByDefault_stillReplicates(PostgresPair pair) throws Exception {
    database(pair, "readonly").assertReadOnlyByDefaultStillReplicates(relay());
  }
}
