package dev.cutover.replicator.replication;

import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The tables one direction of replication carries from its source, and the application's tables it
 * does not, with how to have them carried: outside a publication that lists its tables ({@link
 * UnpublishedTables}), or, with trigger capture, without capture triggers. Their writes on the
 * source never reach the target, so {@code verify} cannot compare them and {@code catch-up} cannot
 * say they are caught up (r30: 3 rows on old, none on new, and both said all was well); the
 * driver refuses a switch over them.
 *
 * @param carried the tables replication carries, the control schema's left out
 * @param uncarried the application's logged tables on the source that {@code carried} does not cover,
 *     as itself or as a partition (or child) of one; unlogged tables, which replication never
 *     carries, are no application tables here
 * @param remedy how to have them carried, or an empty string when there are none
 */
public record UncarriedTables(List<TableName> carried, List<TableName> uncarried, String remedy) {

  /** Trigger capture from {@code source}: the tables with capture triggers are carried. */
  public static UncarriedTables captured(Connection source) throws SQLException {
    List<TableName> carried = applications(CaptureSchema.capturedTables(source));
    List<TableName> uncarried = uncarried(source, carried);
    return new UncarriedTables(carried, uncarried, uncarried.isEmpty() ? ""
        : "`cutover-replicator adopt TABLE` on each gives it its capture triggers and copies its rows");
  }

  /**
   * Native replication (or a relay) from {@code source} through {@code publication}: the tables it
   * publishes, every application table where it is missing.
   *
   * @param subscribed whether the target has the direction's subscription (named as the
   *     publication), whose REFRESH then copies their rows
   */
  public static UncarriedTables published(Connection source, String sourceLabel, String targetLabel, String publication,
      boolean subscribed) throws SQLException {
    List<TableName> carried = applications(ReplicationObjects.publicationExists(source, publication)
        ? Catalog.publishedTables(source, publication) : Catalog.applicationTables(source));
    List<TableName> uncarried = uncarried(source, carried);
    return new UncarriedTables(carried, uncarried, uncarried.isEmpty() ? ""
        : UnpublishedTables.remedyOn(sourceLabel, publication, uncarried) + (subscribed ? ", then on " + targetLabel
            + ": ALTER SUBSCRIPTION " + Sql.ident(publication) + " REFRESH PUBLICATION WITH (copy_data = true), which copies"
            + " their rows into the tables there, emptied first" : ""));
  }

  /** {@code tables} without the control schema's. */
  private static List<TableName> applications(List<TableName> tables) {
    return tables.stream().filter(t -> !t.schema().equals("cutover")).collect(Collectors.toList());
  }

  /** The application's logged tables on {@code s} that {@code carried} does not cover, as itself or as a partition (or child) of one. */
  private static List<TableName> uncarried(Connection s, List<TableName> carried) throws SQLException {
    String covered = carried.isEmpty() ? "'{}'::pg_catalog.regclass[]" : carried.stream()
        .map(t -> Sql.literal(t.regclass()) + "::pg_catalog.regclass").collect(Collectors.joining(", ", "ARRAY[", "]"));
    return Catalog.tables(s, "c.relkind = 'r' AND c.relpersistence = 'p' AND " + Catalog.SYSTEM_SCHEMA_FILTER
        + " AND NOT EXISTS (WITH RECURSIVE up(oid) AS (SELECT c.oid UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i"
        + " JOIN up ON i.inhrelid = up.oid) SELECT 1 FROM up WHERE up.oid = ANY (" + covered + "))");
  }
}
