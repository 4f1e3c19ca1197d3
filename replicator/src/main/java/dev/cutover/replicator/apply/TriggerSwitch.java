package dev.cutover.replicator.apply;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Keeps a target table's own triggers and rules from firing for applied changes, inside an apply
 * transaction, for a role that may not set {@code session_replication_role} (see
 * {@code TriggersOff.IN_TRANSACTION}), in SQL functions on the target so that it costs no round
 * trip of its own. {@code cutover.triggers_off(table, cascades)} looks at the triggers as they are now (in
 * this very transaction, so a trigger created a moment ago counts):
 * <ul>
 *   <li>the target's capture triggers (reverse armed) are left on: they skip this session by the
 *       apply token it carries ({@link ApplyToken});</li>
 *   <li>the fence trigger is disabled only while the target is fenced (otherwise it lets every
 *       write through anyway);</li>
 *   <li>every other enabled ordinary trigger (the application's) is disabled;</li>
 *   <li>so is every enabled ordinary rule: a rule rewrites the applied statement as it rewrote the
 *       application's on the source, whose effects arrive anyway (an audit rule's second history
 *       row, a DO INSTEAD that sends the write elsewhere), and in replica mode it would not fire
 *       either. {@code DISABLE RULE} locks the table ACCESS EXCLUSIVE until commit, where
 *       {@code DISABLE TRIGGER} takes SHARE ROW EXCLUSIVE, which readers pass: readers of such a
 *       table on the target wait for the batch.</li>
 *   <li>every trigger and rule set {@code ENABLE REPLICA} is set {@code ENABLE ALWAYS}: it fires for
 *       replicated changes only, which is what the applied ones are, and in replica mode it fires for
 *       them; as owner, with the session's role left at origin, it would never fire. It is set
 *       {@code ENABLE REPLICA} again with the others; no other session sees it otherwise.</li>
 * </ul>
 * With {@code cascades} (before the table's first UPDATE or DELETE of the batch) it does the same
 * for every table the table's cascading foreign keys reach (ON DELETE/UPDATE CASCADE, SET NULL,
 * SET DEFAULT), on through theirs, and for the partitions of each: foreign keys stay checked in
 * this mode, so the target's own action writes those tables, and their triggers and rules would
 * fire for it while the source's cascade, with what its triggers wrote, arrives anyway (before, a
 * child's audit trigger wrote a second row on the target for every row a cascade deleted). A
 * partitioned table's row triggers are left to their clones on its partitions. A reached table
 * the role does not own, that has something to turn off, fails the batch naming it and the remedy.
 * What it disables it notes in a transaction-local setting, and {@code cutover.triggers_on()}
 * enables exactly those again before commit. ALTER TABLE is transactional, so no other session
 * ever sees them disabled; it also makes the table's cached plans be made again, which is why a
 * table that needs nothing disabled or enabled is left alone. Both functions run with the applier's rights.
 */
