package dev.cutover.replicator.apply;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.capture.ChangeLog;
import dev.cutover.replicator.capture.ChangeLog.Change;
import dev.cutover.replicator.copy.TriggersOff;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A batch written with {@code session_replication_role = replica}, where updates of a table are
 * regrouped: rows updated many times in one batch end with their latest image, written once each
 * (the row's version is the first after its insert, not one per change).
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class BatchWriterTest {
  private static final long TXID = 1000;

  @Test
  void commit_hotRowsUpdatedManyTimesInOneBatch_eachWrittenOnceWithItsLatestImage(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection c = target(server, "batch_writer_hot_rows")) {
      Sql.execute(c, "CREATE TABLE counter (name text PRIMARY KEY, value bigint NOT NULL)");
      Sql.execute(c, "INSERT INTO counter VALUES ('a', 0), ('b', 0)");
      BatchWriter writer = new BatchWriter(c, "new", TriggersOff.detect(c));
      long seq = 0;
      for (int i = 1; i <= 500; i++) {
        writer.add(update(++seq, "a", i));
        writer.add(update(++seq, "b", -i));
      }

      long missing = writer.commit(m -> "SELECT 1");

      assertThat(missing).isZero();
      assertThat(Sql.strings(c, "SELECT name || '=' || value || ' at ' || ctid FROM counter ORDER BY name"))
          .as("latest images, each the row's second version (a version per change would reach other pages)")
          .satisfiesExactly(a -> assertThat(a).matches("a=500 at \\(0,[34]\\)"), b -> assertThat(b).matches("b=-500 at \\(0,[34]\\)"));
    }
  }

  @Test
  void commit_missingRowUpdatedSeveralTimesInOneRun_countsOnce(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection c = target(server, "batch_writer_missing_row")) {
      Sql.execute(c, "CREATE TABLE counter (name text PRIMARY KEY, value bigint NOT NULL)");
      Sql.execute(c, "INSERT INTO counter VALUES ('a', 0)");
      BatchWriter writer = new BatchWriter(c, "new", TriggersOff.detect(c));
      writer.add(update(1, "gone", 1));
      writer.add(update(2, "a", 1));
      writer.add(update(3, "gone", 2));
      writer.add(update(4, "gone", 3));

      long missing = writer.commit(m -> "SELECT 1");

      assertThat(missing).isEqualTo(1);
      assertThat(Sql.strings(c, "SELECT name || '=' || value FROM counter")).containsExactly("a=1");
    }
  }

  @Test
  void commit_keyWithANondeterministicCollationUpdatedUnderTwoSpellings_latestImageWins(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection c = target(server, "batch_writer_collation")) {
      Sql.execute(c, "CREATE COLLATION any_case (provider = icu, locale = 'und-u-ks-level2', deterministic = false)");
      Sql.execute(c, "CREATE TABLE counter (name text COLLATE any_case PRIMARY KEY, value bigint NOT NULL)");
      Sql.execute(c, "INSERT INTO counter VALUES ('A', 0)");
      BatchWriter writer = new BatchWriter(c, "new", TriggersOff.detect(c));
      // One row on the source, its key rewritten in another case: equal keys there, so no key change was logged.
      writer.add(update(1, "A", 1));
      writer.add(update(2, "a", 2));
      writer.add(update(3, "a", 3));
      writer.add(update(4, "A", 4));

      long missing = writer.commit(m -> "SELECT 1");

      assertThat(missing).isZero();
      assertThat(Sql.strings(c, "SELECT name || '=' || value FROM counter")).containsExactly("A=4");
    }
  }

  /**
   * Rows as trigger capture and the relay log them where a json column holds the JSON null: named
   * in their last member. A NOT NULL domain over jsonb takes it too, and a DELETE by key of such a
   * table reads the key alone (populating the table's row type from it failed on the domain).
   */
  @Test
  void commit_jsonNullsNamedByTheirChange_writtenAsJsonNullNotSqlNull(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection c = target(server, "batch_writer_json_null")) {
      Sql.execute(c, "CREATE DOMAIN settings AS jsonb NOT NULL;"
          + " CREATE TABLE doc (id int PRIMARY KEY, j json, jb jsonb, s settings);"
          + " CREATE TABLE loose (j jsonb, n int)");
      Sql.execute(c, "INSERT INTO doc VALUES (9, NULL, NULL, '{}'); INSERT INTO loose VALUES (NULL, 1), ('null', 1), (NULL, 1)");
      BatchWriter writer = new BatchWriter(c, "new", TriggersOff.detect(c));
      writer.add(new Change(1, TXID, "public", "doc", 'I', "{\"id\":\"1\",\"j\":null,\"jb\":null,\"s\":null,"
          + marks("j", "jb", "s") + "}", null));
      writer.add(new Change(2, TXID, "public", "doc", 'I', "{\"id\":\"2\",\"j\":null,\"jb\":null,\"s\":{\"a\":1}}", null));
      writer.add(new Change(3, TXID, "public", "doc", 'I', "{\"id\":\"3\",\"j\":[null],\"jb\":null,\"s\":null," + marks("s") + "}",
          null));
      writer.add(new Change(4, TXID, "public", "doc", 'U', "{\"id\":\"2\",\"j\":null,\"jb\":null,\"s\":null," + marks("jb", "s") + "}",
          null));
      writer.add(new Change(5, TXID, "public", "doc", 'D', null, "{\"id\":\"9\"}"));
      writer.add(new Change(6, TXID, "public", "loose", 'D', null, "{\"j\":null,\"n\":\"1\"," + marks("j") + "}"));

      long missing = writer.commit(m -> "SELECT 1");

      assertThat(missing).isZero();
      assertThat(Sql.strings(c, "SELECT id || ': ' || coalesce(j::text, 'SQL NULL') || ', ' || coalesce(jb::text, 'SQL NULL') || ', ' || s"
          + " FROM doc ORDER BY id")).containsExactly("1: null, null, null", "2: SQL NULL, null, null", "3: [null], SQL NULL, null");
      assertThat(Sql.strings(c, "SELECT coalesce(j::text, 'SQL NULL') FROM loose")).as("the JSON null row deleted, not a SQL NULL one")
          .containsExactly("SQL NULL", "SQL NULL");
    }
  }

  /**
   * Tables whose names are the aliases the writer's statements give their rows ({@code r},
   * {@code o}, {@code m}, {@code t}), with a key and without: a FROM item of the target's own name
   * was "specified more than once", so every update or delete of such a table failed, for ever.
   */
  @Test
  void commit_tablesNamedLikeTheStatementsAliases_updatesAndDeletesApply(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    String[] names = {"r", "o", "m", "t"};
    try (Connection c = target(server, "batch_writer_aliases")) {
      Sql.execute(c, "CREATE SCHEMA keyless");
      for (String t : names) {
        Sql.execute(c, "CREATE TABLE public." + t + " (id int PRIMARY KEY, v int); CREATE TABLE keyless." + t + " (id int, v int)");
      }
      BatchWriter writer = new BatchWriter(c, "new", TriggersOff.detect(c));
      long seq = 0;
      for (String schema : new String[] {"public", "keyless"}) {
        for (String t : names) {
          for (int id = 1; id <= 4; id++) {
            writer.add(new Change(++seq, TXID, schema, t, 'I', "{\"id\":" + id + ",\"v\":0}", null));
          }
          boolean keyed = schema.equals("public");
          writer.add(new Change(++seq, TXID + 1, schema, t, 'U', "{\"id\":1,\"v\":1}", keyed ? null : "{\"id\":1,\"v\":0}"));
          writer.add(new Change(++seq, TXID + 1, schema, t, 'U', "{\"id\":2,\"v\":2}", keyed ? null : "{\"id\":2,\"v\":0}"));
          writer.add(new Change(++seq, TXID + 1, schema, t, 'U', "{\"id\":30,\"v\":3}", keyed ? "{\"id\":3}" : "{\"id\":3,\"v\":0}"));
          writer.add(new Change(++seq, TXID + 1, schema, t, 'D', null, keyed ? "{\"id\":4}" : "{\"id\":4,\"v\":0}"));
          writer.add(new Change(++seq, TXID + 1, schema, t, 'D', null, keyed ? "{\"id\":2}" : "{\"id\":2,\"v\":2}"));
        }
      }

      long missing = writer.commit(m -> "SELECT 1");

      assertThat(missing).isZero();
      for (String schema : new String[] {"public", "keyless"}) {
        for (String t : names) {
          assertThat(Sql.strings(c, "SELECT id || '=' || v FROM " + schema + "." + t + " ORDER BY id")).as(schema + "." + t)
              .containsExactly("1=1", "30=3");
        }
      }
    }
  }

  /**
   * A table without a key that is partitioned on the target (old's plain table split on new): a
   * row is found by its ctid, and each partition has a row at the first ctid. Only the row whose
   * text matches is changed, not every partition's row at the same place.
   */
  @Test
  void commit_keylessTablePartitionedOnTheTarget_changesOnlyTheMatchingPartitionsRow(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection c = target(server, "batch_writer_partitioned_keyless")) {
      Sql.execute(c, "CREATE TABLE event (region text, n int) PARTITION BY LIST (region);"
          + " CREATE TABLE event_eu PARTITION OF event FOR VALUES IN ('eu'); CREATE TABLE event_us PARTITION OF event FOR VALUES IN ('us');"
          + " INSERT INTO event VALUES ('eu', 1), ('us', 1), ('eu', 2), ('us', 2)");
      BatchWriter writer = new BatchWriter(c, "new", TriggersOff.detect(c));
      writer.add(new Change(1, TXID, "public", "event", 'U', "{\"region\":\"us\",\"n\":10}", "{\"region\":\"us\",\"n\":1}"));
      writer.add(new Change(2, TXID, "public", "event", 'D', null, "{\"region\":\"eu\",\"n\":2}"));

      long missing = writer.commit(m -> "SELECT 1");

      assertThat(missing).isZero();
      assertThat(Sql.strings(c, "SELECT region || ' ' || n FROM event ORDER BY 1")).containsExactly("eu 1", "us 10", "us 2");
    }
  }

  /**
   * A logged row whose JSON the target's JSON functions refuse whatever the columns' types (here a
   * json value holding the escape of NUL embedded as JSON, which the capture should have carried as
   * text, and new's json column accepts): the failure says so rather than blaming new's column
   * types and sending the operator to change them.
   */
  @Test
  void commit_changeWhoseJsonNoColumnTypeCouldRead_saysTheJsonItselfIsRefused(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection c = target(server, "batch_writer_unparsable")) {
      Sql.execute(c, "CREATE TABLE jt (id int PRIMARY KEY, j json)");
      Sql.execute(c, "INSERT INTO jt VALUES (1, '{\"a\": \"x\\u0000y\"}')");
      BatchWriter writer = new BatchWriter(c, "new", TriggersOff.detect(c));
      writer.add(new Change(263, TXID, "public", "jt", 'I', "{\"id\":2,\"j\":{\"a\": \"x\\u0000y\"}}", null));

      ReplicatorException e = org.junit.jupiter.api.Assertions.assertThrows(ReplicatorException.class, () -> writer.commit(m -> "SELECT 1"));
      writer.abandon(e);

      assertThat(e.getMessage()).contains("change 263 (INSERT public.jt)").contains("unsupported Unicode escape sequence")
          .contains("whatever the columns' types").doesNotContain("column types cannot read").contains("retrying cannot help");
      assertThat(e.remedy()).doesNotContain("change it on new").contains("public.jt");
    }
  }

  /**
   * A logged row that new's types cannot read (a data exception, 22xxx, while json_to_record reads
   * the change's JSON: here a string holding \u0000, which text cannot hold): every retry fails the
   * same way, so the failure names the change and its table and says that retrying cannot help,
   * rather than sending the operator to fix new and promising that the retries lose nothing.
   */
  @Test
  void commit_changeWhoseJsonNewsTypesCannotRead_namesTheChangeAndSaysRetryingCannotHelp(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    try (Connection c = target(server, "batch_writer_unreadable")) {
      Sql.execute(c, "CREATE TABLE nos (id int PRIMARY KEY, t text); CREATE TABLE other (id int PRIMARY KEY)");
      BatchWriter writer = new BatchWriter(c, "new", TriggersOff.detect(c));
      writer.add(new Change(260, TXID, "public", "other", 'I', "{\"id\":1}", null));
      writer.add(new Change(261, TXID, "public", "nos", 'I', "{\"id\":2,\"t\":\"a\\u0000b\"}", null));
      writer.add(new Change(262, TXID, "public", "other", 'I', "{\"id\":2}", null));

      ReplicatorException e = org.junit.jupiter.api.Assertions.assertThrows(ReplicatorException.class, () -> writer.commit(m -> "SELECT 1"));
      writer.abandon(e);

      assertThat(e.getMessage()).contains("change 261 (INSERT public.nos)").contains("unsupported Unicode escape sequence")
          .contains("retrying cannot help");
      assertThat(e.remedy()).doesNotContain("fix the cause on new").contains("public.nos");
      assertThat(new ApplyFailures.Failed(e.oneLine(), java.time.Instant.EPOCH, java.time.Instant.EPOCH, true).describe("new"))
          .doesNotContain("loses nothing");
      assertThat(Sql.strings(c, "SELECT count(*)::text FROM other")).as("the batch rolled back whole").containsExactly("0");
    }
  }

  /**
   * One source transaction far larger than what the writer may hold (here 4,000 rows of 4 KB, with
   * room for 256 KB): the writer sends it to the target in pieces as it goes, holding no more than
   * about twice its room unsent at any time, and the rows still arrive in one transaction of the
   * target, invisible there until the batch commits. Held until the batch's end (500 statements of
   * 1,000 rows), such a transaction ran the apply out of memory at every try, for ever.
   */
  @Test
  void add_transactionLargerThanTheWritersRoom_sentInPiecesAndCommittedAsOneTransaction(PostgresPair pair) throws Exception {
    PostgresServer server = pair.newServer();
    int room = 256 * 1024;
    try (Connection c = target(server, "batch_writer_large_transaction"); Connection reader = server.connect("batch_writer_large_transaction")) {
      Sql.execute(c, "CREATE TABLE wide (id int PRIMARY KEY, t text)");
      BatchWriter writer = new BatchWriter(c, "new", TriggersOff.detect(c), null, null, room);
      String text = "x".repeat(4096);
      long most = 0;
      for (int id = 1; id <= 4000; id++) {
        writer.add(new Change(id, TXID, "public", "wide", 'I', "{\"id\":" + id + ",\"t\":\"" + text + "\"}", null));
        most = Math.max(most, writer.unsentChars());
      }

      assertThat(most).as("characters held unsent at most, of about 16 MB in the batch").isLessThanOrEqualTo(2L * room);
      assertThat(Sql.strings(reader, "SELECT count(*)::text FROM wide")).as("nothing visible before the commit").containsExactly("0");
      writer.commit(m -> "SELECT 1");
      assertThat(Sql.strings(c, "SELECT count(*) || ' rows in ' || count(DISTINCT xmin::text) || ' transaction(s)' FROM wide"))
          .containsExactly("4000 rows in 1 transaction(s)");
    }
  }

  private static String marks(String... columns) {
    return "\"" + ChangeLog.JSON_NULLS + "\":[" + java.util.Arrays.stream(columns).map(col -> "\"" + col + "\"")
        .collect(java.util.stream.Collectors.joining(",")) + "]";
  }

  private static Change update(long seq, String name, long value) {
    return new Change(seq, TXID, "public", "counter", 'U', "{\"name\":\"" + name + "\",\"value\":" + value + "}", null);
  }

  /** A database to apply into, with the control schema's schema, where an apply keeps its token. */
  static Connection target(PostgresServer server, String name) throws java.sql.SQLException {
    Connection c = server.connect(server.createDatabase(name));
    Sql.execute(c, "CREATE SCHEMA cutover");
    return c;
  }
}
