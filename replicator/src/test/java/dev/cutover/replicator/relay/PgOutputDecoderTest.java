package dev.cutover.replicator.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.capture.ChangeLog;
import dev.cutover.replicator.capture.ChangeLog.Change;
import dev.cutover.replicator.relay.PgOutputDecoder.Begin;
import dev.cutover.replicator.relay.PgOutputDecoder.Changes;
import dev.cutover.replicator.relay.PgOutputDecoder.Commit;
import dev.cutover.replicator.relay.PgOutputDecoder.Event;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.replication.LogSequenceNumber;

/**
 * {@link SlotStream} and {@link PgOutputDecoder} against a real slot on the old server: every
 * decoded row, given to {@code json_populate_record} on the source, is the row the change left;
 * old keys hold what the apply finds the row by; confirming moves the slot and a restart from
 * there resends nothing before it.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class PgOutputDecoderTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Quotes, backslashes, control characters and characters outside ASCII (two of them outside the BMP). */
  private static final String TRICKY = "it's \"quoted\" \\back\\slash\t tab\nnewline é 日本 😀 𝄞";
  /** A json value whose text jsonb would not keep: spacing and a repeated key. */
  private static final String JSON_TEXT = "{\"b\": 1,  \"a\" : [1, 2.50], \"b\": 2}";
  private static final String SCHEMA = "CREATE DOMAIN doc AS jsonb;"
      + " CREATE DOMAIN doc_of_doc AS doc;"
      + " CREATE TABLE item (id int PRIMARY KEY, name text, amount numeric, active boolean, at timestamptz, j json, jb jsonb,"
      + " tags int[], d doc_of_doc, big text, note text);"
      // Stored out of line uncompressed, so that an UPDATE of another column leaves it an unchanged TOASTed value.
      + " ALTER TABLE item ALTER big SET STORAGE EXTERNAL;"
      + " CREATE TABLE keyless (a int, b text);"
      + " ALTER TABLE keyless REPLICA IDENTITY FULL;"
      + " CREATE TABLE rekeyed (k1 int, k2 text, v text, PRIMARY KEY (k1, k2))";

  @Test
  void decode_changesOfFourTransactions_rowsRoundTripAndOldKeysHoldTheIdentity(PostgresPair pair) throws Exception {
    Instant started = Instant.now();
    try (Source s = Source.create(pair.oldServer(), "relay_decode", SCHEMA, "relay_pub")) {
      Connection c = s.connection;
      c.setAutoCommit(false);

      long x1 = xid(c);
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO item VALUES (1, ?, 12345678901234567890.123456789, true,"
          + " '2024-02-29 12:34:56.789+05:30', ?::json, ?::jsonb, '{1,NULL,3}', ?::jsonb, repeat('x', 10000), 'first')")) {
        ps.setString(1, TRICKY);
        ps.setString(2, JSON_TEXT);
        ps.setString(3, JSON.writeValueAsString(Map.of("z", Map.of("y", TRICKY))));
        ps.setString(4, "{\"deep\": [true, null, 1.5]}");
        ps.executeUpdate();
      }
      String item1 = row(c, "item", "id = 1");
      Sql.execute(c, "INSERT INTO item (id) VALUES (2)");
      String item2 = row(c, "item", "id = 2");
      Sql.execute(c, "INSERT INTO keyless VALUES (1, 'a'), (2, 'b')");
      Sql.execute(c, "INSERT INTO rekeyed VALUES (1, 'a', 'v')");
      String rekeyed1 = row(c, "rekeyed", "k1 = 1");
      c.commit();

      long x2 = xid(c);
      Sql.execute(c, "UPDATE item SET note = 'changed' WHERE id = 1");
      String item1Updated = row(c, "item", "id = 1");
      Sql.execute(c, "UPDATE item SET name = 'two', amount = 2.50 WHERE id = 2");
      String item2Updated = row(c, "item", "id = 2");
      Sql.execute(c, "UPDATE rekeyed SET k2 = 'b' WHERE k1 = 1");
      String rekeyed1Updated = row(c, "rekeyed", "k1 = 1");
      String keyless2 = row(c, "keyless", "a = 2");
      Sql.execute(c, "UPDATE keyless SET b = 'bb' WHERE a = 2");
      String keyless2Updated = row(c, "keyless", "a = 2");
      c.commit();

      long x3 = xid(c);
      Sql.execute(c, "DELETE FROM item WHERE id = 2");
      Sql.execute(c, "DELETE FROM keyless WHERE a = 1");
      c.commit();

      long x4 = xid(c);
      Sql.execute(c, "TRUNCATE keyless, rekeyed");
      c.commit();
      c.setAutoCommit(true);

      List<Tx> txs;
      try (SlotStream stream = s.open(LogSequenceNumber.INVALID_LSN)) {
        txs = new Reader(stream, new PgOutputDecoder(JsonTypes.catalogOf(c))).until(4);
      }

      assertThat(txs).extracting(tx -> tx.begin().xid()).containsExactly(x1, x2, x3, x4);
      for (Tx tx : txs) {
        assertThat(tx.begin().finalLsn()).isEqualTo(tx.commit().commitLsn());
        assertThat(tx.commit().endLsn().asLong()).isGreaterThan(tx.commit().commitLsn().asLong());
        assertThat(tx.begin().commitTime()).isEqualTo(tx.commit().commitTime())
            .isBetween(started.minusSeconds(60), Instant.now().plusSeconds(60));
        assertThat(tx.changes()).allSatisfy(ch -> assertThat(ch.txid()).isEqualTo(tx.begin().xid()));
      }
      assertThat(txs.stream().flatMap(tx -> tx.changes().stream()).map(Change::seq))
          .as("a running number, one per change").containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L);

      List<Change> inserts = txs.get(0).changes();
      assertThat(inserts).extracting(Change::op, Change::schema, Change::table, Change::oldKey).containsExactly(
          tuple('I', "public", "item", null), tuple('I', "public", "item", null),
          tuple('I', "public", "keyless", null), tuple('I', "public", "keyless", null),
          tuple('I', "public", "rekeyed", null));
      assertThat(populate(c, "item", null, inserts.get(0).newRow())).isEqualTo(item1);
      assertThat(populate(c, "item", null, inserts.get(1).newRow())).isEqualTo(item2);
      assertThat(populate(c, "keyless", null, inserts.get(2).newRow())).isEqualTo("(1,a)");
      assertThat(populate(c, "keyless", null, inserts.get(3).newRow())).isEqualTo("(2,b)");
      assertThat(populate(c, "rekeyed", null, inserts.get(4).newRow())).isEqualTo(rekeyed1);
      JsonNode first = JSON.readTree(inserts.get(0).newRow());
      assertThat(first.get("id").isTextual()).as("every value but JSON is its type's text").isTrue();
      assertThat(first.get("name").asText()).isEqualTo(TRICKY);
      assertThat(first.get("tags").asText()).isEqualTo("{1,NULL,3}");
      assertThat(first.get("j").isObject()).as("json embedded as JSON").isTrue();
      assertThat(first.get("d").isObject()).as("a domain over a domain over jsonb embedded as JSON").isTrue();
      assertThat(JSON.readTree(inserts.get(1).newRow()).get("name").isNull()).isTrue();

      List<Change> updates = txs.get(1).changes();
      assertThat(updates).extracting(Change::op, Change::table).containsExactly(
          tuple('U', "item"), tuple('U', "item"),
          tuple('U', "rekeyed"), tuple('U', "keyless"));
      JsonNode toastKept = JSON.readTree(updates.get(0).newRow());
      assertThat(toastKept.has("big")).as("the unchanged TOASTed value is left out").isFalse();
      assertThat(toastKept.get("note").asText()).isEqualTo("changed");
      assertThat(populate(c, "item", item1, updates.get(0).newRow())).isEqualTo(item1Updated);
      assertThat(updates.get(0).oldKey()).isNull();
      assertThat(populate(c, "item", item2, updates.get(1).newRow())).isEqualTo(item2Updated);
      assertThat(updates.get(1).oldKey()).as("the key did not change").isNull();
      assertThat(populate(c, "rekeyed", null, updates.get(2).newRow())).isEqualTo(rekeyed1Updated);
      assertThat(JSON.readTree(updates.get(2).oldKey())).as("the old key only").isEqualTo(JSON.readTree("{\"k1\": \"1\", \"k2\": \"a\"}"));
      assertThat(populate(c, "keyless", null, updates.get(3).newRow())).isEqualTo(keyless2Updated);
      assertThat(populate(c, "keyless", null, updates.get(3).oldKey())).as("REPLICA IDENTITY FULL: the whole old row").isEqualTo(keyless2);

      List<Change> deletes = txs.get(2).changes();
      assertThat(deletes).extracting(Change::op, Change::table, Change::newRow).containsExactly(
          tuple('D', "item", null), tuple('D', "keyless", null));
      assertThat(JSON.readTree(deletes.get(0).oldKey())).isEqualTo(JSON.readTree("{\"id\": \"2\"}"));
      assertThat(JSON.readTree(deletes.get(1).oldKey())).isEqualTo(JSON.readTree("{\"a\": \"1\", \"b\": \"a\"}"));

      assertThat(txs.get(3).changes()).as("one TRUNCATE of two tables: a change per table").hasSize(2)
          .allSatisfy(ch -> assertThat(ch).extracting(Change::op, Change::newRow, Change::oldKey).containsExactly('T', null, null))
          .extracting(Change::table).containsExactlyInAnyOrder("keyless", "rekeyed");
    }
  }

  @Test
  void decode_jsonNullsAndSqlNulls_onlyTheJsonNullsNamedInTheirMember(PostgresPair pair) throws Exception {
    String schema = SCHEMA + "; CREATE TABLE docs (j jsonb, note text); ALTER TABLE docs REPLICA IDENTITY FULL";
    try (Source s = Source.create(pair.oldServer(), "relay_json_null", schema, "relay_pub")) {
      Connection c = s.connection;
      Sql.execute(c, "INSERT INTO item (id, j, jb, d) VALUES (1, ' null ', 'null', 'null'), (2, NULL, NULL, '[null]')");
      Sql.execute(c, "INSERT INTO docs VALUES ('null', NULL)");
      Sql.execute(c, "DELETE FROM docs");

      List<Tx> txs;
      try (SlotStream stream = s.open(LogSequenceNumber.INVALID_LSN)) {
        txs = new Reader(stream, new PgOutputDecoder(JsonTypes.catalogOf(c))).until(3);
      }

      List<Change> items = txs.get(0).changes();
      assertThat(JSON.readTree(items.get(0).newRow()).get(ChangeLog.JSON_NULLS))
          .as("json, jsonb and a domain over jsonb holding the JSON null").containsExactly(
              JSON.getNodeFactory().textNode("j"), JSON.getNodeFactory().textNode("jb"), JSON.getNodeFactory().textNode("d"));
      assertThat(JSON.readTree(items.get(1).newRow()).has(ChangeLog.JSON_NULLS)).as("SQL NULLs, and a null inside a value").isFalse();
      assertThat(JSON.readTree(txs.get(2).changes().get(0).oldKey()).get(ChangeLog.JSON_NULLS)).as("the whole old row of a keyless table")
          .containsExactly(JSON.getNodeFactory().textNode("j"));
    }
  }

  /**
   * A json value (or one of a domain over json) holding the escape of NUL, which every JSON parse
   * that unescapes strings refuses (the apply's {@code json_to_record} among them), goes as its text
   * in a JSON string and is named in {@link ChangeLog#JSON_TEXT}, in the new row and in a whole old
   * row; an escaped backslash before u0000 is no such escape and stays JSON. Before, it was embedded
   * as JSON and the apply refused the row at every retry.
   */
  @Test
  void decode_jsonHoldingTheEscapeOfNul_carriedAsTextAndNamed(PostgresPair pair) throws Exception {
    String schema = "CREATE DOMAIN jdoc AS json; CREATE TABLE jn (j json, d jdoc, jb jsonb, n int); ALTER TABLE jn REPLICA IDENTITY FULL";
    try (Source s = Source.create(pair.oldServer(), "relay_json_nul", schema, "relay_pub")) {
      Connection c = s.connection;
      Sql.execute(c, "INSERT INTO jn VALUES ('{\"a\": \"x\\u0000y\"}', '[\"\\\\u0000\", \"\\\\\\u0000\"]', '{\"b\": 1}', 1)");
      Sql.execute(c, "INSERT INTO jn VALUES ('[\"\\\\u0000\"]', '\"\\u0000\"', NULL, 2)");
      Sql.execute(c, "DELETE FROM jn WHERE n = 1");

      List<Tx> txs;
      try (SlotStream stream = s.open(LogSequenceNumber.INVALID_LSN)) {
        txs = new Reader(stream, new PgOutputDecoder(JsonTypes.catalogOf(c))).until(3);
      }

      JsonNode first = JSON.readTree(txs.get(0).changes().get(0).newRow());
      assertThat(first.get("j").isTextual()).as("json holding the escape: its text in a string").isTrue();
      assertThat(first.get("j").asText()).isEqualTo("{\"a\": \"x\\u0000y\"}");
      assertThat(first.get("d").isTextual()).as("an escaped backslash, then a NUL's escape: its text").isTrue();
      assertThat(first.get("jb").isObject()).isTrue();
      assertThat(first.get(ChangeLog.JSON_TEXT)).containsExactly(JSON.getNodeFactory().textNode("j"), JSON.getNodeFactory().textNode("d"));
      JsonNode second = JSON.readTree(txs.get(1).changes().get(0).newRow());
      assertThat(second.get("j").isArray()).as("an escaped backslash before u0000 is no NUL: JSON").isTrue();
      assertThat(second.get(ChangeLog.JSON_TEXT)).containsExactly(JSON.getNodeFactory().textNode("d"));
      JsonNode old = JSON.readTree(txs.get(2).changes().get(0).oldKey());
      assertThat(old.get(ChangeLog.JSON_TEXT)).as("the whole old row").containsExactly(JSON.getNodeFactory().textNode("j"),
          JSON.getNodeFactory().textNode("d"));
      assertThat(Sql.string(c, "SELECT ?::json::text", old.get("j").asText())).isEqualTo("{\"a\": \"x\\u0000y\"}");
    }
  }

  @Test
  void confirm_commitEndLsn_movesTheSlotsConfirmedFlushLsnThere(PostgresPair pair) throws Exception {
    // A publication name that needs both kinds of quoting on its way into START_REPLICATION.
    try (Source s = Source.create(pair.oldServer(), "relay_confirm", "CREATE TABLE t (id int PRIMARY KEY)", "relay's \"pub\"")) {
      Sql.execute(s.connection, "INSERT INTO t VALUES (1)");
      try (SlotStream stream = s.open(LogSequenceNumber.INVALID_LSN)) {
        Commit commit = new Reader(stream, new PgOutputDecoder(oid -> false)).until(1).get(0).commit();
        assertThat(stream.receivedThrough()).hasValueSatisfying(lsn -> assertThat(lsn.asLong()).isGreaterThanOrEqualTo(commit.endLsn().asLong()));
        assertThat(s.confirmedFlush().asLong()).as("nothing confirmed yet").isLessThan(commit.endLsn().asLong());

        stream.confirm(commit.endLsn());

        await().atMost(WAIT).untilAsserted(() -> assertThat(s.confirmedFlush()).isEqualTo(commit.endLsn()));
      }
    }
  }

  @Test
  void open_fromAConfirmedPosition_sendsOnlyTransactionsCommittedAfterIt(PostgresPair pair) throws Exception {
    try (Source s = Source.create(pair.oldServer(), "relay_restart", "CREATE TABLE t (id int PRIMARY KEY)", "relay_pub")) {
      long a = insertInItsOwnTransaction(s.connection, 1);
      long b = insertInItsOwnTransaction(s.connection, 2);
      Commit aCommit;
      Commit bCommit;
      try (SlotStream stream = s.open(LogSequenceNumber.INVALID_LSN)) {
        List<Tx> txs = new Reader(stream, new PgOutputDecoder(oid -> false)).until(2);
        assertThat(txs).extracting(tx -> tx.begin().xid()).containsExactly(a, b);
        aCommit = txs.get(0).commit();
        bCommit = txs.get(1).commit();
        stream.confirm(aCommit.endLsn());
      }

      try (SlotStream stream = s.open(aCommit.endLsn())) {
        Tx first = new Reader(stream, new PgOutputDecoder(oid -> false)).until(1).get(0);
        assertThat(first.begin().xid()).as("the confirmed transaction is not sent again").isEqualTo(b);
        assertThat(first.changes()).extracting(Change::newRow).containsExactly("{\"id\":\"2\"}");
        stream.confirm(bCommit.endLsn());
      }

      long c = insertInItsOwnTransaction(s.connection, 3);
      try (SlotStream stream = s.open(LogSequenceNumber.INVALID_LSN)) {
        Tx first = new Reader(stream, new PgOutputDecoder(oid -> false)).until(1).get(0);
        assertThat(first.begin().xid()).as("from the slot's own position").isEqualTo(c);
      }
    }
  }

  @Test
  void decode_latin1Source_namesAndTextArriveAsUtf8(PostgresPair pair) throws Exception {
    try (Source s = Source.create(pair.oldServer(), "relay_latin1", "LATIN1", "CREATE TABLE \"café\" (\"crème\" text)", "relay_pub")) {
      Sql.execute(s.connection, "INSERT INTO \"café\" VALUES ('déjà vu, ÿ')");
      try (SlotStream stream = s.open(LogSequenceNumber.INVALID_LSN)) {
        Change insert = new Reader(stream, new PgOutputDecoder(oid -> false)).until(1).get(0).changes().get(0);
        assertThat(insert.table()).isEqualTo("café");
        assertThat(insert.newRow()).isEqualTo("{\"crème\":\"déjà vu, ÿ\"}");
      }
    }
  }

  /** One transaction as decoded. */
  private record Tx(Begin begin, List<Change> changes, Commit commit) {}

  /**
   * Reads a stream into transactions, leaving out those without changes (before 15, pgoutput sends a
   * Begin and a Commit for every transaction, autovacuum's included).
   */
  private static final class Reader {
    private final SlotStream stream;
    private final PgOutputDecoder decoder;
    private final List<Tx> done = new ArrayList<>();
    private Begin begin;
    private List<Change> changes;

    Reader(SlotStream stream, PgOutputDecoder decoder) {
      this.stream = stream;
      this.decoder = decoder;
    }

    /** The first {@code n} transactions with changes. */
    List<Tx> until(int n) {
      await().atMost(WAIT).pollInterval(Duration.ofMillis(5)).until(() -> {
        drain();
        return done.size() >= n;
      });
      return done.subList(0, n);
    }

    private void drain() throws SQLException {
      ByteBuffer message;
      while ((message = stream.readPending()) != null) {
        Event e = decoder.decode(message);
        if (e instanceof Begin b) {
          assertThat(stream.receivedThrough()).as("no position while a transaction is half received").isEmpty();
          begin = b;
          changes = new ArrayList<>();
        } else if (e instanceof Changes cs) {
          changes.addAll(cs.changes());
        } else if (e instanceof Commit commit) {
          assertThat(stream.receivedThrough()).hasValue(commit.endLsn());
          if (!changes.isEmpty()) {
            done.add(new Tx(begin, List.copyOf(changes), commit));
          }
        }
      }
    }
  }

  /** A database of its own, its tables in a publication, and a pgoutput slot made after them. */
  private static final class Source implements AutoCloseable {
    private final PostgresServer server;
    private final String database;
    private final String publication;
    private final Connection connection;

    private Source(PostgresServer server, String database, String publication, Connection connection) {
      this.server = server;
      this.database = database;
      this.publication = publication;
      this.connection = connection;
    }

    static Source create(PostgresServer server, String database, String schema, String publication) throws SQLException {
      return create(server, database, "UTF8", schema, publication);
    }

    static Source create(PostgresServer server, String database, String encoding, String schema, String publication)
        throws SQLException {
      try (Connection admin = server.connect()) {
        Sql.execute(admin, "CREATE DATABASE " + Sql.ident(database) + " ENCODING " + Sql.literal(encoding)
            + " LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
      }
      Connection c = server.connect(database);
      Source s = new Source(server, database, publication, c);
      try {
        Sql.execute(c, schema);
        Sql.execute(c, "CREATE PUBLICATION " + Sql.ident(publication) + " FOR ALL TABLES");
        Sql.execute(c, "SELECT pg_create_logical_replication_slot(" + Sql.literal(database) + ", 'pgoutput')");
      } catch (SQLException | RuntimeException e) {
        s.close();
        throw e;
      }
      return s;
    }

    SlotStream open(LogSequenceNumber start) throws Exception {
      Endpoint source = Endpoint.of(Side.OLD, server.jdbcUrl(database), server.user(), server.password());
      return SlotStream.open(source, database, publication, start, Duration.ofSeconds(1), Duration.ofSeconds(30));
    }

    LogSequenceNumber confirmedFlush() throws SQLException {
      return LogSequenceNumber.valueOf(Sql.string(connection, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = ?",
          database));
    }

    /** Drops the slot (it would hold WAL), once the stream's server process has let it go. */
    @Override
    public void close() throws SQLException {
      try {
        if (!connection.getAutoCommit()) {
          connection.rollback();
          connection.setAutoCommit(true);
        }
        await().atMost(WAIT).until(() -> Sql.bool(connection, "SELECT NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ?)"
            + " OR (SELECT pg_drop_replication_slot(slot_name) IS NULL FROM pg_replication_slots WHERE slot_name = ? AND NOT active)",
            database, database));
      } finally {
        connection.close();
      }
    }
  }

  /** The transaction id the next change of {@code c}'s transaction carries, as pgoutput sends it (32 bits). */
  private static long xid(Connection c) throws SQLException {
    return Sql.number(c, "SELECT txid_current() % 4294967296");
  }

  private static long insertInItsOwnTransaction(Connection c, int id) throws SQLException {
    c.setAutoCommit(false);
    try {
      long xid = xid(c);
      Sql.execute(c, "INSERT INTO t VALUES (" + id + ")");
      c.commit();
      return xid;
    } finally {
      c.setAutoCommit(true);
    }
  }

  private static String row(Connection c, String table, String where) throws SQLException {
    return Sql.string(c, "SELECT t::text FROM " + Sql.ident(table) + " t WHERE " + where);
  }

  /**
   * What the apply makes of {@code json}: {@code json_populate_record} over {@code before} (the
   * row's text before an update, whose columns the JSON leaves out stay; null: an inserted row).
   */
  private static String populate(Connection c, String table, String before, String json) throws SQLException {
    return before == null
        ? Sql.string(c, "SELECT json_populate_record(NULL::" + Sql.ident(table) + ", ?::json)::text", json)
        : Sql.string(c, "SELECT json_populate_record(?::" + Sql.ident(table) + ", ?::json)::text", before, json);
  }
}