final class TriggerSwitch {
  private static final String[] DEFINITION = {
    // The one-argument form of earlier versions, which turned off the table's own triggers only.
    "DROP FUNCTION IF EXISTS cutover.triggers_off(regclass)",
    "CREATE OR REPLACE FUNCTION cutover.triggers_off(t regclass, cascades boolean) RETURNS void LANGUAGE plpgsql AS $$\n"
        + "DECLARE clauses text[]; fenced boolean; rel pg_catalog.oid; partitioned boolean; owned boolean;\n"
        + "BEGIN\n"
        + "  fenced := cutover.fence_raised();\n"
        // The table, and where cascades asked: every table its cascading foreign keys reach, on and on, and their partitions.
        + "  FOR rel, partitioned, owned IN WITH RECURSIVE edge(src, dst) AS (\n"
        + "      SELECT f.confrelid, f.conrelid FROM pg_catalog.pg_constraint f WHERE cascades AND f.contype = 'f'\n"
        + "      AND (f.confdeltype IN ('c', 'n', 'd') OR f.confupdtype IN ('c', 'n', 'd'))\n"
        + "      UNION ALL SELECT i.inhparent, i.inhrelid FROM pg_catalog.pg_inherits i\n"
        + "      JOIN pg_catalog.pg_class p ON p.oid = i.inhparent WHERE p.relkind = 'p'),\n"
        + "    reach(r) AS (SELECT t::pg_catalog.oid UNION SELECT e.dst FROM reach JOIN edge e ON e.src = reach.r)\n"
        + "    SELECT c.oid, c.relkind = 'p', pg_catalog.pg_has_role(c.relowner, 'USAGE')\n"
        + "    FROM reach JOIN pg_catalog.pg_class c ON c.oid = reach.r ORDER BY c.oid = t DESC, c.oid\n"
        + "  LOOP\n"
        // A partitioned table's row triggers fire as their clones on its partitions, which are reached too and turned off one by one.
        + "    SELECT pg_catalog.array_agg(c ORDER BY c) INTO clauses FROM (\n"
        + "      SELECT CASE g.tgenabled WHEN 'R' THEN 'REPLICA ' ELSE '' END || 'TRIGGER ' || pg_catalog.quote_ident(g.tgname) AS c\n"
        + "      FROM pg_catalog.pg_trigger g\n"
        + "      WHERE g.tgrelid = rel AND NOT g.tgisinternal AND g.tgenabled IN ('O', 'R')\n"
        + "      AND NOT (partitioned AND g.tgtype::int & 1 = 1)\n"
        + "      AND g.tgfoid IS DISTINCT FROM pg_catalog.to_regproc('cutover.capture')::pg_catalog.oid\n"
        + "      AND g.tgfoid IS DISTINCT FROM pg_catalog.to_regproc('cutover.capture_row')::pg_catalog.oid\n"
        + "      AND (fenced OR g.tgname <> 'cutover_fence')\n"
        + "      UNION ALL SELECT CASE r.ev_enabled WHEN 'R' THEN 'REPLICA ' ELSE '' END || 'RULE ' || pg_catalog.quote_ident(r.rulename)\n"
        + "      FROM pg_catalog.pg_rewrite r WHERE r.ev_class = rel AND r.ev_enabled IN ('O', 'R') AND r.rulename <> '_RETURN') o;\n"
        + "    IF clauses IS NOT NULL THEN\n"
        + "      IF rel <> t AND NOT owned THEN\n"
        + "        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = pg_catalog.format('table %s has triggers or rules (%s) that a"
        + " cascading foreign key fires for the changes applied to %s, and role %s, which turns them off in each batch since it may"
        + " not set session_replication_role, does not own it; make %s its owner (or a member of its owner), or let it set"
        + " session_replication_role (a superuser; 15+: GRANT SET ON PARAMETER session_replication_role)',"
        + " rel::pg_catalog.regclass, pg_catalog.array_to_string(clauses, ', '), t, current_user, current_user);\n"
        + "      END IF;\n"
        // Ordinary ones off; ENABLE REPLICA ones on, as they would be with session_replication_role = replica.
        + "      EXECUTE 'ALTER TABLE ' || rel::pg_catalog.regclass::text || ' ' || (SELECT pg_catalog.string_agg(CASE WHEN c LIKE 'REPLICA %'\n"
        + "        THEN 'ENABLE ALWAYS ' || pg_catalog.substr(c, 9) ELSE 'DISABLE ' || c END, ', ') FROM pg_catalog.unnest(clauses) c);\n"
        // One element per table, each the text of an array (the table's oid, then what to enable again), so that no name can break the list.
        + "      PERFORM pg_catalog.set_config('cutover.triggers_off', (coalesce(nullif(pg_catalog.current_setting("
        + "'cutover.triggers_off', true), '')::text[], '{}') || (ARRAY[rel::text] || clauses)::text)::text,"
        + " true);\n"
        + "    END IF;\n"
        + "  END LOOP;\n"
        + "END $$",
    "CREATE OR REPLACE FUNCTION cutover.triggers_on() RETURNS void LANGUAGE plpgsql AS $$\n"
        + "DECLARE e text; a text[];\n"
        + "BEGIN\n"
        + "  FOREACH e IN ARRAY coalesce(nullif(pg_catalog.current_setting('cutover.triggers_off', true), '')::text[], '{}') LOOP\n"
        + "    a := e::text[];\n"
        + "    EXECUTE 'ALTER TABLE ' || a[1]::oid::pg_catalog.regclass::text || ' '\n"
        + "      || (SELECT pg_catalog.string_agg('ENABLE ' || c, ', ') FROM pg_catalog.unnest(a[2:]) c);\n"
        + "  END LOOP;\n"
        + "  PERFORM pg_catalog.set_config('cutover.triggers_off', '', true);\n"
        + "END $$",
  };

  private TriggerSwitch() {}

  /** Creates or replaces the two functions on a target (in the control schema). */
  static void install(Connection target) throws SQLException {
    try (Statement s = target.createStatement()) {
      for (String sql : DEFINITION) {
        s.execute(sql);
      }
    }
    ControlSchema.seal(target);
    if (!target.getAutoCommit()) {
      target.commit();
    }
  }

  /**
   * The statement, for a JDBC batch (which takes no result rows), that turns {@code table}'s
   * triggers off, and with {@code cascades} those of every table its cascading foreign keys reach.
   */
  static String off(TableName table, boolean cascades) {
    return "DO $$BEGIN PERFORM cutover.triggers_off(" + Sql.literal(table.quoted()) + "::regclass, " + cascades + "); END$$";
  }

  /** The statement that turns on again what {@link #off} turned off in this transaction. */
  static String on() {
    return "DO $$BEGIN PERFORM cutover.triggers_on(); END$$";
  }
}
