package dev.cutover.replicator.capture;

import dev.cutover.common.Transactions;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.ApplyToken;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.replication.MigrationPair;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.ShortLocks;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Trigger capture on a source database: the change log, the capture function and the triggers
 * that call it, all in the control schema {@code cutover} (installed after the driver's control
 * schema, removed with it).
 *
 * <p>Design notes. Every captured table gets AFTER triggers, calling {@code cutover.capture()} or,
 * for the common case, {@code cutover.capture_row()} (below), which append one row per change to
 * the change log: a sequence number taken after the row was
 * changed and locked, the writing transaction's {@code txid_current()}, the table's schema and
 * name as the change saw them, the operation, the new row as {@code row_to_json} (for INSERT and
 * UPDATE) and the old row's key (for DELETE, and for an UPDATE that changed the key; the whole old
 * row where the table has no key). One trigger per kind of change, so that the common case costs
 * least: {@value #ROW_TRIGGER} (INSERT), {@value #UPDATE_TRIGGER} (an UPDATE that kept the
 * key: its {@code WHEN} clause compares the key columns in C, and the function prints only the new
 * row), {@value #KEY_TRIGGER} (an UPDATE that changed the key), {@value #DELETE_TRIGGER}
 * and {@value #TRUNCATE_TRIGGER} (FOR EACH STATEMENT). Their names begin with {@code #} so that
 * they fire before the application's AFTER triggers, and the log holds changes in the order they
 * took effect (see {@link #triggersBefore}). A table without a key has one UPDATE trigger
 * that logs the whole old row. The WHEN clauses refer to the key columns by number, so renaming
 * them is harmless; dropping one needs the capture triggers gone first (or CASCADE, after which
 * the event trigger below makes them again). The triggers are made by one SQL function,
 * {@code cutover.capture_table(regclass)} (capture-tables.sql), for start, reverse and the event
 * trigger alike. An INSERT, and an UPDATE that kept the key, of a table whose values print the
 * same in every session (first argument {@code -}: no {@code s}, {@code f}, {@code r}, {@code j}
 * or {@code u}, below) need only the new row: their triggers call
 * {@value #ROW_FUNCTION}, which does just that in one statement, without the general function's
 * tests of its arguments; measured by hand on PostgreSQL 15, this cuts the capture's own CPU cost
 * per TPC-B transaction by about 14% (see docs/design-decisions.md).
 *
 * <p>Where the role may create event triggers (a superuser, as schema change capture needs too),
 * the event trigger {@value #EVENT_TRIGGER} gives a table created after start its capture triggers
 * in the creating transaction, logs the rows a CREATE TABLE AS computed, and makes an altered
 * table's triggers again (its key or column types may have changed); see capture-new-tables.sql.
 * Without it, a table created after start is not captured: {@code status} lists it.
 *
 * <p>{@code row_to_json} keeps the text of {@code json} values as written and shows dates and
 * timestamps in ISO form whatever the writer's DateStyle; numbers keep every digit. Three session
 * settings still change how a value prints: {@code extra_float_digits} (floats, geometric values
 * and contrib's cube lose digits below 3 before PostgreSQL 12, and at 0 or below from 12: 0 rounds
 * to 15 significant digits there, only a value above 0 prints the shortest exact text), DateStyle
 * inside range values and IntervalStyle ({@code sql_standard} prints -1 day -2 hours as
 * {@code -1 2:00:00}, which other sessions read as -1 day +2 hours). Tables whose columns hold such
 * values at any depth ({@code cutover.types_within}) get the trigger argument {@code s}, and the
 * function then prints the row with all three set to unambiguous values and puts them back. From
 * 12, a table whose only such values are floats gets {@code -f} instead: the function reads
 * {@code extra_float_digits} once per row and sets it to 3 only where the writer's is 0 or below
 * (the default from 12 is 1, PgJDBC's sessions ask for 3), then puts it back; its INSERT
 * trigger calls the general function, not {@value #ROW_FUNCTION}. Values of the oid
 * alias types (regclass, regtype, ...) print as names relative to the writer's search_path
 * ({@code thing} for {@code app.thing}), which the target would resolve by its own path: tables
 * holding one at any depth get {@code r} in the first argument, and the row is printed with
 * {@code search_path = pg_catalog}, every name schema-qualified. Tables with json
 * columns (json inside arrays and composites too) get flag {@code j} and those columns as
 * arguments: {@code row_to_json} prints a json value that is the JSON {@code null} as it prints
 * SQL NULL, so the general function names such columns in the logged row, or logs the text of a
 * column whose JSON null is an element or a field ({@link #jsonNullsSql}).
 *
 * <p>The function is {@code SECURITY DEFINER} and names everything with its schema: application
 * roles write their tables and so the log, but cannot read, change or forge log rows, nor make
 * it run an object of theirs. The log is two tables,
 * {@code change_log_0} and {@code change_log_1}; the function writes into one of them (its text
 * names it), and the applier rotates to the other when it is empty and truncates a retired one
 * once every row in it has been applied (see {@link ChangeLog}), so the log is trimmed without
 * DELETE and VACUUM, as PgQ rotates its event tables.
 */
public final class CaptureSchema {
  /**
   * The INSERT trigger, which every captured table has. PostgreSQL fires a table's AFTER triggers
   * of one event in the order of their names, byte by byte, and a nested statement that an
   * application's trigger runs logs its changes when it ends: every capture trigger's name begins
   * with {@code #}, which sorts before letters, digits and PostgreSQL's own {@code RI_...}, so that
   * the row that caused such writes is logged before them, as it took effect (see
   * {@link #triggersBefore}).
   */
  public static final String ROW_TRIGGER = "#cutover_capture";
  public static final String UPDATE_TRIGGER = "#cutover_capture_update";
  public static final String KEY_TRIGGER = "#cutover_capture_key";
  public static final String DELETE_TRIGGER = "#cutover_capture_delete";
  public static final String TRUNCATE_TRIGGER = "#cutover_capture_truncate";
  /** Every capture trigger a table may have. */
  public static final List<String> TRIGGERS = List.of(ROW_TRIGGER, UPDATE_TRIGGER, KEY_TRIGGER, DELETE_TRIGGER, TRUNCATE_TRIGGER);
  /** A LIKE pattern (backslash escapes) for every capture trigger's name. */
  public static final String TRIGGER_PATTERN = "#cutover\\_capture%";
  static final String FUNCTION = "cutover.capture";
  /** The lean capture function: logs the new row only (INSERT, an UPDATE that kept the key), no settings pinned. */
  static final String ROW_FUNCTION = "cutover.capture_row";
  /** {@code cutover.json_nulls(row, json, columns)}: marks a logged row's JSON nulls (see {@link #jsonNullsSql}). */
  static final String JSON_NULLS_FUNCTION = "cutover.json_nulls";
  /** {@code cutover.reals_exact(rel, json)}: prints a logged row's reals as doubles (see {@link #realsExactSql}). */
  static final String REALS_FUNCTION = "cutover.reals_exact";
  /** The event trigger that captures tables created on this side after start, and redoes altered tables' triggers. */
  public static final String EVENT_TRIGGER = "cutover_capture_new";
  /** {@code cutover.capture_table(regclass)}: (re)creates one table's capture triggers. */
  private static final String TABLE_FUNCTION = resource("capture-tables.sql");
  /** {@code cutover.capture_new()} and its event trigger. */
  private static final String NEW_TABLES = resource("capture-new-tables.sql");
  static final int LOGS = 2;

  private CaptureSchema() {}

  /**
   * plpgsql that saves the writer's settings that change how values print into {@code fd},
   * {@code ds} and {@code ist}, and sets them so that every value prints exactly and reads back the
   * same anywhere: floats with every digit, dates in ISO form, intervals with a sign per field.
   */
  private static final String PIN_SETTINGS = "    fd := pg_catalog.current_setting('extra_float_digits');\n"
      + "    ds := pg_catalog.current_setting('DateStyle');\n"
      + "    ist := pg_catalog.current_setting('IntervalStyle');\n"
      + "    PERFORM pg_catalog.set_config('extra_float_digits', '3', true);\n"
      + "    PERFORM pg_catalog.set_config('DateStyle', 'ISO, MDY', true);\n"
      + "    PERFORM pg_catalog.set_config('IntervalStyle', 'postgres', true);\n";
  /** plpgsql that puts back what {@link #PIN_SETTINGS} saved. */
  private static final String RESTORE_SETTINGS = "    PERFORM pg_catalog.set_config('extra_float_digits', fd, true);\n"
      + "    PERFORM pg_catalog.set_config('DateStyle', ds, true);\n"
      + "    PERFORM pg_catalog.set_config('IntervalStyle', ist, true);\n";

  /** A WHERE over pg_class {@code c}: the table carries the capture triggers. */
  private static final String CAPTURED = "EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = '" + ROW_TRIGGER + "')";

  /** The log table written now or retired, by number. */
  static String logTable(int n) {
    return "cutover.change_log_" + n;
  }

  /**
   * Creates the change log, its state and the capture function on {@code c} if they are missing
   * (the control schema must exist). Idempotent; the function keeps writing into the current log.
   *
   * <p>The capture triggers fire in every session ({@code ENABLE ALWAYS}): a session with
   * {@code session_replication_role = replica} (a superuser's bulk load that skips foreign key
   * checks, another replication) writes rows the other side must get, and ordinary triggers would
   * miss them silently. Only the apply sessions writing into {@code c} are left out, by the token
   * they carry ({@link ApplyToken}), which this side's capture takes over from them.
   */
  public static void install(Connection c) throws SQLException {
    ApplyToken.ensure(c);
    try (Statement s = c.createStatement()) {
      s.execute("CREATE SEQUENCE IF NOT EXISTS cutover.change_seq");
      for (int n = 0; n < LOGS; n++) {
        s.execute("CREATE TABLE IF NOT EXISTS " + logTable(n) + " ("
            + " seq bigint NOT NULL DEFAULT nextval('cutover.change_seq'),"
            + " txid bigint NOT NULL DEFAULT txid_current(),"
            + " nsp text NOT NULL, rel text NOT NULL, op text NOT NULL,"
            + " new_row json, old_key json)");
        s.execute("CREATE INDEX IF NOT EXISTS change_log_" + n + "_txid ON " + logTable(n) + " (txid)");
      }
      s.execute("CREATE TABLE IF NOT EXISTS cutover.capture_state ("
          + " one boolean PRIMARY KEY DEFAULT true CHECK (one),"
          + " current_log int NOT NULL CHECK (current_log IN (0, 1)),"
          + " switched_at timestamptz NOT NULL, previous_switched_at timestamptz, apply_token text NOT NULL)");
      addStateColumns(s);
      ChangeLog.recordTrims(c);
      // Every position of a new install has its tick kept (start's and reverse's too, ChangeLog#keep).
      s.execute("INSERT INTO cutover.capture_state (current_log, switched_at, apply_token, replica_writes, ticks_kept)"
          + " SELECT 0, now(), " + ApplyToken.select() + ", true, true WHERE NOT EXISTS (SELECT 1 FROM cutover.capture_state)");
      s.execute("CREATE TABLE IF NOT EXISTS cutover.capture_tick (id bigserial PRIMARY KEY, snapshot text NOT NULL,"
          + " at timestamptz NOT NULL DEFAULT clock_timestamp())");
      s.execute("CREATE INDEX IF NOT EXISTS capture_tick_at ON cutover.capture_tick (at)");
      for (String sql : functionSql(c, (int) Sql.number(c, "SELECT current_log FROM cutover.capture_state"))) {
        s.execute(sql);
      }
      s.execute(jsonNullsSql());
      s.execute(realsExactSql());
      s.execute(TABLE_FUNCTION);
      if (Capabilities.mayCreateEventTriggers(c)) {
        s.execute(NEW_TABLES);
      }
    }
    ControlSchema.seal(c);
  }

  /**
   * Adds to {@code cutover.capture_state} the columns added since its first builds, each false where
   * an install made before lacks it (as that install behaves).
   */
  private static void addStateColumns(Statement s) throws SQLException {
    // An install from before left replica-mode sessions out on new.
    s.execute("ALTER TABLE cutover.capture_state ADD COLUMN IF NOT EXISTS replica_writes boolean NOT NULL DEFAULT false");
    // Set by reverse where old is older than 10 (logStructuredAsText).
    s.execute("ALTER TABLE cutover.capture_state ADD COLUMN IF NOT EXISTS structured_as_text boolean NOT NULL DEFAULT false");
    // Set by reverse where old is older than 12 (logRealsExactly).
    s.execute("ALTER TABLE cutover.capture_state ADD COLUMN IF NOT EXISTS reals_as_double boolean NOT NULL DEFAULT false");
    // Whether every position has its tick kept on this side (ChangeLog#requireHoldsTick): not those of an install from before.
    s.execute("ALTER TABLE cutover.capture_state ADD COLUMN IF NOT EXISTS ticks_kept boolean NOT NULL DEFAULT false");
  }

  /**
   * Notes on {@code c} that every position from now on has its tick kept ({@link
   * ChangeLog#requireHoldsTick}), for an install made before ticks were kept, whose first apply by
   * this version kept its position's tick once the transaction-id check passed. An install made
   * before the column is completed in place first, as {@link #install} completes one: one look-up
   * where it is there, so that such an install is checked by its ticks from then on, neither
   * refused for ticks it never kept nor checked by transaction ids alone.
   */
  public static void keepsTicks(Connection c) throws SQLException {
    if (!Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'cutover.capture_state'::regclass"
        + " AND attname = 'ticks_kept' AND NOT attisdropped)")) {
      try (Statement s = c.createStatement()) {
        addStateColumns(s);
      }
    }
    Sql.execute(c, "UPDATE cutover.capture_state SET ticks_kept = true");
  }

  /**
   * Makes the capture on {@code c} log arrays and composites (columns of such types, domains over
   * them included) as their text, for tables whose triggers are made from now on: the side that
   * applies them runs PostgreSQL 9.6, whose {@code json_to_record} reads a JSON array or object
   * only as the text of the value, which array and record input refuse (10 reads them as arrays
   * and records). Called before the way back's triggers are added on new.
   */
  public static void logStructuredAsText(Connection c) throws SQLException {
    Sql.execute(c, "UPDATE cutover.capture_state SET structured_as_text = true");
  }

  /**
   * Makes the capture on {@code c} log {@code real} (float4) values as the double they are, for the
   * tables it captures: the side that applies them runs PostgreSQL older than 12, whose float4
   * input parses text as a double and then rounds that to float4, and from 12 on {@code c} prints a
   * real as its shortest text, which that double rounding reads as the neighbouring value for some
   * (7.038531e-26). A double's shortest text reads back as that very double there, and a double
   * that is a float4 converts to it exactly. Covers real columns, domains over real and arrays of
   * either (see {@link #realsExactSql}); the capture functions are made again, so it holds from the
   * next row written. Called on new before the way back's triggers are added.
   */
  public static void logRealsExactly(Connection c) throws SQLException {
    Transactions.inTransaction(c, () -> {
      Sql.execute(c, "UPDATE cutover.capture_state SET reals_as_double = true");
      for (String sql : functionSql(c, (int) Sql.number(c, "SELECT current_log FROM cutover.capture_state FOR UPDATE"))) {
        Sql.execute(c, sql);
      }
      return null;
    });
  }

  /** Whether tables created or altered on {@code c} get their capture triggers by themselves (the event trigger). */
  public static boolean followsSchemaChanges(Connection c) throws SQLException {
    return Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = ? AND evtenabled <> 'D')", EVENT_TRIGGER);
  }

  /**
   * The remedy where a side's trigger capture belongs to a migration into another database than the
   * one given: never cleanup with these URLs, which would remove that migration's capture.
   */
  public static final String OF_ANOTHER_REMEDY = "finish or clean up that migration with its own --old-url and --new-url"
      + " (`cutover-replicator status`, `cutover-replicator cleanup`), or give this one another old database; never run cleanup"
      + " with these URLs, which would remove that migration's capture";

  /**
   * Why the trigger capture on {@code c}, given as {@code side}, is not of a migration into {@code
   * other}: what {@link MigrationPair#elsewhere} names; empty when it is, or when nothing tells.
   * Capture is per database, whatever the label: one database carries one such migration at a time.
   */
  public static Optional<String> ofAnother(Connection c, Side side, Connection other) throws SQLException {
    List<String> elsewhere = MigrationPair.elsewhere(c, side, other);
    if (elsewhere.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(side.label() + " carries the trigger capture of another migration (" + String.join("; ", elsewhere) + ", "
        + MigrationPair.TABLE + "), not one into the database given as " + (side == Side.OLD ? Side.NEW : Side.OLD).label()
        + ": one database carries one trigger-capture migration at a time");
  }

  /** Whether the change log exists on {@code c}. */
  public static boolean installed(Connection c) throws SQLException {
    return Sql.relationExists(c, "cutover.capture_state");
  }

  /**
   * The capture functions ({@code cutover.capture()} and {@value #ROW_FUNCTION}), writing into log
   * {@code n}. Replaced together, in one transaction, by the applier when it rotates the
   * log: backends compile them again at their next call, and a transaction that straddles the
   * rotation may write into both logs, which is why readers always read both.
   *
   * <p>A session whose {@code cutover.apply_token} setting holds this side's token (kept in
   * {@code cutover.capture_state}, which only the owner can read; the function knows only its md5)
   * is an apply process writing changes that came from the other side: they are not captured, so
   * nothing loops when both directions run. Other sessions pay one setting lookup per row. An
   * install made before the token was taken from {@link ApplyToken} ({@code replica_writes} false)
   * still leaves every replica-mode session out, as it did.
   */
  static List<String> functionSql(Connection c, int n) throws SQLException {
    String log = logTable(n);
    String tokenMd5 = Sql.string(c, "SELECT md5(apply_token) FROM cutover.capture_state");
    // SECURITY DEFINER without a SET search_path clause, which would cost every row a settings
    // save and restore: instead every name below is schema-qualified, operators included, so a
    // caller's search_path (or pg_temp) cannot slip its own objects in.
    boolean replicaWrites = Sql.bool(c, "SELECT replica_writes FROM cutover.capture_state");
    // Read as JSON: a log rotated by an apply newer than the install has no such column yet.
    boolean realsAsDouble = Sql.bool(c, "SELECT coalesce((SELECT (pg_catalog.to_json(s) ->> 'reals_as_double')::boolean"
        + " FROM cutover.capture_state s), false)");
    String skipApply = "  IF pg_catalog.current_setting('cutover.apply_token', true) OPERATOR(pg_catalog.<>) '' THEN\n"
        + "    IF pg_catalog.md5(pg_catalog.current_setting('cutover.apply_token', true)) OPERATOR(pg_catalog.=) "
        + Sql.literal(tokenMd5) + " THEN RETURN NULL; END IF;\n"
        + "  END IF;\n"
        + (replicaWrites ? "" : "  IF pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.=) 'replica' THEN"
            + " RETURN NULL; END IF;\n");
    String row = "CREATE OR REPLACE FUNCTION " + ROW_FUNCTION + "() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$\n"
        + "BEGIN\n"
        + skipApply
        + "  INSERT INTO " + log + " (nsp, rel, op, new_row)"
        + " VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, pg_catalog.left(TG_OP, 1), pg_catalog.row_to_json(NEW));\n"
        + "  RETURN NULL;\n"
        + "END $$";
    String general = "CREATE OR REPLACE FUNCTION cutover.capture() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$\n"
        + "DECLARE\n"
        + "  n pg_catalog.json; o pg_catalog.json; fd pg_catalog.text; ds pg_catalog.text; ist pg_catalog.text; sp pg_catalog.text;"
        + " ef pg_catalog.text;\n"
        + "  kf pg_catalog.int4 := 2; jc pg_catalog.text[];\n"
        + "BEGIN\n"
        + skipApply
        + "  IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN\n"
        + "    INSERT INTO " + log + " (nsp, rel, op) VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'T');\n"
        + "    RETURN NULL;\n"
        + "  END IF;\n"
        // Flag j: the table has json columns, listed (with their count first) before the key columns.
        + "  IF pg_catalog.strpos(TG_ARGV[0], 'j') OPERATOR(pg_catalog.>) 0 THEN\n"
        + "    kf := 3 OPERATOR(pg_catalog.+) TG_ARGV[2]::pg_catalog.int4;\n"
        + "    jc := TG_ARGV[3:kf OPERATOR(pg_catalog.-) 1];\n"
        + "  END IF;\n"
        // Flag u: types another role owns (cutover.others_types) follow; a cast to json from one would run as this function's owner.
        + "  IF pg_catalog.strpos(TG_ARGV[0], 'u') OPERATOR(pg_catalog.>) 0 THEN\n"
        + "    IF EXISTS (SELECT 1 FROM pg_catalog.pg_cast k WHERE k.castsource OPERATOR(pg_catalog.=) ANY (TG_ARGV[kf]::pg_catalog.oid[])"
        + " AND k.casttarget OPERATOR(pg_catalog.=) 114 AND k.castmethod OPERATOR(pg_catalog.=) 'f') THEN\n"
        + "      PERFORM cutover.refuse_casts(TG_RELID, TG_ARGV[kf]::pg_catalog.oid[]);\n"
        + "    END IF;\n"
        + "    kf := kf OPERATOR(pg_catalog.+) 1;\n"
        + "  END IF;\n"
        + "  IF pg_catalog.left(TG_ARGV[0], 1) OPERATOR(pg_catalog.=) 's' THEN\n"
        // Print floats exactly, ranges of dates in ISO form and intervals with a sign per field, whatever the writer's session says.
        + PIN_SETTINGS
        + "  END IF;\n"
        // Flag f (12 and later, floats in the row): 0 or below still rounds floats there, any value above 0 prints them exactly.
        + "  IF pg_catalog.strpos(TG_ARGV[0], 'f') OPERATOR(pg_catalog.>) 0 THEN\n"
        + "    ef := pg_catalog.current_setting('extra_float_digits');\n"
        + "    IF ef::pg_catalog.int4 OPERATOR(pg_catalog.>) 0 THEN ef := NULL;"
        + " ELSE PERFORM pg_catalog.set_config('extra_float_digits', '3', true); END IF;\n"
        + "  END IF;\n"
        // Flag r: an oid alias type (regclass, ...), whose names print schema-qualified only with pg_catalog alone on the path.
        + "  IF pg_catalog.strpos(TG_ARGV[0], 'r') OPERATOR(pg_catalog.>) 0 THEN\n"
        + "    sp := pg_catalog.current_setting('search_path');\n"
        + "    PERFORM pg_catalog.set_config('search_path', 'pg_catalog', true);\n"
        + "  END IF;\n"
        + "  IF TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN n := pg_catalog.row_to_json(NEW); END IF;\n"
        // The trigger says whether the old row matters (flag o): a DELETE, a key change, a table without a key.
        + "  IF TG_ARGV[1] OPERATOR(pg_catalog.=) 'o' THEN o := pg_catalog.row_to_json(OLD); END IF;\n"
        + "  IF pg_catalog.left(TG_ARGV[0], 1) OPERATOR(pg_catalog.=) 's' THEN\n"
        + RESTORE_SETTINGS
        + "  END IF;\n"
        + "  IF sp IS NOT NULL THEN PERFORM pg_catalog.set_config('search_path', sp, true); END IF;\n"
        + "  IF ef IS NOT NULL THEN PERFORM pg_catalog.set_config('extra_float_digits', ef, true); END IF;\n"
        // With a key (arguments after the first two), keep only the old key.
        + "  IF o IS NOT NULL AND TG_NARGS OPERATOR(pg_catalog.>) kf THEN\n"
        // A json value of the old row holding the escape of NUL would fail the -> below: json_nulls prints it as text first.
        + "    IF jc IS NOT NULL AND pg_catalog.strpos(o::pg_catalog.text, pg_catalog.chr(92) OPERATOR(pg_catalog.||) 'u0000')"
        + " OPERATOR(pg_catalog.>) 0 THEN o := " + JSON_NULLS_FUNCTION + "(OLD, o, jc); END IF;\n"
        + "    SELECT pg_catalog.json_object_agg(k, o OPERATOR(pg_catalog.->) k) INTO o"
        + " FROM pg_catalog.unnest(TG_ARGV[kf:TG_NARGS OPERATOR(pg_catalog.-) 1]) k;\n"
        + "  END IF;\n"
        + "  IF jc IS NOT NULL THEN\n"
        + "    IF n IS NOT NULL THEN n := " + JSON_NULLS_FUNCTION + "(NEW, n, jc); END IF;\n"
        + "    IF o IS NOT NULL THEN o := " + JSON_NULLS_FUNCTION + "(OLD, o, jc); END IF;\n"
        + "  END IF;\n"
        // The way back into a server older than 12 (logRealsExactly): a float anywhere in the row (flag s or f on 12 and later).
        + (realsAsDouble ? "  IF pg_catalog.strpos(TG_ARGV[0], 'f') OPERATOR(pg_catalog.>) 0"
            + " OR pg_catalog.left(TG_ARGV[0], 1) OPERATOR(pg_catalog.=) 's' THEN\n"
            + "    IF n IS NOT NULL THEN n := " + REALS_FUNCTION + "(TG_RELID, n); END IF;\n"
            + "    IF o IS NOT NULL THEN o := " + REALS_FUNCTION + "(TG_RELID, o); END IF;\n"
            + "  END IF;\n" : "")
        + "  INSERT INTO " + log + " (nsp, rel, op, new_row, old_key)"
        + " VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, pg_catalog.left(TG_OP, 1), n, o);\n"
        + "  RETURN NULL;\n"
        + "END $$";
    return List.of(general, row);
  }

  /**
   * {@value #JSON_NULLS_FUNCTION}{@code (r, j, columns)}: {@code j}, the {@code row_to_json} of row
   * {@code r} (or its key), corrected where it prints a JSON {@code null} as it prints SQL NULL.
   * {@code columns} are the table's json columns ({@code cutover.json_columns}), each name after a
   * sign. {@code ?} (json or jsonb) and {@code #} (a domain over one): where such a column holds the
   * JSON {@code null}, the member {@link ChangeLog#JSON_NULLS} is added, naming it. For {@code ?}
   * the function asks whether {@code r} with that column set to SQL NULL prints the same; for
   * {@code #}, whose NOT NULL or CHECK could refuse that NULL (and so the writer's statement), it
   * reads the column with a dynamic statement, which costs more. The probe falls back to that
   * statement when it fails anyway (the column's type changed since the triggers were made), so
   * the writer never pays for it. {@code !} (json inside an array or a composite, where no column
   * name can mark an element or a field): where the column's JSON holds {@code null} at all, its
   * value is replaced by the column's own text as a JSON string (printed with the settings the
   * capture pins), which the target's input function reads back exactly, as it reads relayed
   * values. Only rows whose text holds {@code null} at all get that far, but for {@code =}, listed
   * first, whose value is always replaced by its text that way: a type with a cast to json, which
   * {@code row_to_json} prints through it (hstore's object, which hstore's input refuses), and,
   * where {@code capture_state.structured_as_text} is set (the way back into 9.6, whose
   * {@code json_to_record} reads a JSON array or object only as text), every array or composite.
   * Then {@code [} and {@code *} (a column holding an array at any depth, without or with json
   * inside; {@code *} is otherwise as {@code !}): {@code row_to_json} prints an array as a JSON
   * array, without its bounds, so where the row's text (its type's output, once per row, only for
   * tables with such columns) shows an array whose lower bounds are not all 1, every such column is
   * logged as its own text.
   * Called by the capture
   * function for tables with json columns (flag {@code j}) and by the event trigger for the rows of
   * a CREATE TABLE AS; every name is schema-qualified, as in the capture function, since it runs
   * with the writer's search_path.
   */
  static String jsonNullsSql() {
    return "CREATE OR REPLACE FUNCTION " + JSON_NULLS_FUNCTION + "(r anyelement, j pg_catalog.json, cols pg_catalog.text[])"
        + " RETURNS pg_catalog.json LANGUAGE plpgsql AS $$\n"
        + "DECLARE\n"
        + "  c pg_catalog.text; k pg_catalog.text; m pg_catalog.text[]; jn boolean; b boolean;\n"
        + "  tk pg_catalog.text[]; tv pg_catalog.text[]; fd pg_catalog.text; ds pg_catalog.text; ist pg_catalog.text;\n"
        + "BEGIN\n"
        // '=', then '*' and '[' come first (cutover.json_columns): a row without them and without null needs nothing.
        + "  IF j IS NULL THEN RETURN j; END IF;\n"
        // A json value holding the escape of NUL (not an escaped backslash before u0000): every parse of
        // the row that unescapes strings refuses it (->, json_each, the target's json_to_record). So the
        // row is printed again, every column of cols as its text, and json columns named in JSON_TEXT.
        + "  IF pg_catalog.strpos(j::pg_catalog.text, pg_catalog.chr(92) OPERATOR(pg_catalog.||) 'u0000') OPERATOR(pg_catalog.>) 0"
        + " AND j::pg_catalog.text OPERATOR(pg_catalog.~) ('(^|[^' OPERATOR(pg_catalog.||) pg_catalog.repeat(pg_catalog.chr(92), 2)"
        + " OPERATOR(pg_catalog.||) '])(' OPERATOR(pg_catalog.||) pg_catalog.repeat(pg_catalog.chr(92), 4) OPERATOR(pg_catalog.||) ')*'"
        + " OPERATOR(pg_catalog.||) pg_catalog.repeat(pg_catalog.chr(92), 2) OPERATOR(pg_catalog.||) 'u0000') THEN\n"
        + PIN_SETTINGS
        + "    EXECUTE 'SELECT pg_catalog.row_to_json(x) FROM (SELECT ' OPERATOR(pg_catalog.||) (SELECT pg_catalog.string_agg(CASE"
        + " WHEN ('?' OPERATOR(pg_catalog.||) a.attname) OPERATOR(pg_catalog.=) ANY (cols) OR ('#' OPERATOR(pg_catalog.||) a.attname)"
        + " OPERATOR(pg_catalog.=) ANY (cols) OR ('!' OPERATOR(pg_catalog.||) a.attname) OPERATOR(pg_catalog.=) ANY (cols)"
        + " OR ('*' OPERATOR(pg_catalog.||) a.attname) OPERATOR(pg_catalog.=) ANY (cols) OR ('=' OPERATOR(pg_catalog.||) a.attname)"
        + " OPERATOR(pg_catalog.=) ANY (cols) OR ('[' OPERATOR(pg_catalog.||) a.attname) OPERATOR(pg_catalog.=) ANY (cols)"
        + " THEN 'CASE WHEN pg_catalog.num_nulls(($1).' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(a.attname)"
        + " OPERATOR(pg_catalog.||) ') OPERATOR(pg_catalog.=) 0 THEN pg_catalog.format(''%s'', ($1).' OPERATOR(pg_catalog.||)"
        + " pg_catalog.quote_ident(a.attname) OPERATOR(pg_catalog.||) ') END AS ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(a.attname)"
        + " ELSE '($1).' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(a.attname) END, ', ' ORDER BY a.attnum)"
        + " FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) (SELECT y.typrelid FROM pg_catalog.pg_type y"
        + " WHERE y.oid OPERATOR(pg_catalog.=) pg_catalog.pg_typeof(r)) AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)"
        + " OPERATOR(pg_catalog.||) ') x' INTO j USING r;\n"
        + RESTORE_SETTINGS
        + "    SELECT pg_catalog.array_agg(pg_catalog.substr(u.c, 2)) INTO tk FROM pg_catalog.unnest(cols) u(c)"
        + " WHERE pg_catalog.left(u.c, 1) OPERATOR(pg_catalog.=) ANY ('{?,#}'::pg_catalog.text[]);\n"
        + "    IF tk IS NULL THEN RETURN j; END IF;\n"
        + "    RETURN (pg_catalog.left(j::pg_catalog.text, -1) OPERATOR(pg_catalog.||) ', '"
        + " OPERATOR(pg_catalog.||) pg_catalog.to_json(" + Sql.literal(ChangeLog.JSON_TEXT) + "::pg_catalog.text)::pg_catalog.text"
        + " OPERATOR(pg_catalog.||) ': ' OPERATOR(pg_catalog.||) pg_catalog.array_to_json(tk)::pg_catalog.text"
        + " OPERATOR(pg_catalog.||) '}')::pg_catalog.json;\n"
        + "  END IF;\n"
        + "  IF pg_catalog.strpos(j::pg_catalog.text, 'null') OPERATOR(pg_catalog.=) 0"
        + " AND pg_catalog.strpos('=*[', pg_catalog.left(cols[1], 1)) OPERATOR(pg_catalog.=) 0 THEN RETURN j; END IF;\n"
        + "  FOREACH c IN ARRAY cols LOOP\n"
        + "    k := pg_catalog.substr(c, 2);\n"
        + "    IF pg_catalog.left(c, 1) OPERATOR(pg_catalog.=) '=' THEN\n"
        + "      IF (j OPERATOR(pg_catalog.->) k) IS NOT NULL THEN tk := pg_catalog.array_append(tk, k); END IF;\n"
        + "      CONTINUE;\n"
        + "    END IF;\n"
        // An array at any depth: row_to_json drops its bounds. Whether the row's text (by the output
        // functions, never a cast) shows one whose lower bounds are not all 1, asked once per row.
        + "    IF pg_catalog.strpos('*[', pg_catalog.left(c, 1)) OPERATOR(pg_catalog.>) 0 THEN\n"
        + "      IF b IS NULL THEN b := pg_catalog.strpos(pg_catalog.format('%s', r), ']={') OPERATOR(pg_catalog.>) 0; END IF;\n"
        + "      IF b OR pg_catalog.left(c, 1) OPERATOR(pg_catalog.=) '*'"
        + " AND pg_catalog.strpos((j OPERATOR(pg_catalog.->) k)::pg_catalog.text, 'null') OPERATOR(pg_catalog.>) 0 THEN"
        + " tk := pg_catalog.array_append(tk, k); END IF;\n"
        + "      CONTINUE;\n"
        + "    END IF;\n"
        + "    IF pg_catalog.left(c, 1) OPERATOR(pg_catalog.=) '!' THEN\n"
        + "      IF pg_catalog.strpos((j OPERATOR(pg_catalog.->) k)::pg_catalog.text, 'null') OPERATOR(pg_catalog.>) 0 THEN"
        + " tk := pg_catalog.array_append(tk, k); END IF;\n"
        + "      CONTINUE;\n"
        + "    END IF;\n"
        + "    IF pg_catalog.json_typeof(j OPERATOR(pg_catalog.->) k) OPERATOR(pg_catalog.=) 'null' THEN\n"
        + "      jn := NULL;\n"
        + "      IF pg_catalog.left(c, 1) OPERATOR(pg_catalog.=) '?' THEN\n"
        + "        BEGIN\n"
        + "          jn := pg_catalog.json_populate_record(r, pg_catalog.json_build_object(k, NULL))::pg_catalog.text"
        + " OPERATOR(pg_catalog.<>) r::pg_catalog.text;\n"
        + "        EXCEPTION WHEN OTHERS THEN\n"
        + "          jn := NULL;\n"
        + "        END;\n"
        + "      END IF;\n"
        + "      IF jn IS NULL THEN\n"
        + "        EXECUTE 'SELECT ($1).' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(k) OPERATOR(pg_catalog.||) ' IS NOT NULL'"
        + " INTO jn USING r;\n"
        + "      END IF;\n"
        + "      IF jn THEN m := pg_catalog.array_append(m, k); END IF;\n"
        + "    END IF;\n"
        + "  END LOOP;\n"
        + "  IF tk IS NOT NULL THEN\n"
        + PIN_SETTINGS
        // One dynamic statement reads every such column's text.
        // Each by its type's output function (format's %s), never by a cast to text, which the type's owner could create.
        + "    EXECUTE 'SELECT ARRAY[' OPERATOR(pg_catalog.||) (SELECT pg_catalog.string_agg('CASE WHEN pg_catalog.num_nulls(($1).'"
        + " OPERATOR(pg_catalog.||) pg_catalog.quote_ident(u.col) OPERATOR(pg_catalog.||) ') OPERATOR(pg_catalog.=) 0 THEN"
        + " pg_catalog.format(''%s'', ($1).' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(u.col) OPERATOR(pg_catalog.||) ') END', ', '"
        + " ORDER BY u.pos)"
        + " FROM pg_catalog.unnest(tk) WITH ORDINALITY u(col, pos)) OPERATOR(pg_catalog.||) ']::pg_catalog.text[]' INTO tv USING r;\n"
        + RESTORE_SETTINGS
        + "    SELECT pg_catalog.json_object_agg(e.key, CASE WHEN e.key OPERATOR(pg_catalog.=) ANY (tk)"
        + " THEN pg_catalog.to_json(tv[pg_catalog.array_position(tk, e.key)]) ELSE e.value END ORDER BY e.o) INTO j"
        + " FROM pg_catalog.json_each(j) WITH ORDINALITY e(key, value, o);\n"
        + "  END IF;\n"
        + "  IF m IS NULL THEN RETURN j; END IF;\n"
        + "  RETURN (pg_catalog.left(j::pg_catalog.text, -1) OPERATOR(pg_catalog.||) ', '"
        + " OPERATOR(pg_catalog.||) pg_catalog.to_json(" + Sql.literal(ChangeLog.JSON_NULLS) + "::pg_catalog.text)::pg_catalog.text"
        + " OPERATOR(pg_catalog.||) ': ' OPERATOR(pg_catalog.||) pg_catalog.array_to_json(m)::pg_catalog.text"
        + " OPERATOR(pg_catalog.||) '}')::pg_catalog.json;\n"
        + "END $$";
  }

  /**
   * {@value #REALS_FUNCTION}{@code (rel, j)}: {@code j}, the logged row (or key) of a row of table
   * {@code rel}, with the value of each of its columns that is a {@code real}, a domain over one,
   * or an array of either, printed as float8 ({@link #logRealsExactly}): a JSON number (or array
   * of them) where {@code j} holds one, the float8 array's text where {@code j} holds the column's
   * text (an array logged as text: the way back into 9.6, bounds other than 1). The double is read
   * from {@code j} alone: from 12 the capture prints a real as its shortest exact text, which this
   * server reads back as that very float4 ({@code row_to_json} prints an array's {@code null},
   * {@code NaN} and infinities as array input reads them once its brackets are braces). Printed with
   * {@code extra_float_digits} above 0 (set to 3 only where the writer's is 0 or below, as flag
   * {@code f} does), which from 12 prints a double's shortest exact text. Composites (and arrays of
   * them) holding a real are left as {@code row_to_json} printed them. One static statement, whose
   * generic plan plpgsql keeps, reads the table's columns from the catalog: no dynamic statement, no
   * {@code SET} clause (every name is schema-qualified, as in the capture function). Only tables
   * with floats pay, and only while a way back into a server older than 12 is armed.
   */
  static String realsExactSql() {
    return "CREATE OR REPLACE FUNCTION " + REALS_FUNCTION + "(rel pg_catalog.oid, j pg_catalog.json)"
        + " RETURNS pg_catalog.json LANGUAGE plpgsql AS $$\n"
        + "DECLARE\n"
        + "  ef pg_catalog.text;\n"
        + "BEGIN\n"
        + "  IF j IS NULL THEN RETURN j; END IF;\n"
        + "  ef := pg_catalog.current_setting('extra_float_digits');\n"
        + "  IF ef::pg_catalog.int4 OPERATOR(pg_catalog.>) 0 THEN ef := NULL;"
        + " ELSE PERFORM pg_catalog.set_config('extra_float_digits', '3', true); END IF;\n"
        // Each column through its domains and, once, into an array's element (through its domains too).
        + "  WITH RECURSIVE b(attnum, attname, oid, arr) AS (\n"
        + "      SELECT a.attnum, a.attname::pg_catalog.text, a.atttypid, false FROM pg_catalog.pg_attribute a\n"
        // (SELECT rel): a table the planner cannot see, so plpgsql keeps one generic plan (a plan for
        // the very table costs less on paper, and would be made again at every row).
        + "        WHERE a.attrelid OPERATOR(pg_catalog.=) (SELECT rel) AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped\n"
        // OFFSET 0 keeps the step a look-up of pg_type by oid per column, which a join would plan as a scan of it per level.
        + "      UNION ALL SELECT b.attnum, b.attname, x.oid, x.arr FROM b, LATERAL (SELECT CASE WHEN y.typbasetype"
        + " OPERATOR(pg_catalog.<>) 0 THEN y.typbasetype ELSE y.typelem END, b.arr OR y.typbasetype OPERATOR(pg_catalog.=) 0\n"
        + "        FROM pg_catalog.pg_type y WHERE y.oid OPERATOR(pg_catalog.=) b.oid AND (y.typbasetype OPERATOR(pg_catalog.<>) 0"
        + " OR (NOT b.arr AND y.typelem OPERATOR(pg_catalog.<>) 0 AND y.typlen OPERATOR(pg_catalog.=) -1)) OFFSET 0) x(oid, arr)),\n"
        + "    f AS (SELECT b.attname, b.arr FROM b WHERE b.oid OPERATOR(pg_catalog.=) 'pg_catalog.float4'::pg_catalog.regtype)\n"
        // A row without reals is returned as row_to_json printed it.
        + "  SELECT CASE WHEN EXISTS (SELECT 1 FROM f) THEN (SELECT pg_catalog.json_object_agg(e.key, CASE WHEN f.arr IS NULL THEN e.value\n"
        + "      WHEN NOT f.arr THEN pg_catalog.to_json((e.value OPERATOR(pg_catalog.#>>) '{}')::pg_catalog.float4::pg_catalog.float8)\n"
        + "      WHEN pg_catalog.json_typeof(e.value) OPERATOR(pg_catalog.=) 'string' THEN pg_catalog.to_json(((e.value"
        + " OPERATOR(pg_catalog.#>>) '{}')::pg_catalog.float4[]::pg_catalog.float8[])::pg_catalog.text)\n"
        + "      WHEN pg_catalog.json_typeof(e.value) OPERATOR(pg_catalog.=) 'array' THEN pg_catalog.to_json(pg_catalog.translate("
        + "e.value::pg_catalog.text, '[]', '{}')::pg_catalog.float4[]::pg_catalog.float8[])\n"
        + "      ELSE e.value END ORDER BY e.n)\n"
        + "    FROM pg_catalog.json_each(j) WITH ORDINALITY e(key, value, n) LEFT JOIN f ON f.attname OPERATOR(pg_catalog.=) e.key)"
        + " ELSE j END INTO j;\n"
        + "  IF ef IS NOT NULL THEN PERFORM pg_catalog.set_config('extra_float_digits', ef, true); END IF;\n"
        + "  RETURN j;\n"
        + "END $$";
  }

  /**
   * Adds the capture triggers to every table of {@code tables} that lacks them, all in one
   * transaction: every table is locked first in one statement with a short lock timeout (a writer
   * waits at most that long), and when the locks are busy it rolls back and tries again with a
   * growing pause, as the control schema's install does, for up to two minutes. Returns the source's
   * {@code txid_current_snapshot()} taken inside that transaction after the locks: every write to
   * these tables by a transaction that is not visible in it is captured, every write by one that is
   * visible happened before the triggers and is not (so this snapshot is where applying starts when
   * nothing needs copying, as for reverse). Writers whose transactions span several of the tables
   * in another order can keep this from ever holding them all; where a copy follows, use
   * {@link #addTriggersEach}.
   *
   * @param side the side {@code c} is, named when the tables stay busy
   * @return that snapshot, and the source's clock when it was taken
   */
  public static ChangeLog.Tick addTriggers(Connection c, String side, List<TableName> tables) throws SQLException, ReplicatorException {
    return addTriggers(c, side, tables, ShortLocks.TRYING);
  }

  /** {@link #addTriggers(Connection, String, List)}, the locks tried for up to {@code trying}. */
  static ChangeLog.Tick addTriggers(Connection c, String side, List<TableName> tables, Duration trying)
      throws SQLException, ReplicatorException {
    List<TableName> missing = missing(c, tables);
    return locked(c, side, missing, trying, () -> {
      for (TableName t : missing) {
        captureTable(c, t);
      }
      return ChangeLog.tick(c);
    });
  }

  /**
   * Adds the capture triggers to every table of {@code tables} that lacks them, one table per
   * transaction, each retried as {@link #addTriggers} does. A transaction that holds no table while
   * it waits for one cannot be part of a cycle with writers that span tables, so this succeeds
   * under any writers whose transactions end. What it gives up is a single snapshot taken under
   * every lock: a transaction may have written one table before its triggers and another after.
   * Creating a table's triggers waits for every transaction that wrote it before, so once this
   * returns every such transaction has ended; a snapshot taken after it sees each of them whole,
   * and a transaction it does not see wrote every table after its triggers. Right where a copy from
   * such a snapshot follows (start); not for reverse, which copies nothing.
   *
   * @param side the side {@code c} is, named when a table stays busy
   */
  public static void addTriggersEach(Connection c, String side, List<TableName> tables) throws SQLException, ReplicatorException {
    for (TableName t : missing(c, tables)) {
      locked(c, side, List.of(t), ShortLocks.TRYING, () -> {
        captureTable(c, t);
        return null;
      });
    }
  }

  /** Runs {@code work} after locking {@code tables} against writes, as {@link ShortLocks} runs it. */
  private static <T> T locked(Connection c, String side, List<TableName> tables, Duration trying, Transactions.Work<T> work)
      throws SQLException, ReplicatorException {
    return ShortLocks.run(c, side, tables, "to add the capture triggers", trying, () -> {
      if (!tables.isEmpty()) {
        Sql.execute(c, "LOCK TABLE " + String.join(", ", tables.stream().map(TableName::quoted).toList()) + " IN SHARE ROW EXCLUSIVE MODE");
      }
      return work.run();
    });
  }

  /**
   * An application's trigger that PostgreSQL fires before a capture trigger of the same event
   * ({@link #triggersBefore}).
   *
   * @param events the events it fires on that a capture trigger also does, as {@code AFTER INSERT OR UPDATE}
   */
  public record EarlyTrigger(TableName table, String trigger, String events) {
    /** Where it is and what it is: {@code trigger "audit" (AFTER UPDATE) of public.orders}. */
    @Override
    public String toString() {
      return "trigger " + Sql.ident(trigger) + " (" + events + ") of " + table;
    }

    /** The statement that renames it, with a placeholder for the new name. */
    public String rename() {
      return "ALTER TRIGGER " + Sql.ident(trigger) + " ON " + table.quoted() + " RENAME TO <new name>";
    }
  }

  /**
   * The triggers of {@code tables} on {@code c} that PostgreSQL fires before a capture trigger of
   * the same event: AFTER triggers for each row (and AFTER TRUNCATE ones) whose names sort, byte by
   * byte as PostgreSQL orders them, before the capture's trigger of one of their events. Such a
   * trigger runs before the row that fired it is logged, so a row its nested statement writes (a
   * child row referring to the new one, a version column bumped on the same row) is logged before
   * it: new would apply them out of order, failing a foreign key for ever or keeping the older
   * value silently. Internal triggers (foreign keys' actions, {@code RI_ConstraintTrigger_...}) are
   * left out: their writes join the end of the statement's own queue, after the capture's. Before
   * PostgreSQL 13 a partition's copy of its parent's trigger is internal but fires all the same, so
   * it counts (an ordinary trigger has no constraint). BEFORE and statement triggers of other
   * events fire before the change or after every row's, whatever their names.
   */
  public static List<EarlyTrigger> triggersBefore(Connection c, List<TableName> tables) throws SQLException {
    Set<TableName> wanted = new HashSet<>(tables);
    List<EarlyTrigger> found = new ArrayList<>();
    // tgtype bits: 1 row, 2 before, 4 insert, 8 delete, 16 update, 32 truncate, 64 instead of.
    for (String[] r : Sql.rows(c, "SELECT n.nspname, k.relname, g.tgname, concat_ws(' OR ',"
        + " CASE WHEN g.tgtype & 5 = 5 AND g.tgname::text COLLATE \"C\" < ? THEN 'INSERT' END,"
        + " CASE WHEN g.tgtype & 17 = 17 AND g.tgname::text COLLATE \"C\" < ? THEN 'UPDATE' END,"
        + " CASE WHEN g.tgtype & 9 = 9 AND g.tgname::text COLLATE \"C\" < ? THEN 'DELETE' END,"
        + " CASE WHEN g.tgtype & 33 = 32 AND g.tgname::text COLLATE \"C\" < ? THEN 'TRUNCATE' END)"
        + " FROM pg_trigger g JOIN pg_class k ON k.oid = g.tgrelid JOIN pg_namespace n ON n.oid = k.relnamespace"
        + " WHERE g.tgtype & 66 = 0 AND (NOT g.tgisinternal OR g.tgconstraint = 0) AND g.tgname::text <> ALL (?::text[])"
        + " ORDER BY 1, 2, g.tgname::text COLLATE \"C\"",
        ROW_TRIGGER, KEY_TRIGGER, DELETE_TRIGGER, TRUNCATE_TRIGGER, "{" + String.join(",", TRIGGERS.stream().map(t -> '"' + t + '"').toList()) + "}")) {
      TableName t = new TableName(r[0], r[1]);
      if (!r[3].isEmpty() && wanted.contains(t)) {
        found.add(new EarlyTrigger(t, r[2], "AFTER " + r[3]));
      }
    }
    return found;
  }

  /**
   * Refuses to capture {@code tables} on {@code c} while {@link #triggersBefore} finds any: their
   * changes would be logged out of order.
   *
   * @param side the side {@code c} is
   * @param what what is refused, as {@code start} or {@code adopt}
   */
  public static void requireCaptureFiresFirst(Connection c, String side, List<TableName> tables, String what)
      throws SQLException, ReplicatorException {
    List<EarlyTrigger> early = triggersBefore(c, tables);
    if (!early.isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, side + ": " + what + " refused: " + earlyMessage(early),
          earlyRemedy(early));
    }
  }

  /** What {@link #triggersBefore}'s finds do to the change log, naming them. */
  public static String earlyMessage(List<EarlyTrigger> early) {
    return early.size() + " trigger(s) of the application sort before the capture's " + Sql.ident(ROW_TRIGGER) + " triggers, so"
        + " PostgreSQL (which fires a table's AFTER triggers in name order) fires them first: " + early.stream().limit(10)
            .map(EarlyTrigger::toString).collect(Collectors.joining(", ")) + (early.size() > 10 ? " and "
            + (early.size() - 10) + " more" : "") + "; a row such a trigger writes would be logged before the row that caused it, and"
        + " applied before it (a foreign key failing for ever, or an older value kept silently)";
  }

  /** The statements that rename {@link #triggersBefore}'s finds. */
  public static String earlyRemedy(List<EarlyTrigger> early) {
    return "rename each to a name that sorts after " + Sql.ident(UPDATE_TRIGGER) + " (one beginning with a letter or a digit does): "
        + early.stream().map(EarlyTrigger::rename).collect(Collectors.joining("; "));
  }

  private static List<TableName> missing(Connection c, List<TableName> tables) throws SQLException {
    List<TableName> missing = new ArrayList<>();
    for (TableName t : tables) {
      if (!Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = ?::regclass AND tgname = ?)", t.regclass(), ROW_TRIGGER)) {
        missing.add(t);
      }
    }
    return missing;
  }

  private static void captureTable(Connection c, TableName t) throws SQLException {
    Sql.bool(c, "SELECT cutover.capture_table(?::regclass) IS NULL", t.regclass());
  }

  /**
   * Captured tables on {@code c} whose capture triggers are not those {@code capture_table} would
   * make now (their key or json columns changed, or they were disabled, and no event trigger made
   * them again), for a role that may ask; none for an install from before the question existed.
   */
  public static List<TableName> staleTables(Connection c) throws SQLException {
    if (!Sql.bool(c, "SELECT to_regprocedure('cutover.capture_current(pg_catalog.regclass)') IS NOT NULL"
        + " AND has_function_privilege('cutover.capture_current(pg_catalog.regclass)', 'EXECUTE')")) {
      return List.of();
    }
    return Catalog.tables(c, CAPTURED + " AND NOT cutover.capture_current(c.oid)");
  }

  /**
   * Captured tables on {@code c} some of whose capture triggers are disabled (ALTER TABLE ...
   * DISABLE TRIGGER, where no event trigger enabled them again): their writes since are not
   * captured.
   */
  public static List<TableName> disabledTables(Connection c) throws SQLException {
    return Catalog.tables(c, "EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname LIKE '" + TRIGGER_PATTERN + "'"
        + " AND g.tgenabled = 'D')");
  }

  /** Tables that carry the capture triggers on {@code c}. */
  public static List<TableName> capturedTables(Connection c) throws SQLException {
    return Catalog.tables(c, CAPTURED);
  }

  /**
   * Drops the capture triggers, the log and the function; nothing where they are absent. The
   * event trigger goes first, so that it makes no trigger again; then each table's triggers in a
   * transaction of their own, with {@link ShortLocks}: DROP TRIGGER needs the table to itself, and
   * in one transaction that waited in a lock queue behind a long or prepared transaction, every
   * query of that table and of each table dropped before waited for as long (on new, where the
   * application runs after the switch); then the rest, which no application statement touches any
   * more.
   *
   * @param side the side {@code c} is, named when a table stays busy
   * @return how many tables had capture triggers
   */
  public static int uninstall(Connection c, String side) throws SQLException, ReplicatorException {
    List<TableName> tables = capturedTables(c);
    Transactions.inTransaction(c, () -> {
      if (Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = ?)", EVENT_TRIGGER)) {
        Sql.execute(c, "DROP EVENT TRIGGER " + EVENT_TRIGGER);
      }
      if (Sql.bool(c, "SELECT to_regprocedure('cutover.capture_new()') IS NOT NULL")) {
        Sql.execute(c, "DROP FUNCTION cutover.capture_new()");
      }
      return null;
    });
    for (TableName t : tables) {
      ShortLocks.run(c, side, List.of(t), "to drop the capture triggers", () -> {
        for (String trigger : TRIGGERS) {
          Sql.execute(c, "DROP TRIGGER IF EXISTS " + Sql.ident(trigger) + " ON " + t.quoted());
        }
        return null;
      });
    }
    Transactions.inTransaction(c, () -> {
      if (Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'cutover')")) {
        Sql.execute(c, "DROP FUNCTION IF EXISTS cutover.capture() CASCADE");
        Sql.execute(c, "DROP FUNCTION IF EXISTS cutover.capture_row() CASCADE");
        Sql.execute(c, "DROP FUNCTION IF EXISTS " + JSON_NULLS_FUNCTION + "(anyelement, pg_catalog.json, pg_catalog.text[])");
        Sql.execute(c, "DROP FUNCTION IF EXISTS " + REALS_FUNCTION + "(pg_catalog.regclass, anyelement, pg_catalog.json)");
        Sql.execute(c, "DROP FUNCTION IF EXISTS cutover.json_columns(pg_catalog.regclass)");
        Sql.execute(c, "DROP FUNCTION IF EXISTS cutover.capture_table(pg_catalog.regclass, boolean)");
        Sql.execute(c, "DROP FUNCTION IF EXISTS cutover.key_equality(pg_catalog.regclass, text[])");
        Sql.execute(c, "DROP FUNCTION IF EXISTS cutover.capture_current(pg_catalog.regclass)");
        Sql.execute(c, "DROP FUNCTION IF EXISTS cutover.capture_plan(pg_catalog.regclass)");
        Sql.execute(c, "DROP FUNCTION IF EXISTS cutover.refuse_casts(pg_catalog.regclass, oid[])");
        Sql.execute(c, "DROP FUNCTION IF EXISTS cutover.others_types(pg_catalog.regclass)");
        Sql.execute(c, "DROP FUNCTION IF EXISTS cutover.types_within(pg_catalog.regclass)");
        Sql.execute(c, "DROP TABLE IF EXISTS cutover.change_log_0, cutover.change_log_1, cutover.capture_state, cutover.capture_tick");
        Sql.execute(c, "DROP SEQUENCE IF EXISTS cutover.change_seq");
      }
      return null;
    });
    return tables.size();
  }

  private static String resource(String name) {
    try (java.io.InputStream in = CaptureSchema.class.getResourceAsStream("/dev/cutover/replicator/capture/" + name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is missing from the replicator's jar");
      }
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
