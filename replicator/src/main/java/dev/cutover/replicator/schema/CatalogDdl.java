package dev.cutover.replicator.schema;

import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Statements that recreate a table, a column or a sequence of old exactly as old's catalog
 * describes it, for the remedies {@code check} and {@code status} print: type with its modifier,
 * collation where it is not the type's default, DEFAULT, stored or virtual generation, identity,
 * NOT NULL; for a table also its partitioning, constraints, indexes and replica identity.
 *
 * <p>Everything is read with {@code search_path = pg_catalog}, so every name in an expression or
 * definition comes out schema-qualified and means the same when run on new with any path.
 *
 * <p>The statements are written for the server they are to run on (the target), which may be
 * older than the one described (the way back into old): a sequence's {@code AS type} (10+) is left
 * out before 10, where every sequence is a bigint bounded by its MINVALUE and MAXVALUE; an identity
 * column (10+) becomes before 10 what a serial is, a sequence of its own, a DEFAULT drawing from it
 * and OWNED BY; what cannot be said there at all ({@code NULLS NOT DISTINCT} before 15, a generated
 * column before 12, declarative partitioning before 10) is refused with {@link NotExpressible},
 * naming it, rather than given as a statement that fails there.
 */
public final class CatalogDdl {
  /** The column's collation, qualified, when it is not its type's default. */
  private static final String COLLATION = "CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN"
      + " (SELECT format('%I.%I', n.nspname, k.collname) FROM pg_collation k JOIN pg_namespace n ON n.oid = k.collnamespace"
      + " WHERE k.oid = a.attcollation) END";

  private CatalogDdl() {}

  /**
   * Something of the source's that no statement can make on the target's version, named with the
   * version it came with; the message says so, for a remedy to print instead of statements.
   */
  public static final class NotExpressible extends SQLException {
    private static final long serialVersionUID = 1L;

    NotExpressible(String what, String feature, int since, int targetMajor) {
      super(what + " uses " + feature + ", which came with PostgreSQL " + since + ": no statement makes it on an older server"
          + " (this one is " + (targetMajor < 10 ? "9.x" : String.valueOf(targetMajor)) + ")", "0A000");
    }
  }

  /**
   * Null where {@code definition} (a constraint's or index's, as {@code pg_get_constraintdef} or
   * {@code pg_get_indexdef} print it) can run on {@code targetMajor}; else what stands in the way.
   */
  public static NotExpressible unexpressible(String what, String definition, int targetMajor) {
    if (targetMajor < 15 && definition.contains(" NULLS NOT DISTINCT")) {
      return new NotExpressible(what, "NULLS NOT DISTINCT", 15, targetMajor);
    }
    return null;
  }

  private static void requireExpressible(String what, String definition, int targetMajor) throws NotExpressible {
    NotExpressible e = unexpressible(what, definition, targetMajor);
    if (e != null) {
      throw e;
    }
  }

  /**
   * {@code ALTER TABLE ... ADD COLUMN ...} for {@code column} of {@code table} as old has it, for a
   * target of the same version (see {@link #addColumn(Connection, TableName, String, int)}).
   */
  public static String addColumn(Connection c, TableName table, String column) throws SQLException {
    return String.join("; ", addColumn(c, table, column, Sql.majorVersionOf(c)));
  }

  /**
   * The statements that add {@code column} of {@code table} as {@code c} has it on a server of
   * version {@code targetMajor}: the ADD COLUMN, and for an identity column before 10 the sequence
   * before it and its OWNED BY after.
   */
  public static List<String> addColumn(Connection c, TableName table, String column, int targetMajor) throws SQLException {
    return Sql.withCatalogPath(c, () -> {
      for (ColumnDdl def : columns(c, table, targetMajor)) {
        if (def.name().equals(column)) {
          List<String> out = new ArrayList<>(def.before());
          out.add("ALTER TABLE " + table.quoted() + " ADD COLUMN " + def.definition());
          out.addAll(def.after());
          return out;
        }
      }
      throw new SQLException("column " + column + " of " + table + " does not exist", "42703");
    });
  }

