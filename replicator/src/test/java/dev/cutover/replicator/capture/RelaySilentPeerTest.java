package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.relay.SlotStream;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.TcpProxy;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Relayed logical replication ({@code start --capture relay}) when old goes silent, when old's WAL
 * moves on with nothing to relay, and across a restart of the apply process. A network to old that
 * drops every packet (both the ordinary and the replication connection) is reported naming old
 * within a small multiple of the network timeout, the applier neither stops nor hangs, closing it
 * while old is silent returns, and once old answers again every row written meanwhile arrives once;
 * the same when only the replication stream is silent (the walsender stopped).
 * WAL of another database or of a table outside the publication moves the slot's confirmed position
 * and the position on new along, so an idle relay does not make old keep its WAL, and produces no
 * batch with changes. A stopped and restarted apply process brings everything once: a keyless
 * table would show a transaction replayed as doubled rows.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 13, newMajor = 17)
class RelaySilentPeerTest {
  private static final Duration CATCH_UP = Duration.ofSeconds(60);
  private static final Duration NETWORK_TIMEOUT = Duration.ofSeconds(2);
  private static final Applier.Options OPTIONS = Applier.Options.defaults().withNetworkTimeout(NETWORK_TIMEOUT);
  /**
   * How long a silence may take to be reported: the source's flushed position is asked every
   * {@code idleWrite} and answered within the network timeout, then the stream's end waits as long.
   */
  private static final Duration NOTICED_WITHIN = NETWORK_TIMEOUT.multipliedBy(3);

  @Test
  void apply_oldGoesSilent_saysSoWithinTheTimeoutAndCatchesUpOnceOldAnswers(PostgresPair pair) throws Exception {
    withRelay(pair, "relay_silent", (db, r) -> {
      try (TcpProxy proxy = TcpProxy.in(pair.oldServer())) {
        Applier forward = Applier.relay(Way.forward(db.oldVia(proxy), db.endpoint(Side.NEW)), OPTIONS);
        try {
          insert(db, "before", 3);
          awaitSameRows(db);
          assertThat(proxy.openConnections()).as("the ordinary and the replication connection to old").isEqualTo(2);

          proxy.stall();
          long silent = System.nanoTime();
          insert(db, "silent", 20);
          await().atMost(CATCH_UP).until(() -> forward.lastError() != null);
          Duration noticed = Duration.ofNanos(System.nanoTime() - silent);
          System.out.printf("silence of old reported after %d ms: %s%n", noticed.toMillis(), forward.lastError());
          assertThat(forward.lastError()).contains("old");
          assertThat(noticed).isLessThan(NOTICED_WITHIN);
          assertThat(forward.running()).as("retrying, not stopped").isTrue();

          proxy.resume();
          awaitSameRows(db);
          await().atMost(CATCH_UP).until(() -> forward.lastError() == null);
          assertThat(forward.missing()).isZero();
          VerifyReport verify = r.verify(Verifier.Options.defaults());
          assertThat(verify.differences()).as("%s", verify.tables()).isZero();

          proxy.stall();
          long closing = System.nanoTime();
          forward.close();
          Duration closed = Duration.ofNanos(System.nanoTime() - closing);
          System.out.printf("close while old is silent took %d ms%n", closed.toMillis());
          assertThat(forward.running()).as("its thread ended").isFalse();
          assertThat(closed).isLessThan(NOTICED_WITHIN);
        } finally {
          forward.close();
        }
      }
    });
  }

  /**
   * Only the replication stream goes silent: old's walsender is stopped (SIGSTOP), so the stream
   * brings neither changes nor keepalives while the ordinary connection answers and old's WAL
   * moves on. The applier gives the stream up within twice the timeout, naming the silence, and
   * retries; once the walsender runs again (and, its client gone, lets the slot go) every row
   * written meanwhile arrives once.
   */
  @Test
  void apply_onlyTheReplicationStreamSilent_givenUpAndResumedOnce(PostgresPair pair) throws Exception {
    withRelay(pair, "relay_frozen", (db, r) -> {
      try (Applier forward = applying(db)) {
        String walsender;
        try (Connection o = db.old()) {
          walsender = Long.toString(OwnedDatabase.count(o, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?",
              position(db).slot()));
        }
        signal("STOP", walsender);
        try {
          long frozen = System.nanoTime();
          insert(db, "frozen", 10);
          await().atMost(CATCH_UP).until(() -> forward.lastError() != null);
          Duration noticed = Duration.ofNanos(System.nanoTime() - frozen);
          System.out.printf("silent stream reported after %d ms: %s%n", noticed.toMillis(), forward.lastError());
          assertThat(forward.lastError()).contains("the slot's stream brought nothing").contains("old");
          assertThat(noticed).isLessThan(NOTICED_WITHIN);
          assertThat(forward.running()).as("retrying, not stopped").isTrue();
        } finally {
          signal("CONT", walsender);
        }
        awaitSameRows(db);
        await().atMost(CATCH_UP).until(() -> forward.lastError() == null);
        assertThat(forward.missing()).isZero();
        VerifyReport verify = r.verify(Verifier.Options.defaults());
        assertThat(verify.differences()).as("%s", verify.tables()).isZero();
      }
    });
  }

