package dev.cutover.driver.internal.control;

import java.math.BigInteger;
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
 *
 * <p>A sequence's state is its {@code last_value} and {@code is_called}: once called, it has handed
 * out {@code last_value}; before ({@code ALTER SEQUENCE ... RESTART}, {@code setval(s, n, false)},
 * a new sequence) its next value is {@code last_value}, so it has handed out at most {@code
 * last_value - increment}. {@code pg_sequences.last_value} is null in the second case, so neither
 * side reads it there: the source reads the sequence's own relation (which takes SELECT), the
 * target has its next value handed out by {@code nextval} (which takes USAGE or UPDATE, and spends
 * one value of a sequence the switch then leaves where it was).
 */
public final class Sequences {
  /** The application's schemas, of {@code n} ({@code pg_namespace}): those the switch moves sequences and compares grants in. */
  static final String APPLICATION_SCHEMAS =
      "n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover') AND n.nspname NOT LIKE 'pg\\_%'";

  /**
   * From 10: every sequence with its increment and bounds, its last value where the role may see
   * it (SELECT or USAGE) and the sequence has been called, and whether the role may read its relation.
   */
  private static final String READ =
      "SELECT n.nspname, c.relname, s.seqincrement, s.seqmin, s.seqmax,"
          + " CASE WHEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT') OR pg_catalog.has_sequence_privilege(c.oid, 'USAGE')"
          + " THEN pg_catalog.pg_sequence_last_value(c.oid::pg_catalog.regclass) END,"
          + " pg_catalog.has_sequence_privilege(c.oid, 'SELECT'), pg_catalog.format('%I.%I', n.nspname, c.relname)"
          + " FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE " + APPLICATION_SCHEMAS + " ORDER BY 1, 2";

  /** Before 10 (no {@code pg_sequence}): the sequences, each then read from its own relation, which takes SELECT. */
  private static final String LIST_BEFORE_10 =
      "SELECT n.nspname, c.relname, 0::bigint, 0::bigint, 0::bigint, NULL::bigint,"
          // has_sequence_privilege fails on any other relation, and WHERE may be evaluated in any order
          + " CASE WHEN c.relkind = 'S' THEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT') END,"
          + " pg_catalog.format('%I.%I', n.nspname, c.relname)"
          + " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind = 'S' AND " + APPLICATION_SCHEMAS + " ORDER BY 1, 2";

  /**
   * From 10, on the target: for each sequence with a floor, how far it has handed out values (its
   * last value once called, else its next value, taken with nextval) and, where that is short of
   * the floor in its own direction, {@code setval(floor)}. One round trip.
   */
  private static final String MOVE =
      "SELECT t.sch, t.seq, t.oid IS NOT NULL, t.floor IS NULL OR t.handed IS NOT NULL,"
          + " CASE WHEN (t.inc > 0 AND t.handed < t.floor) OR (t.inc < 0 AND t.handed > t.floor)"
          + " THEN pg_catalog.setval(t.oid::pg_catalog.regclass, t.floor, true) END, pg_catalog.format('%I.%I', t.sch, t.seq)"
          + " FROM (SELECT v.sch, v.seq, v.floor, c.oid, s.seqincrement AS inc,"
          + "   CASE WHEN v.floor IS NOT NULL AND c.oid IS NOT NULL THEN COALESCE("
          + "     CASE WHEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT') OR pg_catalog.has_sequence_privilege(c.oid, 'USAGE')"
          + "       THEN pg_catalog.pg_sequence_last_value(c.oid::pg_catalog.regclass) END,"
          + "     CASE WHEN pg_catalog.has_sequence_privilege(c.oid, 'USAGE') OR pg_catalog.has_sequence_privilege(c.oid, 'UPDATE')"
          + "       THEN pg_catalog.nextval(c.oid::pg_catalog.regclass) END) END AS handed"
          + "   FROM unnest(?::text[], ?::text[], ?::bigint[]) AS v(sch, seq, floor)"
          // name = text: before 12 only a cast finds texteq, and an exact =(name, text) elsewhere would win
          + "   LEFT JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) v.sch"
          + "   LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname OPERATOR(pg_catalog.=) v.seq"
          + " AND c.relkind = 'S'"
          + "   LEFT JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid"
          // evaluated once per row, before the setval that reads its result
          + "   OFFSET 0) t";

