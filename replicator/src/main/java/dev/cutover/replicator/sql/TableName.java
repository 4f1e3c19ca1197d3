package dev.cutover.replicator.sql;

import java.util.Objects;

/** A table's schema and name, as the catalog spells them (unquoted). */
public record TableName(String schema, String name) implements Comparable<TableName> {
  public TableName {
    Objects.requireNonNull(schema, "schema");
    Objects.requireNonNull(name, "name");
  }

  /** The quoted, schema-qualified name for statements. */
  public String quoted() {
    return Sql.qualified(schema, name);
  }

  /** The text form for {@code ?::regclass} parameters. */
  public String regclass() {
    return quoted();
  }

  @Override
  public int compareTo(TableName o) {
    int c = schema.compareTo(o.schema);
    return c != 0 ? c : name.compareTo(o.name);
  }

  /** {@code schema.name}, unquoted, for people. */
  @Override
  public String toString() {
    return schema + "." + name;
  }
}