  /**
   * The apply's connections to old freeze (a NAT entry dropped: the flows open stop passing bytes,
   * new ones pass) with {@code wal_sender_timeout = 0} on old: the walsender of the stream given up
   * waits for its client for ever, holding the slot. The next try ends that walsender, its own,
   * and goes on; every row written meanwhile arrives once.
   */
  @Test
  void apply_ownStreamFrozenWithoutWalSenderTimeout_endsItsWalsenderAndGoesOn(PostgresPair pair) throws Exception {
    withRelay(pair, "relay_nat", (db, r) -> {
      try (Connection o = db.old()) {
        OwnedDatabase.execute(o, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET wal_sender_timeout = 0', current_database()); END $$");
      }
      try (TcpProxy proxy = TcpProxy.in(pair.oldServer())) {
        Applier forward = Applier.relay(Way.forward(db.oldVia(proxy), db.endpoint(Side.NEW)), OPTIONS);
        try {
          insert(db, "before", 3);
          awaitSameRows(db);
          long walsender;
          try (Connection o = db.old()) {
            walsender = OwnedDatabase.count(o, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?", position(db).slot());
          }

          proxy.stallOpen();
          insert(db, "frozen", 10);
          await().atMost(CATCH_UP).until(() -> forward.lastError() != null);
          awaitSameRows(db);
          await().atMost(CATCH_UP).until(() -> forward.lastError() == null);
          try (Connection o = db.old()) {
            assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?::int", Long.toString(walsender)))
                .as("the frozen stream's walsender %d, ended", walsender).isZero();
          }
          assertThat(forward.missing()).isZero();
          VerifyReport verify = r.verify(Verifier.Options.defaults());
          assertThat(verify.differences()).as("%s", verify.tables()).isZero();
        } finally {
          forward.close();
        }
      }
    });
  }

  /**
   * The slot is read by a session that is not the applier's own stream, though of the same role and
   * application (an earlier apply process's walsender whose connection was lost, say): the applier
   * leaves it alone and says on which side, which process and what to do, and goes on once it is gone.
   */
  @Test
  void apply_slotHeldByAnotherSession_namesOldTheProcessAndTheRemedyAndLeavesIt(PostgresPair pair) throws Exception {
    withRelay(pair, "relay_held", (db, r) -> {
      RelayProgress.Position at = position(db);
      SlotStream other = SlotStream.open(db.endpoint(Side.OLD), at.slot(), at.publication(), at.lsn(), Duration.ofSeconds(1),
          NETWORK_TIMEOUT);
      try (Applier forward = Applier.relay(Way.forward(db.endpoint(Side.OLD), db.endpoint(Side.NEW)), OPTIONS)) {
        String pid;
        try (Connection o = db.old()) {
          pid = Long.toString(OwnedDatabase.count(o, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?", at.slot()));
        }
        await().atMost(CATCH_UP).until(() -> forward.lastError() != null);
        System.out.println("slot held by another session: " + forward.lastError());
        assertThat(forward.lastError()).contains("old: replication slot " + at.slot() + " is in use by process " + pid)
            .contains("SELECT pg_terminate_backend(" + pid + ")").contains("wal_sender_timeout");
        assertThat(forward.running()).as("retrying, not stopped").isTrue();
        assertThat(catchThrowableOfType(ReplicatorException.class, () -> r.awaitCaughtUp(Duration.ofSeconds(3)))).satisfies(e -> {
          assertThat(e.getMessage()).contains("the apply into new fails", "old: replication slot");
          assertThat(e.remedy()).doesNotContain("on new");
        });
        try (Connection o = db.old()) {
          assertThat(OwnedDatabase.count(o, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?", at.slot()))
              .as("the other session still holds the slot").isEqualTo(Long.parseLong(pid));
        }
        other.close();
        insert(db, "after", 3);
        awaitSameRows(db);
        await().atMost(CATCH_UP).until(() -> forward.lastError() == null);
      } finally {
        other.close();
      }
    });
  }

  private static void signal(String name, String pid) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + name, pid).inheritIO().start();
    assertThat(kill.waitFor()).as("kill -%s %s", name, pid).isZero();
  }

  /**
   * Old's WAL moves on (another database's writes, a segment switch, a checkpoint) with nothing
   * for the publication: the slot's confirmed position, the position on new and the slot's restart
   * position follow, without a change applied.
   */
  @Test
  void apply_idleWhileOldsWalMovesOn_slotAndPositionFollowOld(PostgresPair pair) throws Exception {
    withRelay(pair, "relay_idle", (db, r) -> {
      try (Applier forward = applying(db)) {
        long changes = forward.changes();

        String left;
        String end;
        try (Connection admin = pair.oldServer().connect()) {
          OwnedDatabase.execute(admin, "CREATE TABLE IF NOT EXISTS relay_idle_wal (n int)");
          OwnedDatabase.execute(admin, "INSERT INTO relay_idle_wal SELECT generate_series(1, 1000)");
          left = flushed(admin);
          OwnedDatabase.execute(admin, "SELECT pg_switch_wal()");
          OwnedDatabase.execute(admin, "INSERT INTO relay_idle_wal VALUES (0)");
          OwnedDatabase.execute(admin, "CHECKPOINT");
          OwnedDatabase.execute(admin, "INSERT INTO relay_idle_wal VALUES (0)");
          end = flushed(admin);
        }
        awaitFollowed(db, end);
        try (Connection o = db.old()) {
          await().atMost(CATCH_UP).until(() -> OwnedDatabase.count(o, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = ?"
              + " AND restart_lsn > ?::pg_lsn", position(db).slot(), left) == 1);
        }
        assertThat(forward.changes()).as("changes applied").isEqualTo(changes);
        assertThat(forward.lastError()).isNull();
      }
    });
  }

  /**
   * Transactions on old that touch only a table outside the publication (pgoutput 13 still sends
   * their Begin and Commit): the position follows them, no batch carries a change, and the empty
   * batches are paced, not one a transaction.
   */
  @Test
  void apply_transactionsOnlyOutsideThePublication_moveThePositionWithoutChanges(PostgresPair pair) throws Exception {
    withRelay(pair, "relay_empty", (db, r) -> {
      try (Connection o = db.old()) {
        OwnedDatabase.execute(o, "CREATE TABLE unpublished (n int)");
      }
      try (Applier forward = applying(db)) {
        long changes = forward.changes();
        RelayProgress.Position before = position(db);

        int transactions = 200;
        String end;
        try (Connection o = db.old()) {
          OwnedDatabase.execute(o, "DO $$ BEGIN FOR i IN 1.." + transactions + " LOOP INSERT INTO unpublished VALUES (i); COMMIT; END LOOP; END $$");
          end = flushed(o);
        }
        awaitFollowed(db, end);
        RelayProgress.Position after = position(db);
        assertThat(forward.changes()).as("changes applied").isEqualTo(changes);
        assertThat(after.changes()).as("changes counted on new").isEqualTo(before.changes());
        assertThat(after.batches() - before.batches()).as("empty batches").isLessThan(transactions);

        insert(db, "after", 1);
        awaitSameRows(db);
      } finally {
        try (Connection o = db.old()) {
          OwnedDatabase.execute(o, "DROP TABLE unpublished");
        }
      }
    });
  }

  /** The apply process stopped, old written meanwhile, started again: every row once, nothing replayed. */
  @Test
  void apply_stoppedAndStartedAgain_bringsWhatWasWrittenMeanwhileOnce(PostgresPair pair) throws Exception {
    withRelay(pair, "relay_restart", (db, r) -> {
      Applier first;
      try (ApplyProcess apply = r.apply(OPTIONS)) {
        first = apply.appliers().get(0);
        insert(db, "first", 5);
        awaitSameRows(db);
      }
      assertThat(first.running()).isFalse();
      RelayProgress.Position stopped = position(db);

      insert(db, "meanwhile", 20);
      try (ApplyProcess apply = r.apply(OPTIONS)) {
        Applier second = apply.appliers().get(0);
        insert(db, "again", 5);
        awaitSameRows(db);
        await().atMost(CATCH_UP).until(() -> second.changes() >= 25);
        assertThat(second.changes()).as("changes applied after the restart").isEqualTo(25);
      }
      assertThat(position(db).lsn().asLong()).isGreaterThan(stopped.lsn().asLong());
      VerifyReport verify = r.verify(Verifier.Options.defaults());
      assertThat(verify.differences()).as("%s", verify.tables()).isZero();
    });
  }

  /**
   * A batch whose statement on new waits for a lock longer than the network timeout: PgJDBC gives
   * the connection up, and the applier says new did not answer (not what the rollback on the closed
   * connection says), then applies the batch once the lock is gone.
   */
  @Test
  void apply_newStatementWaitsPastTheTimeout_namesNewAndAppliesOnceFree(PostgresPair pair) throws Exception {
    withRelay(pair, "relay_locked", (db, r) -> {
      try (Applier forward = applying(db)) {
        try (Connection locker = db.nw()) {
          locker.setAutoCommit(false);
          OwnedDatabase.execute(locker, "LOCK TABLE keyless IN ACCESS EXCLUSIVE MODE");
          insert(db, "locked", 3);
          await().atMost(CATCH_UP).until(() -> forward.lastError() != null);
          assertThat(forward.lastError()).contains("no answer from new for 2000ms");
          locker.rollback();
        }
        awaitSameRows(db);
        await().atMost(CATCH_UP).until(() -> forward.lastError() == null);
      }
    });
  }

  /** Runs {@code test} on a new database whose relayed replication is started (old reached from this machine's usual address). */
  private static void withRelay(PostgresPair pair, String prefix, SilentPeerTest.WithCapture test) throws Exception {
    SilentPeerTest.withStarted(RelayFlow.database(pair, prefix, null), RelayFlow.relay(), test);
  }

  /** An applier relaying {@code db} from old to new directly, once a first row went through it. */
  private static Applier applying(OwnedDatabase db) throws Exception {
    Applier forward = Applier.relay(Way.forward(db.endpoint(Side.OLD), db.endpoint(Side.NEW)), OPTIONS);
    try {
      insert(db, "before", 1);
      awaitSameRows(db);
      return forward;
    } catch (Exception | AssertionError e) {
      forward.close();
      throw e;
    }
  }

  /** {@code transactions} transactions on old, written directly, each inserting one row tagged {@code tag} into the keyless table. */
  private static void insert(OwnedDatabase db, String tag, int transactions) throws Exception {
    try (Connection o = db.old()) {
      for (int i = 0; i < transactions; i++) {
        OwnedDatabase.execute(o, "INSERT INTO keyless VALUES (" + i + ", '" + tag + "-" + i + "')");
      }
    }
  }

  /** Waits until new's keyless table holds as many rows as old's, then checks it holds no row twice. */
  private static void awaitSameRows(OwnedDatabase db) throws Exception {
    try (Connection o = db.old(); Connection n = db.nw()) {
      String rows = "SELECT count(*) FROM keyless";
      await().atMost(CATCH_UP).until(() -> OwnedDatabase.count(n, rows) >= OwnedDatabase.count(o, rows));
      assertThat(OwnedDatabase.count(n, rows)).as("rows on new").isEqualTo(OwnedDatabase.count(o, rows));
      assertThat(OwnedDatabase.strings(n, "SELECT a || ' ' || b || ' ' || count(*) FROM keyless GROUP BY a, b ORDER BY a, b"))
          .isEqualTo(OwnedDatabase.strings(o, "SELECT a || ' ' || b || ' ' || count(*) FROM keyless GROUP BY a, b ORDER BY a, b"));
    }
  }

  /** Waits until the slot's confirmed position on old and the position on new are at {@code lsn} or past it. */
  private static void awaitFollowed(OwnedDatabase db, String lsn) throws Exception {
    String slot = position(db).slot();
    try (Connection o = db.old(); Connection n = db.nw()) {
      await().atMost(CATCH_UP).until(() -> OwnedDatabase.count(o, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = ?"
          + " AND confirmed_flush_lsn >= ?::pg_lsn", slot, lsn) == 1);
      await().atMost(CATCH_UP).until(() -> OwnedDatabase.count(n, "SELECT count(*) FROM cutover.relay_progress WHERE lsn >= ?::pg_lsn", lsn) == 1);
    }
  }

  private static RelayProgress.Position position(OwnedDatabase db) throws Exception {
    try (Connection n = db.nw()) {
      return RelayProgress.read(n).orElseThrow();
    }
  }

  private static String flushed(Connection c) throws Exception {
    return OwnedDatabase.strings(c, "SELECT pg_current_wal_flush_lsn()::text").get(0);
  }
}
