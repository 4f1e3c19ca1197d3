package dev.cutover.driver.internal.control;

import dev.cutover.driver.control.ControlSchema;
import java.util.ArrayList;
import java.util.List;

/**
 * The SQL of the control schema, version {@value ControlSchema#VERSION}, for one server version
 * (9.6 to 18): what differs is the trigger syntax ({@code EXECUTE PROCEDURE} before 11) and where
 * marker randomness comes from ({@code gen_random_uuid()} from 13).
 *
 * <p>Every function runs {@code SECURITY DEFINER} with a fixed {@code search_path}, as the
 * installer. Three kinds:
 *
 * <ul>
 *   <li>{@link #GRANTED}: what driver instances (and the operator view) call; {@code EXECUTE} only
 *       for the roles named at install.
 *   <li>{@link #INSTALLER_ONLY}: slot requests, the force setting, the emergency fence lowering and
 *       the grant itself; never granted, so only the installer (or a superuser) may call them.
 *   <li>Internal helpers, called only from the functions above (which run as the installer).
 * </ul>
 *
 * <p>Every step that steers a switch checks the caller server-side: it must hold the switch's
 * leader lock in this database ({@code pg_locks}: advisory, this backend, granted), whose key is
 * derived from a secret that only the control plane can read, so a role outside it cannot compute
 * nor squat the key in advance. A key once held is no secret: {@code pg_locks} shows it to every
 * role, which may then queue on it and hold it when the leader's session dies. So an instance takes
 * the lead through {@code take_lead}, which changes the key (a fresh part in {@code cutover.lead})
 * when it finds it held only by sessions of roles outside the control plane; what they hold then
 * counts for nothing, and no function reports them as leaders ({@code lead_holders}).
 */
public final class ControlSql {
  /** Advisory lock class (first key) held by the leader of a switch. */
  public static final int LEADER_LOCK = 0x63757432;
  /**
   * Advisory lock class (first key) an apply process of the replicator holds on its target while it
   * applies (second key 1 forward, 2 reverse): the replicator's {@code Applier.LOCK_CLASS}.
   */
  public static final int APPLY_LOCK = 0x63757433;
  /**
   * Locked, never written, to serialise changes of this database's fence (EXCLUSIVE; SHARE where
   * the fence must only stay as it is). A table of the sealed schema, which no other role may lock:
   * an advisory lock's key is open to every role, and earlier builds' constant key let any role
   * that could connect hold the fence's lock and so a switch's target closed after its release.
   */
  public static final String FENCE_LOCK = "cutover.fence_lock";
  /** Locked (EXCLUSIVE), never written, to serialise switch starts; see {@link #FENCE_LOCK}. */
  public static final String BEGIN_LOCK = "cutover.begin_lock";
  public static final String TRIGGER = "cutover_fence";
  public static final String EVENT_TRIGGER = "cutover_guard_new_tables";

  /** Functions an instance of the service calls: granted to the control-plane roles only. */
  public static final List<String> GRANTED = List.of(
      "version()",
      "lead_key(text, text)",
      "take_lead(text, text)",
      "heartbeat(text, text, text, text, text, integer)",
      "leave(text, text)",
      "begin_switch(text, text, text, text)",
      "drained(text, text, text)",
      "undrained(text, text, integer)",
      "asking(text, text, integer)",
      "unready(text, text, integer)",
      "switch_state(text)",
      "forced(text)",
      "raise_fence(text, text, text, integer)",
      "fence_raised()",
      "write_barrier(text, text)",
      "write_probe()",
      "barrier_arrived(text)",
      "recent_barriers(text)",
      "release_switch(text, text, text, text, bigint)",
      "verify_release(text, text)",
      "abort_switch(text, text, text)",
      "open_target(text, text, bigint)",
      "slots_at_switch()",
      "make_slots_at_switch(text, text, bigint, integer)",
      "miss_slots_at_switch(text, text, text)",
      "service_status(text)",
      "service_instances(text)",
      "request_abort(text, text)",
      "service_names()",
      "switch_leader_pid(text)",
      "switch_leader(text)",
      "stalled_leader(text)",
      "end_stalled_leader(text)",
      "refuse_switch(text, text, text, text, text)",
      "way_in(text)",
      "not_ready(text, text, text, text)",
      "not_ready_peers(text, text, integer)",
      "database_identity()",
      "claim_target(text, text, text)",
      "leading(text, text, text)");

  /**
   * Operator functions added to version 2 after its release. An install grants them to every role
   * that may already call {@code service_status(text)}, the view they complete, so a role granted
   * before an upgrade keeps a working operator view.
   */
  public static final List<String> ADDED_IN_PLACE = List.of(
      "service_names()",
      "switch_leader_pid(text)",
      "switch_leader(text)",
      "stalled_leader(text)",
      "end_stalled_leader(text)");

  /**
   * Switch steps added to version 2 after its release. An install grants them to every role that may
   * already call {@code open_target(text, text, bigint)}: the driver instances, which need them to
   * open a target, and no operator role.
   */
  public static final List<String> ADDED_FOR_INSTANCES = List.of(
      "slots_at_switch()",
      "make_slots_at_switch(text, text, bigint, integer)",
      "miss_slots_at_switch(text, text, text)",
      "refuse_switch(text, text, text, text, text)",
      "recent_barriers(text)",
      "way_in(text)",
      "take_lead(text, text)",
      "not_ready(text, text, text, text)",
      "not_ready_peers(text, text, integer)",
      "database_identity()",
      "claim_target(text, text, text)",
      "leading(text, text, text)");

  /** Functions only the installer (the replicator's role) may call. */
  public static final List<String> INSTALLER_ONLY = List.of(
      "request_slot_at_switch(name)",
      "set_force(text, boolean)",
      "lower_fence()",
      "grant_control_plane(name)");

  /** Earlier functions whose signature or result changed; dropped when upgrading in place. */
  public static final List<String> REPLACED = List.of(
      "heartbeat(text, text)",
      "raise_fence(integer)",
      "write_barrier(text)",
      "finish_switch(text, text, text, text, text)",
      "create_slots_at_switch()",
      "barrier_arrived(text)",
      "switch_state(text)",
      "release_switch(text, text, text, text)",
      "verify_release(text, text)",
      "open_target(text, text)");

  /**
   * Logged tables of the control schema whose rows belong to the database they were written on:
   * never copied nor applied on the other side. A publication {@code FOR ALL TABLES} carries them
   * all the same (no PostgreSQL before 19 can leave a table out of one), so each has a row trigger
   * {@code cutover_local_only}, enabled for replica sessions only (replication apply, initial table
   * sync), that drops the row ({@link #localOnly}); the replicator's copy and relay leave them out.
   */
  public static final List<String> LOCAL_TABLES = List.of("switch", "fence", "marker_log", "slot_at_switch");
  /** The trigger that drops, on a replica session, a row written into a {@link #LOCAL_TABLES local table}. */
  public static final String LOCAL_ONLY_TRIGGER = "cutover_local_only";

  /**
   * How long a leader's instance may go without a heartbeat before {@code stalled_leader} names it:
   * the instances' liveness limit ({@code Heartbeat.INSTANCE_TTL}), fixed server-side so that no
   * caller can pass a shorter one.
   */
  public static final String LEADER_STALLED = "interval '5 seconds'";
  /** Markers older than this are deleted as new ones are written, so they never accumulate. */
  private static final String MARKER_TTL = "interval '1 day'";
  private static final String DEFINER = " SECURITY DEFINER SET search_path = pg_catalog, pg_temp";
  /**
   * WHERE condition on {@code pg_class c} and {@code pg_namespace ns}: the application's tables, which
   * the fence guards (and the switch asks replication to carry, see {@code CarriedTables}).
   */
  public static final String APPLICATION_TABLES =
      "c.relkind IN ('r', 'p') AND c.relpersistence <> 't'"
          + " AND ns.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover') AND ns.nspname NOT LIKE 'pg\\_%'";
  /** FROM and WHERE of the application tables lacking an enabled fence trigger ({@code c}, {@code ns}). */
  private static final String UNGUARDED = "FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE "
      + APPLICATION_TABLES + " AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = '"
      + TRIGGER + "' AND g.tgenabled = 'O')";
  /** The oid of the current database, as a scalar subquery. */
  public static final String THIS_DATABASE = "(SELECT d.oid FROM pg_database d WHERE d.datname = current_database())";

  private ControlSql() {}

  /** {@code EXECUTE FUNCTION} from 11, {@code EXECUTE PROCEDURE} before. */
  public static String execute(int major) {
    return major >= 11 ? "EXECUTE FUNCTION" : "EXECUTE PROCEDURE";
  }

