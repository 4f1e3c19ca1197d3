package dev.cutover.common;

import java.util.Map;

/**
 * The environment of a libpq program a Cutover process starts (pg_dump, psql, pg_basebackup).
 * libpq reads PG* variables for whatever its command line leaves unset: {@code PGHOSTADDR}
 * connects to that address instead of resolving the host named, {@code PGSERVICE} fills in a
 * service file's settings, {@code PGOPTIONS} runs settings in its session, {@code PGUSER},
 * {@code PGSSLMODE}, {@code PGTARGETSESSIONATTRS}… So an inherited one could make the program reach
 * another server, as another role or with other settings than the JDBC URL its caller connects
 * with. None reaches it: its connection is its command line and the variables its caller sets.
 */
public final class LibpqEnvironment {
  private LibpqEnvironment() {}

  /**
   * Removes every PG* variable from {@code environment} (a {@link ProcessBuilder#environment()}),
   * before the caller adds its own.
   */
  public static void clear(Map<String, String> environment) {
    environment.keySet().removeIf(name -> name.startsWith("PG"));
  }
}
