package dev.cutover.replicator.verify;

import dev.cutover.replicator.sql.Column;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Text for columns that hold floats below the top level (in arrays, composites, domains, ranges,
 * geometric types), the same on servers on both sides of PostgreSQL 12 for the same bits.
 *
 * <p>Both verify sessions print with {@code extra_float_digits = 3}, so each side's text is exact;
 * but before 12 a float prints with 17 or 18 digits ({@code %.17g}), from 12 with the shortest that
 * reads back ({@code 0.1} there, {@code 0.100000000000000006} before). Where the two servers print
 * floats alike (both before 12, or both 12 or later) a column's text is compared as it is. Where
 * they do not, each such column is rewritten, by its type as the source's catalog describes it,
 * into text where every float is its bits ({@code float8send}): arrays element by element (with
 * their bounds), composites field by field, domains as their base, ranges by their bounds, and
 * geometric values by reading the numbers of their (exact) text back as floats. Columns that hold
 * no float keep the fast path; top-level floats are compared by their bits anyway
 * ({@link Verifier#compared}).
 */
final class FloatText {
  private static final long FLOAT4 = 700;
  private static final long FLOAT8 = 701;
  /** point, lseg, path, box, polygon, line, circle: floats inside, no accessor for each. */
  private static final Set<Long> GEOMETRIC = Set.of(600L, 601L, 602L, 603L, 604L, 628L, 718L);

  private final Connection source;
  private final Map<Long, TypeInfo> types = new HashMap<>();
  private final Map<Long, Boolean> holds = new HashMap<>();
  private int depth;

  private record TypeInfo(char kind, long base, String baseName, long element, long range, List<String[]> fields) {}

  private FloatText(Connection source) {
    this.source = source;
  }

  /**
   * For each column of {@code info} that holds a float below the top level, the expression of its
   * text with every float as its bits (column name to expression); the source's catalog describes
   * the types, and the same expression runs on both sides.
   */
  static Map<String, String> of(Connection source, TableInfo info, TableInfo target) throws SQLException {
    FloatText f = new FloatText(source);
    Map<String, String> out = new HashMap<>();
    for (Column c : info.columns()) {
      Column other = target.column(c.name());
      if (other == null || !other.type().equals(c.type()) || c.typeOid() == FLOAT4 || c.typeOid() == FLOAT8) {
        continue;
      }
      if (f.holdsFloat(c.typeOid())) {
        out.put(c.name(), f.text(c.typeOid(), Sql.ident(c.name())));
      }
    }
    return out;
  }

  private TypeInfo type(long oid) throws SQLException {
    TypeInfo t = types.get(oid);
    if (t == null) {
      String[] row = Sql.rows(source, "SELECT typtype::text, typbasetype::text, format_type(typbasetype, typtypmod),"
          + " CASE WHEN typelem <> 0 AND typlen = -1 THEN typelem ELSE 0 END::text,"
          + " coalesce((SELECT rngsubtype FROM pg_range WHERE rngtypid = y.oid), 0)::text FROM pg_type y WHERE oid = ?::oid",
          String.valueOf(oid)).get(0);
      List<String[]> fields = "c".equals(row[0]) ? Sql.rows(source, "SELECT a.attname::text, a.atttypid::text FROM pg_type y"
          + " JOIN pg_attribute a ON a.attrelid = y.typrelid WHERE y.oid = ?::oid AND a.attnum > 0 AND NOT a.attisdropped"
          + " ORDER BY a.attnum", String.valueOf(oid)) : List.of();
      t = new TypeInfo(row[0].charAt(0), Long.parseLong(row[1]), row[2], Long.parseLong(row[3]), Long.parseLong(row[4]), fields);
      types.put(oid, t);
    }
    return t;
  }

  private boolean holdsFloat(long oid) throws SQLException {
    Boolean known = holds.get(oid);
    if (known != null) {
      return known;
    }
    holds.put(oid, false); // a type cannot hold itself; this ends any cycle
    TypeInfo t = type(oid);
    boolean h = oid == FLOAT4 || oid == FLOAT8 || GEOMETRIC.contains(oid)
        || t.kind() == 'd' && holdsFloat(t.base()) || t.element() != 0 && holdsFloat(t.element())
        || t.kind() == 'r' && holdsFloat(t.range());
    for (String[] f : t.fields()) {
      h = h || holdsFloat(Long.parseLong(f[1]));
    }
    holds.put(oid, h);
    return h;
  }

  /** The text of {@code x}, a value of type {@code oid} that holds a float; NULL for NULL. */
  private String text(long oid, String x) throws SQLException {
    if (oid == FLOAT8) {
      return "float8send(" + x + ")::text";
    }
    if (oid == FLOAT4) {
      return "float4send(" + x + ")::text";
    }
    if (GEOMETRIC.contains(oid)) {
      // Its text is exact (extra_float_digits 3): each number read back is the float it holds.
      return "CASE WHEN " + x + " IS NULL THEN NULL ELSE left(" + x + "::text, 1) || (SELECT string_agg(float8send(v::float8)::text, ',')"
          + " FROM regexp_split_to_table(translate(" + x + "::text, '()[]<>{}', ''), ',') v) END";
    }
    TypeInfo t = type(oid);
    if (t.kind() == 'd') {
      return text(t.base(), "(" + x + ")::" + t.baseName());
    }
    String alias = "cutover_f" + (++depth);
    if (t.element() != 0) {
      // unnest(x) v: v is the element, a composite one whole; array_agg keeps unnest's order.
      return "CASE WHEN " + x + " IS NULL THEN NULL ELSE ROW(array_dims(" + x + "), (SELECT array_agg("
          + (holdsFloat(t.element()) ? text(t.element(), alias) : alias + "::text") + ") FROM unnest(" + x + ") " + alias + "))::text END";
    }
    if (t.kind() == 'r') {
      return "CASE WHEN " + x + " IS NULL THEN NULL WHEN isempty(" + x + ") THEN 'empty' ELSE ROW(lower_inc(" + x + "), upper_inc(" + x
          + "), " + text(t.range(), "lower(" + x + ")") + ", " + text(t.range(), "upper(" + x + ")") + ")::text END";
    }
    StringBuilder row = new StringBuilder();
    for (String[] f : t.fields()) {
      String field = "(" + x + ")." + Sql.ident(f[0]);
      long fieldType = Long.parseLong(f[1]);
      row.append(row.length() == 0 ? "" : ", ").append(holdsFloat(fieldType) ? text(fieldType, field) : field);
    }
    // A composite whose fields are all NULL is not NULL itself (num_nonnulls counts the value).
    return "CASE WHEN num_nonnulls(" + x + ") = 0 THEN NULL ELSE ROW(" + row + ")::text END";
  }
}