  /**
   * {@link #addColumn}, preceded by the types it uses that {@code target} lacks ({@link TypeDdl})
   * and the {@code CREATE SEQUENCE} of each sequence its default draws
   * from that {@code target} lacks (a {@code serial} column added on the source brings one), and
   * followed by the {@code OWNED BY} that ties a serial's sequence to it as on the source.
   */
  public static List<String> addColumnWithSequences(Connection source, Connection target, TableName table, String column)
      throws SQLException {
    int targetMajor = Sql.majorVersionOf(target);
    List<String> before = new ArrayList<>();
    List<String> after = new ArrayList<>();
    for (String[] seq : defaultSequences(source, table, column)) {
      if (!Sql.relationExists(target, Sql.qualified(seq[0], seq[1]))) {
        before.add(createSequence(source, seq[0], seq[1], targetMajor));
        if ("true".equals(seq[2])) {
          after.add("ALTER SEQUENCE " + Sql.qualified(seq[0], seq[1]) + " OWNED BY " + table.quoted() + "." + Sql.ident(column));
        }
      }
    }
    before.addAll(addColumn(source, table, column, targetMajor));
    before.addAll(after);
    List<String> out = new ArrayList<>(TypeDdl.missing(source, target, table, List.of(column)));
    out.addAll(before);
    return out;
  }

  /**
   * The sequences the defaults of {@code table}'s columns (of {@code column} alone unless null) draw
   * from: schema, name, whether the column owns it ({@code "true"}, a serial's) and the column.
   */
  private static List<String[]> defaultSequences(Connection source, TableName table, String column) throws SQLException {
    return Sql.rows(source, "SELECT n.nspname, q.relname, EXISTS (SELECT 1 FROM pg_depend o WHERE o.classid = 'pg_class'::regclass"
        + " AND o.objid = q.oid AND o.refobjid = ad.adrelid AND o.refobjsubid = ad.adnum AND o.deptype = 'a')::text, a.attname::text"
        + " FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum"
        + " JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass"
        + " JOIN pg_class q ON q.oid = d.refobjid AND q.relkind = 'S' JOIN pg_namespace n ON n.oid = q.relnamespace"
        + " WHERE ad.adrelid = ?::regclass AND (?::text = '' OR a.attname = ?::text) AND NOT a.attisdropped ORDER BY 1, 2",
        table.regclass(), column == null ? "" : column, column == null ? "" : column);
  }

  /**
   * {@link #createMissing}, with the {@code CREATE SEQUENCE} of each sequence the table's defaults
   * draw from that {@code target} lacks (and its schema) before the {@code CREATE TABLE} whose
   * {@code DEFAULT nextval(...)} needs it, and after it the {@code OWNED BY} that ties a serial's
   * sequence to its column as on the source: statements that run in the order given (r26: the
   * table came first and failed on its missing sequence).
   */
  public static List<String> createMissingWithSequences(Connection source, Connection target, TableName table) throws SQLException {
    int targetMajor = Sql.majorVersionOf(target);
    List<String> out = new ArrayList<>();
    List<String> after = new ArrayList<>();
    for (String[] seq : defaultSequences(source, table, null)) {
      String qualified = Sql.qualified(seq[0], seq[1]);
      if (Sql.relationExists(target, qualified)) {
        continue;
      }
      String schema = "CREATE SCHEMA " + Sql.ident(seq[0]);
      if (!out.contains(schema) && !Sql.bool(target, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?)", seq[0])) {
        out.add(schema);
      }
      String create = createSequence(source, seq[0], seq[1], targetMajor);
      if (!out.contains(create)) {
        out.add(create);
      }
      if ("true".equals(seq[2])) {
        after.add("ALTER SEQUENCE " + qualified + " OWNED BY " + table.quoted() + "." + Sql.ident(seq[3]));
      }
    }
    for (String statement : createMissing(source, target, table)) {
      if (!out.contains(statement)) { // the sequences' schema is the table's
        out.add(statement);
      }
    }
    out.addAll(after);
    return out;
  }

  /**
   * The default of {@code column} where it is computed rather than a constant (it calls a
   * function: {@code now()}, {@code nextval}, {@code random()}, a cast with a length; or the
   * column is an identity), else null.
   * Adding such a column on another server fills the rows there with that server's own values.
   */
  public static String computedDefault(Connection c, TableName table, String column) throws SQLException {
    if (Sql.majorVersionOf(c) >= 10 && Sql.bool(c, "SELECT attidentity <> '' FROM pg_attribute WHERE attrelid = ?::regclass AND attname = ?",
        table.regclass(), column)) {
      return "an identity";
    }
    List<String> found = Sql.withCatalogPath(c, () -> Sql.strings(c, "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d"
        + " JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = ?::regclass AND a.attname = ?"
        + " AND (d.adbin::text LIKE '%FUNCEXPR%' OR d.adbin::text LIKE '%OPEXPR%' OR d.adbin::text LIKE '%SQLVALUEFUNCTION%')",
        table.regclass(), column));
    return found.isEmpty() ? null : found.get(0);
  }

