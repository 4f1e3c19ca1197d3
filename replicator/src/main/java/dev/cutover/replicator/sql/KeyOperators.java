package dev.cutover.replicator.sql;

/**
 * How to compare one key column as its unique index does, whatever the session's search path: the
 * btree operators of the index's operator class, each named with its schema ({@code
 * OPERATOR(pg_catalog.=)}), and the type both sides are cast to first (the class's input type,
 * with its schema; null where that is polymorphic, as an enum's or an array's is). Named so, an
 * operator another role planted elsewhere with argument types that match more exactly is never
 * taken, and an extension type's own operator is found even where its schema is off the path
 * (citext's, whose index the text operators could not use). The casts are binary (a varchar to the
 * text its class takes, a domain to its base), so the index still serves.
 *
 * @param equal the equality operator, {@code OPERATOR(schema.=)}
 * @param less the less-than operator
 * @param atLeast the greater-or-equal operator
 * @param type the operator class's input type, {@code schema.name}, or null
 */
public record KeyOperators(String equal, String less, String atLeast, String type) {
  /** For a column the index does not compare (an INCLUDE column): the built-in operators. */
  public static final KeyOperators BUILT_IN = new KeyOperators("OPERATOR(pg_catalog.=)", "OPERATOR(pg_catalog.<)",
      "OPERATOR(pg_catalog.>=)", null);

  /** {@code expression} cast to {@link #type()}, when there is one. */
  public String cast(String expression) {
    return type == null ? expression : expression + "::" + type;
  }
}
