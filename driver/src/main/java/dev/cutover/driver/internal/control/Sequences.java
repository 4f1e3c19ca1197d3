package dev.cutover.driver.internal.control;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.core.Utils;

/**
 * Moves every sequence on a target past its value on a source, so that no value is handed out
 * twice after a switch (serial, identity and standalone sequences alike). A sequence is only
 * ever moved forward in its own direction; one the target lacks is reported, not created.
 */
public final class Sequences {
  private static final String READ =
      "SELECT schemaname, sequencename, last_value, increment_by, min_value, max_value FROM pg_sequences"
          + " WHERE last_value IS NOT NULL AND schemaname <> 'cutover' ORDER BY 1, 2";
  private static final String READ_NONE =
      "SELECT NULL::text, NULL::text, 0::bigint, 0::bigint, 0::bigint, 0::bigint WHERE false";
  /** Before PostgreSQL 10 (no {@code pg_sequences}): the sequences, each then read from its own relation. */
  private static final String LIST_BEFORE_10 =
      "SELECT format('SELECT %L::text, %L::text, last_value, increment_by, min_value, max_value FROM %I.%I WHERE is_called',"
          + " n.nspname, c.relname, n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover')"
          + " AND n.nspname NOT LIKE 'pg\\_%'"
          // has_sequence_privilege fails on any other relation, and WHERE may be evaluated in any order
          + " AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(c.oid, 'SELECT') END ORDER BY n.nspname, c.relname";

  private static final String MOVE =
      "SELECT v.sch, v.seq, s.sequencename IS NOT NULL AS present,"
          + " CASE WHEN s.sequencename IS NOT NULL AND ("
          + "   (s.increment_by > 0 AND COALESCE(s.last_value, s.min_value - 1) < v.floor)"
          + "   OR (s.increment_by < 0 AND COALESCE(s.last_value, s.max_value + 1) > v.floor))"
          + " THEN setval(format('%I.%I', v.sch, v.seq)::regclass, v.floor, true) END AS moved_to"
          + " FROM unnest(?::text[], ?::text[], ?::bigint[]) AS v(sch, seq, floor)"
          + " LEFT JOIN pg_sequences s ON s.schemaname = v.sch AND s.sequencename = v.seq";

  /**
   * Sequences the connected role can neither read nor use ({@code SELECT} or {@code USAGE}): their
   * last value is hidden from it, so a switch running as it would move them not at all.
   */
  private static final String UNREADABLE =
      "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover')"
          + " AND n.nspname NOT LIKE 'pg\\_%' AND CASE WHEN c.relkind = 'S' THEN NOT (has_sequence_privilege(c.oid, 'SELECT')"
          + " OR has_sequence_privilege(c.oid, 'USAGE')) END ORDER BY 1";

  /** What a move did: how many sequences moved and which ones the target lacks. */
  public record Result(int examined, int moved, List<String> missing) {}

  private Sequences() {}

  /**
   * The sequences of {@code source} the connected role may not read: a switch would hand out their
   * values twice, so it refuses to start while there are any (checked before its gate closes).
   */
  public static List<String> unreadable(Connection source) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Statement s = source.createStatement(); ResultSet rs = s.executeQuery(UNREADABLE)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /**
   * Sets each sequence on {@code target} to at least the source's last value plus {@code margin}
   * increments (clamped to the sequence's bounds). Sequences the connected role may not read are
   * not seen: check {@link #unreadable} first.
   */
  public static Result advance(Connection source, Connection target, long margin) throws SQLException {
    List<String> schemas = new ArrayList<>();
    List<String> names = new ArrayList<>();
    List<Long> floors = new ArrayList<>();
    try (Statement s = source.createStatement(); ResultSet rs = s.executeQuery(read(source))) {
      while (rs.next()) {
        schemas.add(rs.getString(1));
        names.add(rs.getString(2));
        floors.add(floor(rs.getLong(3), rs.getLong(4), rs.getLong(5), rs.getLong(6), margin));
      }
    }
    if (schemas.isEmpty()) {
      return new Result(0, 0, List.of());
    }
    if (target.getMetaData().getDatabaseMajorVersion() < 10) {
      return moveEach(target, schemas, names, floors);
    }
    int moved = 0;
    List<String> missing = new ArrayList<>();
    try (PreparedStatement ps = target.prepareStatement(MOVE)) {
      Array sch = target.createArrayOf("text", schemas.toArray());
      Array seq = target.createArrayOf("text", names.toArray());
      Array flo = target.createArrayOf("bigint", floors.toArray());
      ps.setArray(1, sch);
      ps.setArray(2, seq);
      ps.setArray(3, flo);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (!rs.getBoolean(3)) {
            missing.add(rs.getString(1) + "." + rs.getString(2));
          } else if (rs.getObject(4) != null) {
            moved++;
          }
        }
      }
    }
    return new Result(schemas.size(), moved, missing);
  }

  /** {@link #MOVE} on a target before 10 (a flip back to a 9.6 source), one sequence at a time. */
  private static Result moveEach(Connection target, List<String> schemas, List<String> names, List<Long> floors) throws SQLException {
    int moved = 0;
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < schemas.size(); i++) {
      String relation = Utils.escapeIdentifier(Utils.escapeIdentifier(null, schemas.get(i)).append('.'), names.get(i))
          .toString();
      try (PreparedStatement exists = target.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
        exists.setString(1, relation);
        try (ResultSet rs = exists.executeQuery()) {
          rs.next();
          if (!rs.getBoolean(1)) {
            missing.add(schemas.get(i) + "." + names.get(i));
            continue;
          }
        }
      }
      try (PreparedStatement ps = target.prepareStatement("SELECT setval(?::regclass, ?, true) FROM " + relation + " WHERE"
          + " (increment_by > 0 AND CASE WHEN is_called THEN last_value ELSE min_value - 1 END < ?)"
          + " OR (increment_by < 0 AND CASE WHEN is_called THEN last_value ELSE max_value + 1 END > ?)")) {
        ps.setString(1, relation);
        ps.setLong(2, floors.get(i));
        ps.setLong(3, floors.get(i));
        ps.setLong(4, floors.get(i));
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            moved++;
          }
        }
      }
    }
    return new Result(schemas.size(), moved, missing);
  }

  /** The query that reads every sequence of {@code source} with its last value, in one round trip. */
  private static String read(Connection source) throws SQLException {
    if (source.getMetaData().getDatabaseMajorVersion() >= 10) {
      return READ;
    }
    List<String> each = new ArrayList<>();
    try (Statement s = source.createStatement(); ResultSet rs = s.executeQuery(LIST_BEFORE_10)) {
      while (rs.next()) {
        each.add(rs.getString(1));
      }
    }
    return each.isEmpty() ? READ_NONE : String.join(" UNION ALL ", each) + " ORDER BY 1, 2";
  }

  static long floor(long last, long increment, long min, long max, long margin) {
    long step;
    try {
      step = Math.multiplyExact(increment, margin);
      long target = Math.addExact(last, step);
      return Math.max(min, Math.min(max, target));
    } catch (ArithmeticException overflow) {
      return increment > 0 ? max : min;
    }
  }
}
