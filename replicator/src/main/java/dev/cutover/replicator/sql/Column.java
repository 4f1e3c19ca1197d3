package dev.cutover.replicator.sql;

/**
 * A column of a replicated table.
 *
 * @param name the column name
 * @param type {@code format_type} of its type, e.g. {@code numeric(10,2)}
 * @param typeOid the type's oid: binary COPY is used only for built-in types, whose oids are
 *     the same on every server (binary arrays and records carry element type oids)
 * @param generated a stored generated column, never copied
 * @param notNull declared NOT NULL
 */
public record Column(String name, String type, long typeOid, boolean generated, boolean notNull) {
  /** The first oid PostgreSQL gives to user-defined objects. */
  static final long FIRST_NORMAL_OID = 16384;

  public boolean builtInType() {
    return typeOid < FIRST_NORMAL_OID;
  }

  /**
   * Whether the column is of an oid alias type or an array of one (regclass, regtype, regproc,
   * ...): its values are oids, the same object under another oid on another database, and print as
   * names relative to the session's search_path.
   */
  public boolean oidAlias() {
    return builtInType() && type.startsWith("reg");
  }
}
