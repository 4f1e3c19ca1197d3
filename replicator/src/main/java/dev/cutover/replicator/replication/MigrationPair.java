package dev.cutover.replicator.replication;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.sql.Sql;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Which migration each side belongs to: {@code start} draws a random migration id and records it,
 * with the migration's label, in both sides' control schema ({@code cutover.migration_pair}), so
 * that a command that acts on both sides ({@code cleanup}, {@code reverse}, {@code
 * sync-large-objects}) can tell that old and new as given are the two sides of one migration.
 * Without it, with trigger capture before any switch (no fence, no subscription), a URL pointing at
 * another database with a control schema of its own (a second migration on the same server) passed
 * every check, and cleanup removed capture and the control schema of a migration not meant.
 *
 * <p>Design notes. One row per side and label, written by that side only and never updated; the
 * copy and the relay leave the table out ({@link #table}), and a {@code FOR ALL TABLES}
 * subscription that carried a side's row to the other would find it keyed by the side that wrote
 * it, so it never collides, and each side's own row is the one read. Logged, so a crash keeps it. A start that runs again keeps the id either side holds (new made again takes
 * old's); one that finds two different ids refuses. A side with a control schema but no row at all
 * is an install from before the record: the checks that do not need it decide alone then.
 *
 * <p>Each row also names the other side it was written with ({@link Identity}: database name and
 * the server's {@code pg_control_system().system_identifier}, which a plain role may read on 9.6 to
 * 18 and a promoted standby keeps), so that where one side records the migration and the other
 * records nothing, that other side can be told from a database made again in place (same identity:
 * accepted) and from another database altogether, the new of a second migration of the same old
 * (refused: cleanup with its URLs removed the first one's trigger capture).
 */
public final class MigrationPair {
  public static final String TABLE = "cutover.migration_pair";
  private static final String NAME = "migration_pair";
  private static final SecureRandom RANDOM = new SecureRandom();

  private MigrationPair() {}

  /**
   * Whether {@code schema.table} is the record's table: each side's row is its own, so neither a copy
   * nor an apply carries it (a {@code FOR ALL TABLES} publication lists it all the same).
   */
  public static boolean table(String schema, String table) {
    return "cutover".equals(schema) && NAME.equals(table);
  }

  /**
   * What {@code c} (given as {@code side}) records: the id of this label's migration as that side
   * (null when none), and every row, described.
   */
  record Recorded(String side, Identity self, String id, Identity peer, List<String> labels) {
    /** Whether it records any migration at all: an install from before the record does not. */
    boolean any() {
      return !labels.isEmpty();
    }

    String database() {
      return self.database();
    }
  }

  /**
   * A database, told apart from one of the same name on another server by the server's system
   * identifier; null where the role may not execute {@code pg_control_system()} (a provider that
   * revokes it), which then tells nothing rather than failing every command that checks the pair.
   */
  record Identity(String database, String system) {
    static Identity of(Connection c) throws SQLException {
      String[] r = Sql.rows(c, "SELECT pg_catalog.current_database()::text, CASE WHEN pg_catalog.has_function_privilege("
          + "'pg_catalog.pg_control_system()', 'EXECUTE') THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system())"
          + " END").get(0);
      return new Identity(r[0], r[1]);
    }

    /** The same database name, and the same server where both identifiers were readable. */
    boolean matches(Identity other) {
      return database.equals(other.database) && (system == null || other.system == null || system.equals(other.system));
    }

    @Override
    public String toString() {
      return "database " + database + (system == null ? " (its server's system identifier unreadable)"
          : " of the server with system identifier " + system);
    }
  }

  /**
   * Records on both sides, after {@code ControlSchema.install}, that old and new are the sides of the
   * migration {@code names} labels: the id either side already records for it, else a new one.
   *
   * @throws ReplicatorException when the two sides record different ids for the label (they are not
   *     one migration's sides), before anything is written
   */
  public static String record(Connection o, Connection n, Names names) throws SQLException, ReplicatorException {
    install(o);
    install(n);
    Recorded old = read(o, Side.OLD, names);
    Recorded nw = read(n, Side.NEW, names);
    if (old.id() != null && nw.id() != null && !old.id().equals(nw.id())) {
      throw notOnePair(old, nw, names, "start",
          "check --old-url and --new-url: point them at the databases this migration moves between; a database meant for"
              + " another migration (or left from one) needs `cutover-replicator cleanup` with that migration's URLs first;"
              + " nothing was copied");
    }
    String id = old.id() != null ? old.id() : nw.id() != null ? nw.id() : HexFormat.of().formatHex(bytes());
    write(o, Side.OLD, names, id, nw.self());
    write(n, Side.NEW, names, id, old.self());
    return id;
  }

  private static byte[] bytes() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return b;
  }

  /**
   * Refuses, before {@code command} changes anything, unless old and new as given are the two
   * sides of the migration {@code names} labels as far as their records tell: where both record
   * migrations, each must record this label, as its own side, with the same id; where only one does,
   * the other must be the database its record names. A side without the table or without any row
   * (no control schema, or one from before the record) tells nothing else.
   */
  public static void requireOnePair(Connection o, Connection n, Names names, String command)
      throws SQLException, ReplicatorException {
    Recorded old = read(o, Side.OLD, names);
    Recorded nw = read(n, Side.NEW, names);
    oneMigration(old, nw, names, command);
    recordedPeer(old, nw, names, command);
  }

  /** The first half of {@link #requireOnePair}: where both sides record migrations, this label's ids must match. */
  public static void requireOneMigration(Connection o, Connection n, Names names, String command)
      throws SQLException, ReplicatorException {
    oneMigration(read(o, Side.OLD, names), read(n, Side.NEW, names), names, command);
  }

  private static void oneMigration(Recorded old, Recorded nw, Names names, String command) throws ReplicatorException {
    if (old.any() && nw.any() && (old.id() == null || !old.id().equals(nw.id()))) {
      throw notOnePair(old, nw, names, command, "check --old-url, --new-url and --name: point them at the databases this"
          + " migration moves between, as start was given them (`cutover-replicator status` with the same URLs names its"
          + " directions), then " + command + " again; " + command + " changed nothing");
    }
  }

  /**
   * The second half of {@link #requireOnePair}: where one side records this label's migration and the
   * other records nothing, the other must be the database the record names as its other side (the
   * same one made again in place passes). Cleanup runs it last of its pair checks, whose findings
   * say more, and lets the operator skip it ({@code --paired-database-gone}).
   */
  public static void requireRecordedPeer(Connection o, Connection n, Names names, String command)
      throws SQLException, ReplicatorException {
    recordedPeer(read(o, Side.OLD, names), read(n, Side.NEW, names), names, command);
  }

  private static void recordedPeer(Recorded old, Recorded nw, Names names, String command) throws ReplicatorException {
    Recorded alone = !nw.any() ? old : !old.any() ? nw : null;
    Recorded other = alone == old ? nw : old;
    if (alone != null && alone.id() != null && !alone.peer().matches(other.self())) {
      String url = alone == old ? "--new-url" : "--old-url";
      throw new ReplicatorException(Failure.PRECONDITION, alone.side() + " (" + alone.self() + ") records migration "
          + alone.id() + " labelled " + names.label() + " into " + other.side() + " " + alone.peer() + " (" + TABLE
          + ", recorded by start), but " + other.side() + " as given is " + other.self() + ", which records nothing: "
          + alone.side() + "'s objects belong to the migration into " + alone.peer().database() + ", and " + command
          + " would act on them", "run " + command + " with that migration's " + url + " (database " + alone.peer().database()
          + "; SELECT system_identifier FROM pg_control_system() on a server tells its identifier)"
          + ("cleanup".equals(command) ? "; where that database is gone for good, `cutover-replicator cleanup"
              + " --paired-database-gone`" : "") + "; " + command + " changed nothing");
    }
  }

  /**
   * What {@code c}, given as {@code side}, records of migrations into databases other than {@code
   * other} when it records none into {@code other}, e.g. {@code migration 1f… labelled shop into
   * database shop_t1 of the server with system identifier 77…}; empty when it records one into
   * {@code other}, or none at all (no record, or an install from before it).
   */
  public static List<String> elsewhere(Connection c, Side side, Connection other) throws SQLException {
    if (!Sql.relationExists(c, TABLE)) {
      return List.of();
    }
    Identity there = Identity.of(other);
    List<String[]> rows = Sql.rows(c, "SELECT migration, label, peer_database, peer_system FROM " + TABLE
        + " WHERE side = ? ORDER BY label", side.label());
    List<String> found = new ArrayList<>();
    for (String[] r : rows) {
      Identity peer = new Identity(r[2], r[3]);
      if (peer.matches(there)) {
        return List.of();
      }
      found.add("migration " + r[0] + " labelled " + r[1] + " into " + peer);
    }
    return found;
  }

  private static ReplicatorException notOnePair(Recorded old, Recorded nw, Names names, String command, String remedy) {
    return new ReplicatorException(Failure.PRECONDITION, "old (database " + old.database() + ") and new (database "
        + nw.database() + ") as given are not the two sides of one migration: " + describe(old, names) + ", "
        + describe(nw, names) + " (" + TABLE + ", recorded by start); " + command + " would act on a database of another"
        + " migration", remedy);
  }

  private static String describe(Recorded r, Names names) {
    if (r.id() != null) {
      return r.side() + " records migration " + r.id() + " labelled " + names.label();
    }
    if (r.any()) {
      return r.side() + " records no migration labelled " + names.label() + " as " + r.side() + ", only "
          + String.join(", ", r.labels());
    }
    return r.side() + " records nothing";
  }

  private static void install(Connection c) throws SQLException {
    Sql.execute(c, "CREATE TABLE IF NOT EXISTS " + TABLE + " (side text NOT NULL, label text NOT NULL, migration text NOT NULL,"
        + " peer_database text NOT NULL, peer_system text, recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
        + " PRIMARY KEY (side, label))");
    ControlSchema.seal(c);
  }

  private static void write(Connection c, Side side, Names names, String id, Identity peer) throws SQLException {
    Sql.bool(c, "WITH w AS (INSERT INTO " + TABLE + " (side, label, migration, peer_database, peer_system) VALUES (?, ?, ?, ?, ?)"
        + " ON CONFLICT (side, label) DO NOTHING RETURNING 1) SELECT count(*) > 0 FROM w", side.label(), names.label(), id,
        peer.database(), peer.system());
  }

  private static Recorded read(Connection c, Side side, Names names) throws SQLException {
    Identity self = Identity.of(c);
    if (!Sql.relationExists(c, TABLE)) {
      return new Recorded(side.label(), self, null, null, List.of());
    }
    List<String[]> own = Sql.rows(c, "SELECT migration, peer_database, peer_system FROM " + TABLE + " WHERE side = ? AND label = ?",
        side.label(), names.label());
    List<String> labels = Sql.strings(c, "SELECT migration || ' labelled ' || label || ' as ' || side FROM " + TABLE
        + " ORDER BY label, side");
    return own.isEmpty() ? new Recorded(side.label(), self, null, null, labels)
        : new Recorded(side.label(), self, own.get(0)[0], new Identity(own.get(0)[1], own.get(0)[2]), labels);
  }
}
