package dev.cutover.replicator.ddl;

import dev.cutover.replicator.schema.CatalogDdl;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The constraints, indexes and column defaults of one side's application tables and domains,
 * compared with the other side's. Those the target of a direction holds and its source does not
 * (a NOT NULL, CHECK, unique, exclusion or foreign key constraint, a unique index, a domain's
 * CHECK or NOT NULL, dropped or changed on the source where nothing captured the change) stop
 * replication at the first row the source takes and the target refuses; relaxing a constraint is
 * the first step of many a migration (a column about to be retired loses its NOT NULL). Those the
 * source holds and the target lacks, and defaults that differ, stop nothing, but once the
 * application is switched to the target it takes rows the source refuses, reads without an index,
 * or fills a column differently. Definitions are compared as the server prints them under {@code
 * search_path = pg_catalog}; a constraint or index only renamed (the same definition under another
 * name) is left alone, and NOT VALID is not a difference, since it is checked for new rows all the
 * same. Tables are compared with their parents' constraints on the parents (a partitioned table, a
 * table others INHERIT), where dropping them reaches the children; partitions and inherited
 * constraints are left out. The primary key is the capture's own business ({@code check} and the
 * capture triggers), and generated and identity columns have no default to compare.
 */
public final class ConstraintDrift {
  private static final String NOT_VALID = " NOT VALID";

  /** Tables and partitioned tables, not partitions (their parent's constraints are theirs), by schema and name joined by U+0001. */
  private final Set<String> tables;
  /** Table to column name to whether it is NOT NULL. */
  private final Map<String, Map<String, Boolean>> columns;
  /** Table to column name to its default ("" for none), for the columns neither generated nor identity. */
  private final Map<String, Map<String, String>> defaults;
  /** Table to constraint name to definition. */
  private final Map<String, Map<String, String>> constraints;
  /** Table to unique index name to its definition from {@code USING} on (so that the name does not count). */
  private final Map<String, Map<String, String>> uniqueIndexes;
  /** The same for the other indexes (of no constraint). */
  private final Map<String, Map<String, String>> plainIndexes;
  /** Domain (schema and name joined by U+0001) to CHECK constraint name to definition. */
  private final Map<String, Map<String, String>> domainChecks;
  /** Every domain, by schema and name joined by U+0001. */
  private final Set<String> domains;
  private final Set<String> notNullDomains;
  /** The side's PostgreSQL major version: what the statements run there may use. */
  private final int major;