  /** What a move did: how many sequences moved, which ones the target lacks, which ones had no room for the margin. */
  public record Result(int examined, int moved, List<String> missing, List<String> nearLimit) {
    public Result(int examined, int moved, List<String> missing) {
      this(examined, moved, missing, List.of());
    }
  }

  /** One sequence as read: {@code last} null while the role may not see it. */
  private record Sequence(String schema, String name, long increment, long min, long max, Long last, boolean called,
      boolean selectable, String qualified) {
    Sequence with(long lastValue, boolean isCalled) {
      return new Sequence(schema, name, increment, min, max, lastValue, isCalled, selectable, qualified);
    }
  }

  /** The value a target sequence must have handed out at least, and whether the margin had to give way to its bound. */
  record Floor(long value, boolean nearLimit) {}

  private Sequences() {}

  /**
   * The sequences of {@code source} whose value the connected role may not read, as {@code
   * schema.name}: a switch would hand out their values twice, so it refuses to start while there
   * are any (checked before its gate closes). From 10 that is a sequence without SELECT and either
   * without USAGE or not yet called (USAGE shows {@code pg_sequences.last_value}, which is null
   * until then); before 10 one without SELECT (the value is read from the sequence's relation).
   */
  public static List<String> unreadable(Connection source) throws SQLException {
    List<String> out = new ArrayList<>();
    for (Sequence s : list(source)) {
      if (s.last() == null && !s.selectable()) {
        out.add(s.qualified());
      }
    }
    return out;
  }

  /**
   * The sequences of {@code source} that {@code target} has and the connected role may not move
   * there ({@code setval} takes UPDATE), as {@code schema.name}: the move runs after the fence, where
   * "permission denied" aborts a switch that is not retried, so a switch refuses before its gate
   * while there are any.
   */
  public static List<String> unmovable(Connection source, Connection target) throws SQLException {
    List<String> schemas = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (Sequence s : list(source)) {
      schemas.add(s.schema());
      names.add(s.name());
    }
    return onTarget(target, schemas, names, " JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) v.sch"
        + " JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid AND c.relname OPERATOR(pg_catalog.=) v.seq"
        + " AND c.relkind OPERATOR(pg_catalog.=) 'S'"
        // CASE: the planner may test a pg_class row before its relkind, and the function fails on other relations
        + " WHERE CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'S' THEN NOT pg_catalog.has_sequence_privilege(c.oid, 'UPDATE') END");
  }

  /**
   * The sequences of {@code source} that {@code target} lacks, as {@code schema.name}: the move
   * cannot set them there, and after the switch the application's {@code nextval} on one fails
   * (42P01), so a switch refuses before its gate while there are any. One created on the serving
   * side after the switch is the common case: replication carries no schema change made there.
   * Counted as the move counts them (every sequence of the application schemas), less two kinds
   * that no switch check counts as the application's: a sequence that belongs to an extension
   * (made by {@code CREATE EXTENSION}, never by hand) and one owned by an unlogged table (serial or
   * identity), which replication never carries and the switch does not ask the target to have.
   */
  public static List<String> missing(Connection source, Connection target) throws SQLException {
    List<String> schemas = new ArrayList<>();
    List<String> names = new ArrayList<>();
    try (Statement s = source.createStatement(); ResultSet rs = s.executeQuery("SELECT n.nspname, c.relname"
        + " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE c.relkind = 'S' AND " + APPLICATION_SCHEMAS
        + " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
        + " AND d.objid = c.oid AND d.deptype = 'e')"
        + " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class t ON t.oid = d.refobjid"
        + " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid"
        + " AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i') AND t.relpersistence = 'u')"
        + " ORDER BY 1, 2")) {
      while (rs.next()) {
        schemas.add(rs.getString(1));
        names.add(rs.getString(2));
      }
    }
    return onTarget(target, schemas, names, " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class c"
        + " ON c.relnamespace OPERATOR(pg_catalog.=) n.oid WHERE n.nspname OPERATOR(pg_catalog.=) v.sch"
        + " AND c.relname OPERATOR(pg_catalog.=) v.seq AND c.relkind OPERATOR(pg_catalog.=) 'S')");
  }

