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

  /**
   * {@code schema.name} as SQL reads it, each part double-quoted only where it must be (any
   * character but lower-case letters, digits and underscores, or a leading digit): {@code
   * public.orders}, {@code public."Orders"}, {@code "sch.x"."t,1"}. For remedies that name a table
   * as an argument ({@link QualifiedNames} reads it back), shell-quoted where printed as a command.
   */
  public String sqlName() {
    return part(schema) + "." + part(name);
  }

  private static String part(String p) {
    return p.matches("[a-z_][a-z0-9_]*") ? p : Sql.ident(p);
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
