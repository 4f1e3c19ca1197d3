package dev.cutover.replicator.sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Catalog queries about application tables, shared by check, start and verify. */
public final class Catalog {
  /** Schemas that never hold application tables. */
  public static final String SYSTEM_SCHEMA_FILTER =
      "n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover') AND n.nspname NOT LIKE 'pg\\_%'";

  /**
   * {@code format_type} of column {@code a}'s type, with the schema of a type outside pg_catalog
   * always named: format_type leaves it out where the session's path finds the type, and the two
   * sides' paths may differ (a schema left out where other roles may create, {@code Endpoint}),
   * while check and verify compare both sides' types as printed.
   */
  private static final String TYPE_NAME = "(SELECT CASE WHEN en.nspname <> 'pg_catalog' AND pg_type_is_visible(e.oid)"
      + " THEN quote_ident(en.nspname) || '.' ELSE '' END FROM pg_type y"
      + " JOIN pg_type e ON e.oid = CASE WHEN y.typelem <> 0 AND y.typlen = -1 THEN y.typelem ELSE y.oid END"
      + " JOIN pg_namespace en ON en.oid = e.typnamespace WHERE y.oid = a.atttypid) || format_type(a.atttypid, a.atttypmod)";

  private Catalog() {}

  /** Ordinary tables (including partitions) outside the system schemas and {@code cutover}. */
  public static List<TableName> applicationTables(Connection c) throws SQLException {
    return tables(c, "c.relkind = 'r' AND c.relpersistence = 'p' AND " + SYSTEM_SCHEMA_FILTER);
  }

  /**
   * The extension whose configuration table {@code table} is ({@code pg_extension.extconfig} holds
   * it: a table its script registered with {@code pg_extension_config_dump}, as PostGIS's {@code
   * spatial_ref_sys}), or null. Its {@code CREATE EXTENSION} fills it on new, so new has rows there
   * before the copy though the schema came from old.
   */
  public static String extensionOfConfigTable(Connection c, TableName table) throws SQLException {
    List<String> names = Sql.strings(c, "SELECT e.extname::pg_catalog.text FROM pg_catalog.pg_extension e"
        + " WHERE ?::pg_catalog.regclass::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (e.extconfig)", table.regclass());
    return names.isEmpty() ? null : names.get(0);
  }

  /**
   * Why new's {@code table} holding rows stops start's copy, and what to do: for an extension's
   * configuration table ({@link #extensionOfConfigTable}), that the extension's {@code CREATE
   * EXTENSION} on new filled it and that {@code TRUNCATE} on new lets the copy bring old's rows (the
   * extension's own and those added on old); otherwise null (the caller's general remedy holds).
   */
  public static String configTableRows(Connection nw, TableName table) throws SQLException {
    String extension = extensionOfConfigTable(nw, table);
    return extension == null ? null : table + " on new is a configuration table of extension " + extension + ", which its CREATE"
        + " EXTENSION on new filled (schema's ran it): TRUNCATE " + table.quoted() + " on new, and the copy brings old's rows"
        + " there, the extension's own and any added on old";
  }

  /** Unlogged tables (those holding rows), which logical replication never carries. */
  public static List<TableName> unloggedTables(Connection c) throws SQLException {
    return tables(c, "c.relkind = 'r' AND c.relpersistence = 'u' AND " + SYSTEM_SCHEMA_FILTER);
  }

