package dev.cutover.replicator.copy;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Primary keys, unique constraints and secondary indexes set aside on the new side while the
 * initial copy fills bare tables, and built again afterwards with old's definitions.
 *
 * <p>What stays: indexes a foreign key references (dropping them would mean dropping and
 * validating the foreign key again, which costs more than it saves; the copy runs with
 * {@code session_replication_role = replica}, so foreign keys are not checked row by row), and
 * every index of a partition (they belong to their parent's index). Definitions are read with
 * {@code search_path = pg_catalog}, so every name in them is schema-qualified and they mean the
 * same on both servers.
 */
public final class IndexSetAside {
  /**
   * One index or index-backed constraint. A primary key or unique constraint is built as a plain
   * unique index ({@code createSql}, which takes a SHARE lock, so other builds on the same table
   * run beside it) and made a constraint afterwards by {@code attachSql} ({@code ADD CONSTRAINT
   * ... USING INDEX}, catalog only). {@code attachSql} is null for plain indexes, for exclusion
   * constraints and for constraints not backed by a btree index, which {@code createSql} adds whole. {@code bytes} is the index's size where it
   * was read, to build large ones first.
   */
  public record Definition(TableName table, String name, boolean constraint, String createSql, String attachSql, String dropSql,
      long bytes) {}

  private final List<Definition> dropped;
  private final List<Definition> rebuild;
  private final Map<TableName, String> replicaIdentity;

  private IndexSetAside(List<Definition> dropped, List<Definition> rebuild, Map<TableName, String> replicaIdentity) {
    this.dropped = dropped;
    this.rebuild = rebuild;
    this.replicaIdentity = replicaIdentity;
  }

  /** What an interrupted start had set aside, as {@link StartState} recorded it. */
  static IndexSetAside of(List<Definition> dropped, List<Definition> rebuild, Map<TableName, String> replicaIdentity) {
    return new IndexSetAside(List.copyOf(dropped), List.copyOf(rebuild), Map.copyOf(replicaIdentity));
  }

  /** Nothing set aside (for {@code --keep-indexes}). */
  public static IndexSetAside none() {
    return new IndexSetAside(List.of(), List.of(), Map.of());
  }

  /**
   * Plans what to set aside on new for {@code tables} (pairs of old and new descriptions) and
   * what to build afterwards: old's definition of each dropped index, old's indexes that new
   * lacks, and new's own definition of indexes old does not have.
   */
  public static IndexSetAside plan(Connection old, Connection nw, List<TableInfo[]> tables) throws SQLException {
    List<Definition> dropped = new ArrayList<>();
    List<Definition> rebuild = new ArrayList<>();
    Map<TableName, String> identity = new LinkedHashMap<>();
    List<TableInfo[]> bySize = new ArrayList<>(tables);
    bySize.sort(Comparator.comparingLong((TableInfo[] t) -> t[0].bytes()).reversed());
    Sql.withCatalogPath(old, () -> Sql.withCatalogPath(nw, () -> {
      for (TableInfo[] pair : bySize) {
        TableInfo o = pair[0];
        TableInfo n = pair[1];
        if (n.partition() || o.partition() || "cutover".equals(n.name().schema())) {
          continue;
        }
        Map<String, Definition> onOld = indexes(old, o.name(), false);
        Map<String, Definition> onNew = indexes(nw, n.name(), false);
        Map<String, Definition> droppable = indexes(nw, n.name(), true);
        dropped.addAll(droppable.values());
        for (Definition d : onOld.values()) {
          if (droppable.containsKey(d.name()) || !onNew.containsKey(d.name())) {
            rebuild.add(new Definition(n.name(), d.name(), d.constraint(), d.createSql(), d.attachSql(), d.dropSql(), d.bytes()));
          }
        }
        for (Definition d : droppable.values()) {
          if (!onOld.containsKey(d.name())) {
            rebuild.add(d);
          }
        }
        String oldIdentity = identityClause(old, o.name());
        String newIdentity = identityClause(nw, n.name());
        String target = oldIdentity != null ? oldIdentity : newIdentity;
        if (target != null) {
          identity.put(n.name(), target);
        }
      }
      return null;
    }));
    return new IndexSetAside(List.copyOf(dropped), List.copyOf(rebuild), identity);
  }

  /** What was set aside. */
  public List<Definition> dropped() {
    return dropped;
  }

  /** What is built after the copy, largest tables first. */
  public List<Definition> rebuild() {
    return rebuild;
  }

  /** {@code ALTER TABLE ... REPLICA IDENTITY ...} to run after the rebuild, per table. */
  public Map<TableName, String> replicaIdentity() {
    return replicaIdentity;
  }

  /** Drops everything set aside, in one transaction on new. */
  public void drop(Connection nw) throws SQLException {
    if (dropped.isEmpty()) {
      return;
    }
    inTransaction(nw, () -> {
      for (Definition d : dropped) {
        Sql.execute(nw, d.dropSql());
      }
      return null;
    });
  }

  /**
   * Builds one index, or the index of a constraint (on a connection whose search_path is
   * pg_catalog), unless it exists: a resumed start builds what the interrupted one had not.
   */
  public static void build(Connection nw, Definition d) throws SQLException {
    if (!Sql.relationExists(nw, Sql.qualified(d.table().schema(), d.name()))) {
      Sql.execute(nw, d.createSql());
    }
  }

  /** Makes a built index the constraint it backs, unless it is already; nothing for plain indexes. */
  public static void attach(Connection nw, Definition d) throws SQLException {
    if (d.attachSql() != null && !Sql.bool(nw, "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = ?::regclass"
        + " AND conindid = ?::regclass)", d.table().regclass(), Sql.qualified(d.table().schema(), d.name()))) {
      Sql.execute(nw, d.attachSql());
    }
  }

  /**
   * Puts back new's own definitions of what was dropped, for when the copy fails; skips what
   * exists already, and what belonged to a table dropped since.
   *
   * @return what was put back
   */
  public List<Definition> restore(Connection nw) throws SQLException {
    return Sql.withCatalogPath(nw, () -> {
      List<Definition> built = new ArrayList<>();
      for (Definition d : dropped) {
        if (Sql.relationExists(nw, d.table().regclass()) && !Sql.relationExists(nw, Sql.qualified(d.table().schema(), d.name()))) {
          build(nw, d);
          attach(nw, d);
          built.add(d);
        }
      }
      for (Map.Entry<TableName, String> e : replicaIdentity.entrySet()) {
        if (Sql.relationExists(nw, e.getKey().regclass())) {
          applyIdentity(nw, e.getKey(), e.getValue());
        }
      }
      return built;
    });
  }

  /** Applies a replica identity clause such as {@code FULL} or {@code USING INDEX "t_pkey"}. */
  public static void applyIdentity(Connection nw, TableName table, String clause) throws SQLException {
    Sql.execute(nw, "ALTER TABLE " + table.quoted() + " REPLICA IDENTITY " + clause);
  }

  private static String identityClause(Connection c, TableName table) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT c.relreplident,"
        + " (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
        + "  WHERE i.indrelid = c.oid AND i.indisreplident)"
        + " FROM pg_class c WHERE c.oid = ?::regclass")) {
      ps.setString(1, table.regclass());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        return switch (rs.getString(1)) {
          case "f" -> "FULL";
          case "n" -> "NOTHING";
          case "i" -> rs.getString(2) == null ? null : "USING INDEX " + Sql.ident(rs.getString(2));
          default -> null;
        };
      }
    }
  }

  /**
   * Index definitions of {@code table} by index name; with {@code droppableOnly}, only those the
   * copy may set aside.
   */
  static Map<String, Definition> indexes(Connection c, TableName table, boolean droppableOnly) throws SQLException {
    Map<String, Definition> out = new LinkedHashMap<>();
    String sql = "SELECT ic.relname, pg_get_indexdef(i.indexrelid), con.conname, pg_get_constraintdef(con.oid),"
        + " con.contype, con.condeferrable, con.condeferred, pg_relation_size(i.indexrelid), am.amname"
        + " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam"
        + " LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid"
        + "   AND con.contype IN ('p', 'u', 'x')"
        + " WHERE i.indrelid = ?::regclass"
        + (droppableOnly
            ? " AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)"
                + " AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid OR h.inhparent = i.indexrelid)"
            : "")
        + " ORDER BY ic.relname";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, table.regclass());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          Definition d = definition(table, rs);
          out.put(d.name(), d);
        }
      }
    }
    return out;
  }

  /**
   * One row of {@link #indexes}: name, index definition, constraint name and definition, kind,
   * deferrability, size, access method. Only a btree index can be made a primary key or unique
   * constraint afterwards: 18's {@code WITHOUT OVERLAPS} ones are backed by a GiST index, which
   * cannot be built as a unique index on its own, so they are added whole, as exclusion
   * constraints are.
   */
  private static Definition definition(TableName table, ResultSet rs) throws SQLException {
    String index = rs.getString(1);
    String constraint = rs.getString(3);
    long bytes = rs.getLong(8);
    if (constraint == null) {
      return new Definition(table, index, false, rs.getString(2), null, "DROP INDEX " + Sql.qualified(table.schema(), index), bytes);
    }
    String alter = "ALTER TABLE " + table.quoted() + " ";
    String drop = alter + "DROP CONSTRAINT " + Sql.ident(constraint);
    if ("x".equals(rs.getString(5)) || !"btree".equals(rs.getString(9))) {
      return new Definition(table, index, true, alter + "ADD CONSTRAINT " + Sql.ident(constraint) + " " + rs.getString(4), null, drop,
          bytes);
    }
    String attach = alter + "ADD CONSTRAINT " + Sql.ident(constraint) + ("p".equals(rs.getString(5)) ? " PRIMARY KEY" : " UNIQUE")
        + " USING INDEX " + Sql.ident(index) + (rs.getBoolean(6) ? " DEFERRABLE" : "") + (rs.getBoolean(7) ? " INITIALLY DEFERRED" : "");
    return new Definition(table, index, true, rs.getString(2), attach, drop, bytes);
  }

  /** Definitions of every index on {@code table} as {@code pg_get_indexdef} gives them, by name. */
  public static Map<String, String> indexDefinitions(Connection c, TableName table) throws SQLException {
    Map<String, String> out = new HashMap<>();
    Sql.withCatalogPath(c, () -> {
      for (Definition d : indexes(c, table, false).values()) {
        out.put(d.name(), Sql.string(c, "SELECT pg_get_indexdef(?::regclass)", Sql.qualified(table.schema(), d.name())));
      }
      return null;
    });
    return out;
  }
}
