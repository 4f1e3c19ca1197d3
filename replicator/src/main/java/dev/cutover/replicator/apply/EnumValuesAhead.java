package dev.cutover.replicator.apply;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.FirstLine;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.ddl.DdlCapture;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commits a replayed {@code ALTER TYPE ... ADD VALUE} on the target ahead of the batch that
 * replays it, so that the batch's later changes may use the value.
 *
 * <p>Why. Trigger capture and relayed replication apply every source transaction of a batch in one
 * target transaction, with the position, so that a batch is applied whole or not at all; and
 * PostgreSQL refuses a value that the same uncommitted transaction added ("unsafe use of new value
 * ... of enum type"): a value added in one source transaction and used in a later one of the same
 * batch would stop the apply for good. A value whose {@code pg_enum} row another transaction
 * committed is safe, so the change runs first on a short connection of its own, in a transaction
 * of its own (top-level, as a 9.6-11 target wants ADD VALUE), as {@code IF NOT EXISTS}, with the
 * role, search_path and settings its replay ({@code cutover.ddl_apply}) would take; its id then
 * goes into {@code cutover.ddl_done}, so that the batch's replay skips it. A value added ahead is
 * harmless: nothing uses it before the batch commits, and a batch applied again finds it there
 * (and runs this again, which adds nothing and marks it done again, should the unlogged
 * {@code ddl_done} have lost it in a crash). Cutting the batch at the change instead would commit
 * part of it without its position, which a restart would apply twice.
 *
 * <p>Best effort: where the change cannot run ahead (its type is created by the same batch, or the
 * batch holds the type's lock), it is logged and replayed in the batch as before, where its
 * replay tolerates a value that is there already.
 */
final class EnumValuesAhead {
  private static final Logger LOG = LoggerFactory.getLogger(EnumValuesAhead.class);
  /** How long the change waits for the type's lock: the batch itself may hold it, and would never let go while we wait. */
  private static final Duration LOCK_WAIT = Duration.ofSeconds(5);
  /** The settings of {@code cutover.ddl_log.styles}, in its order (as {@code cutover.ddl_apply} reads them). */
  private static final List<String> STYLES = List.of("DateStyle", "IntervalStyle", "TimeZone", "standard_conforming_strings", "array_nulls");

  private final Endpoint target;

  EnumValuesAhead(Endpoint target) {
    this.target = target;
  }

  /**
   * Commits the schema change of {@code row} (a {@code cutover.ddl_log} row as JSON, on its way
   * into the batch) on the target if it adds an enum value and its replay would run there.
   *
   * @return whether it did
   */
  boolean commit(String row) {
    if (!row.contains("ALTER TYPE")) {
      return false;
    }
    String id = null;
    try (Connection c = target.connect()) {
      List<String[]> found = Sql.rows(c, "WITH l AS (SELECT ?::json AS j) SELECT j->>'id', cutover.ddl_add_value(j->>'command'),"
          + " j->>'role', j->>'search_path', CASE json_typeof(j->'styles') WHEN 'array' THEN ARRAY(SELECT json_array_elements_text(j->'styles'))"
          + " WHEN 'string' THEN (j->>'styles')::text[] END::text FROM l WHERE j->>'source' <> cutover.ddl_side()"
          + " AND cutover.ddl_add_value(j->>'command') IS NOT NULL"
          + " AND NOT EXISTS (SELECT 1 FROM cutover.ddl_done d WHERE d.id = j->>'id')", row);
      if (found.isEmpty()) {
        return false;
      }
      String[] change = found.get(0);
      id = change[0];
      Sql.execute(c, "SET lock_timeout = " + LOCK_WAIT.toMillis());
      if (change[4] != null) {
        Sql.rows(c, "SELECT pg_catalog.set_config(g.s, CASE WHEN g.o = 1 THEN 'ISO, ' || btrim(split_part(v.v, ',', 2)) ELSE v.v END, false)"
            + " FROM unnest(?::text[]) WITH ORDINALITY g(s, o) JOIN unnest(?::text[]) WITH ORDINALITY v(v, o) ON v.o = g.o",
            "{" + String.join(",", STYLES) + "}", change[4]);
      }
      // The recorded path is one the role chose (functions of its own may shadow pg_catalog's): in
      // force only for the change itself, and pinned again while still that role, so that nothing
      // after RESET ROLE resolves a name through it (as cutover.ddl_apply does).
      Sql.rows(c, "SELECT pg_catalog.set_config('role', ?, false), pg_catalog.set_config('search_path', ?, false)", change[2],
          change[3]);
      Sql.execute(c, change[1]);
      Sql.rows(c, "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)");
      Sql.execute(c, "RESET ROLE");
      DdlCapture.markDone(c, id);
      LOG.info("{}: schema change {} committed ahead of its batch, which uses the enum value it adds: {}", target.side().label(), id,
          change[1]);
      return true;
    } catch (SQLException | ReplicatorException e) {
      LOG.warn("{}: schema change {} (an enum value) could not be committed ahead of its batch: {}; it is replayed inside the batch,"
          + " where a use of the value in the same batch fails", target.side().label(), id == null ? "(ALTER TYPE)" : id,
          FirstLine.of(e.getMessage()));
      return false;
    }
  }
}
