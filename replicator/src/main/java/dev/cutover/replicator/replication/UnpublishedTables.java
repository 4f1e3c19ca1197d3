package dev.cutover.replicator.replication;

import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Application tables a direction's publication does not carry on its source. A publication made
 * by a role that is no superuser lists its tables, and one created after start is added only by an
 * event trigger, which such a role may not create: nothing replicates its writes, and the REFRESH
 * on the target finds nothing to add. The driver refuses a switch over such a table (its {@code
 * CarriedTables}); this asks as it does, so that status names the same tables: tables that hold
 * rows (partitions included, covered by a published ancestor on 12+, by a published schema on 15+).
 */
public final class UnpublishedTables {
  private UnpublishedTables() {}

  /**
   * The application tables publication {@code name} on {@code source} does not carry; none where it
   * is missing or {@code FOR ALL TABLES}.
   */
  public static List<TableName> of(Connection source, String name) throws SQLException {
    List<TableName> out = new ArrayList<>();
    if (!ReplicationObjects.publicationExists(source, name)) {
      return out;
    }
    int major = Sql.majorVersionOf(source);
    for (String[] row : Sql.rows(source, "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,"
        + " pg_publication p WHERE p.pubname = ? AND NOT p.puballtables AND c.relkind = 'r' AND c.relpersistence = 'p' AND "
        + Catalog.SYSTEM_SCHEMA_FILTER
        + " AND NOT EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = c.oid)"
        + (major >= 12 ? " AND NOT (c.relispartition AND EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prpubid = p.oid"
            + " AND r.prrelid IN (SELECT pg_partition_ancestors(c.oid))))" : "")
        + (major >= 15 ? " AND NOT EXISTS (SELECT 1 FROM pg_publication_namespace pn WHERE pn.pnpubid = p.oid"
            + " AND pn.pnnspid = c.relnamespace)" : "")
        + " ORDER BY 1, 2", name)) {
      out.add(new TableName(row[0], row[1]));
    }
    return out;
  }

  /** The statement that adds {@code tables} to publication {@code name}, to run on the source as its owner. */
  public static String remedy(String name, List<TableName> tables) {
    return "ALTER PUBLICATION " + Sql.ident(name) + " ADD TABLE " + String.join(", ", tables.stream().map(TableName::quoted).toList());
  }

  /** {@link #remedy}, saying where and as whom to run it: on {@code sourceLabel}, as the publication's owner. */
  public static String remedyOn(String sourceLabel, String name, List<TableName> tables) {
    return "run on " + sourceLabel + ", as the owner of publication " + Sql.ident(name) + ": " + remedy(name, tables);
  }
}
