package dev.cutover.replicator.relay;

import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * Which of a source's user-defined types carry JSON text: domains over {@code json} or
 * {@code jsonb}, at any depth. A value of such a type goes into a decoded row as JSON, not as a
 * JSON string, because {@code json_populate_record} gives a json or jsonb column the JSON value
 * itself; {@link PgOutputDecoder} asks once per type and remembers the answer.
 */
@FunctionalInterface
public interface JsonTypes {

  /** Whether values of the type {@code oid} are JSON text. */
  boolean isJson(long oid) throws SQLException;

  /**
   * Answers from {@code source}'s catalog (an ordinary connection, not the replication one, which
   * cannot run queries while it streams), following each domain down to its base type.
   */
  static JsonTypes catalogOf(Connection source) {
    return oid -> Sql.bool(source, "WITH RECURSIVE d AS (SELECT oid, typbasetype FROM pg_catalog.pg_type WHERE oid = ?::oid"
        + " UNION ALL SELECT t.oid, t.typbasetype FROM pg_catalog.pg_type t JOIN d ON t.oid = d.typbasetype)"
        + " SELECT coalesce(bool_or(oid IN (114, 3802)), false) FROM d", oid);
  }
}