  /** The tables a publication carries (leaf tables of partitioned ones). */
  public static List<TableName> publishedTables(Connection c, String publication) throws SQLException {
    List<TableName> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = ? ORDER BY 1, 2")) {
      ps.setString(1, publication);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new TableName(rs.getString(1), rs.getString(2)));
        }
      }
    }
    return out;
  }

  /** Relations {@code c} (pg_class) of namespace {@code n} that {@code where} keeps, by schema and name. */
  public static List<TableName> tables(Connection c, String where) throws SQLException {
    List<TableName> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT n.nspname, c.relname FROM pg_class c"
        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " + where + " ORDER BY 1, 2");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(new TableName(rs.getString(1), rs.getString(2)));
      }
    }
    return out;
  }

  /** Sequences outside the system schemas and {@code cutover}: schema and name each (pg_class, since 9.6 has no pg_sequences). */
  public static List<String[]> sequences(Connection c) throws SQLException {
    return Sql.rows(c, "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE c.relkind = 'S' AND " + SYSTEM_SCHEMA_FILTER + " ORDER BY 1, 2");
  }

  /** Everything about {@code table}, or empty when it does not exist on this server. */
  public static Optional<TableInfo> describe(Connection c, TableName table) throws SQLException {
    long oid;
    char replident;
    long bytes;
    long reltuples;
    boolean partition;
    boolean partitioned;
    int major = Sql.majorVersionOf(c);
    try (PreparedStatement ps = c.prepareStatement("SELECT c.oid, c.relreplident, pg_relation_size(c.oid),"
        + " c.reltuples::bigint, " + (major >= 10 ? "c.relispartition" : "false") + ", c.relkind = 'p'"
        + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')")) {
      ps.setString(1, table.schema());
      ps.setString(2, table.name());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        oid = rs.getLong(1);
        replident = rs.getString(2).charAt(0);
        bytes = rs.getLong(3);
        reltuples = rs.getLong(4);
        partition = rs.getBoolean(5);
        partitioned = rs.getBoolean(6);
      }
    }
    List<Column> columns = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT a.attname, " + TYPE_NAME + ","
        + " a.atttypid::bigint, " + (major >= 12 ? "a.attgenerated <> ''" : "false") + ", a.attnotnull FROM pg_attribute a"
        + " WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          columns.add(new Column(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getBoolean(4), rs.getBoolean(5)));
        }
      }
    }
    String keyKind = "none";
    List<String> key = List.of();
    List<KeyOperators> operators = new ArrayList<>();
    String deferrableKey = null;
    // Primary key first, then the replica identity index, then any unique index over NOT NULL
    // columns without expressions or predicate: all three identify a row. Only an immediate one:
    // a DEFERRABLE index lets a statement or a transaction hold a key twice before it checks, so
    // a change replayed row by row there finds two rows (or fails), and PostgreSQL takes none as
    // replica identity (its UPDATE and DELETE then fail on a published table). Such a table is
    // keyless; the deferrable index passed over is noted for the messages that say so.
    try (PreparedStatement ps = c.prepareStatement("SELECT CASE WHEN i.indisprimary THEN 'primary key'"
        + " WHEN i.indisreplident THEN 'replica identity index' ELSE 'unique index' END,"
        + " array(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)"
        + "   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[], "
        + keyOperator(3) + ", " + keyOperator(1) + ", " + keyOperator(4) + ", " + keyColumns("(SELECT format('%I.%I', tn.nspname, t.typname)"
            + " FROM pg_type t JOIN pg_namespace tn ON tn.oid = t.typnamespace WHERE t.oid = oc.opcintype AND t.typtype <> 'p')") + ","
        + " i.indimmediate, i.indexrelid::regclass::text"
        + " FROM pg_index i WHERE i.indrelid = ? AND i.indisunique AND i.indisvalid AND i.indpred IS NULL"
        + " AND i.indexprs IS NULL AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) k(attnum)"
        + "   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE NOT a.attnotnull)"
        + " AND 0 <> ALL (i.indkey::int2[])"
        + " ORDER BY i.indimmediate DESC, i.indisprimary DESC, i.indisreplident DESC, i.indnatts, i.indexrelid")) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (rs.getBoolean(7)) {
            if (key.isEmpty()) {
              keyKind = rs.getString(1);
              String[] names = (String[]) rs.getArray(2).getArray();
              key = List.of(names);
              String[] eq = (String[]) rs.getArray(3).getArray();
              String[] lt = (String[]) rs.getArray(4).getArray();
              String[] ge = (String[]) rs.getArray(5).getArray();
              String[] types = (String[]) rs.getArray(6).getArray();
              for (int i = 0; i < names.length; i++) {
                operators.add(eq[i] == null || lt[i] == null || ge[i] == null ? KeyOperators.BUILT_IN
                    : new KeyOperators(eq[i], lt[i], ge[i], types[i]));
              }
            }
          } else if (deferrableKey == null) {
            deferrableKey = rs.getString(1) + " " + rs.getString(8);
          }
        }
      }
    }
    return Optional.of(new TableInfo(table, List.copyOf(columns), key, List.copyOf(operators), keyKind, deferrableKey, replident, bytes,
        reltuples, partition, partitioned));
  }

  /** The key index's btree operator of {@code strategy} for each key column, {@code OPERATOR(schema.op)} ({@link KeyOperators}). */
  private static String keyOperator(int strategy) {
    return keyColumns("(SELECT format('OPERATOR(%I.%s)', n.nspname, o.oprname) FROM pg_amop a JOIN pg_operator o ON o.oid = a.amopopr"
        + " JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE a.amopfamily = oc.opcfamily AND a.amoplefttype = oc.opcintype"
        + " AND a.amoprighttype = oc.opcintype AND a.amopstrategy = " + strategy + ")");
  }

  /**
   * {@code per} for each key column of index {@code i}, as a text array in the key's order: {@code
   * oc} is the column's operator class, none for an INCLUDE column (a null then).
   */
  private static String keyColumns(String per) {
    return "array(SELECT " + per + " FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)"
        + " LEFT JOIN pg_opclass oc ON oc.oid = (i.indclass::oid[])[k.ord - 1] ORDER BY k.ord)::text[]";
  }

  /** {@link #describe} that fails when the table is missing. */
  public static TableInfo require(Connection c, TableName table, String side) throws SQLException {
    return describe(c, table).orElseThrow(() -> new SQLException(
        "table " + table + " does not exist on the " + side + " database", "42P01"));
  }

  /** Whether the current role is a superuser. */
  public static boolean superuser(Connection c) throws SQLException {
    return Sql.bool(c, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
  }

  /** The current role's name. */
  public static String currentUser(Connection c) throws SQLException {
    return Sql.string(c, "SELECT current_user");
  }
}