  /** Tables and sequences of version 2, created or completed in place (idempotent). */
  public static List<String> objects() {
    return List.of(
        "CREATE SCHEMA IF NOT EXISTS cutover",
        // Odd: raised. Every raise and every lower moves it on, so a lower followed by a raise can
        // never pass for a fence that stayed up. A sequence: read past MVCC, never replicated.
        "CREATE SEQUENCE IF NOT EXISTS cutover.fence_epoch MINVALUE 0 START 0 NO CYCLE",
        // The secret behind leader-lock keys (set once at install from the installer's random source).
        "CREATE SEQUENCE IF NOT EXISTS cutover.lead_secret MINVALUE 1 MAXVALUE 9223372036854775807 START 1 NO CYCLE",
        // The fresh part of a switch's leader-lock key, set when an instance takes the lead from
        // sessions of other roles (take_lead). Unlogged, so never published: a lock is this server's,
        // and a crash that loses the row ends every session that held a key with it.
        "CREATE UNLOGGED TABLE IF NOT EXISTS cutover.lead ("
            + " service text NOT NULL, switch_id text NOT NULL, part text NOT NULL,"
            + " updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (service, switch_id))",
        // Replicated: markers prove replication has delivered everything written before them.
        "CREATE TABLE IF NOT EXISTS cutover.barrier ("
            + " marker text PRIMARY KEY,"
            + " written_at timestamptz NOT NULL DEFAULT clock_timestamp())",
        // Local (LOCAL_TABLES): which barrier markers this database wrote, for which switch, under
        // which fence epoch; a marker that arrived by replication is not in here.
        "CREATE TABLE IF NOT EXISTS cutover.marker_log ("
            + " marker text PRIMARY KEY, service text NOT NULL, switch_id text NOT NULL, fence_epoch bigint NOT NULL,"
            + " written_at timestamptz NOT NULL DEFAULT clock_timestamp())",
        // The epoch whose raise completed (every earlier writer had ended); a failed raise never gets here.
        // Local and logged, as the switch's record below.
        "CREATE TABLE IF NOT EXISTS cutover.fence ("
            + " singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), settled_epoch bigint NOT NULL)",
        "CREATE UNLOGGED TABLE IF NOT EXISTS cutover.instance ("
            + " service text NOT NULL, instance text NOT NULL,"
            + " heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp(), drained_for text,"
            + " PRIMARY KEY (service, instance))",
        "ALTER TABLE cutover.instance ADD COLUMN IF NOT EXISTS flag_target text,"
            + " ADD COLUMN IF NOT EXISTS serving text, ADD COLUMN IF NOT EXISTS phase text",
        // Why an instance could not get ready for a switch (not_ready), for the switch it names.
        "ALTER TABLE cutover.instance ADD COLUMN IF NOT EXISTS not_ready_for text,"
            + " ADD COLUMN IF NOT EXISTS not_ready_reason text",
        // The switch's record: logged, because the fence it stands for (a sequence) survives a crash,
        // and a record that did not made a fence nobody would lower, or a release nobody could verify.
        // Local (LOCAL_TABLES): a row replicated here is dropped (local_only).
        "CREATE TABLE IF NOT EXISTS cutover.switch ("
            + " service text PRIMARY KEY, id text NOT NULL, source text NOT NULL, target text NOT NULL,"
            + " state text NOT NULL CHECK (state IN ('draining', 'released', 'aborted')), marker text, reason text,"
            + " updated_at timestamptz NOT NULL DEFAULT clock_timestamp())",
        "ALTER TABLE cutover.switch ADD COLUMN IF NOT EXISTS fence_epoch bigint,"
            + " ADD COLUMN IF NOT EXISTS abort_requested text, ADD COLUMN IF NOT EXISTS leader text,"
            + " ADD COLUMN IF NOT EXISTS began_at timestamptz, ADD COLUMN IF NOT EXISTS target_epoch bigint",
        // Which database the switch moves to (database_identity() there), claimed before any gate
        // closes (claim_target): an instance whose cutover.new.url names another database refuses.
        "ALTER TABLE cutover.switch ADD COLUMN IF NOT EXISTS target_identity text",
        // The backend of the session that raised the switch's fence (raise_fence): with the lock it
        // holds, what names a leader stalled behind that fence (stalled_leader), never a reused pid.
        "ALTER TABLE cutover.switch ADD COLUMN IF NOT EXISTS leader_pid integer",
        // Installs from before the records were durable: made logged (a small rewrite), rows kept.
        "DO $$\nDECLARE t text;\nBEGIN\n  FOR t IN SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n"
            + " ON n.oid = c.relnamespace WHERE n.nspname = 'cutover' AND c.relname IN ('switch', 'fence', 'marker_log')"
            + " AND c.relpersistence = 'u' LOOP\n    EXECUTE 'ALTER TABLE ' || t || ' SET LOGGED';\n  END LOOP;\nEND $$",
        // Logged: a request lost in a crash would leave the way back to be armed from a later slot,
        // silently missing the writes in between. On the side about to serve, where no subscription
        // reads it before the slot exists, and the slot's own start comes after the insert.
        "CREATE TABLE IF NOT EXISTS cutover.slot_at_switch (slot_name name PRIMARY KEY)",
        "ALTER TABLE cutover.slot_at_switch SET LOGGED",
        // Why a switch opened this side without the slot (its creation waited too long for other
        // transactions on the server): the way back cannot be armed without missing writes, and the
        // replicator's reverse says so. Cleared by the next request.
        "ALTER TABLE cutover.slot_at_switch ADD COLUMN IF NOT EXISTS missed text",
        // When the switch that opened this side made the slot: kept (logged, so a promoted standby or
        // a restore has it where the slot is gone) for reverse to tell a slot lost since from one never
        // asked for. Replaced by the next switch that opens this side, cleared by the next request.
        "ALTER TABLE cutover.slot_at_switch ADD COLUMN IF NOT EXISTS made_at timestamptz",
        // Locked, never written (FENCE_LOCK, BEGIN_LOCK); unlogged like the coordination tables, so
        // that no publication carries them and no copy takes them.
        "CREATE UNLOGGED TABLE IF NOT EXISTS " + FENCE_LOCK + " ()",
        "CREATE UNLOGGED TABLE IF NOT EXISTS " + BEGIN_LOCK + " ()",
        // Unlogged: a replicated row would collide with the other side's; lost in a crash = not forced.
        "CREATE UNLOGGED TABLE IF NOT EXISTS cutover.service_setting ("
            + " service text PRIMARY KEY, force boolean NOT NULL DEFAULT false,"
            + " updated_at timestamptz NOT NULL DEFAULT clock_timestamp())");
  }

