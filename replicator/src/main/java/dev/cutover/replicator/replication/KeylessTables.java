package dev.cutover.replicator.replication;

import dev.cutover.replicator.sql.TableName;
import java.util.Set;

/**
 * What {@code start} does with tables that have no replica identity (no primary key, no identity
 * index, not FULL): once they are published, UPDATE and DELETE on them fail on old, so by default
 * start refuses to go ahead and names them. The operator can instead have start set
 * {@code REPLICA IDENTITY FULL} on them (every column identifies the row: UPDATE and DELETE work
 * and replicate, at the price of a larger WAL record and, before PostgreSQL 16 on new, a scan per
 * replicated change), for all of them or for the tables named.
 *
 * @param allFull whether every such table gets {@code REPLICA IDENTITY FULL}
 * @param full the tables that get it, when not all
 */
public record KeylessTables(boolean allFull, Set<TableName> full) {
  /** Refuse to start while any published table has no replica identity. */
  public static final KeylessTables REFUSE = new KeylessTables(false, Set.of());
  /** Set {@code REPLICA IDENTITY FULL} on every published table that has no replica identity. */
  public static final KeylessTables ALL_FULL = new KeylessTables(true, Set.of());

  public KeylessTables {
    full = Set.copyOf(full);
  }

  /** Set {@code REPLICA IDENTITY FULL} on these tables only; start still refuses any other without identity. */
  public static KeylessTables full(Set<TableName> tables) {
    return new KeylessTables(false, tables);
  }

  /** Whether start may give {@code table} {@code REPLICA IDENTITY FULL}. */
  public boolean covers(TableName table) {
    return allFull || full.contains(table);
  }
}
