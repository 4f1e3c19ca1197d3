package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;
import static dev.cutover.replicator.ReplicationFlowTest.CATCH_UP;
import static dev.cutover.replicator.ReplicationFlowTest.options;
import static dev.cutover.replicator.ReplicationFlowTest.start;

import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.Heartbeat;
import dev.cutover.replicator.replication.KeylessTables;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The replicator's start, check and verify end to end on real servers at the build's default
 * versions (12 → 17 unless {@code -Dcutover.test.old/new} say otherwise): the copy, its refusals
 * and what verify finds, none of which differs between the versions {@link ReplicationFlowTest}
 * runs on.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class StartAndVerifyTest {

  @Test
  void verify_writesInFlight_reportsNoDifference(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "inflight");
    Replicator r = db.replicator();
    start(r);
    try (Writer writer = new Writer(db)) {
      long seen = writer.commits.get();
      await().atMost(Duration.ofSeconds(20)).until(() -> writer.commits.get() >= seen + 20);
      VerifyReport report = r.verify(Verifier.Options.defaults());
      assertThat(report.differences()).as("%s", report).isZero();
      System.out.println("verify during writes: " + report.inFlight() + " in-flight difference(s) resolved by the recheck");
      assertThat(writer.commits.get()).as("the writer kept writing while verify ran").isGreaterThan(seen + 20);
      assertThat(writer.failures).isEmpty();
    }
  }

  @Test
  void start_indexesSetAside_areRebuiltIdenticalToOld(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "indexes");
    start(db.replicator());
    try (Connection o = db.old(); Connection n = db.nw()) {
      assertThat(indexDefinitions(n)).isEqualTo(indexDefinitions(o)).hasSizeGreaterThanOrEqualTo(11);
      assertThat(AppDatabase.strings(n, "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
          + " WHERE connamespace = 'public'::regnamespace AND contype <> 'n' ORDER BY 1"))
          .isEqualTo(AppDatabase.strings(o, "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
              + " WHERE connamespace = 'public'::regnamespace AND contype <> 'n' ORDER BY 1"));
    }
  }

  @Test
  void start_wholeTables_arriveFrozenUnlessAForeignKeyReferencesThem(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "frozen");
    StartReport report = start(db.replicator());
    Map<String, Boolean> frozen = report.tables().stream()
        .collect(Collectors.toMap(StartReport.TableCopy::table, StartReport.TableCopy::frozen));
    assertThat(frozen)
        .containsEntry("public.audit_log", true)
        .containsEntry("public.order_line", true)
        .as("referenced by a foreign key: truncating it alone is not allowed")
        .containsEntry("public.customer", false)
        .containsEntry("public.orders", false)
        .containsEntry("public.item", false)
        .as("split into chunks, which run in parallel transactions")
        .containsEntry("public.event", false);
    try (Connection n = db.nw()) {
      AppDatabase.execute(n, "CREATE EXTENSION IF NOT EXISTS pageinspect");
      for (String table : List.of("audit_log", "order_line")) {
        assertThat(AppDatabase.count(n, "SELECT count(*) FROM " + table)).as(table).isPositive();
        assertThat(unfrozenTuples(n, table)).as("tuples of " + table + " not frozen").isZero();
      }
      assertThat(unfrozenTuples(n, "customer")).isPositive();
    }
  }

  /** Tuples of {@code table} whose xmin is not marked frozen ({@code HEAP_XMIN_FROZEN}, 0x0300), read from the pages. */
  private static long unfrozenTuples(Connection c, String table) throws Exception {
    return AppDatabase.count(c, "SELECT count(*) FROM generate_series(0, pg_relation_size(?::regclass) / current_setting('block_size')::int - 1) b,"
        + " heap_page_items(get_raw_page(?, b::int)) WHERE t_infomask IS NOT NULL AND t_infomask & 768 <> 768", table, table);
  }

  @Test
  void start_buildsATablesIndexesWhileAnotherTableIsStillCopying(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "overlap");
    java.util.concurrent.CountDownLatch otherTableIndexed = new java.util.concurrent.CountDownLatch(1);
    AtomicBoolean overlapped = new AtomicBoolean();
    CopyListener listener = new CopyListener() {
      @Override
      public void chunkStarting(dev.cutover.replicator.sql.TableName table, int chunk, int chunks) {
        // The largest table goes first; hold its copy until the other worker has built an index of another table.
        if (table.toString().equals("public.event")) {
          try {
            overlapped.set(otherTableIndexed.await(20, java.util.concurrent.TimeUnit.SECONDS));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }

      @Override
      public void indexBuilt(dev.cutover.replicator.sql.TableName table, String index, long millis) {
        if (!table.toString().equals("public.event")) {
          otherTableIndexed.countDown();
        }
      }
    };
    StartReport report = db.replicator().start(options().withChunkBytes(StartOptions.AUTO_CHUNKS), new CopyProgress(), listener);
    assertThat(overlapped).as("an index of another table was built while public.event waited to copy").isTrue();
    assertThat(report.indexesBuilt()).isEqualTo(report.indexesSetAside());
    try (Connection o = db.old(); Connection n = db.nw()) {
      assertThat(indexDefinitions(n)).isEqualTo(indexDefinitions(o));
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM event")).isEqualTo(AppDatabase.count(o, "SELECT count(*) FROM event"));
    }
  }

  @Test
  void start_moreJobsThanTables_copiesAndBuildsEverything(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "manyjobs");
    StartReport report = db.replicator().start(options().withJobs(24).withChunkBytes(StartOptions.AUTO_CHUNKS), new CopyProgress(), CopyListener.NONE);
    assertThat(report.tables().size()).isLessThan(24);
    try (Connection o = db.old(); Connection n = db.nw()) {
      for (String t : AppDatabase.TABLES) {
        assertThat(AppDatabase.count(n, "SELECT count(*) FROM " + t)).as(t).isEqualTo(AppDatabase.count(o, "SELECT count(*) FROM " + t));
      }
      assertThat(indexDefinitions(n)).isEqualTo(indexDefinitions(o));
    }
  }

  @Test
  void start_rowsWrittenOnNewDuringTheCopy_failsAndRemovesNoRow(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "intruder");
    CopyListener intruder = new CopyListener() {
      @Override
      public void chunkStarting(dev.cutover.replicator.sql.TableName table, int chunk, int chunks) {
        if (table.toString().equals("public.audit_log")) {
          try (Connection n = db.nw()) {
            AppDatabase.execute(n, "INSERT INTO audit_log (message) VALUES ('written on new by someone else')");
          } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
          }
        }
      }
    };
    Replicator r = db.replicator();
    assertThatThrownBy(() -> r.start(options(), new CopyProgress(), intruder))
        .isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
          assertThat(e.getMessage()).contains("public.audit_log on new got rows from elsewhere");
          assertThat(e.remedy()).contains("stop what writes to new");
        });
    try (Connection o = db.old(); Connection n = db.nw()) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM audit_log WHERE message = 'written on new by someone else'")).isOne();
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()")).as("the slot is gone").isZero();
      assertThat(indexDefinitions(n)).as("indexes set aside are back").isEqualTo(indexDefinitions(o));
    }
  }

  /** Index name → definition, with the schema qualification removed. */
  static Map<String, String> indexDefinitions(Connection c) throws Exception {
    return AppDatabase.strings(c, "SELECT indexrelid::regclass::text || '|' || pg_get_indexdef(indexrelid) FROM pg_index"
        + " WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)").stream()
        .collect(Collectors.toMap(s -> s.substring(0, s.indexOf('|')), s -> s.substring(s.indexOf('|') + 1).replace("public.", ""),
            (a, b) -> a, TreeMap::new));
  }

  @Test
  void check_tableWithoutKey_flaggedWithRemedy(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "check");
    CheckReport report = db.replicator().check();
    assertThat(report.findings()).filteredOn(f -> f.code().equals("table-without-key"))
        .singleElement()
        .satisfies(f -> {
          assertThat(f.severity()).isEqualTo(Finding.Severity.ERROR);
          assertThat(f.message()).contains("public.audit_log");
          assertThat(f.remedy()).contains("add a primary key").contains("ALTER TABLE \"public\".\"audit_log\" REPLICA IDENTITY FULL");
        });
    assertThat(report.findings()).filteredOn(f -> f.code().equals("sequences")).isNotEmpty();
    assertThat(report.findings()).filteredOn(f -> f.code().equals("missing-table") || f.code().equals("column-type")).isEmpty();
  }

  /**
   * A table whose only key is a DEFERRABLE primary key has no replica identity: PostgreSQL takes
   * none from a deferrable index, so once published, UPDATE and DELETE on it fail on old. Check
   * names it as a table without a key, saying why, start refuses it as such, and gives it REPLICA
   * IDENTITY FULL when told to, after which the application's UPDATE and DELETE work on old and
   * arrive. Before, both took the deferrable key for one, and the first UPDATE after start failed
   * on old with {@code cannot update table "ledger" because it does not have a replica identity
   * and publishes updates}.
   */
  @Test
  void start_tableWhoseOnlyKeyIsDeferrable_refusedAsWithoutKeyUntilGivenReplicaIdentityFull(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "deferrable");
    for (Connection c : List.of(db.old(), db.nw())) {
      try (c) {
        AppDatabase.execute(c, "CREATE TABLE ledger (id int PRIMARY KEY DEFERRABLE INITIALLY IMMEDIATE, note text)");
      }
    }
    try (Connection o = db.old()) {
      AppDatabase.execute(o, "INSERT INTO ledger SELECT g, 'n' || g FROM generate_series(1, 5) g");
    }
    Replicator r = db.replicator();
    assertThat(r.check().findings()).filteredOn(f -> f.code().equals("table-without-key") && f.message().contains("public.ledger"))
        .singleElement().satisfies(f -> {
          assertThat(f.severity()).isEqualTo(Finding.Severity.ERROR);
          assertThat(f.message()).contains("DEFERRABLE");
          assertThat(f.remedy()).contains("ALTER TABLE \"public\".\"ledger\" REPLICA IDENTITY FULL");
        });
    StartOptions auditOnly = options().withKeyless(KeylessTables.full(java.util.Set.of(new dev.cutover.replicator.sql.TableName("public", "audit_log"))));
    assertThatThrownBy(() -> r.start(auditOnly, new CopyProgress(), CopyListener.NONE))
        .isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
          assertThat(e.getMessage()).contains("public.ledger").contains("DEFERRABLE").doesNotContain("audit_log");
        });
    start(r);
    try (Connection o = db.old(); Connection n = db.nw()) {
      AppDatabase.execute(o, "UPDATE ledger SET id = CASE id WHEN 1 THEN 2 WHEN 2 THEN 1 END, note = note || '!' WHERE id IN (1, 2)");
      AppDatabase.execute(o, "DELETE FROM ledger WHERE id = 5");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(AppDatabase.strings(n, "SELECT id || note FROM ledger ORDER BY id")).containsExactly("1n2!", "2n1!", "3n3", "4n4");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * Old's clock steps back while forward's apply is stalled (a row lock on the heartbeat row on new):
   * old's newest beat is older, by old's clock, than the one that reached new before the step, and
   * five beats further on. The rows are written here as the step leaves them: new's copy of old's
   * beat an hour ahead. Status said "0 ms by heartbeat" while nothing was applied (the difference
   * clamped at 0; r18 under libfaketime); it says the clock stepped back, how many beats new is
   * behind, and that the direction is catching up.
   */
  @Test
  void status_sourceClockSteppedBackWhileStalled_saysBeatsBehindRatherThanNoLag(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "stepback");
    Replicator r = db.replicator();
    start(r);
    try (Connection o = db.old(); Connection n = db.nw(); Connection lock = db.nw()) {
      Heartbeat.beat(o, Side.OLD);
      r.awaitCaughtUp(CATCH_UP);
      AppDatabase.execute(n, "UPDATE cutover.replication_heartbeat SET beat_at = beat_at + interval '1 hour' WHERE origin = 'old'");
      lock.setAutoCommit(false);
      AppDatabase.execute(lock, "SELECT * FROM cutover.replication_heartbeat FOR UPDATE");
      for (int i = 0; i < 5; i++) {
        Heartbeat.beat(o, Side.OLD);
      }
      StatusReport.Direction f = r.status().forward();
      assertThat(f.heartbeatLagMillis()).as("lag by heartbeat (unknown, not 0), %s", f.problems()).isNull();
      assertThat(f.problems()).anyMatch(p -> p.contains("old's clock stepped back") && p.contains("new is 5 beat(s) behind"));
      assertThat(f.state()).isEqualTo("catching-up");
      lock.rollback();
    }
  }

  /**
   * New's database reads arrays the legacy way and xml as documents only (ALTER DATABASE SET
   * array_nulls = off, xmloption = document): the subscription's apply worker, which PostgreSQL
   * starts with the database's settings, would read an array's NULL element as the text NULL (and
   * stop at an int[]) and stop at an xml fragment. Check and start refuse, naming the remedy for
   * the replicator's role alone; with it, arrays and fragments arrive unchanged though the database
   * keeps its settings. The same on old: check warns, and the way back is refused.
   */
  @Test
  void start_newReadsArraysAndXmlTheLegacyWay_refusedUntilTheRoleReadsThemTheStandardWay(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "legacy");
    String legacy = "ALTER DATABASE " + Sql.ident(db.name) + " SET array_nulls = off; ALTER DATABASE " + Sql.ident(db.name)
        + " SET xmloption = document";
    try (Connection o = db.old(); Connection n = db.nw()) {
      AppDatabase.execute(n, legacy + "; ALTER DATABASE " + Sql.ident(db.name) + " SET standard_conforming_strings = off");
      for (Connection c : List.of(n, o)) {
        AppDatabase.execute(c, "CREATE TABLE memo (id int PRIMARY KEY, body xml)");
      }
      AppDatabase.execute(o, "UPDATE orders SET tags = ARRAY['a\\b', NULL] WHERE customer <= 10; INSERT INTO memo VALUES (1, '<a/>')");
    }
    Replicator r = db.replicator();
    String role = "ALTER ROLE " + Sql.ident(pair.newServer().user()) + " IN DATABASE " + Sql.ident(db.name);
    assertThat(r.check().findings()).filteredOn(f -> f.code().equals("array-nulls") || f.code().equals("xmloption")).hasSize(2)
        .allSatisfy(f -> {
          assertThat(f.severity()).isEqualTo(Finding.Severity.ERROR);
          assertThat(f.side()).isEqualTo("new");
        })
        .anySatisfy(f -> assertThat(f.remedy()).contains(role + " SET array_nulls = on"))
        .anySatisfy(f -> assertThat(f.remedy()).contains(role + " SET xmloption = content"));
    assertThatThrownBy(() -> start(r)).isInstanceOf(ReplicatorException.class).hasMessageContaining("array_nulls is off")
        .hasMessageContaining("xmloption is document").hasMessageContaining("start changed nothing");
    try (Connection n = db.nw()) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid"
          + " WHERE d.datname = current_database()")).isZero();
      AppDatabase.execute(n, role + " SET array_nulls = on; " + role + " SET xmloption = content");
    }
    start(r);
    try (Connection o = db.old()) {
      AppDatabase.execute(o, "UPDATE orders SET tags = ARRAY['c\\d', NULL] WHERE customer BETWEEN 11 AND 20");
      AppDatabase.execute(o, "UPDATE event SET scores = ARRAY[NULL, 1], note = 'x\\y' || id WHERE id <= 10");
      AppDatabase.execute(o, "INSERT INTO memo VALUES (2, '<a/><b/>'), (3, 'text and <c/>')");
      AppDatabase.execute(o, legacy);
    }
    r.awaitCaughtUp(CATCH_UP);
    VerifyReport report = r.verify(Verifier.Options.defaults());
    assertThat(report.differences()).as("%s", report).isZero();
    try (Connection n = db.nw()) {
      AppDatabase.execute(n, "SET array_nulls = on; SET standard_conforming_strings = on; SET xmloption = content");
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM orders WHERE tags[2] IS NULL AND tags[1] IN ('a\\b', 'c\\d')"))
          .isEqualTo(AppDatabase.count(n, "SELECT count(*) FROM orders WHERE customer <= 20")).isPositive();
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM event WHERE scores[1] IS NULL AND note LIKE 'x\\\\y%'")).isEqualTo(10);
      assertThat(AppDatabase.strings(n, "SELECT body::text FROM memo ORDER BY id")).containsExactly("<a/>", "<a/><b/>", "text and <c/>");
    }
    assertThat(r.check().findings()).filteredOn(f -> f.code().equals("array-nulls") || f.code().equals("xmloption")).hasSize(2)
        .allSatisfy(f -> {
          assertThat(f.severity()).isEqualTo(Finding.Severity.WARNING);
          assertThat(f.side()).isEqualTo("old");
        });
    assertThatThrownBy(r::prepareReverse).isInstanceOf(ReplicatorException.class).hasMessageContaining("old: array_nulls is off")
        .hasMessageContaining("old: xmloption is document").hasMessageContaining("reverse --prepare changed nothing");
  }

  /**
   * Both databases read-only by default (an operator keeps the application off new until the
   * switch) and SERIALIZABLE by default (as some teams run every database), by ALTER DATABASE SET:
   * start copies and the subscription applies what old's application writes after, and the
   * replicator's own sessions write and run READ COMMITTED. Before, start stopped at its first
   * write on new.
   */
  @Test
  void start_databasesReadOnlyAndSerializableByDefault_copiesAndApplies(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "defaults");
    for (Connection c : List.of(db.old(), db.nw())) {
      try (c) {
        String alter = "ALTER DATABASE " + Sql.ident(db.name) + " SET ";
        AppDatabase.execute(c, alter + "default_transaction_read_only = on; " + alter + "default_transaction_isolation = serializable");
      }
    }
    try (Connection n = db.nw(); Connection session = Endpoint.of(Side.NEW, pair.newServer().jdbcUrl(db.name), pair.newServer().user(),
        pair.newServer().password()).connect()) {
      assertThatThrownBy(() -> AppDatabase.execute(n, "DELETE FROM audit_log")).hasMessageContaining("read-only transaction");
      assertThat(AppDatabase.strings(session, "SHOW transaction_isolation")).as("a replicator session").containsExactly("read committed");
    }
    Replicator r = db.replicator();
    start(r);
    try (Connection o = db.old()) {
      AppDatabase.execute(o, "SET default_transaction_read_only = off");
      AppDatabase.execute(o, "INSERT INTO audit_log (message) SELECT 'after start ' || g FROM generate_series(1, 100) g");
    }
    r.awaitCaughtUp(CATCH_UP);
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
    try (Connection n = db.nw()) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM audit_log WHERE message LIKE 'after start %'")).isEqualTo(100);
    }
  }

  /**
   * A transaction prepared for two-phase commit on old (as an XA transaction manager leaves one, and
   * an idle transaction would do the same) holds a table without a key, which start must give
   * REPLICA IDENTITY FULL: start's ALTER TABLE waits for it 200 ms at a time, so the application
   * goes on reading and writing that table meanwhile; once the transaction ends, start completes.
   * Before, the ALTER TABLE waited in the lock queue for as long as the transaction lasted, and
   * every query of the table waited behind it.
   */
  @Test
  void start_preparedTransactionHoldsAKeylessTable_applicationKeepsUsingItWhileStartWaits(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "held");
    try (Connection o = db.old()) {
      AppDatabase.execute(o, "BEGIN; INSERT INTO audit_log (message) VALUES ('prepared'); PREPARE TRANSACTION 'held-1'");
    }
    Replicator r = db.replicator();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread starting = new Thread(() -> {
      try {
        start(r);
      } catch (Throwable t) {
        failure.set(t);
      }
    }, "starting");
    try (Connection o = db.old()) {
      starting.start();
      await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(5)).until(() -> AppDatabase.count(o, "SELECT count(*) FROM pg_locks"
          + " WHERE relation = 'audit_log'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted") > 0);
      AppDatabase.execute(o, "SET statement_timeout = '3s'");
      for (int i = 1; i <= 5; i++) {
        AppDatabase.execute(o, "INSERT INTO audit_log (message) VALUES ('while start waits " + i + "')");
        assertThat(AppDatabase.count(o, "SELECT count(*) FROM audit_log WHERE message LIKE 'while start waits %'")).isEqualTo(i);
      }
    } finally {
      try (Connection o = db.old()) {
        AppDatabase.execute(o, "COMMIT PREPARED 'held-1'");
      }
      starting.join();
    }
    assertThat(failure.get()).isNull();
    r.awaitCaughtUp(CATCH_UP);
    try (Connection n = db.nw()) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM audit_log WHERE message = 'prepared' OR message LIKE 'while start waits %'"))
          .isEqualTo(6);
    }
  }

  /**
   * A transaction prepared for two-phase commit and left in another database of old's server:
   * creating the replication slot waits for it (its snapshot must see every transaction then
   * running end), so start gives up after its slot wait, naming the transaction and how to end
   * it; once it is ended, start runs again and completes. Before, start waited for as long as the
   * transaction stayed, without a word.
   */
  @Test
  void start_preparedTransactionLeftInAnotherDatabase_givesUpNamingItAfterTheSlotWait(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "slotwait");
    String other = pair.oldServer().createDatabase(db.name + "_other");
    String gid = "left-" + db.name;
    try (Connection c = pair.oldServer().connect(other)) {
      AppDatabase.execute(c, "CREATE TABLE t (x int); BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION '" + gid + "'");
    }
    Replicator r = db.replicator();
    try {
      ReplicatorException refused = catchThrowableOfType(ReplicatorException.class,
          () -> r.start(options().withSlotWait(Duration.ofSeconds(3)), new CopyProgress(), CopyListener.NONE));
      assertThat(refused).isNotNull();
      assertThat(refused.failure()).isEqualTo(Failure.TIMEOUT);
      assertThat(refused.oneLine()).contains("waited 3 s for prepared transaction '" + gid + "' of role " + pair.oldServer().user()
          + " in database " + other).contains("COMMIT PREPARED or ROLLBACK PREPARED").contains("--slot-wait");
    } finally {
      try (Connection c = pair.oldServer().connect(other)) {
        AppDatabase.execute(c, "COMMIT PREPARED '" + gid + "'");
      }
    }
    start(r);
    try (Connection o = db.old()) {
      AppDatabase.execute(o, "INSERT INTO audit_log (message) VALUES ('after the slot')");
    }
    r.awaitCaughtUp(CATCH_UP);
    try (Connection n = db.nw()) {
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM audit_log WHERE message = 'after the slot'")).isOne();
    }
  }

  /**
   * Old's synchronous_standby_names is {@code *}, as HA setups that accept any standby have it:
   * the subscription's walsender would be taken for a synchronous standby, so old's commits would
   * wait for new's apply, and for ever while the subscription is stopped or new is down (seen by
   * hand: an INSERT on old that never returned once the subscription was disabled). check names it
   * and start refuses before it makes anything. The same on new, the source of the way back: check
   * warns and reverse --prepare refuses.
   */
  @Test
  void start_oldTakesAnyStandbyForSynchronous_checkNamesItAndStartRefuses(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "syncstar");
    Replicator r = db.replicator();
    try {
      reloadSetting(pair.oldServer(), "ALTER SYSTEM SET synchronous_standby_names = '*'", "*");
      assertThat(r.check().findings()).filteredOn(f -> f.code().equals("synchronous-standby")).singleElement().satisfies(f -> {
        assertThat(f.severity()).isEqualTo(Finding.Severity.ERROR);
        assertThat(f.side()).isEqualTo("old");
        assertThat(f.message()).contains("synchronous_standby_names = '*'").contains("wait without end");
        assertThat(f.remedy()).contains("FIRST 1 (standby_a, standby_b)");
      });
      ReplicatorException refused = catchThrowableOfType(ReplicatorException.class, () -> start(r));
      assertThat(refused).isNotNull();
      assertThat(refused.oneLine()).contains("synchronous_standby_names = '*'").contains("start changed nothing");
      try (Connection n = db.nw()) {
        assertThat(AppDatabase.count(n, "SELECT count(*) FROM pg_subscription WHERE subname LIKE 'cutover_fwd_syncstar%'"))
            .as("no subscription").isZero();
      }
    } finally {
      reloadSetting(pair.oldServer(), "ALTER SYSTEM RESET synchronous_standby_names", "");
    }
    // The same on new, the source of the way back, where the application runs after the switch.
    start(r);
    try {
      reloadSetting(pair.newServer(), "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby_a, *)'", "FIRST 1 (standby_a, *)");
      assertThat(r.check().findings()).filteredOn(f -> f.code().equals("synchronous-standby")).singleElement()
          .satisfies(f -> assertThat(f.side()).isEqualTo("new"));
      assertThatThrownBy(r::prepareReverse).isInstanceOf(ReplicatorException.class)
          .hasMessageContaining("new's synchronous_standby_names = 'FIRST 1 (standby_a, *)'");
    } finally {
      reloadSetting(pair.newServer(), "ALTER SYSTEM RESET synchronous_standby_names", "");
    }
  }

  /** Runs {@code alter} on {@code server} and waits until its sessions see synchronous_standby_names as {@code value}. */
  private static void reloadSetting(PostgresServer server, String alter, String value) throws Exception {
    try (Connection su = server.connect()) {
      AppDatabase.execute(su, alter);
      AppDatabase.execute(su, "SELECT pg_reload_conf()");
      await().atMost(CATCH_UP).until(() -> {
        try (Connection fresh = server.connect()) {
          return AppDatabase.strings(fresh, "SHOW synchronous_standby_names").equals(List.of(value));
        }
      });
    }
  }

  @Test
  void verify_rowChangedByHandOnNew_reportsItsKey(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "verify");
    Replicator r = db.replicator();
    start(r);
    try (Connection n = db.nw()) {
      AppDatabase.execute(n, "UPDATE customer SET email = 'changed-by-hand@example.com' WHERE id = 1234");
      AppDatabase.execute(n, "DELETE FROM event WHERE id = 777");
      AppDatabase.execute(n, "INSERT INTO audit_log (message) VALUES ('only on new')");
      AppDatabase.execute(n, "DELETE FROM audit_log WHERE message = 'seed 7'");
    }
    // Ranges of 2,000 keys: event (20,000 rows) is summed in ten ranges per side, and only the one holding id 777 narrowed.
    Verifier.Options defaults = Verifier.Options.defaults();
    VerifyReport report = r.verify(new Verifier.Options(2_000, defaults.leafRows(), defaults.maxKeysPerTable(), defaults.catchUpTimeout(),
        defaults.recheckRounds(), defaults.jobs()));
    assertThat(report.rechecked()).isTrue();
    assertThat(report.differences()).as("%s", report).isEqualTo(4);
    assertThat(table(report, "public.customer").differences())
        .containsExactly(new VerifyReport.Difference("id=1234", "different"));
    assertThat(table(report, "public.event").differences())
        .containsExactly(new VerifyReport.Difference("id=777", "missing-on-target"));
    assertThat(table(report, "public.event").ranges()).isGreaterThan(5);
    assertThat(table(report, "public.audit_log").differences()).hasSize(2)
        .anySatisfy(d -> assertThat(d.key() + " " + d.kind()).contains("only on new").contains("extra-on-target"))
        .anySatisfy(d -> assertThat(d.key() + " " + d.kind()).contains("seed 7").contains("missing-on-target"));
    assertThat(report.rowsPerSecond()).isPositive();
  }

  /**
   * Text of a nondeterministic ICU collation (case- and accent-insensitive) in every form a column
   * takes it (text, varchar, char, an array, a domain; a table each) and as the key, changed by hand
   * on new to text that the collation deems equal but that holds other characters: each row is
   * reported, and the key changed by case and accent as missing on new and extra there. Before,
   * each column was hashed under its own collation, which hashes such text by its sort key, and
   * verify said "no differences".
   */
  @Test
  void verify_textDifferingOnlyUnderANondeterministicCollation_reportsEachRow(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "verifyicu");
    Map<String, String> forms = new LinkedHashMap<>();
    forms.put("c_text", "text COLLATE ci_icu");
    forms.put("c_varchar", "varchar(20) COLLATE ci_icu");
    forms.put("c_char", "char(4) COLLATE ci_icu");
    forms.put("c_array", "text[] COLLATE ci_icu");
    forms.put("c_domain", "ci_text");
    String schema = "CREATE COLLATION ci_icu (provider = icu, locale = 'und-u-ks-level1', deterministic = false);"
        + " CREATE DOMAIN ci_text AS text COLLATE ci_icu; CREATE TABLE tags (tag text COLLATE ci_icu PRIMARY KEY, n int);"
        + forms.entrySet().stream().map(e -> " CREATE TABLE " + e.getKey() + " (id int PRIMARY KEY, v " + e.getValue() + ");")
        .collect(Collectors.joining());
    try (Connection o = db.old(); Connection n = db.nw()) {
      for (Connection c : List.of(o, n)) {
        assertThat(AppDatabase.count(c, "SELECT count(*) FROM pg_collation WHERE collprovider = 'i'")).as("ICU collations").isPositive();
        AppDatabase.execute(c, schema);
      }
      AppDatabase.execute(o, "INSERT INTO c_text VALUES (1, 'Alice@Example.com'), (2, 'x'); INSERT INTO c_varchar VALUES (1, 'Zoë'), (2, 'x');"
          + " INSERT INTO c_char VALUES (1, 'Ab'), (2, 'x'); INSERT INTO c_array VALUES (1, ARRAY['Ä', 'b']), (2, ARRAY['x']);"
          + " INSERT INTO c_domain VALUES (1, 'Nick'), (2, 'x'); INSERT INTO tags VALUES ('Café', 1), ('tea', 2)");
    }
    Replicator r = db.replicator();
    start(r);
    try (Connection n = db.nw()) {
      AppDatabase.execute(n, "UPDATE c_text SET v = 'alice@example.com' WHERE id = 1; UPDATE c_varchar SET v = 'ZOE' WHERE id = 1;"
          + " UPDATE c_char SET v = 'AB' WHERE id = 1; UPDATE c_array SET v = ARRAY['a', 'B'] WHERE id = 1;"
          + " UPDATE c_domain SET v = 'NICK' WHERE id = 1; UPDATE tags SET tag = 'CAFE' WHERE n = 1");
    }
    VerifyReport report = r.verify(Verifier.Options.defaults());
    for (String t : forms.keySet()) {
      assertThat(table(report, "public." + t).differences()).as("%s: %s", t, report).containsExactly(new VerifyReport.Difference("id=1", "different"));
    }
    assertThat(table(report, "public.tags").differences()).as("%s", report).containsExactlyInAnyOrder(
        new VerifyReport.Difference("tag=Café", "missing-on-target"), new VerifyReport.Difference("tag=CAFE", "extra-on-target"));
  }

  static VerifyReport.TableResult table(VerifyReport report, String name) {
    return report.tables().stream().filter(t -> t.table().equals(name)).findFirst().orElseThrow();
  }

  /**
   * Reviewer r14: run as a role that may not read one of old's sequences, {@code sequences} said "0
   * of 1 sequence(s) on new moved" and exited 0 while old's stood at 90000 and new's far behind.
   * Now it is refused as the switch refuses, naming the side, the sequence and the grant (exit 4).
   */
  @Test
  void sequences_roleMayNotReadASequenceOnOld_refusedNamingItAndTheGrant(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "seqhidden");
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = server.connect(db.name); java.sql.Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE seq_ops LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
            + " CREATE SEQUENCE standalone; GRANT USAGE ON SCHEMA public TO seq_ops;"
            + " GRANT SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO seq_ops; REVOKE SELECT ON SEQUENCE standalone FROM seq_ops");
      }
    }
    try (Connection o = db.old(); java.sql.Statement s = o.createStatement()) {
      s.execute("SELECT setval('standalone', 90000)");
    }
    Replicator asOps = Replicator.builder()
        .old(dev.cutover.replicator.Endpoint.of(Side.OLD, pair.oldServer().jdbcUrl(db.name), "seq_ops", null))
        .nw(dev.cutover.replicator.Endpoint.of(Side.NEW, pair.newServer().jdbcUrl(db.name), "seq_ops", null))
        .build();
    ReplicatorException e = catchThrowableOfType(ReplicatorException.class,
        () -> asOps.sequences(Side.OLD, 1000, Duration.ofSeconds(30)));
    assertThat(e).as("the move, which would leave standalone behind").isNotNull();
    assertThat(e.failure()).isEqualTo(Failure.PRIVILEGE);
    assertThat(e.getMessage()).startsWith("old: ").contains("public.standalone");
    assertThat(e.remedy()).contains("GRANT SELECT ON SEQUENCE public.standalone TO \"seq_ops\" on old");
    try (Connection n = db.nw()) {
      assertThat(AppDatabase.count(n, "SELECT last_value FROM customer_id_seq")).as("nothing moved").isEqualTo(1);
    }
  }

  /**
   * A second start of the same migration while the first copies: it failed with PostgreSQL's raw
   * "replication slot cutover_fwd_… already exists" (exit 1). Now it is refused up front (exit 5),
   * naming old and the first start's process, with nothing created or removed; so is a start of
   * another migration into the same new database, and the first completes.
   */
  @Test
  void start_secondStartWhileTheFirstCopies_refusedUpFrontNamingIt(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "twostarts");
    java.util.concurrent.CountDownLatch copying = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    CopyListener held = new CopyListener() {
      @Override
      public void chunkStarting(dev.cutover.replicator.sql.TableName table, int chunk, int chunks) {
        copying.countDown();
        try {
          release.await(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    AtomicReference<Object> first = new AtomicReference<>();
    Thread one = new Thread(() -> {
      try {
        first.set(db.replicator().start(options(), new CopyProgress(), held));
      } catch (Throwable e) {
        first.set(e);
      }
    }, "first start");
    one.start();
    try {
      assertThat(copying.await(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      ReplicatorException same = catchThrowableOfType(ReplicatorException.class, () -> start(db.replicator()));
      assertThat(same).isNotNull();
      assertThat(same.failure()).isEqualTo(Failure.PRECONDITION);
      assertThat(same.getMessage()).startsWith("old: another `cutover-replicator start` of migration twostarts").contains("runs: process ");
      assertThat(same.remedy()).contains("pg_terminate_backend(");
      Replicator other = Replicator.builder().old(db.replicator().old()).nw(db.replicator().nw()).name("other").build();
      ReplicatorException into = catchThrowableOfType(ReplicatorException.class, () -> start(other));
      assertThat(into).isNotNull();
      assertThat(into.getMessage()).startsWith("new: another `cutover-replicator start` into this database runs: process ");
    } finally {
      release.countDown();
      one.join();
    }
    assertThat(first.get()).as("the first start").isInstanceOf(StartReport.class);
    try (Connection o = db.old()) {
      AppDatabase.execute(o, "INSERT INTO audit_log (message) VALUES ('after both starts')");
    }
    db.replicator().awaitCaughtUp(CATCH_UP);
  }
}