  private ConstraintDrift(Connection c) throws SQLException {
    String ofTables = " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND " + Catalog.SYSTEM_SCHEMA_FILTER
        + (Sql.majorVersionOf(c) >= 10 ? " AND NOT c.relispartition" : "");
    tables = new HashSet<>(Sql.strings(c, "SELECT n.nspname || E'\\x01' || c.relname FROM pg_class c" + ofTables));
    columns = new HashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT n.nspname || E'\\x01' || c.relname, a.attname, a.attnotnull"
        + " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid" + ofTables + " AND a.attnum > 0 AND NOT a.attisdropped");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        columns.computeIfAbsent(rs.getString(1), k -> new HashMap<>()).put(rs.getString(2), rs.getBoolean(3));
      }
    }
    major = Sql.majorVersionOf(c);
    defaults = named(c, "SELECT n.nspname, c.relname, a.attname, coalesce(pg_get_expr(d.adbin, d.adrelid), '') FROM pg_attribute a"
        + " JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum" + ofTables
        + " AND a.attnum > 0 AND NOT a.attisdropped" + (major >= 10 ? " AND a.attidentity = ''" : "")
        + (major >= 12 ? " AND a.attgenerated = ''" : ""));
    constraints = named(c, "SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k"
        + " JOIN pg_class c ON c.oid = k.conrelid" + ofTables + " AND k.contype IN ('c', 'u', 'x', 'f') AND k.conislocal");
    uniqueIndexes = indexes(c, ofTables, true);
    plainIndexes = indexes(c, ofTables, false);
    String ofDomains = " JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd' AND " + Catalog.SYSTEM_SCHEMA_FILTER;
    domainChecks = named(c, "SELECT n.nspname, t.typname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k"
        + " JOIN pg_type t ON t.oid = k.contypid" + ofDomains + " AND k.contype = 'c'");
    domains = new HashSet<>(Sql.strings(c, "SELECT n.nspname || E'\\x01' || t.typname FROM pg_type t" + ofDomains));
    notNullDomains = new HashSet<>(Sql.strings(c, "SELECT n.nspname || E'\\x01' || t.typname FROM pg_type t" + ofDomains + " AND t.typnotnull"));
  }

  /** A constraint or index one side holds and the other does not: the problem, and the statements that end it. */
  public record Difference(String problem, String remedy) {
    @Override
    public String toString() {
      return problem + ". " + Character.toUpperCase(remedy.charAt(0)) + remedy.substring(1);
    }
  }

  /**
   * The constraints {@code target} holds and {@code source} does not, on the tables and domains
   * both have, and, while {@code replicating}, the constraints and indexes {@code source} holds
   * and {@code target} lacks: replication does not need them, but once the application is
   * switched to the target, it would take rows the source refuses, or scan where the source used
   * an index. Before a start ({@code replicating} false) a row the target refuses stops the copy.
   */
  public static List<Difference> between(Connection source, Connection target, String sourceLabel, String targetLabel,
      boolean replicating) throws SQLException {
    ConstraintDrift ours = read(source);
    ConstraintDrift theirs = read(target);
    List<Difference> out = new ArrayList<>();
    SchemaChanges.Wording w = new SchemaChanges.Wording(sourceLabel, targetLabel, replicating ? SchemaChanges.PENDING : "");
    String stops = replicating ? " stops replication" : " stops the copy or replication";
    theirs.tables(ours, w, stops, out);
    theirs.domains(ours, w, stops, out);
    if (replicating) {
      ours.lackedBy(theirs, w, out);
    }
    return out;
  }

  /**
   * Valid indexes of no constraint, unique or not, by table: name to definition from {@code USING}
   * on. An invalid one (a CREATE INDEX CONCURRENTLY that failed) serves no query, and pg_dump
   * leaves it out.
   */
  private static Map<String, Map<String, String>> indexes(Connection c, String ofTables, boolean unique) throws SQLException {
    String create = unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ";
    return named(c, "SELECT n.nspname, c.relname, x.relname, pg_catalog.substr(pg_get_indexdef(i.indexrelid),"
        + " pg_catalog.length('" + create + "' || quote_ident(x.relname) || CASE c.relkind WHEN 'p' THEN ' ON ONLY ' ELSE ' ON ' END"
        + " || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' ') + 1) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid"
        + " JOIN pg_class c ON c.oid = i.indrelid" + ofTables + " AND " + (unique ? "" : "NOT ") + "i.indisunique AND NOT i.indisprimary AND i.indisvalid"
        + " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.conindid = i.indexrelid)");
  }

  /** One side's constraints, definitions printed as under {@code search_path = pg_catalog}, so that both sides print them alike. */
  private static ConstraintDrift read(Connection c) throws SQLException {
    return Sql.withCatalogPath(c, () -> new ConstraintDrift(c));
  }

  /**
   * What {@code target} (this) holds on the tables both sides have that {@code source} does not,
   * one sentence each with the statement that lets the apply go on.
   */
  private void tables(ConstraintDrift source, SchemaChanges.Wording w, String stops, List<Difference> out) {
    for (String key : tables) {
      if (source.tables.contains(key)) {
        table(source, key, SchemaChanges.name(key), w, stops, out);
      }
    }
  }

  private void table(ConstraintDrift source, String key, TableName table, SchemaChanges.Wording w, String stops, List<Difference> out) {
    Map<String, Boolean> theirs = source.columns.getOrDefault(key, Map.of());
    columns.getOrDefault(key, Map.of()).forEach((column, required) -> {
      if (required && Boolean.FALSE.equals(theirs.get(column))) {
        out.add(new Difference("column " + column + " of " + table + " is NOT NULL on " + w.target() + " but not on " + w.source()
            + ": a row with no value in it" + stops + w.pending(), "If " + w.source() + "'s is the one meant, " + w.run() + "ALTER TABLE "
            + table.quoted() + " ALTER COLUMN " + Sql.ident(column) + " DROP NOT NULL; if " + w.target() + "'s is (set there first),"
            + " make the same change on " + w.source()));
      }
    });
    compare("constraint %s of " + table, source.constraints.get(key), constraints.get(key), w, stops, major, out,
        name -> "ALTER TABLE " + table.quoted() + " DROP CONSTRAINT " + Sql.ident(name),
        name -> ", ADD CONSTRAINT " + Sql.ident(name) + " ");
    compare("unique index %s of " + table, source.uniqueIndexes.get(key), uniqueIndexes.get(key), w, stops, major, out,
        name -> "DROP INDEX " + Sql.ident(table.schema()) + "." + Sql.ident(name),
        name -> "; CREATE UNIQUE INDEX " + Sql.ident(name) + " ON " + table.quoted() + " ");
  }

  /** What {@code target} (this) holds on the domains both sides have that {@code source} does not (a domain only one side has is a type drift). */
  private void domains(ConstraintDrift source, SchemaChanges.Wording w, String stops, List<Difference> out) {
    for (Map.Entry<String, Map<String, String>> e : domainChecks.entrySet()) {
      TableName domain = SchemaChanges.name(e.getKey());
      if (source.domains.contains(e.getKey())) {
        compare("constraint %s of domain " + domain, source.domainChecks.get(e.getKey()), e.getValue(), w, stops, major, out,
            name -> "ALTER DOMAIN " + domain.quoted() + " DROP CONSTRAINT " + Sql.ident(name),
            name -> "; ALTER DOMAIN " + domain.quoted() + " ADD CONSTRAINT " + Sql.ident(name) + " ");
      }
    }
    for (String key : notNullDomains) {
      if (!source.notNullDomains.contains(key) && source.domains.contains(key)) {
        TableName domain = SchemaChanges.name(key);
        out.add(new Difference("domain " + domain + " is NOT NULL on " + w.target() + " but not on " + w.source() + ": a row with no"
            + " value in a column of it" + stops + w.pending(), "If " + w.source() + "'s is the one meant, " + w.run() + "ALTER DOMAIN "
            + domain.quoted() + " DROP NOT NULL; if " + w.target() + "'s is (set there first), make the same change on " + w.source()));
      }
    }
  }

  /** What this side, the source, holds on the tables and domains both have that {@code target} lacks. */
  private void lackedBy(ConstraintDrift target, SchemaChanges.Wording w, List<Difference> out) {
    String after = ": after a switch to " + w.target() + ", " + w.target();
    String refused = after + " would take rows " + w.source() + " refuses";
    for (String key : tables) {
      if (!target.tables.contains(key)) {
        continue;
      }
      TableName table = SchemaChanges.name(key);
      Map<String, Boolean> theirs = target.columns.getOrDefault(key, Map.of());
      columns.getOrDefault(key, Map.of()).forEach((column, required) -> {
        if (required && Boolean.FALSE.equals(theirs.get(column))) {
          out.add(new Difference("column " + column + " of " + table + " is NOT NULL on " + w.source() + " but not on " + w.target()
              + after + " would take rows without a value in it" + w.pending(), w.run() + "ALTER TABLE " + table.quoted() + " ALTER COLUMN "
              + Sql.ident(column) + " SET NOT NULL"));
        }
      });
      Map<String, String> theirDefaults = target.defaults.getOrDefault(key, Map.of());
      defaults.getOrDefault(key, Map.of()).forEach((column, ours) -> {
        String other = theirDefaults.get(column);
        if (other != null && !comparable(other).equals(comparable(ours))) {
          out.add(new Difference("column " + column + " of " + table + " has " + shown(ours) + " on " + w.source() + " but " + shown(other)
              + " on " + w.target() + after + " gives rows inserted without it its own" + w.pending(), "If " + w.source() + "'s is the one"
              + " meant, " + w.run() + "ALTER TABLE " + table.quoted() + " ALTER COLUMN " + Sql.ident(column)
              + (ours.isEmpty() ? " DROP DEFAULT" : " SET DEFAULT " + ours) + "; if " + w.target() + "'s is (changed there first), make"
              + " the same change on " + w.source()));
        }
      });
      absent("constraint %s of " + table, constraints.get(key), target.constraints.get(key), w, refused, target.major, out,
          name -> "ALTER TABLE " + table.quoted() + " ADD CONSTRAINT " + Sql.ident(name) + " ");
      absent("unique index %s of " + table, uniqueIndexes.get(key), target.uniqueIndexes.get(key), w, refused, target.major, out,
          name -> "CREATE UNIQUE INDEX " + Sql.ident(name) + " ON " + table.quoted() + " ");
      absent("index %s of " + table, plainIndexes.get(key), target.plainIndexes.get(key), w, after + " would read " + table
          + " without it (queries that use it may scan the table)", target.major, out, name -> "CREATE INDEX " + Sql.ident(name) + " ON " + table.quoted() + " ");
    }
    for (Map.Entry<String, Map<String, String>> e : domainChecks.entrySet()) {
      TableName domain = SchemaChanges.name(e.getKey());
      if (target.domains.contains(e.getKey())) {
        absent("constraint %s of domain " + domain, e.getValue(), target.domainChecks.get(e.getKey()), w, after + " would take values "
            + w.source() + " refuses", target.major, out, name -> "ALTER DOMAIN " + domain.quoted() + " ADD CONSTRAINT " + Sql.ident(name) + " ");
      }
    }
    for (String key : notNullDomains) {
      if (!target.notNullDomains.contains(key) && target.domains.contains(key)) {
        TableName domain = SchemaChanges.name(key);
        out.add(new Difference("domain " + domain + " is NOT NULL on " + w.source() + " but not on " + w.target() + after
            + " would take rows without a value in a column of it" + w.pending(), w.run() + "ALTER DOMAIN " + domain.quoted() + " SET NOT NULL"));
      }
    }
  }

  private static String shown(String defaultExpression) {
    return defaultExpression.isEmpty() ? "no default" : "DEFAULT " + defaultExpression;
  }

  /**
   * Named definitions the source ({@code ours}) has and the target has under neither that name
   * (a changed one, which {@link #compare} reports) nor another (renamed): {@code create} followed
   * by the definition makes them there.
   */
  private static void absent(String subject, Map<String, String> ours, Map<String, String> theirs, SchemaChanges.Wording w,
      String consequence, int targetMajor, List<Difference> out, Function<String, String> create) {
    if (ours == null) {
      return;
    }
    Set<String> theirDefinitions = comparableDefinitions(theirs);
    for (Map.Entry<String, String> e : ours.entrySet()) {
      if ((theirs == null || !theirs.containsKey(e.getKey())) && !theirDefinitions.contains(comparable(e.getValue()))) {
        out.add(new Difference(String.format(subject, e.getKey()) + " (" + e.getValue() + ") is on " + w.source() + " but not on "
            + w.target() + consequence + w.pending(), made(String.format(subject, e.getKey()), e.getValue(), w, targetMajor,
                create.apply(e.getKey()))));
      }
    }
  }

  /**
   * Named definitions the target has and the source does not have under that name or any other:
   * dropped on the source ({@code drop} on the target) or changed there ({@code drop}, then
   * {@code add} followed by the source's definition).
   */
  private static void compare(String subject, Map<String, String> source, Map<String, String> target, SchemaChanges.Wording w,
      String stops, int targetMajor, List<Difference> out, Function<String, String> drop, Function<String, String> add) {
    if (target == null) {
      return;
    }
    Set<String> sourceDefinitions = comparableDefinitions(source);
    for (Map.Entry<String, String> e : target.entrySet()) {
      String name = e.getKey();
      String ours = source == null ? null : source.get(name);
      if (sourceDefinitions.contains(comparable(e.getValue()))) {
        continue;
      }
      String what = String.format(subject, name);
      String foreign = e.getValue().startsWith("FOREIGN KEY") ? " (where the apply checks foreign keys)" : "";
      if (ours == null) {
        out.add(new Difference(what + " (" + e.getValue() + ") is on " + w.target() + " but not on " + w.source() + ": a row of "
            + w.source() + "'s that it refuses" + stops + foreign + w.pending(), "If it was dropped on " + w.source() + ", " + w.run()
            + drop.apply(name) + "; if it was added on " + w.target() + " first, make the same change on " + w.source()));
      } else {
        CatalogDdl.NotExpressible no = CatalogDdl.unexpressible(what, ours, targetMajor);
        out.add(new Difference(what + " is " + e.getValue() + " on " + w.target() + " but " + ours + " on " + w.source() + ": a row"
            + " of " + w.source() + "'s that " + w.target() + "'s refuses" + stops + foreign + w.pending(), "If " + w.source() + "'s is the one meant, "
            + (no == null ? w.run() + drop.apply(name) + add.apply(name) + ours : "it cannot be made on " + w.target() + " (" + no.getMessage()
                + "): the nearest is " + w.run() + drop.apply(name) + add.apply(name) + nearest(ours) + ", which "
                + NULLS_DISTINCT_REFUSES) + "; if " + w.target() + "'s is (changed there first), make the same"
            + " change on " + w.source()));
      }
    }
  }

  /** What the nearest definition before 15 (NULLS DISTINCT, the only kind there is) does differently. */
  private static final String NULLS_DISTINCT_REFUSES = "refuses the same rows except those that hold NULL in its columns, which it"
      + " lets repeat";

  /** {@code definition} as near as a server without {@code NULLS NOT DISTINCT} has it. */
  private static String nearest(String definition) {
    return definition.replace(" NULLS NOT DISTINCT", "");
  }

  /**
   * How to make {@code definition} ({@code what}) on the target: the statement ({@code create}
   * followed by it), or where the target's version cannot have it, that it cannot, the nearest it
   * has and what that lets through, and the other way out.
   */
  private static String made(String what, String definition, SchemaChanges.Wording w, int targetMajor, String create) {
    CatalogDdl.NotExpressible no = CatalogDdl.unexpressible(what, definition, targetMajor);
    if (no == null) {
      return w.run() + create + definition;
    }
    return "it cannot be made on " + w.target() + " as it is (" + no.getMessage() + "). The nearest there is " + w.run() + create
        + nearest(definition) + ", which " + NULLS_DISTINCT_REFUSES + ", so after a switch to " + w.target() + " such rows get in;"
        + " if they must not, make its columns NOT NULL on " + w.source() + " (where NULLS NOT DISTINCT then changes nothing) and"
        + " give " + w.source() + " the nearest definition too";
  }

  /** The definitions of {@code named} (none where null) as they are compared. */
  private static Set<String> comparableDefinitions(Map<String, String> named) {
    Set<String> out = new HashSet<>();
    if (named != null) {
      named.values().forEach(d -> out.add(comparable(d)));
    }
    return out;
  }

  /**
   * How a definition is compared: without NOT VALID (new rows are checked all the same), and with
   * the SQL value functions as PostgreSQL 9.6 prints them ({@code now()} for {@code
   * CURRENT_TIMESTAMP}, {@code ('now'::text)::date} for {@code CURRENT_DATE}, ...), which 10 on
   * prints by their SQL names: the same default or CHECK typed into both sides would otherwise
   * differ between a 9.6 old and its target.
   */
  static String comparable(String definition) {
    String d = definition.endsWith(NOT_VALID) ? definition.substring(0, definition.length() - NOT_VALID.length()) : definition;
    for (int i = 0; i < SQL_VALUE_FUNCTIONS.length; i++) {
      d = SPELLED_SINCE_10[i].matcher(d).replaceAll(SQL_VALUE_FUNCTIONS[i][1]);
    }
    return d;
  }

  /** 10's spelling of each SQL value function (a regular expression, those with a precision first) and 9.6's. */
  private static final String[][] SQL_VALUE_FUNCTIONS = {
    {"\\bCURRENT_TIMESTAMP\\((\\d+)\\)", "('now'::text)::timestamp($1) with time zone"},
    {"\\bCURRENT_TIME\\((\\d+)\\)", "('now'::text)::time($1) with time zone"},
    {"\\bLOCALTIMESTAMP\\((\\d+)\\)", "('now'::text)::timestamp($1) without time zone"},
    {"\\bLOCALTIME\\((\\d+)\\)", "('now'::text)::time($1) without time zone"},
    {"\\bCURRENT_TIMESTAMP\\b", "now()"},
    {"\\bCURRENT_TIME\\b", "('now'::text)::time with time zone"},
    {"\\bLOCALTIMESTAMP\\b", "('now'::text)::timestamp without time zone"},
    {"\\bLOCALTIME\\b", "('now'::text)::time without time zone"},
    {"\\bCURRENT_DATE\\b", "('now'::text)::date"},
    {"\\bCURRENT_ROLE\\b", "\"current_user\"()"},
    {"\\bCURRENT_USER\\b", "\"current_user\"()"},
    {"\\bSESSION_USER\\b", "\"session_user\"()"},
    {"\\bCURRENT_SCHEMA\\b", "\"current_schema\"()"},
    {"\\bCURRENT_CATALOG\\b", "\"current_database\"()"},
  };
  private static final Pattern[] SPELLED_SINCE_10 = Arrays.stream(SQL_VALUE_FUNCTIONS).map(f -> Pattern.compile(f[0])).toArray(Pattern[]::new);

  /** Name to definition by object (first two columns joined by U+0001), from a query of object schema, object name, name, definition. */
  private static Map<String, Map<String, String>> named(Connection c, String sql) throws SQLException {
    Map<String, Map<String, String>> out = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.computeIfAbsent(rs.getString(1) + "\u0001" + rs.getString(2), k -> new LinkedHashMap<>()).put(rs.getString(3), rs.getString(4));
      }
    }
    return out;
  }
}
