package dev.cutover.replicator.schema;

import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a target lacks before a table or a column of the source's can be made there: the schema,
 * and the enums, domains and composite types its columns use (at any depth: a domain's base, an
 * array's element, a composite's field), deepest first, each as the source has it. A migration
 * that adds a schema or a type with the table or column that uses it otherwise left the printed
 * statements failing on "schema ... does not exist" or "type ... does not exist". Other kinds of
 * types (ranges, base types of extensions) are not made here: the statement that uses one names it.
 */
final class TypeDdl {
  /** The user-defined types {@code ?} columns of table {@code ?} use, at any depth, deepest first. */
  private static final String TYPES_USED = "WITH RECURSIVE t(oid, depth) AS ("
      + " SELECT a.atttypid, 0 FROM pg_attribute a WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped"
      + "   AND (a.attname = ANY (?::text[]) OR cardinality(?::text[]) = 0)"
      + " UNION SELECT u.next, t.depth + 1 FROM t JOIN pg_type y ON y.oid = t.oid, LATERAL ("
      + "   SELECT y.typbasetype WHERE y.typbasetype <> 0"
      + "   UNION ALL SELECT y.typelem WHERE y.typelem <> 0 AND y.typlen = -1"
      + "   UNION ALL SELECT f.atttypid FROM pg_attribute f JOIN pg_class r ON r.oid = f.attrelid AND r.relkind = 'c'"
      + "     WHERE f.attrelid = y.typrelid AND f.attnum > 0 AND NOT f.attisdropped) u(next) WHERE t.depth < 32)"
      + " SELECT y.oid::text, n.nspname, y.typname, y.typtype FROM t JOIN pg_type y ON y.oid = t.oid"
      + " JOIN pg_namespace n ON n.oid = y.typnamespace WHERE y.oid >= 16384 AND (y.typtype IN ('e', 'd')"
      + "   OR y.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = y.typrelid AND r.relkind = 'c'))"
      + " GROUP BY y.oid, n.nspname, y.typname, y.typtype ORDER BY max(t.depth) DESC, y.oid";

  private TypeDdl() {}

  /**
   * The statements that make on {@code target} the schema of {@code table} and the types that
   * {@code columns} of it use on {@code source} (all of them if empty), where {@code target}
   * lacks them; none if it has them all.
   */
  static List<String> missing(Connection source, Connection target, TableName table, List<String> columns) throws SQLException {
    return Sql.withCatalogPath(source, () -> {
      Set<String> schemas = new LinkedHashSet<>();
      schemas.add(table.schema());
      List<String> types = new ArrayList<>();
      String[] names = columns.toArray(String[]::new);
      for (String[] type : Sql.rows(source, TYPES_USED, table.regclass(), source.createArrayOf("text", names),
          source.createArrayOf("text", names))) {
        String qualified = Sql.qualified(type[1], type[2]);
        if (Sql.bool(target, "SELECT to_regtype(?) IS NULL", qualified)) {
          schemas.add(type[1]);
          types.add(create(source, Long.parseLong(type[0]), qualified, type[3].charAt(0)));
        }
      }
      List<String> out = new ArrayList<>();
      for (String schema : schemas) {
        if (!Sql.bool(target, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?)", schema)) {
          out.add("CREATE SCHEMA " + Sql.ident(schema));
        }
      }
      out.addAll(types);
      return out;
    });
  }

  /** The CREATE TYPE or CREATE DOMAIN of type {@code oid} as {@code source} has it (its path is pg_catalog's: names come qualified). */
  private static String create(Connection source, long oid, String qualified, char kind) throws SQLException {
    return switch (kind) {
      case 'e' -> "CREATE TYPE " + qualified + " AS ENUM (" + Sql.string(source, "SELECT coalesce(string_agg(quote_literal(enumlabel), ', '"
          + " ORDER BY enumsortorder), '') FROM pg_enum WHERE enumtypid = ?::oid", Long.toString(oid)) + ")";
      case 'c' -> "CREATE TYPE " + qualified + " AS (" + Sql.string(source, "SELECT string_agg(quote_ident(a.attname) || ' '"
          + " || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_type y JOIN pg_attribute a ON a.attrelid = y.typrelid"
          + " WHERE y.oid = ?::oid AND a.attnum > 0 AND NOT a.attisdropped", Long.toString(oid)) + ")";
      default -> Sql.string(source, "SELECT 'CREATE DOMAIN ' || ? || ' AS ' || format_type(y.typbasetype, y.typtypmod)"
          + " || coalesce((SELECT ' COLLATE ' || format('%I.%I', n.nspname, k.collname) FROM pg_collation k"
          + "   JOIN pg_namespace n ON n.oid = k.collnamespace JOIN pg_type b ON b.oid = y.typbasetype"
          + "   WHERE k.oid = y.typcollation AND y.typcollation <> b.typcollation), '')"
          + " || coalesce(' DEFAULT ' || pg_get_expr(y.typdefaultbin, 0), '') || CASE WHEN y.typnotnull THEN ' NOT NULL' ELSE '' END"
          + " || coalesce((SELECT string_agg(' CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid), ''"
          + "   ORDER BY c.conname) FROM pg_constraint c WHERE c.contypid = y.oid AND c.contype = 'c'), '') FROM pg_type y WHERE y.oid = ?::oid",
          qualified, Long.toString(oid));
    };
  }
}
