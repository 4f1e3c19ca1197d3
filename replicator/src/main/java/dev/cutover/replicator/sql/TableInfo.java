package dev.cutover.replicator.sql;

import java.util.List;
import java.util.stream.Collectors;

/**
 * What the replicator needs to know about one table on one server.
 *
 * @param name the table
 * @param columns every column, in attnum order
 * @param key the columns of the primary key, or else of the replica identity index, or else of a
 *     unique index over NOT NULL columns, an immediate one (not DEFERRABLE); empty when the table
 *     has no key
 * @param keyOperators how each key column is compared, in the key's order
 * @param keyKind {@code primary key}, {@code replica identity index}, {@code unique index} or {@code none}
 * @param deferrableKey the DEFERRABLE index that would otherwise identify a row, as a message names
 *     it ({@code primary key t_pkey}), a primary key first; null when there is none
 * @param replicaIdentity {@code relreplident}: d(efault), n(othing), f(ull), i(ndex)
 * @param bytes heap size in bytes
 * @param estimatedRows {@code reltuples}, or -1 when never analyzed
 * @param partition whether the table is a partition of a partitioned table
 * @param partitioned whether the table is itself partitioned (holds no rows of its own)
 */
public record TableInfo(TableName name, List<Column> columns, List<String> key, List<KeyOperators> keyOperators, String keyKind,
    String deferrableKey, char replicaIdentity, long bytes, long estimatedRows, boolean partition, boolean partitioned) {

  /** The columns COPY moves: all but generated ones. */
  public List<Column> copiedColumns() {
    return columns.stream().filter(c -> !c.generated()).collect(Collectors.toList());
  }

  /** Quoted, comma-separated names of {@link #copiedColumns()}. */
  public String copiedColumnList() {
    return copiedColumns().stream().map(c -> Sql.ident(c.name())).collect(Collectors.joining(", "));
  }

  /**
   * The table as an UPDATE or DELETE names it to reach its own rows only: {@code ONLY}, since
   * without it a statement also changes the rows of tables that INHERIT it (partitioning before
   * PostgreSQL 10) that match; a partitioned table without, since its rows are its partitions'.
   */
  public String ownRows() {
    return partitioned ? name.quoted() : "ONLY " + name.quoted();
  }

  /** How key column {@code keyColumn} is compared ({@link KeyOperators}). */
  public KeyOperators keyOperators(String keyColumn) {
    int i = key.indexOf(keyColumn);
    if (i < 0) {
      throw new IllegalArgumentException(keyColumn + " is not a key column of " + name);
    }
    return keyOperators.get(i);
  }

  /** {@code left = right} for key column {@code keyColumn}, with the key index's equality operator, both sides cast to its type. */
  public String keyEquals(String keyColumn, String left, String right) {
    KeyOperators ops = keyOperators(keyColumn);
    return ops.cast(left) + " " + ops.equal() + " " + ops.cast(right);
  }

  public boolean hasKey() {
    return !key.isEmpty();
  }

  /**
   * Why the table has no key of the kind {@code wanted} ({@code primary key}, or any with
   * {@code null}) although it looks as if it had: " (its DEFERRABLE primary key t_pkey does not
   * count: ...)", or empty when no DEFERRABLE index of that kind stands in for one. For the messages about tables
   * without a key, which would puzzle an operator who sees the key in the table's definition.
   */
  public String deferrableNote(String wanted) {
    if (deferrableKey == null || wanted != null && !deferrableKey.startsWith(wanted + " ")) {
      return "";
    }
    return " (its DEFERRABLE " + deferrableKey + " does not count: PostgreSQL does not use one to identify a row, since a key may"
        + " repeat until the constraint is checked)";
  }

  /**
   * Whether UPDATE and DELETE can be replicated: a primary key under the default identity, an
   * identity index, or FULL.
   */
  public boolean replicable() {
    return switch (replicaIdentity) {
      case 'f' -> true;
      case 'i' -> true;
      case 'd' -> "primary key".equals(keyKind);
      default -> false;
    };
  }

  public Column column(String columnName) {
    for (Column c : columns) {
      if (c.name().equals(columnName)) {
        return c;
      }
    }
    return null;
  }
}
