package dev.cutover.replicator.verify;

import dev.cutover.replicator.sql.Column;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The SQL expression that hashes one row into a {@code bigint} the same way on both servers, and
 * the aggregate over many rows: {@code count(*)} and {@code sum} of the row hashes. A sum does not
 * depend on row order, so a range needs no sort, and unlike XOR two equal rows do not cancel out.
 *
 * <p>Each column is hashed by itself with a seed of its position and the hashes are XORed. Where
 * both sides give a column the same type and PostgreSQL has a hash function for it whose result
 * does not depend on the server's version (the {@code *extended} hash functions of PostgreSQL 11+:
 * integers, text, bpchar, uuid, numeric; bytea through md5), the value is hashed as it is stored
 * (numeric with its scale, which its hash leaves out, hashed with the column's seed). Any other
 * column (jsonb too: its hash leaves its numbers' scale out as well) is hashed as its
 * text, which both sessions print the same way (UTC, ISO dates, hex bytea, every float digit;
 * floats below the top level as {@link FloatText} rewrites them where the servers print floats
 * otherwise). Turning every row into text ({@code ROW(...)::text}) is the slow part of
 * hashing a row; hashing each column as stored avoids it for the common types (see
 * docs/benchmarks.md, {@code ./bench verify}). Servers older than 11 lack the extended hash
 * functions, so there the row's text goes through md5, slower but the same on both sides.
 *
 * <p>Text is hashed as the server stores it, in its {@code server_encoding}: the same characters
 * are other bytes in LATIN1 than in UTF8. So where the two servers' encodings differ, every value
 * whose text can hold more than ASCII is hashed as its UTF-8 form instead ({@code convert_to(x::text,
 * 'UTF8')} through md5), on both sides alike; integers, uuid, numeric, boolean, floats and bytea
 * are hashed as before. Servers of one encoding hash as they always did, at no extra cost.
 */
final class RowHash {
  private static final Set<String> INTEGERS = Set.of("smallint", "integer", "bigint");
  /** Types {@link #hash} hashes by a form that does not depend on the server's encoding. */
  private static final Set<String> BYTES_ALIKE = Set.of("uuid", "numeric", "bytea", "boolean", "double precision", "real");

  private RowHash() {}

  /**
   * The row hash of {@code source}'s columns that {@code target} has too.
   *
   * @param extended whether both servers have the extended hash functions (11+)
   * @param byUtf8 whether the servers' encodings differ, so that text is hashed as its UTF-8 bytes
   */
  static String expression(TableInfo source, TableInfo target, boolean extended, boolean byUtf8, Map<String, String> floatTexts) {
    List<String> parts = new ArrayList<>();
    List<String> texts = new ArrayList<>();
    int seed = 0;
    for (Column c : source.columns()) {
      Column other = target.column(c.name());
      if (other == null) {
        continue;
      }
      seed++;
      String col = Sql.ident(c.name());
      String floatText = floatTexts.get(c.name());
      texts.add(floatText != null ? floatText : Verifier.compared(c));
      String h = floatText == null ? hash(col, c.type(), other.type(), seed, byUtf8)
          : byUtf8 ? utf8(floatText, seed) : text(floatText, seed);
      parts.add("coalesce(" + h + ", " + (-seed) + ")");
    }
    if (!extended) {
      return "('x' || substr(" + digest("ROW(" + String.join(", ", texts) + ")::text", byUtf8) + ", 1, 16))::bit(64)::bigint";
    }
    return parts.isEmpty() ? "0::bigint" : String.join(" # ", parts);
  }

  /** md5 of a text expression: of its UTF-8 bytes when {@code byUtf8}, else of the server's own. */
  static String digest(String text, boolean byUtf8) {
    return byUtf8 ? "md5(convert_to(" + text + ", 'UTF8'))" : "md5(" + text + ")";
  }

  /**
   * The hash of a text expression's characters, under collation "C": hashed under a
   * nondeterministic collation (12+; a column's own, which its text, its array's text and its
   * domain's text keep), text is hashed by its sort key, so that text differing only where the
   * collation looks away ({@code Zoë} and {@code ZOE} under a case- and accent-insensitive one)
   * hashes alike and verify would call the rows the same.
   */
  private static String text(String text, int seed) {
    return "hashtextextended((" + text + ") COLLATE \"C\", " + seed + ")";
  }

  /** The hash of a text expression's UTF-8 bytes, the same on servers of any two encodings. */
  private static String utf8(String text, int seed) {
    return "hashtextextended(" + digest(text, true) + ", " + seed + ")";
  }

  /**
   * The hash of one column; {@code type} and {@code otherType} are both sides' {@code format_type};
   * {@code byUtf8}: every type whose text can hold more than ASCII is hashed by its UTF-8 text.
   */
  private static String hash(String col, String type, String otherType, int seed, boolean byUtf8) {
    String base = baseType(type);
    String otherBase = baseType(otherType);
    if (INTEGERS.contains(base) && INTEGERS.contains(otherBase)) {
      // hashint8extended of a value that fits in 32 bits equals hashint4extended: integers of any width agree.
      return "hashint8extended(" + col + "::bigint, " + seed + ")";
    }
    if (!type.equals(otherType)) {
      return byUtf8 ? utf8(col + "::text", seed) : text(col + "::text", seed);
    }
    if (byUtf8 && !BYTES_ALIKE.contains(base)) {
      // bpchar's text drops its trailing blanks as hashbpcharextended does.
      return utf8(col + "::text", seed);
    }
    return switch (base) {
      case "text", "character varying", "name" -> text(col + "::text", seed);
      case "character" -> "hashbpcharextended(" + col + " COLLATE \"C\", " + seed + ")";
      case "uuid" -> "uuid_hash_extended(" + col + ", " + seed + ")";
      // hash_numeric_extended takes 2.50 for 2.5, which differ as rows: the scale goes in too (NaN has
      // none), hashed with the column's seed: XORed as it is, scales swapped between two columns cancelled.
      case "numeric" -> "(hash_numeric_extended(" + col + ", " + seed + ") # hashint4extended(coalesce(scale(" + col + "), -1), "
          + seed + "))";
      // By its text, which is canonical (keys sorted, duplicates gone) and keeps each number's scale,
      // which jsonb_hash_extended leaves out ({"price": 1.0} and {"price": 1} differ as rows).
      case "jsonb" -> text(col + "::text", seed);
      case "bytea" -> "hashtextextended(md5(" + col + "), " + seed + ")";
      case "boolean" -> "hashint8extended(" + col + "::int, " + seed + ")";
      // By their bits: before 12 a float's text drops digits that 12 and later print.
      case "double precision" -> "hashtextextended(md5(float8send(" + col + ")), " + seed + ")";
      case "real" -> "hashtextextended(md5(float4send(" + col + ")), " + seed + ")";
      default -> text(col + "::text", seed);
    };
  }

  /** {@code character varying(40)} → {@code character varying}; arrays keep their brackets. */
  private static String baseType(String type) {
    int paren = type.indexOf('(');
    return paren < 0 ? type : type.substring(0, paren) + (type.endsWith("[]") ? "[]" : "");
  }

  /** {@code count(*), sum(hash)} of the rows a query selects, as two columns. */
  static String aggregate(String rowHash) {
    return "count(*), coalesce(sum(" + rowHash + "), 0)::text";
  }
}
