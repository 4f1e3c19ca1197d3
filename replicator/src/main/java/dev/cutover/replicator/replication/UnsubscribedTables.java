package dev.cutover.replicator.replication;

import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Tables a direction's publication carries on its source that exist on its target but are not in
 * the target's subscription ({@code pg_subscription_rel}). The apply worker skips every change to
 * such a table without a word, so every write to it after it became published is lost on the
 * target: a table made {@code SET LOGGED} on the source while capture was off, one created on the
 * target by hand after its replayed CREATE TABLE failed, one created by hand where nothing captures
 * schema changes and the REFRESH status asked for was not run. {@code ALTER SUBSCRIPTION … REFRESH
 * PUBLICATION WITH (copy_data = true)} adds them, copying their rows from the source (into an empty
 * table: the copy adds to what the target holds) and streaming their changes after.
 *
 * <p>Tables the target lacks altogether are not listed: the schema comparison names them with the
 * statements that create them.
 */
public final class UnsubscribedTables {
  private UnsubscribedTables() {}

  /**
   * One table that is published and not subscribed.
   *
   * @param holdsRows whether the target's table holds rows, which the copy would add to
   */
  public record Table(TableName name, boolean holdsRows) {}

  /**
   * The tables {@code source}'s publication {@code name} carries that {@code target}'s subscription
   * {@code name} lacks, where the target has them; empty where either is missing, or where the
   * role cannot tell the subscription's oid (status says so).
   */
  public static List<Table> of(Connection source, Connection target, String name) throws SQLException {
    List<Table> out = new ArrayList<>();
    Long subscriptionOid = SubscriptionOid.of(target, name);
    if (subscriptionOid == null || !ReplicationObjects.publicationExists(source, name)) {
      return out;
    }
    Set<TableName> subscribed = new HashSet<>();
    for (String[] row : Sql.rows(target, "SELECT n.nspname, c.relname FROM pg_subscription_rel r JOIN pg_class c ON c.oid = r.srrelid"
        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.srsubid = ?", subscriptionOid)) {
      subscribed.add(new TableName(row[0], row[1]));
    }
    for (TableName t : Catalog.publishedTables(source, name)) {
      if (!subscribed.contains(t)) {
        onTarget(target, t).ifPresent(out::add);
      }
    }
    return out;
  }

  /** {@code table} as {@code target} has it, with whether it holds rows; empty where the target lacks it. */
  public static Optional<Table> onTarget(Connection target, TableName table) throws SQLException {
    return Sql.relationExists(target, table.quoted())
        ? Optional.of(new Table(table, Sql.bool(target, "SELECT EXISTS (SELECT 1 FROM " + table.quoted() + ")"))) : Optional.empty();
  }

  /**
   * The tables of {@code target}'s subscription {@code name} that are not ready yet: a table sync
   * worker still copies them, or will, and their changes up to now are not all on the target.
   */
  public static List<String> copying(Connection target, String name) throws SQLException {
    Long oid = SubscriptionOid.of(target, name);
    return oid == null ? List.of() : Sql.strings(target, "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_subscription_rel r"
        + " JOIN pg_class c ON c.oid = r.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.srsubid = ? AND r.srsubstate <> 'r'"
        + " ORDER BY 1", oid);
  }

  /** The statements that bring {@code tables}' rows, to run on the target. */
  public static String remedy(String subscription, List<Table> tables) {
    StringBuilder s = new StringBuilder();
    for (Table t : tables) {
      if (t.holdsRows()) {
        s.append("TRUNCATE ").append(t.name().quoted()).append(" (it holds rows the copy would add to); ");
      }
    }
    return s.append("ALTER SUBSCRIPTION ").append(Sql.ident(subscription))
        .append(" REFRESH PUBLICATION WITH (copy_data = true), which copies their rows and then streams their changes").toString();
  }

  /** {@code tables}' names, comma-separated. */
  public static String names(List<Table> tables) {
    return String.join(", ", tables.stream().map(t -> t.name().toString()).toList());
  }
}
