package dev.cutover.replicator.relay;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.cutover.replicator.capture.ChangeLog;
import dev.cutover.replicator.capture.ChangeLog.Change;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Decodes the messages of PostgreSQL's {@code pgoutput} plugin, protocol version 1 (text values),
 * one at a time and in order, into the {@link Change}s the trigger-capture apply writes. One
 * instance per replication stream, used by one thread: it remembers the stream's Relation messages
 * (pgoutput sends one before a relation's first change in each session, and again after its schema
 * changed) and the open transaction's xid.
 *
 * <p>Design notes. A row becomes a JSON object that {@code json_populate_record} on the target
 * turns back into the row: every value is a JSON string holding the source's text, which the
 * target's type input function reads, except values of json, jsonb and domains over them (see
 * {@link JsonTypes}), which are embedded as they are, since such a column takes the JSON value
 * itself. A NULL is a JSON null; a json value that is the JSON {@code null} is named in the
 * member {@link ChangeLog#JSON_NULLS}, as trigger capture names it. A json value holding the escape
 * of the NUL character, which json accepts and every JSON parse that unescapes strings refuses (the
 * apply's {@code json_to_record} too, wherever in the row it stands), goes as its text in a JSON
 * string and is named in {@link ChangeLog#JSON_TEXT}, as trigger capture does: the apply reads it as
 * text and casts it to the column's type, which keeps it exactly. A TOASTed value an UPDATE left
 * unchanged is not in the message (pgoutput marks it {@code u}), so its member is left out and the
 * apply leaves the column as it
 * is. An old tuple marked {@code K} (the replica identity changed) carries every column, those
 * outside the identity as NULL, so only the identity's columns are kept; one marked {@code O}
 * (REPLICA IDENTITY FULL) is the whole old row. Text is read as UTF-8: pgoutput converts values
 * and names to the replication session's {@code client_encoding}, which PgJDBC sets to UTF8, so a
 * source in any server encoding arrives right except {@code SQL_ASCII}, whose bytes are sent as
 * stored: the caller refuses such a source.
 */
public final class PgOutputDecoder {
  private static final JsonFactory JSON = new JsonFactory();
  private static final Instant POSTGRES_EPOCH = Instant.parse("2000-01-01T00:00:00Z");
  private static final long JSON_OID = 114;
  private static final long JSONB_OID = 3802;
  /** Types below it are built in: only json and jsonb among them carry JSON (domains are never built in). */
  private static final long FIRST_NORMAL_OID = 16384;
  /** Relation message column flag: the column is part of the replica identity. */
  private static final int KEY_FLAG = 1;

  /** What one message meant; {@link #decode} returns null for those that only inform the decoder. */
  public sealed interface Event permits Begin, Commit, Changes {}

  /**
   * A transaction begins; its changes and its {@link Commit} follow.
   *
   * @param finalLsn where its commit record begins
   * @param xid its 32-bit transaction id, which every change of it carries as {@link Change#txid()}
   */
  public record Begin(LogSequenceNumber finalLsn, Instant commitTime, long xid) implements Event {}

  /**
   * The transaction ends.
   *
   * @param commitLsn where its commit record begins
   * @param endLsn where its commit record ends: the position to confirm once it is applied
   */
  public record Commit(LogSequenceNumber commitLsn, LogSequenceNumber endLsn, Instant commitTime) implements Event {}

  /** One INSERT, UPDATE or DELETE, or one TRUNCATE of one or several tables (a change per table, in the message's order). */
  public record Changes(List<Change> changes) implements Event {
    public Changes {
      changes = List.copyOf(changes);
    }
  }

  private record Relation(String schema, String name, String[] columns, boolean[] key, boolean[] json) {}

  private final JsonTypes jsonTypes;
  private final Map<Long, Boolean> jsonType = new HashMap<>();
  private final Map<Integer, Relation> relations = new HashMap<>();
  private long seq;
  private long xid;
  private boolean inTransaction;

  /** @param jsonTypes asked once per user-defined column type whether it is a domain over json or jsonb */
  public PgOutputDecoder(JsonTypes jsonTypes) {
    this.jsonTypes = jsonTypes;
  }

  /**
   * Decodes one message, as {@code PGReplicationStream.readPending()} returns it (read from its
   * position on).
   *
   * @return the event, or null for Relation, Type and Origin messages, which are only remembered or skipped
   * @throws IllegalStateException for a message this decoder does not know, a change of a relation
   *     never described, or a change outside a transaction
   * @throws SQLException when {@link JsonTypes} fails
   */
  public Event decode(ByteBuffer message) throws SQLException {
    byte kind = message.get();
    switch (kind) {
      case 'B' -> {
        LogSequenceNumber finalLsn = LogSequenceNumber.valueOf(message.getLong());
        Instant commitTime = time(message.getLong());
        xid = Integer.toUnsignedLong(message.getInt());
        inTransaction = true;
        return new Begin(finalLsn, commitTime, xid);
      }
      case 'C' -> {
        message.get(); // flags, unused
        LogSequenceNumber commitLsn = LogSequenceNumber.valueOf(message.getLong());
        LogSequenceNumber endLsn = LogSequenceNumber.valueOf(message.getLong());
        inTransaction = false;
        return new Commit(commitLsn, endLsn, time(message.getLong()));
      }
      case 'R' -> {
        relation(message);
        return null;
      }
      case 'Y', 'O' -> {
        return null; // a type's name, a transaction's origin: nothing the apply uses
      }
      case 'I' -> {
        Relation r = changed(message, kind);
        expect(message, 'N', r);
        return one(r, 'I', row(message, r, false), null);
      }
      case 'U' -> {
        Relation r = changed(message, kind);
        String oldKey = null;
        byte tuple = message.get();
        if (tuple == 'K' || tuple == 'O') {
          oldKey = row(message, r, tuple == 'K');
          tuple = message.get();
        }
        if (tuple != 'N') {
          throw new IllegalStateException("pgoutput UPDATE of " + r.schema() + "." + r.name() + " has tuple kind '" + (char) tuple
              + "' where the new row belongs");
        }
        return one(r, 'U', row(message, r, false), oldKey);
      }
      case 'D' -> {
        Relation r = changed(message, kind);
        byte tuple = message.get();
        if (tuple != 'K' && tuple != 'O') {
          throw new IllegalStateException("pgoutput DELETE of " + r.schema() + "." + r.name() + " has tuple kind '" + (char) tuple
              + "' where the old row belongs");
        }
        return one(r, 'D', null, row(message, r, tuple == 'K'));
      }
      case 'T' -> {
        requireTransaction(kind);
        int count = message.getInt();
        message.get(); // options (CASCADE, RESTART IDENTITY): the relations are listed, the apply restarts nothing
        List<Change> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
          Relation r = relation(message.getInt(), kind);
          out.add(new Change(++seq, xid, r.schema(), r.name(), 'T', null, null));
        }
        return new Changes(out);
      }
      default -> throw new IllegalStateException("unknown pgoutput message kind '" + (char) kind + "' (byte " + kind + ")");
    }
  }

  private Changes one(Relation r, char op, String newRow, String oldKey) {
    return new Changes(List.of(new Change(++seq, xid, r.schema(), r.name(), op, newRow, oldKey)));
  }

  private void relation(ByteBuffer m) throws SQLException {
    int id = m.getInt();
    String schema = string(m);
    String name = string(m);
    m.get(); // replica identity setting: the key flags and the old tuple's kind say what the apply needs
    int n = Short.toUnsignedInt(m.getShort());
    String[] columns = new String[n];
    boolean[] key = new boolean[n];
    boolean[] json = new boolean[n];
    for (int i = 0; i < n; i++) {
      key[i] = (m.get() & KEY_FLAG) != 0;
      columns[i] = string(m);
      json[i] = isJson(Integer.toUnsignedLong(m.getInt()));
      m.getInt(); // type modifier
    }
    // pgoutput names pg_catalog with an empty string.
    relations.put(id, new Relation(schema.isEmpty() ? "pg_catalog" : schema, name, columns, key, json));
  }

  private boolean isJson(long oid) throws SQLException {
    if (oid == JSON_OID || oid == JSONB_OID) {
      return true;
    }
    if (oid < FIRST_NORMAL_OID) {
      return false;
    }
    Boolean known = jsonType.get(oid);
    if (known == null) {
      known = jsonTypes.isJson(oid);
      jsonType.put(oid, known);
    }
    return known;
  }

  /** The relation of an INSERT, UPDATE or DELETE, read from the message. */
  private Relation changed(ByteBuffer m, byte kind) {
    requireTransaction(kind);
    return relation(m.getInt(), kind);
  }

  private Relation relation(int id, byte kind) {
    Relation r = relations.get(id);
    if (r == null) {
      throw new IllegalStateException("pgoutput message '" + (char) kind + "' names relation " + Integer.toUnsignedLong(id)
          + ", which no Relation message described");
    }
    return r;
  }

  private void requireTransaction(byte kind) {
    if (!inTransaction) {
      throw new IllegalStateException("pgoutput message '" + (char) kind + "' arrived outside a transaction");
    }
  }

  private static void expect(ByteBuffer m, char tuple, Relation r) {
    byte got = m.get();
    if (got != tuple) {
      throw new IllegalStateException("pgoutput change of " + r.schema() + "." + r.name() + " has tuple kind '" + (char) got
          + "' where '" + tuple + "' belongs");
    }
  }

  /**
   * A tuple as a JSON object (see the class notes): its identity's columns only when {@code keyOnly},
   * unchanged TOASTed values left out.
   */
  private static String row(ByteBuffer m, Relation r, boolean keyOnly) {
    int n = Short.toUnsignedInt(m.getShort());
    if (n != r.columns().length) {
      throw new IllegalStateException("pgoutput tuple of " + r.schema() + "." + r.name() + " has " + n + " columns, its Relation message "
          + r.columns().length);
    }
    StringWriter out = new StringWriter();
    List<String> jsonNulls = null;
    List<String> jsonText = null;
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      for (int i = 0; i < n; i++) {
        byte kind = m.get();
        boolean wanted = !keyOnly || r.key()[i];
        switch (kind) {
          case 'n' -> {
            if (wanted) {
              g.writeNullField(r.columns()[i]);
            }
          }
          case 'u' -> {
            // an unchanged TOASTed value: left out, so the apply keeps the column's value
          }
          case 't' -> {
            byte[] bytes = new byte[m.getInt()];
            m.get(bytes);
            if (wanted) {
              String text = new String(bytes, StandardCharsets.UTF_8);
              g.writeFieldName(r.columns()[i]);
              if (r.json()[i] && holdsNulEscape(text)) {
                // Valid json, but every JSON parse that unescapes strings (the apply's json_to_record) refuses it.
                g.writeString(text);
                jsonText = jsonText == null ? new ArrayList<>() : jsonText;
                jsonText.add(r.columns()[i]);
              } else if (r.json()[i]) {
                g.writeRawValue(text);
                if (text.strip().equals("null")) {
                  jsonNulls = jsonNulls == null ? new ArrayList<>() : jsonNulls;
                  jsonNulls.add(r.columns()[i]);
                }
              } else {
                g.writeString(text);
              }
            }
          }
          default -> throw new IllegalStateException("pgoutput value of " + r.schema() + "." + r.name() + "." + r.columns()[i]
              + " has kind '" + (char) kind + "' (byte " + kind + "), not n, u or t");
        }
      }
      names(g, ChangeLog.JSON_NULLS, jsonNulls);
      names(g, ChangeLog.JSON_TEXT, jsonText);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    return out.toString();
  }

  /** The member {@code member} naming {@code columns}, where there are any. */
  private static void names(JsonGenerator g, String member, List<String> columns) throws IOException {
    if (columns != null) {
      g.writeFieldName(member);
      g.writeStartArray();
      for (String name : columns) {
        g.writeString(name);
      }
      g.writeEndArray();
    }
  }

  /**
   * Whether JSON text holds the escape of the NUL character: a backslash that is not itself
   * escaped (an even number of backslashes before it), then {@code u0000}.
   */
  static boolean holdsNulEscape(String json) {
    for (int at = json.indexOf("\\u0000"); at >= 0; at = json.indexOf("\\u0000", at + 1)) {
      int before = 0;
      while (at - before > 0 && json.charAt(at - before - 1) == '\\') {
        before++;
      }
      if (before % 2 == 0) {
        return true;
      }
    }
    return false;
  }

  /** A NUL-terminated string. */
  private static String string(ByteBuffer m) {
    int start = m.position();
    int end = start;
    while (m.get(end) != 0) {
      end++;
    }
    byte[] bytes = new byte[end - start];
    m.get(bytes);
    m.get(); // the NUL
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** A pgoutput timestamp: microseconds since 2000-01-01 UTC. */
  private static Instant time(long micros) {
    return POSTGRES_EPOCH.plus(micros, ChronoUnit.MICROS);
  }
}
