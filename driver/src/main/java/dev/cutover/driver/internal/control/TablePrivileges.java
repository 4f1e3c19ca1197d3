package dev.cutover.driver.internal.control;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the connected role may do on the source's tables that it may not on the target's of the
 * same name: after a switch every statement of the application's that needs it would fail there
 * with 42501, so a switch refuses before its gate while there is any (a grant revoked on the
 * target, or dropped with it by {@code ALTER TABLE ... OWNER TO} or {@code REASSIGN OWNED}).
 *
 * <p>Compared as PostgreSQL counts them ({@code has_table_privilege}: ownership, membership, grants
 * to PUBLIC): {@link #PRIVILEGES} on every table, partition, view, materialized view and foreign
 * table of the application's schemas that both sides have, and USAGE on those schemas. Not
 * compared: grants on single columns, and which rows row level security lets the role see.
 */
public final class TablePrivileges {
  /** In the order a GRANT names them. */
  private static final List<String> PRIVILEGES = List.of("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES");

  private static final String RELATIONS = "c.relkind IN ('r', 'p', 'v', 'm', 'f')";

  /**
   * On the source, one round trip: (schema, relation, privilege) for each privilege the role holds
   * in a schema it may use, and (schema, null, USAGE) for each such schema with a relation.
   */
  private static final String HELD =
      "SELECT n.nspname, c.relname, p.priv FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,"
          + " pg_catalog.unnest(ARRAY['" + String.join("', '", PRIVILEGES) + "']) AS p(priv)"
          + " WHERE " + RELATIONS + " AND " + Sequences.APPLICATION_SCHEMAS
          + " AND pg_catalog.has_schema_privilege(n.oid, 'USAGE') AND pg_catalog.has_table_privilege(c.oid, p.priv)"
          + " UNION ALL SELECT n.nspname, NULL, 'USAGE' FROM pg_catalog.pg_namespace n WHERE " + Sequences.APPLICATION_SCHEMAS
          + " AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')"
          + " AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid AND " + RELATIONS + ")";

  /**
   * On the target, one round trip: of the source's rows, those the role lacks there, quoted
   * ({@code format('%I')}), tables the target lacks left to the other checks.
   */
  private static final String LACKING =
      // format's %I fails on null: a schema's row has no relation
      "SELECT pg_catalog.format('%I', v.sch), CASE WHEN v.rel IS NOT NULL THEN pg_catalog.format('%I.%I', v.sch, v.rel) END, v.priv"
          + " FROM unnest(?::text[], ?::text[], ?::text[]) AS v(sch, rel, priv)" // the three-array form is syntax of FROM
          // name = text: before 12 only a cast finds texteq, and an exact =(name, text) elsewhere would win
          + " JOIN pg_catalog.pg_namespace n ON n.nspname OPERATOR(pg_catalog.=) v.sch"
          + " LEFT JOIN pg_catalog.pg_class c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid"
          + " AND c.relname OPERATOR(pg_catalog.=) v.rel AND " + RELATIONS
          + " WHERE CASE WHEN v.rel IS NULL THEN NOT pg_catalog.has_schema_privilege(n.oid, 'USAGE')"
          + " WHEN c.oid IS NOT NULL THEN NOT pg_catalog.has_table_privilege(c.oid, v.priv) END"
          + " ORDER BY 1, 2";

  /**
   * What the target lacks: schemas without USAGE, quoted; each table ({@code schema.name}, quoted)
   * with the privileges it lacks there, in {@link #PRIVILEGES}' order.
   */
  public record Lacking(List<String> schemas, Map<String, List<String>> tables) {
    public boolean isEmpty() {
      return schemas.isEmpty() && tables.isEmpty();
    }
  }

  private TablePrivileges() {}

  /** What the connected role of {@code source} may do there and that of {@code target} may not: two round trips, one on each. */
  public static Lacking lacking(Connection source, Connection target) throws SQLException {
    List<String> schemas = new ArrayList<>();
    List<String> relations = new ArrayList<>();
    List<String> privileges = new ArrayList<>();
    try (Statement s = source.createStatement(); ResultSet rs = s.executeQuery(HELD)) {
      while (rs.next()) {
        schemas.add(rs.getString(1));
        relations.add(rs.getString(2));
        privileges.add(rs.getString(3));
      }
    }
    List<String> noUsage = new ArrayList<>();
    Map<String, List<String>> tables = new LinkedHashMap<>();
    if (schemas.isEmpty()) {
      return new Lacking(noUsage, tables);
    }
    try (PreparedStatement ps = target.prepareStatement(LACKING)) {
      ps.setArray(1, target.createArrayOf("text", schemas.toArray()));
      ps.setArray(2, target.createArrayOf("text", relations.toArray()));
      ps.setArray(3, target.createArrayOf("text", privileges.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String table = rs.getString(2);
          if (table == null) {
            noUsage.add(rs.getString(1));
          } else {
            tables.computeIfAbsent(table, t -> new ArrayList<>()).add(rs.getString(3));
          }
        }
      }
    }
    tables.values().forEach(p -> p.sort((a, b) -> PRIVILEGES.indexOf(a) - PRIVILEGES.indexOf(b)));
    return new Lacking(noUsage, tables);
  }
}
