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
 * trip of its own. {@code cutover.triggers_off(table)} looks at the triggers as they are now (in
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
 * </ul>
 * What it disables it notes in a transaction-local setting, and {@code cutover.triggers_on()}
 * enables exactly those again before commit. ALTER TABLE is transactional, so no other session
 * ever sees them disabled; it also makes the table's cached plans be made again, which is why a
 * table that needs nothing disabled is left alone. Both functions run with the applier's rights.
 */
final class TriggerSwitch {
  private static final String[] DEFINITION = {
    "CREATE OR REPLACE FUNCTION cutover.triggers_off(t regclass) RETURNS void LANGUAGE plpgsql AS $$\n"
        + "DECLARE clauses text[]; fenced boolean;\n"
        + "BEGIN\n"
        + "  fenced := cutover.fence_raised();\n"
        + "  SELECT pg_catalog.array_agg(c ORDER BY c) INTO clauses FROM (\n"
        + "    SELECT 'TRIGGER ' || pg_catalog.quote_ident(g.tgname) AS c FROM pg_catalog.pg_trigger g\n"
        + "    WHERE g.tgrelid = t AND NOT g.tgisinternal AND g.tgenabled = 'O'\n"
        + "    AND g.tgfoid IS DISTINCT FROM pg_catalog.to_regproc('cutover.capture')::pg_catalog.oid\n"
        + "    AND g.tgfoid IS DISTINCT FROM pg_catalog.to_regproc('cutover.capture_row')::pg_catalog.oid\n"
        + "    AND (fenced OR g.tgname <> 'cutover_fence')\n"
        + "    UNION ALL SELECT 'RULE ' || pg_catalog.quote_ident(r.rulename) FROM pg_catalog.pg_rewrite r\n"
        + "    WHERE r.ev_class = t AND r.ev_enabled = 'O' AND r.rulename <> '_RETURN') o;\n"
        + "  IF clauses IS NOT NULL THEN\n"
        + "    EXECUTE 'ALTER TABLE ' || t::oid::pg_catalog.regclass::text || ' '\n"
        + "      || (SELECT pg_catalog.string_agg('DISABLE ' || c, ', ') FROM pg_catalog.unnest(clauses) c);\n"
        // One element per table, each the text of an array (the table's oid, then what was disabled), so that no name can break the list.
        + "    PERFORM pg_catalog.set_config('cutover.triggers_off', (coalesce(nullif(pg_catalog.current_setting("
        + "'cutover.triggers_off', true), '')::text[], '{}') || (ARRAY[t::oid::text] || clauses)::text)::text,"
        + " true);\n"
        + "  END IF;\n"
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

  /** The statement, for a JDBC batch (which takes no result rows), that turns {@code table}'s triggers off. */
  static String off(TableName table) {
    return "DO $$BEGIN PERFORM cutover.triggers_off(" + Sql.literal(table.quoted()) + "::regclass); END$$";
  }

  /** The statement that turns on again what {@link #off} turned off in this transaction. */
  static String on() {
    return "DO $$BEGIN PERFORM cutover.triggers_on(); END$$";
  }
}