  /**
   * {@code ALTER TABLE ... ALTER COLUMN ... TYPE ...} that gives {@code column} of {@code table}
   * on another server the type and collation it has here.
   */
  public static String alterColumnType(Connection c, TableName table, String column) throws SQLException {
    return Sql.withCatalogPath(c, () -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT format_type(a.atttypid, a.atttypmod), " + COLLATION
          + " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = ?::regclass AND a.attname = ?")) {
        ps.setString(1, table.regclass());
        ps.setString(2, column);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            throw new SQLException("column " + column + " of " + table + " does not exist", "42703");
          }
          String col = Sql.ident(column);
          return "ALTER TABLE " + table.quoted() + " ALTER COLUMN " + col + " TYPE " + rs.getString(1)
              + (rs.getString(2) == null ? "" : " COLLATE " + rs.getString(2)) + " USING " + col + "::" + rs.getString(1);
        }
      }
    });
  }

  /**
   * The statements that create {@code table} as old has it: the table (or partition) with every
   * column, then its constraints, the indexes that back no constraint, and its replica identity.
   */
  public static List<String> createTable(Connection c, TableName table) throws SQLException {
    return createTable(c, table, Sql.majorVersionOf(c));
  }

  /** {@link #createTable(Connection, TableName)}, written for a server of version {@code targetMajor}. */
  public static List<String> createTable(Connection c, TableName table, int targetMajor) throws SQLException {
    return Sql.withCatalogPath(c, () -> {
      List<String> out = new ArrayList<>();
      String persistence;
      String partitionOf = null;
      String bound = null;
      String partitionKey;
      char identity;
      // Declarative partitioning came with PostgreSQL 10.
      String partitioning = Sql.majorVersionOf(c) < 10 ? "false, NULL, NULL, NULL" : "c.relispartition,"
          + " (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid), pg_get_expr(c.relpartbound, c.oid),"
          + " CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END";
      try (PreparedStatement ps = c.prepareStatement("SELECT c.relpersistence, " + partitioning + ", c.relreplident FROM pg_class c"
          + " WHERE c.oid = ?::regclass")) {
        ps.setString(1, table.regclass());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          persistence = rs.getString(1);
          if (rs.getBoolean(2)) {
            partitionOf = rs.getString(3);
            bound = rs.getString(4);
          }
          partitionKey = rs.getString(5);
          identity = rs.getString(6).charAt(0);
        }
      }
      if (targetMajor < 10 && (partitionOf != null || partitionKey != null)) {
        throw new NotExpressible("table " + table, partitionOf != null ? "declarative partitioning (PARTITION OF " + partitionOf + ")"
            : "declarative partitioning (PARTITION BY " + partitionKey + ")", 10, targetMajor);
      }
      List<String> sequences = new ArrayList<>();
      List<String> owned = new ArrayList<>();
      StringBuilder create = new StringBuilder("CREATE ").append("u".equals(persistence) ? "UNLOGGED " : "").append("TABLE ")
          .append(table.quoted());
      if (partitionOf != null) {
        create.append(" PARTITION OF ").append(partitionOf).append(' ').append(bound);
      } else {
        List<String> defs = new ArrayList<>();
        for (ColumnDdl def : columns(c, table, targetMajor)) {
          defs.add(def.definition());
          sequences.addAll(def.before());
          owned.addAll(def.after());
        }
        create.append(" (").append(String.join(", ", defs)).append(')');
      }
      if (partitionKey != null) {
        create.append(" PARTITION BY ").append(partitionKey);
      }
      out.addAll(sequences);
      out.add(create.toString());
      out.addAll(owned);
      // Constraints a partition inherits come with PARTITION OF; only its own are added.
      try (PreparedStatement ps = c.prepareStatement("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
          + " WHERE conrelid = ?::regclass AND contype IN ('p', 'u', 'c', 'x', 'f') AND conislocal ORDER BY contype = 'f', conname")) {
        ps.setString(1, table.regclass());
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            requireExpressible("constraint " + rs.getString(1) + " of " + table, rs.getString(2), targetMajor);
            out.add("ALTER TABLE " + table.quoted() + " ADD CONSTRAINT " + Sql.ident(rs.getString(1)) + " " + rs.getString(2));
          }
        }
      }
      for (String index : Sql.strings(c, "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = ?::regclass"
          + " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)"
          + " AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid) ORDER BY i.indexrelid", table.regclass())) {
        requireExpressible("an index of " + table + " (" + index + ")", index, targetMajor);
        out.add(index);
      }
      if (identity == 'f' || identity == 'n') {
        out.add("ALTER TABLE " + table.quoted() + " REPLICA IDENTITY " + (identity == 'f' ? "FULL" : "NOTHING"));
      } else if (identity == 'i') {
        String index = Sql.string(c, "SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
            + " WHERE i.indrelid = ?::regclass AND i.indisreplident", table.regclass());
        if (index != null) {
          out.add("ALTER TABLE " + table.quoted() + " REPLICA IDENTITY USING INDEX " + Sql.ident(index));
        }
      }
      return out;
    });
  }

  /**
   * The statements that create {@code table} of {@code source} on {@code target}, preceded by
   * those of its partitioned parents {@code target} lacks too, and of the schema and the types it
   * uses that {@code target} lacks ({@link TypeDdl}).
   */
  public static List<String> createMissing(Connection source, Connection target, TableName table) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = source.prepareStatement("SELECT n.nspname, p.relname FROM pg_inherits i"
        + " JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace"
        + " WHERE i.inhrelid = ?::regclass AND p.relkind = 'p'")) {
      ps.setString(1, table.regclass());
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          TableName parent = new TableName(rs.getString(1), rs.getString(2));
          if (!Sql.relationExists(target, parent.quoted())) {
            out.addAll(createMissing(source, target, parent));
          }
        }
      }
    }
    for (String statement : TypeDdl.missing(source, target, table, List.of())) {
      if (!out.contains(statement)) { // a parent's made it already
        out.add(statement);
      }
    }
    out.addAll(createTable(source, table, Sql.majorVersionOf(target)));
    return out;
  }

  /**
   * {@code CREATE SEQUENCE} with {@code c}'s type, bounds, increment, cache and cycle (its value
   * moves at the switch), for a server of version {@code targetMajor}: before 10, which has no
   * {@code AS type}, the bounds alone keep a smallint's or integer's range.
   */
  public static String createSequence(Connection c, String schema, String name, int targetMajor) throws SQLException {
    // Before PostgreSQL 10 a sequence is a bigint whose parameters are in the sequence itself.
    boolean inCatalog = Sql.majorVersionOf(c) >= 10;
    String sql = inCatalog
        ? "SELECT data_type::text, start_value, min_value, max_value, increment_by, cache_size, cycle FROM pg_sequences"
            + " WHERE schemaname = ? AND sequencename = ?"
        : "SELECT 'bigint', start_value, min_value, max_value, increment_by, cache_value, is_cycled FROM " + Sql.qualified(schema, name);
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      if (inCatalog) {
        ps.setString(1, schema);
        ps.setString(2, name);
      }
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new SQLException("sequence " + schema + "." + name + " does not exist", "42P01");
        }
        return "CREATE SEQUENCE " + Sql.qualified(schema, name) + (targetMajor < 10 ? "" : " AS " + rs.getString(1))
            + " INCREMENT BY " + rs.getLong(5)
            + " MINVALUE " + rs.getLong(3) + " MAXVALUE " + rs.getLong(4) + " START WITH " + rs.getLong(2) + " CACHE " + rs.getLong(6)
            + (rs.getBoolean(7) ? " CYCLE" : " NO CYCLE");
      }
    }
  }

  /**
   * The statements that make a sequence of {@code source}'s that {@code target} lacks: its schema
   * where {@code target} lacks it, {@code create} ({@link #createSequence}), and the {@code OWNED BY}
   * of a serial's as on {@code source} where {@code target} has the owning column. {@code check} and
   * {@code status} print them alike (status gave the CREATE SEQUENCE alone, which failed on
   * the schema new lacked).
   */
  public static List<String> createMissingSequence(Connection source, Connection target, String schema, String name, String create)
      throws SQLException {
    List<String> out = new ArrayList<>();
    if (!Sql.bool(target, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?)", schema)) {
      out.add("CREATE SCHEMA " + Sql.ident(schema));
    }
    out.add(create);
    List<String[]> owner = Sql.rows(source, "SELECT n.nspname, t.relname, a.attname FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid"
        + " JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
        + " WHERE d.classid = 'pg_class'::regclass AND d.objid = ?::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a'",
        Sql.qualified(schema, name));
    if (!owner.isEmpty()) {
      TableName table = new TableName(owner.get(0)[0], owner.get(0)[1]);
      if (Sql.relationExists(target, table.quoted()) && Sql.bool(target, "SELECT EXISTS (SELECT 1 FROM pg_attribute"
          + " WHERE attrelid = ?::regclass AND attname = ? AND NOT attisdropped)", table.regclass(), owner.get(0)[2])) {
        out.add("ALTER SEQUENCE " + Sql.qualified(schema, name) + " OWNED BY " + table.quoted() + "." + Sql.ident(owner.get(0)[2]));
      }
    }
    return out;
  }

  /**
   * An enum type ({@code schema.name}) whose values {@code source} has and {@code target} lacks,
   * the statements that add them there in place (one per value), and the values of the target's
   * own that may be them renamed on the source ({@code renames}: the target's value to the
   * source's).
   */
  public record EnumGap(TableName name, List<String> values, List<String> statements, Map<String, String> renames) {
    public String type() {
      return name.toString();
    }

    /** The values as literals, comma-separated, for a message. */
    public String listed() {
      return String.join(", ", values.stream().map(Sql::literal).toList());
    }

    /** The statements with each value that may be a rename renamed instead of added. */
    public List<String> renaming() {
      List<String> out = new ArrayList<>(statements);
      renames.forEach((theirs, ours) -> out.set(values.indexOf(ours),
          "ALTER TYPE " + name.quoted() + " RENAME VALUE " + Sql.literal(theirs) + " TO " + Sql.literal(ours)));
      return out;
    }
  }

  /**
   * Enum types on both servers (application schemas) whose values {@code source} has and {@code
   * target} lacks: a row holding one fails to copy or apply ({@code invalid input value for enum}).
   * Each value is added after the one it follows on {@code source}, so the order (which sorts the
   * column) stays the same. An enum {@code target} lacks altogether is not listed: the column using
   * it is missing or of another type there, which is reported as such. Where exactly one value
   * only {@code source} has and one only {@code target} has sit between the same two values both
   * have, the first may be the second renamed on {@code source} ({@code ALTER TYPE ... RENAME
   * VALUE}, PostgreSQL 10 on), and adding it would leave the target's rows holding the old one.
   */
  public static List<EnumGap> missingEnumValues(Connection source, Connection target) throws SQLException {
    Map<TableName, List<String>> theirs = enumValues(target);
    boolean renamable = Sql.majorVersionOf(target) >= 10;
    List<EnumGap> out = new ArrayList<>();
    for (Map.Entry<TableName, List<String>> e : enumValues(source).entrySet()) {
      List<String> present = theirs.get(e.getKey());
      if (present == null || present.containsAll(e.getValue())) {
        continue;
      }
      TableName type = e.getKey();
      List<String> values = new ArrayList<>();
      List<String> statements = new ArrayList<>();
      Map<String, String> renames = new LinkedHashMap<>();
      List<String> all = e.getValue();
      for (int i = 0; i < all.size(); i++) {
        if (present.contains(all.get(i))) {
          continue;
        }
        values.add(all.get(i));
        String place = i > 0 ? " AFTER " + Sql.literal(all.get(i - 1))
            : all.stream().filter(present::contains).findFirst().map(v -> " BEFORE " + Sql.literal(v)).orElse("");
        statements.add("ALTER TYPE " + type.quoted() + " ADD VALUE " + Sql.literal(all.get(i)) + place);
        List<String> ours = between(all, present, i);
        List<String> others = between(present, all, neighbourIndex(present, all, i));
        if (renamable && ours.size() == 1 && others.size() == 1) {
          renames.put(others.get(0), all.get(i));
        }
      }
      out.add(new EnumGap(type, values, statements, renames));
    }
    return out;
  }

  /** The values of {@code list} that {@code other} lacks in the run around index {@code at} (between the values both have). */
  private static List<String> between(List<String> list, List<String> other, int at) {
    int from = at;
    while (from > 0 && !other.contains(list.get(from - 1))) {
      from--;
    }
    int to = at;
    while (to < list.size() && !other.contains(list.get(to))) {
      to++;
    }
    return list.subList(from, to);
  }

  /**
   * Where, in {@code present}, the run lies that holds the place of {@code all}'s value {@code i}:
   * just after the last value before it that both have (or at the start).
   */
  private static int neighbourIndex(List<String> present, List<String> all, int i) {
    for (int j = i - 1; j >= 0; j--) {
      int at = present.indexOf(all.get(j));
      if (at >= 0) {
        return at + 1;
      }
    }
    return 0;
  }

  /** Every enum type of the application's schemas (named as a table is) with its values in their order. */
  private static Map<TableName, List<String>> enumValues(Connection c) throws SQLException {
    Map<TableName, List<String>> out = new LinkedHashMap<>();
    for (String[] row : Sql.rows(c, "SELECT n.nspname, t.typname, e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
        + " JOIN pg_namespace n ON n.oid = t.typnamespace WHERE " + Catalog.SYSTEM_SCHEMA_FILTER + " ORDER BY 1, 2, e.enumsortorder")) {
      out.computeIfAbsent(new TableName(row[0], row[1]), k -> new ArrayList<>()).add(row[2]);
    }
    return out;
  }

  /**
   * A column's name, its full definition for CREATE TABLE or ADD COLUMN, and what must run before
   * and after it (an identity column's sequence before 10).
   */
  private record ColumnDdl(String name, String definition, List<String> before, List<String> after) {
  }

  /** Every column of {@code table}, written for a server of version {@code targetMajor}. */
  private static List<ColumnDdl> columns(Connection c, TableName table, int targetMajor) throws SQLException {
    List<ColumnDdl> out = new ArrayList<>();
    // Identity columns came with PostgreSQL 10, generated ones with 12.
    int major = Sql.majorVersionOf(c);
    try (PreparedStatement ps = c.prepareStatement("SELECT a.attname, format_type(a.atttypid, a.atttypmod), " + COLLATION + ","
        + " a.attnotnull, " + (major < 10 ? "''" : "a.attidentity") + ", " + (major < 12 ? "''" : "a.attgenerated")
        + ", pg_get_expr(d.adbin, d.adrelid)"
        + " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        + " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        + " WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
      ps.setString(1, table.regclass());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          StringBuilder def = new StringBuilder(Sql.ident(rs.getString(1))).append(' ').append(rs.getString(2));
          if (rs.getString(3) != null) {
            def.append(" COLLATE ").append(rs.getString(3));
          }
          String identity = rs.getString(5);
          String generated = rs.getString(6);
          String expression = rs.getString(7);
          List<String> before = new ArrayList<>();
          List<String> after = new ArrayList<>();
          String column = "column " + rs.getString(1) + " of " + table;
          if ("s".equals(generated) || "v".equals(generated)) {
            if (targetMajor < ("s".equals(generated) ? 12 : 18)) {
              throw new NotExpressible(column, "s".equals(generated) ? "a stored generated column" : "a virtual generated column",
                  "s".equals(generated) ? 12 : 18, targetMajor);
            }
            def.append(" GENERATED ALWAYS AS (").append(expression).append(") ").append("s".equals(generated) ? "STORED" : "VIRTUAL");
          } else if (("a".equals(identity) || "d".equals(identity)) && targetMajor < 10) {
            // What a serial is: its own sequence (the identity's, under its name, so the switch moves it), drawn from by default.
            String[] seq = Sql.rows(c, "SELECT n.nspname, s.relname FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace"
                + " WHERE s.oid = pg_get_serial_sequence(?, ?)::regclass", table.quoted(), rs.getString(1)).get(0);
            String sequence = Sql.qualified(seq[0], seq[1]);
            before.add(createSequence(c, seq[0], seq[1], targetMajor));
            def.append(" DEFAULT nextval(").append(Sql.literal(sequence)).append("::regclass)");
            after.add("ALTER SEQUENCE " + sequence + " OWNED BY " + table.quoted() + "." + Sql.ident(rs.getString(1)));
          } else if ("a".equals(identity) || "d".equals(identity)) {
            def.append(" GENERATED ").append("a".equals(identity) ? "ALWAYS" : "BY DEFAULT").append(" AS IDENTITY");
          } else if (expression != null) {
            def.append(" DEFAULT ").append(expression);
          }
          if (rs.getBoolean(4)) {
            def.append(" NOT NULL");
          }
          out.add(new ColumnDdl(rs.getString(1), def.toString(), before, after));
        }
      }
    }
    return out;
  }
}