  /** Every function of version 2 for a server of {@code major} version. */
  public static List<String> functions(int major) {
    List<String> f = new ArrayList<>();
    f.add("CREATE OR REPLACE FUNCTION cutover.version() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT "
        + ControlSchema.VERSION + "'");
    f.add("CREATE OR REPLACE FUNCTION cutover.epoch() RETURNS bigint LANGUAGE sql" + DEFINER
        + " AS $$ SELECT last_value FROM cutover.fence_epoch $$");
    f.add("CREATE OR REPLACE FUNCTION cutover.fence_raised() RETURNS boolean LANGUAGE sql" + DEFINER
        + " AS $$ SELECT cutover.epoch() % 2 = 1 $$");
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.fence_guard() RETURNS trigger LANGUAGE plpgsql%s AS $$
        BEGIN
          IF (SELECT last_value FROM cutover.fence_epoch) %% 2 = 1 THEN
            RAISE EXCEPTION 'cutover: %% on %%.%% refused: this database is fenced because traffic moved to the other database',
              TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
              USING ERRCODE = '25006', HINT = 'Write through the Cutover driver, which routes to the serving database.'
                || ' A write that came through it was made by an instance that has not followed the switch yet (it could not'
                || ' reach the other database, or no heartbeat of it was live): see its PendingGuarantees and cutover-replicator'
                || ' switch-status.';
          END IF;
          RETURN NULL;
        END $$""".formatted(DEFINER));

    // Leadership: an advisory lock whose key only the control plane can compute, changed by take_lead
    // whenever only sessions of other roles hold it (they read it in pg_locks, which every role may).
    f.add("CREATE OR REPLACE FUNCTION cutover.lead_key(p_service text, p_switch text) RETURNS integer LANGUAGE sql"
        + DEFINER + " AS $$ SELECT hashtext((SELECT s.last_value FROM cutover.lead_secret s)::text"
        + " || ':' || p_service || ':' || p_switch || coalesce(':' || (SELECT l.part FROM cutover.lead l"
        + " WHERE l.service = p_service AND l.switch_id = p_switch), '')) $$");
    // Whether a role's sessions are of the control plane: it may execute a step of a switch itself, or
    // may SET ROLE to one that was granted them (a NOINHERIT member). Superusers and the installer too.
    f.add("CREATE OR REPLACE FUNCTION cutover.control_plane(p_role oid) RETURNS boolean LANGUAGE sql" + DEFINER
        + " AS $$ SELECT p_role IS NOT NULL AND (has_function_privilege(p_role, 'cutover.write_barrier(text, text)', 'EXECUTE')"
        + " OR EXISTS (SELECT 1 FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a"
        + " WHERE p.oid = to_regprocedure('cutover.write_barrier(text, text)') AND a.privilege_type = 'EXECUTE'"
        + " AND a.grantee <> 0 AND pg_has_role(p_role, a.grantee, 'MEMBER'))) $$");
    // Sessions holding the switch's current key (every session, when p_any; else those of the control
    // plane only), with their login role (NULL when pg_stat_activity does not show the backend yet).
    f.add("CREATE OR REPLACE FUNCTION cutover.key_holders(p_service text, p_switch text, p_any boolean)"
        + " RETURNS TABLE (holder integer, holder_role oid) LANGUAGE sql" + DEFINER + " AS $$"
        + " SELECT l.pid, a.usesysid FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
        + " WHERE l.locktype = 'advisory' AND l.granted AND l.database = " + THIS_DATABASE
        + " AND l.classid = " + LEADER_LOCK + "::oid AND l.objid = cutover.lead_key(p_service, p_switch)::oid"
        + " AND l.objsubid = 2 AND (p_any OR cutover.control_plane(a.usesysid)) $$");
    // The leaders: a session of another role that holds the key (a squatter) is none.
    f.add("CREATE OR REPLACE FUNCTION cutover.lead_holders(p_service text, p_switch text)"
        + " RETURNS TABLE (holder integer, holder_role oid) LANGUAGE sql" + DEFINER + " AS $$"
        + " SELECT h.holder, h.holder_role FROM cutover.key_holders(p_service, p_switch, false) h $$");
    // Takes the switch's leader lock, or finds who holds it: a session of the control plane (the
    // leader: false), or only sessions of other roles, which read the key in pg_locks and squat it
    // (the leader's session having died): then the key changes and the caller takes the new one.
    // One call at a time per database (the table lock), so that two callers never both change it.
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.take_lead(p_service text, p_switch text) RETURNS boolean LANGUAGE plpgsql%1$s AS $$
        BEGIN
          LOCK TABLE cutover.lead IN EXCLUSIVE MODE;
          IF pg_try_advisory_lock(%2$s, cutover.lead_key(p_service, p_switch)) THEN
            RETURN true;
          END IF;
          IF EXISTS (SELECT 1 FROM cutover.key_holders(p_service, p_switch, true) h
              WHERE h.holder_role IS NULL OR cutover.control_plane(h.holder_role)) THEN
            RETURN false;
          END IF;
          INSERT INTO cutover.lead AS l (service, switch_id, part) VALUES (p_service, p_switch, cutover.new_marker('lead'))
            ON CONFLICT (service, switch_id) DO UPDATE SET part = EXCLUDED.part, updated_at = clock_timestamp();
          DELETE FROM cutover.lead l WHERE l.updated_at < clock_timestamp() - %3$s;
          RETURN pg_try_advisory_lock(%2$s, cutover.lead_key(p_service, p_switch));
        END $$""".formatted(DEFINER, LEADER_LOCK, MARKER_TTL));
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.require_lead(p_service text, p_switch text) RETURNS void LANGUAGE plpgsql%s AS $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM cutover.key_holders(p_service, p_switch, true) h WHERE h.holder = pg_backend_pid()) THEN
            RAISE EXCEPTION 'cutover: refused: this session does not lead switch %% of service %% (it must hold the switch''s leader lock in this database)',
              p_switch, p_service USING ERRCODE = '42501';
          END IF;
        END $$""".formatted(DEFINER));
    // The leader names itself as it takes the lead, before any fence (raise_fence names it again):
    // its instance and backend, so that a leader stalled before its fence is found too
    // (stalled_leader). Only the session that holds the lock, only while the switch drains.
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.leading(p_service text, p_switch text, p_instance text) RETURNS void
          LANGUAGE plpgsql%s AS $$
        BEGIN
          PERFORM cutover.require_lead(p_service, p_switch);
          UPDATE cutover.switch w SET leader = p_instance, leader_pid = pg_backend_pid(), updated_at = clock_timestamp()
            WHERE w.service = p_service AND w.id = p_switch AND w.state = 'draining';
        END $$""".formatted(DEFINER));
    // Whether a session of a control-plane role other than the caller leads: only then is an abort
    // left to that leader. A lock held by any other role is no leader (it may be squatting).
    f.add("CREATE OR REPLACE FUNCTION cutover.led_by_another(p_service text, p_switch text) RETURNS boolean"
        + " LANGUAGE sql" + DEFINER + " AS $$ SELECT EXISTS (SELECT 1 FROM cutover.lead_holders(p_service, p_switch) h"
        + " WHERE h.holder <> pg_backend_pid()) $$");

    // Markers: unique keys made here, never by a caller, so none can collide with another.
    f.add("CREATE OR REPLACE FUNCTION cutover.new_marker(p_kind text) RETURNS text LANGUAGE sql VOLATILE" + DEFINER
        + " AS $$ SELECT p_kind || ':' || " + (major >= 13
            ? "replace(gen_random_uuid()::text, '-', '')"
            : "md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text || txid_current()::text)")
        + " $$");
    f.add("CREATE OR REPLACE FUNCTION cutover.trim_markers() RETURNS void LANGUAGE sql" + DEFINER + " AS $$"
        + " DELETE FROM cutover.barrier WHERE written_at < clock_timestamp() - " + MARKER_TTL + ";"
        + " DELETE FROM cutover.marker_log WHERE written_at < clock_timestamp() - " + MARKER_TTL + " $$");
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.write_probe() RETURNS text LANGUAGE plpgsql%s AS $$
        DECLARE m text := cutover.new_marker('probe');
        BEGIN
          PERFORM cutover.trim_markers();
          INSERT INTO cutover.barrier (marker) VALUES (m);
          RETURN m;
        END $$""".formatted(DEFINER));
    // A marker that arrives a second time (replicated back on a server that cannot filter by origin,
    // or written on both sides by hand) is skipped, so the apply side never fails on a duplicate key.
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.barrier_once() RETURNS trigger LANGUAGE plpgsql%s AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM cutover.barrier b WHERE b.marker = NEW.marker) THEN
            RETURN NULL;
          END IF;
          RETURN NEW;
        END $$""".formatted(DEFINER));
    // Rows of a local table (LOCAL_TABLES) that replication brings from the other side are dropped.
    f.add("CREATE OR REPLACE FUNCTION cutover.local_only() RETURNS trigger LANGUAGE plpgsql" + DEFINER
        + " AS $$ BEGIN RETURN NULL; END $$");
    f.add("CREATE OR REPLACE FUNCTION cutover.barrier_arrived(p_marker text) RETURNS boolean LANGUAGE sql" + DEFINER
        + " AS $$ SELECT EXISTS (SELECT 1 FROM cutover.barrier b WHERE b.marker = p_marker) $$");
    // What a database that came back from a standby may have lost (Lineage): the barrier markers it
    // wrote for p_service's switches (switch_id set), and those that arrived here by replication in
    // the last 12 hours (switch_id NULL; half the markers' TTL, so that the side that wrote one
    // cannot have trimmed it yet). Probe markers prove nothing about a switch and are left out.
    f.add("CREATE OR REPLACE FUNCTION cutover.recent_barriers(p_service text) RETURNS TABLE (marker text, switch_id text)"
        + " LANGUAGE sql STABLE" + DEFINER + " AS $$"
        + " SELECT l.marker, l.switch_id FROM cutover.marker_log l WHERE l.service = p_service"
        + " UNION ALL SELECT b.marker, NULL::text FROM cutover.barrier b WHERE b.marker LIKE 'barrier:%'"
        + " AND b.written_at > clock_timestamp() - interval '12 hours'"
        + " AND NOT EXISTS (SELECT 1 FROM cutover.marker_log l WHERE l.marker = b.marker) $$");

    // The fence.
    f.add(guardTables(major));
    f.add(guardAllTables());
    f.add(switchRow("raise_fence(p_service text, p_switch text, p_instance text, p_lock_timeout_ms integer) RETURNS bigint", """
          DECLARE s record; e bigint; raised boolean := false; t record; waited_for text; holders text; owned_by text;
          BEGIN
            PERFORM cutover.require_lead(p_service, p_switch);
            %2$s
            PERFORM set_config('lock_timeout', p_lock_timeout_ms || 'ms', true);
            LOCK TABLE %1$s IN EXCLUSIVE MODE;
            PERFORM cutover.guard_tables();
            e := cutover.epoch();
            IF e %% 2 = 0 THEN
              e := e + 1;
              PERFORM setval('cutover.fence_epoch', e, true);
              raised := true;
            END IF;
            BEGIN
              -- Tables created since the first pass; then every writer that passed the guard before
              -- the fence holds ROW EXCLUSIVE until it ends: SHARE waits for each of them.
              PERFORM cutover.guard_tables();
              FOR t IN SELECT ns.nspname, c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
                  JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE g.tgname = '%3$s' ORDER BY c.oid LOOP
                waited_for := format('%%I.%%I', t.nspname, t.relname);
                EXECUTE format('LOCK TABLE %%I.%%I IN SHARE MODE', t.nspname, t.relname);
              END LOOP;
              waited_for := NULL;
              INSERT INTO cutover.fence AS f (singleton, settled_epoch) VALUES (true, e)
                ON CONFLICT (singleton) DO UPDATE SET settled_epoch = EXCLUDED.settled_epoch;
              UPDATE cutover.switch w SET fence_epoch = e, leader = p_instance, leader_pid = pg_backend_pid(),
                updated_at = clock_timestamp()
                WHERE w.service = p_service AND w.id = p_switch;
            EXCEPTION WHEN OTHERS THEN
              -- A failed raise never leaves a fence of its own standing.
              IF raised THEN
                PERFORM setval('cutover.fence_epoch', e + 1, true);
              END IF;
              -- Any role that may lock one of the guarded tables can hold the fence off: name it. The
              -- fence's own request has left the queue by now, so what held it is read from the table's
              -- locks: granted ones in a mode SHARE conflicts with, and requests queued in such a mode
              -- (a VACUUM FULL behind an analytics read), each with the sessions it waits for. Columns
              -- pg_stat_activity hides from this function's owner (another role's query, state, start)
              -- are left out, never an error.
              IF SQLSTATE = '55P03' AND waited_for IS NOT NULL THEN
                WITH act AS (
                  SELECT a.pid, format('process %%s (role %%s, application %%L, %%s%%s%%s)', a.pid,
                      coalesce(a.usename::text, '?'), coalesce(a.application_name, ''), coalesce(a.state, 'state unknown'),
                      CASE WHEN a.state IS NULL THEN ''
                        WHEN a.state = 'active' THEN ' since ' || coalesce(a.query_start::text, '?')
                        ELSE ' since ' || coalesce(a.state_change::text, '?') || ', transaction since '
                          || coalesce(a.xact_start::text, '?') END,
                      CASE WHEN a.query IS NULL OR a.query = '' OR a.query LIKE '<%%>' THEN ''
                        ELSE ', ' || CASE WHEN a.state = 'active' THEN 'running ' ELSE 'last ran ' END
                          || quote_literal(left(regexp_replace(a.query, '[[:space:]]+', ' ', 'g'), 100)) END) AS who
                    FROM pg_stat_activity a),
                  held AS (
                    SELECT l.pid, l.mode, l.granted FROM pg_locks l
                      WHERE l.locktype = 'relation' AND l.relation = waited_for::regclass
                        AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
                        AND l.pid <> pg_backend_pid() AND l.mode IN ('RowExclusiveLock', 'ShareUpdateExclusiveLock',
                          'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'))
                SELECT string_agg(x.line, '; ' ORDER BY x.queued, x.pid) INTO holders FROM (
                  SELECT false AS queued, h.pid, coalesce(w.who, format('process %%s', h.pid)) || ' holding ' || h.mode AS line
                    FROM held h LEFT JOIN act w ON w.pid = h.pid WHERE h.granted
                  UNION ALL
                  SELECT true, h.pid, coalesce(w.who, format('process %%s', h.pid)) || ' queued for ' || h.mode
                      || coalesce(', which waits for ' || (SELECT string_agg(coalesce(b.who, format('process %%s', p.pid)), ' and '
                          ORDER BY p.pid) FROM unnest(pg_blocking_pids(h.pid)) AS p(pid) LEFT JOIN act b ON b.pid = p.pid), '')
                    FROM held h LEFT JOIN act w ON w.pid = h.pid WHERE NOT h.granted) x;
                RAISE EXCEPTION 'cutover: the fence waited %% ms for table %%, held by %%; end that transaction (SELECT pg_terminate_backend(pid) as its owner or a superuser) and switch again',
                  p_lock_timeout_ms, waited_for, coalesce(holders, 'sessions that have ended or let go since') USING ERRCODE = '55P03';
              END IF;
              -- The fence locks as the installer, whose right to lock a guarded table came from owning it
              -- (directly or through a role): a table given to another role since the install (ALTER
              -- TABLE ... OWNER TO, REASSIGN OWNED) refuses it with a bare "permission denied" (r34).
              IF SQLSTATE = '42501' AND waited_for IS NOT NULL THEN
                SELECT pg_get_userbyid(c.relowner) INTO owned_by FROM pg_class c WHERE c.oid = waited_for::regclass;
                RAISE EXCEPTION 'cutover: the fence may not lock table %%, owned by %%: it runs as role %%, which installed the control schema and neither owns the table nor is a member of its owner (ownership moved since the install: ALTER TABLE ... OWNER TO, REASSIGN OWNED); on this database run ALTER TABLE %% OWNER TO %%, or GRANT %% TO %%, as a superuser or a role that may (cutover-replicator status names every such table)',
                  waited_for, owned_by, current_user, waited_for, quote_ident(current_user), quote_ident(owned_by), quote_ident(current_user)
                  USING ERRCODE = '42501';
              END IF;
              RAISE;
            END;
            RETURN e;
          END""".formatted(FENCE_LOCK, inProgress(false), TRIGGER)));
    f.add(switchRow("write_barrier(p_service text, p_switch text) RETURNS text", """
          DECLARE s record; e bigint := cutover.epoch(); m text;
          BEGIN
            PERFORM cutover.require_lead(p_service, p_switch);
            LOCK TABLE %1$s IN SHARE MODE;
            %2$s
            IF e %% 2 = 0 OR s.fence_epoch IS DISTINCT FROM e
                OR (SELECT f.settled_epoch FROM cutover.fence f) IS DISTINCT FROM e THEN
              RAISE EXCEPTION 'cutover: refused: the barrier marker of switch %% is written only while the fence it raised stands (fence epoch %%, raised by the switch: %%)',
                p_switch, e, s.fence_epoch USING ERRCODE = '55000';
            END IF;
            -- A leader that takes over repeats the steps: the marker written under this same fence
            -- still proves the barrier, and a second one written after the way back's slot exists
            -- would travel back through it.
            SELECT l.marker INTO m FROM cutover.marker_log l WHERE l.service = p_service AND l.switch_id = p_switch
              AND l.fence_epoch = e ORDER BY l.written_at LIMIT 1;
            IF m IS NOT NULL THEN
              RETURN m;
            END IF;
            m := cutover.new_marker('barrier');
            PERFORM cutover.trim_markers();
            INSERT INTO cutover.barrier (marker) VALUES (m);
            INSERT INTO cutover.marker_log (marker, service, switch_id, fence_epoch) VALUES (m, p_service, p_switch, e);
            RETURN m;
          END""".formatted(FENCE_LOCK, inProgress(false))));
    // The release is the switch's point of no return: from here on nobody lowers the source's fence
    // (end_switch leaves a released switch alone) and the target is opened afterwards, so that an
    // abort can never leave both databases open. p_target_epoch is the target's fence epoch as the
    // leader saw it before the release: open_target refuses once a later switch fenced it again.
    f.add(switchRow("release_switch(p_service text, p_switch text, p_marker text, p_instance text,"
        + " p_target_epoch bigint) RETURNS void", """
          DECLARE s record; e bigint;
          BEGIN
            PERFORM cutover.require_lead(p_service, p_switch);
            %2$s
            LOCK TABLE %1$s IN SHARE MODE;
            e := cutover.epoch();
            IF e %% 2 = 0 OR s.fence_epoch IS DISTINCT FROM e OR (SELECT f.settled_epoch FROM cutover.fence f) IS DISTINCT FROM e
                OR NOT EXISTS (SELECT 1 FROM cutover.marker_log l WHERE l.marker = p_marker AND l.switch_id = p_switch
                  AND l.service = p_service AND l.fence_epoch = e) THEN
              RAISE EXCEPTION 'cutover: refused: switch %% of %% is released only with a barrier marker written on this database under the fence it raised, which still stands',
                p_switch, p_service USING ERRCODE = '55000';
            END IF;
            UPDATE cutover.switch w SET state = 'released', marker = p_marker, leader = p_instance, reason = NULL,
              target_epoch = p_target_epoch, updated_at = clock_timestamp() WHERE w.service = p_service AND w.id = p_switch;
          END""".formatted(FENCE_LOCK, inProgress(true))));
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.verify_release(p_service text, p_switch text)
          RETURNS TABLE (released_marker text, problem text, target_epoch bigint) LANGUAGE plpgsql%s AS $$
        DECLARE s record; e bigint := cutover.epoch();
        BEGIN
          SELECT * INTO s FROM cutover.switch w WHERE w.service = p_service;
          IF NOT FOUND OR s.id <> p_switch OR s.state <> 'released' THEN
            RETURN QUERY SELECT NULL::text, 'switch ' || p_switch || ' is not released', NULL::bigint; RETURN;
          END IF;
          IF e %% 2 = 0 OR s.fence_epoch IS DISTINCT FROM e OR (SELECT f.settled_epoch FROM cutover.fence f) IS DISTINCT FROM e THEN
            RETURN QUERY SELECT NULL::text, 'the fence it raised does not stand (fence epoch ' || e || ', raised by the switch: '
              || coalesce(s.fence_epoch::text, 'none') || ')', NULL::bigint; RETURN;
          END IF;
          IF NOT EXISTS (SELECT 1 FROM cutover.marker_log l WHERE l.marker = s.marker AND l.switch_id = p_switch
              AND l.service = p_service AND l.fence_epoch = e) THEN
            RETURN QUERY SELECT NULL::text, 'its marker was not written on this database under that fence', NULL::bigint;
            RETURN;
          END IF;
          RETURN QUERY SELECT s.marker, NULL::text, s.target_epoch;
        END $$""".formatted(DEFINER));
    // Which database this is, as a switch records its target: the cluster's system identifier (the
    // same on its physical standbys, different for any other cluster, a dump restored elsewhere
    // included) and the database's oid and name. NULL where the installer may not read pg_control_system().
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.database_identity() RETURNS text LANGUAGE plpgsql STABLE%s AS $$
        BEGIN
          RETURN format('database %%s (oid %%s) of cluster %%s', current_database(), %s,
            (SELECT c.system_identifier FROM pg_control_system() c));
        EXCEPTION WHEN insufficient_privilege OR undefined_function THEN
          RETURN NULL;
        END $$""".formatted(DEFINER, THIS_DATABASE));
    // The target a switch moves to: the first instance to claim it while the switch drains (before
    // any gate closes) records its own target's identity; every later claim, and a NULL one (a
    // look), returns what is recorded, so that an instance whose target differs refuses. The record
    // belongs to the switch whose id it is read with: begin_switch and refuse_switch clear it when
    // they reuse the service's row for another switch, so a claim made for an earlier switch (by an
    // instance since corrected or gone) never refuses a later one.
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.claim_target(p_service text, p_switch text, p_identity text) RETURNS text
          LANGUAGE plpgsql%s AS $$
        DECLARE t text;
        BEGIN
          IF p_identity IS NOT NULL THEN
            UPDATE cutover.switch w SET target_identity = p_identity WHERE w.service = p_service AND w.id = p_switch
              AND w.state = 'draining' AND w.target_identity IS NULL;
          END IF;
          SELECT w.target_identity INTO t FROM cutover.switch w WHERE w.service = p_service AND w.id = p_switch;
          RETURN t;
        END $$""".formatted(DEFINER));
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.end_switch(p_service text, p_switch text, p_reason text) RETURNS text
          LANGUAGE plpgsql%s AS $$
        DECLARE s record; e bigint;
        BEGIN
          SELECT * INTO s FROM cutover.switch w WHERE w.service = p_service FOR UPDATE;
          -- No record at all: lost (an install from before records were durable, and a crash), or
          -- deleted. Whose fence stands is unknown: it stays as it is, and the caller says so.
          IF NOT FOUND THEN RETURN 'missing'; END IF;
          IF s.id <> p_switch THEN RETURN 'superseded'; END IF;
          IF s.state <> 'draining' THEN RETURN s.state; END IF;
          e := cutover.epoch();
          -- Lower the fence this switch raised, or the remnant of a raise that died before it settled.
          IF e %% 2 = 1 AND (s.fence_epoch = e OR (SELECT f.settled_epoch FROM cutover.fence f) IS DISTINCT FROM e) THEN
            PERFORM setval('cutover.fence_epoch', e + 1, true);
          END IF;
          UPDATE cutover.switch w SET state = 'aborted', marker = NULL, reason = coalesce(s.abort_requested, p_reason),
            updated_at = clock_timestamp() WHERE w.service = p_service AND w.id = p_switch;
          RETURN 'aborted';
        END $$""".formatted(DEFINER));
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.abort_switch(p_service text, p_switch text, p_reason text) RETURNS text
          LANGUAGE plpgsql%s AS $$
        BEGIN
          IF cutover.led_by_another(p_service, p_switch) THEN
            RAISE EXCEPTION 'cutover: refused: another session leads switch %% of %%; it decides', p_switch, p_service
              USING ERRCODE = '42501';
          END IF;
          -- The switch's row first, then the fence: the order every function takes them in.
          PERFORM 1 FROM cutover.switch w WHERE w.service = p_service AND w.id = p_switch FOR UPDATE;
          LOCK TABLE %s IN EXCLUSIVE MODE;
          RETURN cutover.end_switch(p_service, p_switch, p_reason);
        END $$""".formatted(DEFINER, FENCE_LOCK));
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.request_abort(p_service text, p_reason text) RETURNS text
          LANGUAGE plpgsql%s AS $$
        DECLARE s record;
        BEGIN
          SELECT * INTO s FROM cutover.switch w WHERE w.service = p_service AND w.state = 'draining' FOR UPDATE;
          IF NOT FOUND THEN RETURN 'none'; END IF;
          UPDATE cutover.switch w SET abort_requested = coalesce(p_reason, 'aborted by an operator')
            WHERE w.service = p_service AND w.id = s.id;
          IF cutover.led_by_another(p_service, s.id) THEN
            RETURN 'requested'; -- its leader's next step is refused, and it aborts
          END IF;
          LOCK TABLE %s IN EXCLUSIVE MODE;
          RETURN cutover.end_switch(p_service, s.id, p_reason);
        END $$""".formatted(DEFINER, FENCE_LOCK));
    // Called after the release, by its leader or by any instance that follows it: idempotent, and a
    // no-op refusal once the target's fence was raised again by a later switch (a late follower must
    // never reopen a database the service has left since).
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.open_target(p_service text, p_switch text, p_target_epoch bigint)
          RETURNS integer LANGUAGE plpgsql%1$s AS $$
        DECLARE r name; n integer := 0; e bigint;
        BEGIN
          PERFORM cutover.require_lead(p_service, p_switch);
          LOCK TABLE %2$s IN EXCLUSIVE MODE;
          e := cutover.epoch();
          IF e %% 2 = 1 AND e IS DISTINCT FROM p_target_epoch THEN
            RAISE EXCEPTION 'cutover: refused: switch %% of %% does not open this database: its fence (epoch %%) is not the one the switch was released with (epoch %%)',
              p_switch, p_service, e, coalesce(p_target_epoch::text, 'unknown') USING ERRCODE = '55000';
          END IF;
          IF e IS DISTINCT FROM p_target_epoch THEN
            RETURN 0; -- opened already: every open moves the epoch on
          END IF;
          -- Slots before the fence comes down (a table lock is not a write: a logical slot can
          -- still be created in this transaction). A driver of this version made them already
          -- (make_slots_at_switch), or gave them up (missed); this is for an instance of an earlier one.
          FOR r IN SELECT q.slot_name FROM cutover.slot_at_switch q WHERE q.missed IS NULL AND q.made_at IS NULL AND NOT EXISTS
              (SELECT 1 FROM pg_replication_slots p WHERE p.slot_name = q.slot_name) LOOP
            PERFORM pg_create_logical_replication_slot(r, 'pgoutput');
            n := n + 1;
          END LOOP;
          -- Lowered if raised; moved on (still open) if not: a follower sees the open without the lock.
          PERFORM setval('cutover.fence_epoch', e + CASE WHEN e %% 2 = 1 THEN 1 ELSE 2 END, true);
          DELETE FROM cutover.slot_at_switch WHERE made_at IS NOT NULL;
          UPDATE cutover.slot_at_switch SET made_at = clock_timestamp() WHERE missed IS NULL;
          RETURN n;
        END $$""".formatted(DEFINER, FENCE_LOCK));
    // The requested slots a switch to this database still has to make: named by the switch before
    // its gate closes, so that it can wait there for the transactions their creation would wait for.
    f.add("CREATE OR REPLACE FUNCTION cutover.slots_at_switch() RETURNS SETOF name LANGUAGE sql" + DEFINER
        + " AS $$ SELECT q.slot_name FROM cutover.slot_at_switch q WHERE q.missed IS NULL AND q.made_at IS NULL AND NOT EXISTS"
        + " (SELECT 1 FROM pg_replication_slots p WHERE p.slot_name = q.slot_name) ORDER BY 1 $$");
    // Makes them, after the release and before open_target, in a statement of its own: a logical
    // slot's creation waits for every transaction that holds a transaction id on the server, in any
    // database, and p_lock_timeout_ms bounds each of those waits. A statement that fails drops the
    // slot it was making; inside an exception block the half-made slot would stay, active, for the
    // session's life. Nothing once the target has been opened or fenced again (open_target says which).
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.make_slots_at_switch(p_service text, p_switch text, p_target_epoch bigint,
            p_lock_timeout_ms integer) RETURNS integer LANGUAGE plpgsql%s AS $$
        DECLARE r name; n integer := 0;
        BEGIN
          PERFORM cutover.require_lead(p_service, p_switch);
          IF cutover.epoch() IS DISTINCT FROM p_target_epoch THEN
            RETURN 0;
          END IF;
          PERFORM set_config('lock_timeout', greatest(p_lock_timeout_ms, 1) || 'ms', true);
          FOR r IN SELECT cutover.slots_at_switch() LOOP
            PERFORM pg_create_logical_replication_slot(r, 'pgoutput');
            n := n + 1;
          END LOOP;
          RETURN n;
        END $$""".formatted(DEFINER));
    // Gives them up when they could not be made in time: the target opens without them (the
    // application is held until it does), and the reason stays for the replicator's reverse, which
    // then refuses to arm a way back that would miss writes. Returns the slots given up.
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.miss_slots_at_switch(p_service text, p_switch text, p_reason text)
          RETURNS SETOF name LANGUAGE plpgsql%s AS $$
        BEGIN
          PERFORM cutover.require_lead(p_service, p_switch);
          RETURN QUERY WITH m AS (UPDATE cutover.slot_at_switch q SET missed = left(format('switch %%s opened this database'
              || ' without it: %%s', p_switch, p_reason), 2000)
            WHERE q.slot_name IN (SELECT cutover.slots_at_switch()) RETURNING q.slot_name) SELECT m.slot_name FROM m ORDER BY 1;
        END $$""".formatted(DEFINER));
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.lower_fence() RETURNS void LANGUAGE plpgsql%s AS $$
        DECLARE e bigint;
        BEGIN
          LOCK TABLE %s IN EXCLUSIVE MODE;
          e := cutover.epoch();
          IF e %% 2 = 1 THEN
            PERFORM setval('cutover.fence_epoch', e + 1, true);
          END IF;
        END $$""".formatted(DEFINER, FENCE_LOCK));

    // Coordination between the instances of a service (unlogged tables: never published).
    //
    // Liveness (heartbeat, undrained, asking, unready): a heartbeat within the ttl of the server's
    // clock. A heartbeat stamped in the future (the clock stepped back since: an NTP correction, a
    // VM restore) is brought back to now by the next heartbeat of any instance of the service, so
    // that a dead instance's row ages out about ttl + one beat after the step rather than ttl after
    // the step's size; until then it counts as live, never as dead, so a live instance whose row
    // the step left in the future is never fenced out before it rewrites its row. Rows another
    // session holds are skipped (SKIP LOCKED), so two beats clamping each other's rows cannot deadlock.
    // A forward step larger than the ttl makes a live instance look dead until its next beat: see
    // docs/driver.md (clock steps).
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.heartbeat(p_service text, p_instance text, p_flag text, p_serving text,
            p_phase text, p_ttl_ms integer)
          RETURNS TABLE (switch_id text, switch_target text, switch_released boolean, peer_asks boolean)
          LANGUAGE plpgsql%s AS $$
        BEGIN
          INSERT INTO cutover.instance AS i (service, instance, flag_target, serving, phase)
            VALUES (p_service, p_instance, p_flag, p_serving, p_phase)
            ON CONFLICT (service, instance) DO UPDATE SET heartbeat_at = clock_timestamp(),
              flag_target = EXCLUDED.flag_target, serving = EXCLUDED.serving, phase = EXCLUDED.phase;
          UPDATE cutover.instance i SET heartbeat_at = clock_timestamp()
            WHERE (i.service, i.instance) IN (SELECT f.service, f.instance FROM cutover.instance f
              WHERE f.service = p_service AND f.heartbeat_at > clock_timestamp() FOR UPDATE SKIP LOCKED);
          -- The switch in progress, or the last one released from here while its fence still stands.
          RETURN QUERY SELECT s.id, s.target, s.state = 'released', EXISTS (SELECT 1 FROM cutover.instance p
              WHERE p.service = p_service AND p.instance <> p_instance AND p.flag_target = s.target
              AND p.heartbeat_at > clock_timestamp() - p_ttl_ms * interval '1 millisecond')
            FROM cutover.switch s WHERE s.service = p_service AND (s.state = 'draining'
              OR s.state = 'released' AND s.fence_epoch = cutover.epoch() AND cutover.epoch() %% 2 = 1);
        END $$""".formatted(DEFINER));
    f.add("CREATE OR REPLACE FUNCTION cutover.leave(p_service text, p_instance text) RETURNS void LANGUAGE sql"
        + DEFINER + " AS $$ DELETE FROM cutover.instance WHERE service = p_service AND instance = p_instance $$");
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.begin_switch(p_service text, p_id text, p_source text, p_target text)
          RETURNS text LANGUAGE plpgsql%s AS $$
        DECLARE running text;
        BEGIN
          LOCK TABLE %s IN EXCLUSIVE MODE;
          SELECT s.id INTO running FROM cutover.switch s WHERE s.service = p_service AND s.state = 'draining'
            AND s.source = p_source AND s.target = p_target;
          IF running IS NOT NULL THEN RETURN running; END IF;
          INSERT INTO cutover.switch AS s (service, id, source, target, state, began_at)
            VALUES (p_service, p_id, p_source, p_target, 'draining', clock_timestamp())
            ON CONFLICT (service) DO UPDATE SET id = EXCLUDED.id, source = EXCLUDED.source, target = EXCLUDED.target,
              state = 'draining', marker = NULL, reason = NULL, fence_epoch = NULL, abort_requested = NULL, leader = NULL,
              leader_pid = NULL, began_at = EXCLUDED.began_at, target_identity = NULL, updated_at = clock_timestamp();
          RETURN p_id;
        END $$""".formatted(DEFINER, BEGIN_LOCK));
    // A switch refused before it began (its checks or its probe), recorded as the service's last
    // switch, aborted, so that the operator view shows it with its reason. Never over a switch in
    // progress, and never on a fenced database, where the last switch may be a release an instance
    // still has to catch up with: nothing a peer, a joiner or a catch-up reads changes.
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.refuse_switch(p_service text, p_id text, p_source text, p_target text,
            p_reason text) RETURNS boolean LANGUAGE plpgsql%s AS $$
        BEGIN
          LOCK TABLE %s IN EXCLUSIVE MODE;
          IF cutover.fence_raised() OR EXISTS (SELECT 1 FROM cutover.switch s WHERE s.service = p_service
              AND s.state = 'draining') THEN
            RETURN false;
          END IF;
          INSERT INTO cutover.switch AS s (service, id, source, target, state, reason, began_at)
            VALUES (p_service, p_id, p_source, p_target, 'aborted', left(p_reason, 4000), clock_timestamp())
            ON CONFLICT (service) DO UPDATE SET id = EXCLUDED.id, source = EXCLUDED.source, target = EXCLUDED.target,
              state = 'aborted', marker = NULL, reason = EXCLUDED.reason, fence_epoch = NULL, abort_requested = NULL,
              leader = NULL, leader_pid = NULL, began_at = EXCLUDED.began_at, target_identity = NULL,
              updated_at = clock_timestamp();
          RETURN true;
        END $$""".formatted(DEFINER, BEGIN_LOCK));
    // What carries replication into this database, as the replicator armed it, for the remedy of a
    // switch whose probe did not arrive: p_way 'forward' (into new) or 'reverse' (into old). A
    // subscription cutover_fwd_/cutover_rev_ (enabled? its apply worker running?), else a relay
    // position (forward only), else trigger capture's apply position; for the last two, whether an
    // apply process holds the way's lock here and the failure it noted. The replicator's tables may
    // be missing (dynamic SQL), as may pg_subscription (9.6).
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.way_in(p_way text) RETURNS TABLE (engine text, object_name text,
            enabled boolean, applying boolean, applied_at timestamptz, failure text, failed_at timestamptz)
          LANGUAGE plpgsql%1$s AS $$
        DECLARE v_engine text; v_name text; v_enabled boolean; v_applying boolean := false; v_applied timestamptz;
          v_failure text; v_failed timestamptz;
        BEGIN
          IF to_regclass('pg_catalog.pg_subscription') IS NOT NULL THEN
            EXECUTE 'SELECT s.subname::text, s.subenabled, EXISTS (SELECT 1 FROM pg_stat_subscription w'
              || ' WHERE w.subname = s.subname AND w.pid IS NOT NULL AND w.relid IS NULL)'
              || ' FROM pg_subscription s WHERE s.subdbid = %2$s AND s.subname LIKE $1 ORDER BY 1 LIMIT 1'
              INTO v_name, v_enabled, v_applying
              USING CASE p_way WHEN 'forward' THEN 'cutover\\_fwd\\_%%' ELSE 'cutover\\_rev\\_%%' END;
            IF v_name IS NOT NULL THEN v_engine := 'subscription'; END IF;
          END IF;
          IF v_engine IS NULL AND p_way = 'forward' AND to_regclass('cutover.relay_progress') IS NOT NULL THEN
            EXECUTE 'SELECT r.slot, r.applied_at FROM cutover.relay_progress r WHERE r.direction = ''forward'''
              INTO v_name, v_applied;
            IF v_name IS NOT NULL THEN v_engine := 'relay'; END IF;
          END IF;
          IF v_engine IS NULL AND to_regclass('cutover.apply_progress') IS NOT NULL THEN
            EXECUTE 'SELECT a.direction, a.applied_at FROM cutover.apply_progress a WHERE a.direction = $1'
              INTO v_name, v_applied USING p_way;
            IF v_name IS NOT NULL THEN v_engine := 'capture'; END IF;
          END IF;
          IF v_engine IN ('relay', 'capture') THEN
            -- The key is open to every role in pg_locks: only a member of the schema's owner (the
            -- replicator's role, as Way.OURS in the replicator) counts as an apply process.
            v_applying := EXISTS (SELECT 1 FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted
              AND l.database = %2$s AND l.classid = %3$s AND l.objsubid = 2
              AND l.objid = CASE p_way WHEN 'forward' THEN 1 ELSE 2 END
              AND coalesce(pg_has_role(a.usesysid, (SELECT n.nspowner FROM pg_namespace n WHERE n.nspname = 'cutover'),
                'USAGE'), true));
            IF to_regclass('cutover.apply_failure') IS NOT NULL THEN
              -- A stop for good is noted on the way's own row too ("stopped for good: ", WayIn.STOPPED).
              EXECUTE 'SELECT left(f.message, 1000), f.last FROM cutover.apply_failure f WHERE f.way = $1'
                INTO v_failure, v_failed USING p_way;
            END IF;
          END IF;
          RETURN QUERY SELECT v_engine, v_name, v_enabled, v_applying, v_applied, v_failure, v_failed;
        END $$""".formatted(DEFINER, THIS_DATABASE, APPLY_LOCK));
    f.add("CREATE OR REPLACE FUNCTION cutover.drained(p_service text, p_instance text, p_switch text) RETURNS void"
        + " LANGUAGE sql" + DEFINER + " AS $$"
        + " INSERT INTO cutover.instance AS i (service, instance, drained_for) VALUES (p_service, p_instance, p_switch)"
        + " ON CONFLICT (service, instance) DO UPDATE SET drained_for = p_switch, heartbeat_at = clock_timestamp() $$");
    f.add("CREATE OR REPLACE FUNCTION cutover.undrained(p_service text, p_switch text, p_ttl_ms integer)"
        + " RETURNS SETOF text LANGUAGE sql" + DEFINER + " AS $$"
        + " SELECT i.instance FROM cutover.instance i WHERE i.service = p_service"
        + " AND i.heartbeat_at > clock_timestamp() - p_ttl_ms * interval '1 millisecond'"
        + " AND i.drained_for IS DISTINCT FROM p_switch ORDER BY 1 $$");
    f.add("CREATE OR REPLACE FUNCTION cutover.asking(p_service text, p_target text, p_ttl_ms integer) RETURNS boolean"
        + " LANGUAGE sql" + DEFINER + " AS $$ SELECT EXISTS (SELECT 1 FROM cutover.instance i WHERE i.service = p_service"
        + " AND i.flag_target = p_target AND i.heartbeat_at > clock_timestamp() - p_ttl_ms * interval '1 millisecond') $$");
    // Live instances not yet ready for a switch: neither marked ready (connections to the target
    // open, gate still open) nor already drained for it.
    f.add("CREATE OR REPLACE FUNCTION cutover.unready(p_service text, p_switch text, p_ttl_ms integer)"
        + " RETURNS SETOF text LANGUAGE sql" + DEFINER + " AS $$"
        + " SELECT i.instance FROM cutover.instance i WHERE i.service = p_service"
        + " AND i.heartbeat_at > clock_timestamp() - p_ttl_ms * interval '1 millisecond'"
        + " AND (i.drained_for IS NULL OR i.drained_for NOT IN (p_switch, '" + Coordination.READY
        + "' || p_switch)) ORDER BY 1 $$");
    // An instance that cannot get ready for a switch in progress (its connections to the target do
    // not open) says why, so that its peers refuse the switch before any gate closes instead of
    // holding their applications for it. Only for the switch in progress whose id it names, only in
    // its own row, never once it drained (its gate closed: it aborts as any instance does), and
    // bounded in length. A role of the control plane could already abort any switch
    // (request_abort): this gives it nothing more.
    f.add("CREATE OR REPLACE FUNCTION cutover.not_ready(p_service text, p_instance text, p_switch text, p_reason text)"
        + " RETURNS boolean LANGUAGE sql" + DEFINER + " AS $$"
        + " WITH marked AS (UPDATE cutover.instance i SET not_ready_for = p_switch,"
        + " not_ready_reason = left(coalesce(p_reason, 'no reason given'), 1000)"
        + " WHERE i.service = p_service AND i.instance = p_instance AND i.drained_for IS DISTINCT FROM p_switch"
        + " AND EXISTS (SELECT 1 FROM cutover.switch s WHERE s.service = p_service AND s.id = p_switch"
        + " AND s.state = 'draining') RETURNING 1)"
        + " SELECT EXISTS (SELECT 1 FROM marked) $$");
    f.add("CREATE OR REPLACE FUNCTION cutover.not_ready_peers(p_service text, p_switch text, p_ttl_ms integer)"
        + " RETURNS TABLE (instance_name text, reason text) LANGUAGE sql" + DEFINER + " AS $$"
        + " SELECT i.instance, i.not_ready_reason FROM cutover.instance i WHERE i.service = p_service"
        + " AND i.not_ready_for = p_switch"
        + " AND i.heartbeat_at > clock_timestamp() - p_ttl_ms * interval '1 millisecond' ORDER BY 1 $$");
    f.add("CREATE OR REPLACE FUNCTION cutover.switch_state(p_service text)"
        + " RETURNS TABLE (switch_id text, switch_state text, switch_marker text, switch_reason text,"
        + " switch_abort_requested text) LANGUAGE sql" + DEFINER + " AS $$"
        + " SELECT s.id, s.state, s.marker, s.reason, s.abort_requested FROM cutover.switch s"
        + " WHERE s.service = p_service $$");
    f.add("CREATE OR REPLACE FUNCTION cutover.forced(p_service text) RETURNS boolean LANGUAGE sql" + DEFINER
        + " AS $$ SELECT coalesce((SELECT s.force FROM cutover.service_setting s WHERE s.service = p_service), false) $$");
    // Off for a name this database knows nothing of (no instance, switch or force setting) is refused, naming
    // the known ones: a misspelled name turned off "successfully" left the real service forced. On for
    // one is allowed, as for a service not started yet (switch-force --not-started).
    f.add("""
        CREATE OR REPLACE FUNCTION cutover.set_force(p_service text, p_force boolean) RETURNS void LANGUAGE plpgsql%s AS $$
        BEGIN
          IF p_force IS NOT TRUE AND NOT EXISTS (SELECT 1 FROM cutover.instance i WHERE i.service = p_service)
              AND NOT EXISTS (SELECT 1 FROM cutover.switch s WHERE s.service = p_service)
              AND NOT EXISTS (SELECT 1 FROM cutover.service_setting f WHERE f.service = p_service) THEN
            RAISE EXCEPTION USING ERRCODE = '42704',
              MESSAGE = format('cutover: no service %%s in the control schema of database %%s (known: %%s): force was not'
                  ' turned off, nothing was changed', quote_nullable(p_service), quote_ident(current_database()),
                  coalesce((SELECT string_agg(quote_literal(k.name), ', ') FROM (SELECT n AS name FROM cutover.service_names() n
                  LIMIT 20) k), 'none')),
              HINT = 'check the name (case matters; cutover-replicator switch-status lists the services): a service no'
                  ' instance, switch or force setting names here has nothing forced to turn off';
          END IF;
          INSERT INTO cutover.service_setting AS s (service, force) VALUES (p_service, p_force)
            ON CONFLICT (service) DO UPDATE SET force = EXCLUDED.force, updated_at = clock_timestamp();
        END $$""".formatted(DEFINER));

    // The operator view.
    f.add("CREATE OR REPLACE FUNCTION cutover.service_status(p_service text) RETURNS TABLE (fence_raised boolean,"
        + " fence_epoch bigint, forced boolean, switch_id text, switch_source text, switch_target text, switch_state text,"
        + " switch_leader text, switch_reason text, abort_requested text, began_at timestamptz, updated_at timestamptz)"
        + " LANGUAGE sql" + DEFINER + " AS $$"
        + " SELECT cutover.fence_raised(), cutover.epoch(), cutover.forced(p_service), s.id, s.source, s.target, s.state,"
        + " s.leader, s.reason, s.abort_requested, s.began_at, s.updated_at"
        + " FROM (SELECT 1) one LEFT JOIN cutover.switch s ON s.service = p_service $$");
    f.add("CREATE OR REPLACE FUNCTION cutover.service_instances(p_service text) RETURNS TABLE (instance_name text,"
        + " heartbeat_age_ms bigint, serving text, flag_target text, phase text, drained_for text)"
        + " LANGUAGE sql" + DEFINER + " AS $$"
        + " SELECT i.instance, (extract(epoch FROM clock_timestamp() - i.heartbeat_at) * 1000)::bigint, i.serving,"
        + " i.flag_target, i.phase, i.drained_for FROM cutover.instance i WHERE i.service = p_service ORDER BY 1 $$");
    // Forced services too: a force set before any instance started, or left on after all stopped,
    // must show in switch-status and be found by switch-force off.
    f.add("CREATE OR REPLACE FUNCTION cutover.service_names() RETURNS SETOF text LANGUAGE sql" + DEFINER + " AS $$"
        + " SELECT i.service FROM cutover.instance i UNION SELECT s.service FROM cutover.switch s"
        + " UNION SELECT f.service FROM cutover.service_setting f WHERE f.force ORDER BY 1 $$");
    // The leader's lock key is the control plane's secret: only a definer's function finds its holder.
    f.add("CREATE OR REPLACE FUNCTION cutover.switch_leader_pid(p_service text) RETURNS integer LANGUAGE sql" + DEFINER
        + " AS $$ SELECT min(h.holder) FROM cutover.switch s, cutover.lead_holders(s.service, s.id) h"
        + " WHERE s.service = p_service $$");
    // With the caller's rights: pg_stat_activity shows the leader's client address only to a role
    // allowed to see that backend (its own role, pg_read_all_stats), not to every operator.
    f.add("CREATE OR REPLACE FUNCTION cutover.switch_leader(p_service text) RETURNS TABLE (leader_pid integer,"
        + " application_name text, client_addr text) LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$"
        + " SELECT l.pid, a.application_name, host(a.client_addr)"
        + " FROM (SELECT cutover.switch_leader_pid(p_service) AS pid) l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
        + " WHERE l.pid IS NOT NULL $$");

    // A leader stalled behind its fence, or before it (a frozen JVM, a paused container, a link that
    // went silent without a reset): its session still holds the lock, so no other instance may lead
    // or abort, while its instance no longer heartbeats. Named only while the switch is not released,
    // the lock is held by the very session that named itself leader (its pid recorded by leading or
    // raise_fence, the lock read here: a reused pid holds no lock), and that session's instance has a row whose
    // heartbeat is older than the instances' liveness limit (a deleted row is no proof: the next
    // beat writes it again).
    f.add("CREATE OR REPLACE FUNCTION cutover.stalled_leader(p_service text) RETURNS TABLE (switch_id text,"
        + " leader_pid integer, leader_instance text, heartbeat_age_ms bigint) LANGUAGE sql" + DEFINER + " AS $$"
        + " SELECT s.id, h.holder, s.leader, (extract(epoch FROM clock_timestamp() - i.heartbeat_at) * 1000)::bigint"
        + " FROM cutover.switch s CROSS JOIN LATERAL cutover.lead_holders(s.service, s.id) h"
        + " JOIN cutover.instance i ON i.service = s.service AND i.instance = s.leader"
        + " WHERE s.service = p_service AND s.state = 'draining' AND h.holder = s.leader_pid"
        + " AND i.heartbeat_at < clock_timestamp() - " + LEADER_STALLED + " $$");
    // Ends it, with the caller's rights: pg_terminate_backend lets a role end only backends of roles
    // it is a member of (or any, with pg_signal_backend or as a superuser), so this path gives no role
    // a backend it could not end already, and only the stalled leader's. Identified and ended in one
    // statement. Its release had not committed (a released switch is never named), and the release
    // is atomic in that session: ending it cannot split the service's writes.
    f.add("CREATE OR REPLACE FUNCTION cutover.end_stalled_leader(p_service text) RETURNS TABLE (switch_id text,"
        + " leader_pid integer, leader_instance text, heartbeat_age_ms bigint, ended boolean) LANGUAGE sql"
        + " SET search_path = pg_catalog, pg_temp AS $$"
        + " SELECT l.switch_id, l.leader_pid, l.leader_instance, l.heartbeat_age_ms, pg_terminate_backend(l.leader_pid)"
        + " FROM cutover.stalled_leader(p_service) l $$");

    // Installer only.
    f.add("CREATE OR REPLACE FUNCTION cutover.request_slot_at_switch(p_slot name) RETURNS void LANGUAGE sql" + DEFINER
        + " AS $$ INSERT INTO cutover.slot_at_switch VALUES (p_slot) ON CONFLICT (slot_name) DO UPDATE SET missed = NULL, made_at = NULL $$");
    f.add(grantControlPlane());
    return f;
  }

  /**
   * Guards application tables that lack an enabled fence trigger: adds it, or enables it again (a
   * disabled or replica-only trigger would let writes through). {@code guard_tables(lim)} guards the
   * first {@code lim} of them by name (all of them when null), locked in one statement; the install
   * guards one per transaction, since a lock on several tables, taken one after another, waits for a
   * writer that holds the next while that writer waits for one already taken, until the lock
   * timeout, at every try while writes go on. {@code guard_tables()} guards all (the fence, where
   * usually none is left). Fails, naming the tables and the remedy, when the installer may not add a
   * trigger to one of them.
   */
  private static String guardTables(int major) {
    return """
        CREATE OR REPLACE FUNCTION cutover.guard_tables(lim integer) RETURNS integer LANGUAGE plpgsql%1$s AS $$
        DECLARE t record; n integer := 0; refused text; chosen text[];
        BEGIN
          -- One pass over the catalog; usually nothing is unguarded and this is all the work.
          SELECT string_agg(u.name, ', ' ORDER BY u.name) FILTER (WHERE NOT u.allowed),
                 (array_agg(u.name ORDER BY u.name) FILTER (WHERE u.allowed))[1:coalesce(lim, 2147483647)]
            INTO refused, chosen
            FROM (SELECT format('%%I.%%I', ns.nspname, c.relname) AS name,
                    CASE WHEN EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = '%3$s')
                      THEN pg_has_role(c.relowner, 'USAGE')
                      ELSE has_table_privilege(c.oid, 'TRIGGER') AND has_table_privilege(c.oid, 'UPDATE') END AS allowed
                  %2$s) u;
          IF refused IS NOT NULL THEN
            RAISE EXCEPTION 'cutover: table(s) %% cannot be fenced: role %% may not add (or enable) the fence trigger cutover_fence on them',
                refused, current_user USING ERRCODE = '42501',
              HINT = format('Install the control schema again as their owner or a superuser (cutover-replicator start, ControlSchema.install), or GRANT TRIGGER, UPDATE ON %%s TO %%I (to add the trigger and to lock the table while the fence rises).', refused, current_user);
          END IF;
          IF chosen IS NULL THEN
            RETURN 0;
          END IF;
          EXECUTE 'LOCK TABLE ' || array_to_string(chosen, ', ') || ' IN SHARE ROW EXCLUSIVE MODE';
          FOR t IN SELECT ns.nspname, c.relname, EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid
              AND g.tgname = '%3$s') AS present %2$s AND format('%%I.%%I', ns.nspname, c.relname) = ANY (chosen) LOOP
            IF t.present THEN
              EXECUTE format('ALTER TABLE %%I.%%I ENABLE TRIGGER %3$s', t.nspname, t.relname);
            ELSE
              EXECUTE format('CREATE TRIGGER %3$s BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %%I.%%I'
                || ' FOR EACH STATEMENT %4$s cutover.fence_guard()', t.nspname, t.relname);
            END IF;
            n := n + 1;
          END LOOP;
          RETURN n;
        END $$""".formatted(DEFINER, UNGUARDED, TRIGGER, execute(major));
  }

  /** {@code guard_tables()}: every unguarded table at once, as the fence needs. */
  private static String guardAllTables() {
    return "CREATE OR REPLACE FUNCTION cutover.guard_tables() RETURNS integer LANGUAGE sql" + DEFINER
        + " AS $$ SELECT cutover.guard_tables(NULL::integer) $$";
  }

  /** How many application tables lack an enabled fence trigger. */
  public static String countUnguarded() {
    return "SELECT count(*) " + UNGUARDED;
  }

  /** The event trigger's function: guards a table in the transaction that creates it (superuser installs only). */
  public static String guardNewTables(int major) {
    return """
        CREATE OR REPLACE FUNCTION cutover.guard_new_tables() RETURNS event_trigger LANGUAGE plpgsql%s AS $$
        DECLARE t record;
        BEGIN
          FOR t IN SELECT DISTINCT ns.nspname, c.relname FROM pg_event_trigger_ddl_commands() d
              JOIN pg_class c ON c.oid = d.objid JOIN pg_namespace ns ON ns.oid = c.relnamespace
              WHERE d.classid = 'pg_class'::regclass AND %s
              AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = '%s') LOOP
            EXECUTE format('CREATE TRIGGER %s BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %%I.%%I'
              || ' FOR EACH STATEMENT %s cutover.fence_guard()', t.nspname, t.relname);
          END LOOP;
        END $$""".formatted(DEFINER, APPLICATION_TABLES, TRIGGER, TRIGGER, execute(major));
  }

  /**
   * The row trigger {@link #LOCAL_ONLY_TRIGGER} on {@code table}, one of {@link #LOCAL_TABLES}: fires
   * only for replica sessions (ENABLE REPLICA), where it drops the row.
   */
  public static List<String> localOnly(int major, String table) {
    return List.of(
        "CREATE TRIGGER " + LOCAL_ONLY_TRIGGER + " BEFORE INSERT OR UPDATE OR DELETE ON cutover." + table
            + " FOR EACH ROW " + execute(major) + " cutover.local_only()",
        "ALTER TABLE cutover." + table + " ENABLE REPLICA TRIGGER " + LOCAL_ONLY_TRIGGER);
  }

  /** The row trigger that makes a marker arriving twice harmless; it fires in replication apply too (ALWAYS). */
  public static List<String> barrierOnce(int major) {
    return List.of(
        "CREATE TRIGGER cutover_barrier_once BEFORE INSERT ON cutover.barrier FOR EACH ROW " + execute(major)
            + " cutover.barrier_once()",
        "ALTER TABLE cutover.barrier ENABLE ALWAYS TRIGGER cutover_barrier_once");
  }

  public static String eventTrigger(int major) {
    return "CREATE EVENT TRIGGER " + EVENT_TRIGGER + " ON ddl_command_end"
        + " WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO') " + execute(major) + " cutover.guard_new_tables()";
  }

  /**
   * Takes back, on the control schema's objects the current role owns (through membership, or as
   * a superuser), whatever any other role holds: every privilege on tables and sequences (the
   * switch's rows, the lead secret, replication positions), {@code EXECUTE} on functions other than
   * {@link #GRANTED}, which the control plane grants by name, and {@code CREATE} on the schema (a
   * role that may create there could plant a table that a later {@code CREATE TABLE IF NOT EXISTS}
   * takes for ours); for PUBLIC also {@code USAGE}. The usual way in is default privileges ({@code
   * ALTER DEFAULT PRIVILEGES ... GRANT ALL ON TABLES TO app}, common on managed services): they
   * apply to every object the installing role creates, in every schema. Run after each creation.
   */
  public static String seal() {
    String grantee = "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.rolname) END";
    return "DO $$\nDECLARE r record;\nBEGIN\n"
        + "  FOR r IN SELECT DISTINCT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind, c.oid::regclass::text AS obj, "
        + grantee + " AS who FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner))) a"
        + " LEFT JOIN pg_roles g ON g.oid = a.grantee"
        + " WHERE n.nspname = 'cutover' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND a.grantee <> c.relowner"
        + " AND pg_has_role(c.relowner, 'MEMBER') LOOP\n"
        + "    EXECUTE format('REVOKE ALL ON %s %s FROM %s', r.kind, r.obj, r.who);\n  END LOOP;\n"
        + "  FOR r IN SELECT DISTINCT p.oid::regprocedure::text AS fn, " + grantee + " AS who FROM pg_proc p"
        + " JOIN pg_namespace n ON n.oid = p.pronamespace CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a"
        + " LEFT JOIN pg_roles g ON g.oid = a.grantee"
        + " WHERE n.nspname = 'cutover' AND a.grantee <> p.proowner AND pg_has_role(p.proowner, 'MEMBER')"
        + " AND (a.grantee = 0 OR p.oid <> ALL (array_remove(" + grantedOids() + ", NULL))) LOOP\n"
        + "    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %s', r.fn, r.who);\n  END LOOP;\n"
        + "  FOR r IN SELECT DISTINCT " + grantee + " AS who, a.privilege_type AS what FROM pg_namespace n"
        + " CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a LEFT JOIN pg_roles g ON g.oid = a.grantee"
        + " WHERE n.nspname = 'cutover' AND a.grantee <> n.nspowner AND pg_has_role(n.nspowner, 'MEMBER')"
        + " AND (a.grantee = 0 OR a.privilege_type = 'CREATE') LOOP\n"
        + "    EXECUTE format('REVOKE %s ON SCHEMA cutover FROM %s', r.what, r.who);\n  END LOOP;\nEND $$";
  }

  /** SQL: an {@code oid[]} of {@link #GRANTED}, with NULL for each that does not exist (an older install). */
  public static String grantedOids() {
    StringBuilder sql = new StringBuilder("ARRAY[");
    for (int i = 0; i < GRANTED.size(); i++) {
      sql.append(i == 0 ? "" : ", ").append("to_regprocedure('cutover.").append(GRANTED.get(i)).append("')::oid");
    }
    return sql.append(']').toString();
  }

  /**
   * Grants the control plane to a role: usage of the schema and {@code EXECUTE} on {@link #GRANTED}.
   * With the replicator's schema change capture off ({@code cutover.ddl_capture}, read by its event
   * trigger where installed, a placeholder elsewhere): each side's control schema is its own, so its
   * grants are no change to carry nor to report as made on one side alone. Set in the body and put
   * back after, since a function's SET clause naming a placeholder needs a superuser to create.
   */
  private static String grantControlPlane() {
    StringBuilder body = new StringBuilder("  PERFORM set_config('cutover.ddl_capture', 'off', true);\n"
        + "  EXECUTE format('GRANT USAGE ON SCHEMA cutover TO %I', p_role);\n");
    for (String signature : GRANTED) {
      body.append("  EXECUTE format('GRANT EXECUTE ON FUNCTION cutover.").append(signature).append(" TO %I', p_role);\n");
    }
    body.append("  PERFORM set_config('cutover.ddl_capture', coalesce(capture, ''), true);\n");
    return "CREATE OR REPLACE FUNCTION cutover.grant_control_plane(p_role name) RETURNS void LANGUAGE plpgsql"
        + DEFINER + " AS $$\nDECLARE\n  capture text := current_setting('cutover.ddl_capture', true);\nBEGIN\n" + body + "END $$";
  }

  /**
   * Grants {@link #ADDED_IN_PLACE} to every role holding {@code EXECUTE} on {@code
   * service_status(text)} itself (not through membership), and {@link #ADDED_FOR_INSTANCES} to every
   * one holding it on {@code open_target(text, text, bigint)}; idempotent.
   */
  public static List<String> grantAddedInPlace() {
    return List.of(grantToHoldersOf("service_status(text)", ADDED_IN_PLACE),
        grantToHoldersOf("open_target(text, text, bigint)", ADDED_FOR_INSTANCES));
  }

  /** SQL granting {@code added} to every role holding {@code EXECUTE} on {@code anchor} itself. */
  private static String grantToHoldersOf(String anchor, List<String> added) {
    StringBuilder grants = new StringBuilder();
    for (String signature : added) {
      grants.append("    EXECUTE format('GRANT EXECUTE ON FUNCTION cutover.").append(signature).append(" TO %I', r.rolname);\n");
    }
    return "DO $$\nDECLARE r record;\nBEGIN\n  FOR r IN SELECT DISTINCT g.rolname FROM pg_proc p"
        + " CROSS JOIN LATERAL aclexplode(p.proacl) a JOIN pg_roles g ON g.oid = a.grantee"
        + " WHERE p.oid = 'cutover." + anchor + "'::regprocedure AND a.privilege_type = 'EXECUTE'"
        + " AND a.grantee <> p.proowner LOOP\n" + grants + "  END LOOP;\nEND $$";
  }

  /** A plpgsql function of the control schema that steers a switch (see {@link #inProgress}). */
  private static String switchRow(String signature, String body) {
    return "CREATE OR REPLACE FUNCTION cutover." + signature + " LANGUAGE plpgsql" + DEFINER + " AS $$\n" + body + " $$";
  }

  /**
   * Reads the switch row into {@code s} (locked for update or not) and refuses unless the switch is
   * in progress and no operator asked to abort it.
   */
  private static String inProgress(boolean forUpdate) {
    return """
        SELECT * INTO s FROM cutover.switch w WHERE w.service = p_service AND w.id = p_switch%s;
            IF NOT FOUND OR s.state <> 'draining' THEN
              RAISE EXCEPTION 'cutover: refused: switch %% of %% is not in progress (%%)', p_switch, p_service,
                coalesce(s.state, 'unknown') USING ERRCODE = '55000';
            END IF;
            IF s.abort_requested IS NOT NULL THEN
              RAISE EXCEPTION 'cutover: switch %% of %% was aborted: %%', p_switch, p_service, s.abort_requested
                USING ERRCODE = '57014';
            END IF;""".formatted(forUpdate ? " FOR UPDATE" : "");
  }
}
