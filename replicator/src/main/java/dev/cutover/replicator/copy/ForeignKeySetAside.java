package dev.cutover.replicator.copy;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Foreign keys on new set aside during a copy whose writes cannot skip them: a table owner may
 * not turn off the internal triggers that check them ({@link TriggersOff#IN_TRANSACTION}), and
 * checked row by row they would refuse a referencing table copied before the table it references.
 * They are added back afterwards with new's own definitions, which validates them against the
 * copied rows (as {@code pg_dump | psql} does).
 */
public final class ForeignKeySetAside {
  /** One foreign key: its table, name and {@code pg_get_constraintdef}, read with every name qualified. */
  public record Key(TableName table, String name, String definition) {
    String addSql() {
      return "ALTER TABLE " + table.quoted() + " ADD CONSTRAINT " + Sql.ident(name) + " " + definition;
    }
  }

  private final List<Key> keys;

  private ForeignKeySetAside(List<Key> keys) {
    this.keys = keys;
  }

  /** Nothing set aside. */
  public static ForeignKeySetAside none() {
    return new ForeignKeySetAside(List.of());
  }

  /** Every foreign key on new that references or belongs to one of {@code tables}. */
  public static ForeignKeySetAside plan(Connection nw, List<TableName> tables) throws SQLException {
    List<Key> keys = new ArrayList<>();
    Sql.withCatalogPath(nw, () -> {
      List<String> names = tables.stream().map(TableName::regclass).toList();
      for (String[] row : Sql.rows(nw, "SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k"
          + " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE k.contype = 'f'"
          + " AND (k.conrelid = ANY (?::regclass[]) OR k.confrelid = ANY (?::regclass[])) AND k.conparentid = 0 ORDER BY 1, 2, 3",
          nw.createArrayOf("text", names.toArray()), nw.createArrayOf("text", names.toArray()))) {
        keys.add(new Key(new TableName(row[0], row[1]), row[2], row[3]));
      }
      return null;
    });
    return new ForeignKeySetAside(List.copyOf(keys));
  }

  public List<Key> keys() {
    return keys;
  }

  /** Drops them, in one transaction. */
  public void drop(Connection nw) throws SQLException {
    inTransaction(nw, () -> {
      for (Key k : keys) {
        Sql.execute(nw, "ALTER TABLE " + k.table().quoted() + " DROP CONSTRAINT " + Sql.ident(k.name()));
      }
      return null;
    });
  }

  /** Adds back those that are missing, in one transaction, validating each against the rows. */
  public void restore(Connection nw) throws SQLException {
    inTransaction(nw, () -> Sql.withCatalogPath(nw, () -> {
      for (Key k : keys) {
        addIfMissing(nw, k);
      }
      return null;
    }));
  }

  /**
   * Adds {@code key} unless its table has a constraint of that name, validating it against the
   * rows; on a connection whose search_path is pg_catalog.
   *
   * @return whether it was added
   */
  static boolean addIfMissing(Connection nw, Key key) throws SQLException {
    if (Sql.bool(nw, "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = ?::regclass AND conname = ?)",
        key.table().regclass(), key.name())) {
      return false;
    }
    Sql.execute(nw, key.addSql());
    return true;
  }
}