  /**
   * The source's sequences ({@code schemas} and {@code names}, pairwise) that {@code condition}
   * (joins and a WHERE over {@code v(sch, seq)}) keeps on {@code target}, as {@code schema.name}.
   */
  private static List<String> onTarget(Connection target, List<String> schemas, List<String> names, String condition)
      throws SQLException {
    List<String> out = new ArrayList<>();
    if (schemas.isEmpty()) {
      return out;
    }
    try (PreparedStatement ps = target.prepareStatement("SELECT pg_catalog.format('%I.%I', v.sch, v.seq)"
        + " FROM unnest(?::text[], ?::text[]) AS v(sch, seq)" // the two-array form is syntax of FROM, never schema-qualified
        + condition + " ORDER BY 1")) {
      ps.setArray(1, target.createArrayOf("text", schemas.toArray()));
      ps.setArray(2, target.createArrayOf("text", names.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }

  /**
   * Sets each sequence on {@code target} to at least the source's last handed-out value plus
   * {@code margin} increments; where that passes the sequence's bound, to the source's value
   * itself (named in {@link Result#nearLimit}). Never moves one backwards. Fails with 42501 naming
   * the sequences and the grant when the role may not read one on the source, or neither see nor
   * move one on the target: a sequence left behind would hand out its values twice.
   */
  public static Result advance(Connection source, Connection target, long margin) throws SQLException {
    List<Sequence> read = read(source);
    List<String> hidden = new ArrayList<>();
    List<String> schemas = new ArrayList<>();
    List<String> names = new ArrayList<>();
    List<Long> floors = new ArrayList<>();
    List<String> nearLimit = new ArrayList<>();
    for (Sequence s : read) {
      if (s.last() == null) {
        hidden.add(s.qualified());
        continue;
      }
      Floor f = floor(s.last(), s.called(), s.increment(), s.min(), s.max(), margin);
      schemas.add(s.schema());
      names.add(s.name());
      floors.add(f == null ? null : f.value());
      if (f != null && f.nearLimit()) {
        nearLimit.add(s.schema() + "." + s.name());
      }
    }
    if (!hidden.isEmpty()) {
      String user = user(source);
      throw new SQLException("role " + user + " may not read sequence(s) " + String.join(", ", hidden) + " on the source"
          + " (their last value needs SELECT, or from PostgreSQL 10 USAGE once they have been called), so they could not be"
          + " moved on the target and their values would be handed out twice; GRANT SELECT ON SEQUENCE "
          + String.join(", ", hidden) + " TO " + user + " on the source", "42501");
    }
    if (schemas.isEmpty()) {
      return new Result(0, 0, List.of(), List.of());
    }
    if (target.getMetaData().getDatabaseMajorVersion() < 10) {
      return moveEach(target, schemas, names, floors, nearLimit);
    }
    int moved = 0;
    List<String> missing = new ArrayList<>();
    List<String> unmovable = new ArrayList<>();
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
          } else if (!rs.getBoolean(4)) {
            unmovable.add(rs.getString(6));
          } else if (rs.getObject(5) != null) {
            moved++;
          }
        }
      }
    }
    if (!unmovable.isEmpty()) {
      String user = user(target);
      throw new SQLException("role " + user + " may neither see nor use sequence(s) " + String.join(", ", unmovable)
          + " on the target, so they were not moved past the source (" + moved + " other(s) were); GRANT UPDATE ON SEQUENCE "
          + String.join(", ", unmovable) + " TO " + user + " on the target", "42501");
    }
    return new Result(read.size(), moved, missing, nearLimit);
  }

  /** {@link #MOVE} on a target before 10 (a flip back to a 9.6 source), one sequence at a time, read from its relation. */
  private static Result moveEach(Connection target, List<String> schemas, List<String> names, List<Long> floors,
      List<String> nearLimit) throws SQLException {
    int moved = 0;
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < schemas.size(); i++) {
      String relation = Utils.escapeIdentifier(Utils.escapeIdentifier(null, schemas.get(i)).append('.'), names.get(i))
          .toString();
      try (PreparedStatement exists = target.prepareStatement("SELECT pg_catalog.to_regclass(?) IS NOT NULL")) {
        exists.setString(1, relation);
        try (ResultSet rs = exists.executeQuery()) {
          rs.next();
          if (!rs.getBoolean(1)) {
            missing.add(schemas.get(i) + "." + names.get(i));
            continue;
          }
        }
      }
      if (floors.get(i) == null) {
        continue;
      }
      // numeric: last_value - increment_by may pass bigint's range on a sequence not yet called at its bound
      try (PreparedStatement ps = target.prepareStatement("SELECT pg_catalog.setval(?::pg_catalog.regclass, ?, true)"
          + " FROM (SELECT increment_by, CASE WHEN is_called THEN last_value"
          + " ELSE last_value::pg_catalog.numeric OPERATOR(pg_catalog.-) increment_by END AS handed FROM " + relation
          + ") s WHERE (increment_by > 0 AND handed < ?) OR (increment_by < 0 AND handed > ?)")) {
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
    return new Result(schemas.size(), moved, missing, nearLimit);
  }

  /**
   * Every sequence of {@code c}'s application schemas, without its last value where the role may
   * not see it: those with none in {@code pg_sequences} (from 10), or all of them (before 10), read
   * from their own relations in one more round trip where the role may select them.
   */
  private static List<Sequence> read(Connection c) throws SQLException {
    boolean before10 = c.getMetaData().getDatabaseMajorVersion() < 10;
    List<Sequence> all = list(c);
    List<Integer> fromRelation = new ArrayList<>();
    StringBuilder sql = new StringBuilder();
    for (int i = 0; i < all.size(); i++) {
      Sequence s = all.get(i);
      if (s.last() == null && s.selectable()) {
        sql.append(fromRelation.isEmpty() ? "" : " UNION ALL ").append("SELECT ").append(i).append(", last_value, is_called")
            .append(before10 ? ", increment_by, min_value, max_value" : ", 0::bigint, 0::bigint, 0::bigint").append(" FROM ")
            .append(s.qualified());
        fromRelation.add(i);
      }
    }
    if (fromRelation.isEmpty()) {
      return all;
    }
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.toString())) {
      while (rs.next()) {
        int i = rs.getInt(1);
        Sequence s = all.get(i);
        if (before10) {
          s = new Sequence(s.schema(), s.name(), rs.getLong(4), rs.getLong(5), rs.getLong(6), null, false, true, s.qualified());
        }
        all.set(i, s.with(rs.getLong(2), rs.getBoolean(3)));
      }
    }
    return all;
  }

  /** The connected role, quoted where it must be, for a GRANT in a message. */
  private static String user(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_catalog.quote_ident(current_user::text)")) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** {@link #READ} or {@link #LIST_BEFORE_10}: one round trip. */
  private static List<Sequence> list(Connection c) throws SQLException {
    List<Sequence> out = new ArrayList<>();
    String sql = c.getMetaData().getDatabaseMajorVersion() < 10 ? LIST_BEFORE_10 : READ;
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        long last = rs.getLong(6);
        Long seen = rs.wasNull() ? null : last;
        out.add(new Sequence(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4), rs.getLong(5), seen, seen != null,
            rs.getBoolean(7), rs.getString(8)));
      }
    }
    return out;
  }

  /**
   * The value to set a target sequence to ({@code setval(floor, true)}): the source's last
   * handed-out value ({@code last} once called, else {@code last - increment}) plus {@code margin}
   * increments; where that passes the bound in the sequence's direction, the source's value itself,
   * so the target keeps as many values as the source has left ({@link Floor#nearLimit}). Null when
   * the source has handed out no value of its current run and the margin does not reach its start:
   * any target value is then safe.
   */
  static Floor floor(long last, boolean called, long increment, long min, long max, long margin) {
    BigInteger inc = BigInteger.valueOf(increment);
    BigInteger handed = BigInteger.valueOf(last).subtract(called ? BigInteger.ZERO : inc);
    BigInteger wanted = handed.add(inc.multiply(BigInteger.valueOf(margin)));
    BigInteger lo = BigInteger.valueOf(min);
    BigInteger hi = BigInteger.valueOf(max);
    boolean up = increment > 0;
    if (wanted.compareTo(lo) >= 0 && wanted.compareTo(hi) <= 0) {
      return new Floor(wanted.longValueExact(), false);
    }
    if (up ? wanted.compareTo(hi) > 0 : wanted.compareTo(lo) < 0) {
      boolean inRange = handed.compareTo(lo) >= 0 && handed.compareTo(hi) <= 0;
      return inRange ? new Floor(handed.longValueExact(), true) : null;
    }
    return null;
  }
}
