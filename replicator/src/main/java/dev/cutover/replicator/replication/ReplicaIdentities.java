package dev.cutover.replicator.replication;

import dev.cutover.common.Quoting;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.ShortLocks;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Tables of old that would break the application once published: without a replica identity,
 * UPDATE and DELETE on a published table fail on old. {@code start} refuses them unless told, by
 * {@link KeylessTables}, to give them {@code REPLICA IDENTITY FULL}.
 */
final class ReplicaIdentities {
  private ReplicaIdentities() {}

  /** Old's application tables whose UPDATE and DELETE could not be replicated. */
  static List<TableInfo> missing(Connection old) throws SQLException {
    List<TableInfo> out = new ArrayList<>();
    for (TableName t : Catalog.applicationTables(old)) {
      TableInfo info = Catalog.require(old, t, "old");
      if (!info.replicable()) {
        out.add(info);
      }
    }
    return out;
  }

  /**
   * Fails with {@link Failure#PRECONDITION} when a table without replica identity is not covered
   * by {@code policy}; else returns the tables to give {@code REPLICA IDENTITY FULL}. A DEFERRABLE
   * primary key is no replica identity (see {@link Catalog#describe}): the message says so of
   * each such table, since its definition shows a primary key.
   */
  static List<TableName> check(Connection old, KeylessTables policy) throws SQLException, ReplicatorException {
    List<TableInfo> missing = missing(old);
    List<TableInfo> refused = missing.stream().filter(t -> !policy.covers(t.name())).collect(Collectors.toList());
    if (!refused.isEmpty()) {
      // Quoted SQL names (a comma, dot or upper case in a name stays in it), the option one shell word.
      String option = Quoting.shellWord("--replica-identity-full=" + refused.stream().map(t -> t.name().sqlName())
          .collect(Collectors.joining(",")));
      String listed = refused.stream().map(t -> t.name().sqlName() + t.deferrableNote("primary key")).collect(Collectors.joining(", "));
      throw new ReplicatorException(Failure.PRECONDITION, "old: " + refused.size() + " table(s) have no primary key or replica identity ("
          + listed + "): once published, UPDATE and DELETE on them would fail on old",
          "add a primary key (not DEFERRABLE) to each, or let start set REPLICA IDENTITY FULL on them: `start --replica-identity-full`"
              + " (all) or `" + option + "`");
    }
    return missing.stream().map(TableInfo::name).toList();
  }

  /**
   * Gives each of {@code tables} {@code REPLICA IDENTITY FULL} on old, one table per transaction
   * with {@link ShortLocks}: the ALTER TABLE needs the table to itself, and waiting in the lock
   * queue behind a long or prepared transaction it held every reader and writer of the table.
   */
  static void setFull(Connection old, List<TableName> tables) throws SQLException, ReplicatorException {
    for (TableName t : tables) {
      ShortLocks.run(old, "old", List.of(t), "to set REPLICA IDENTITY FULL", () -> {
        Sql.execute(old, "ALTER TABLE " + t.quoted() + " REPLICA IDENTITY FULL");
        return null;
      });
    }
  }
}
