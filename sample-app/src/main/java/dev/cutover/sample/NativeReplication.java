package dev.cutover.sample;

import dev.cutover.flags.Target;
import dev.cutover.testkit.LogicalReplication;
import dev.cutover.testkit.LogicalReplication.InitialData;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.copy.CopyManager;
import org.postgresql.replication.ReplicationSlotInfo;

/**
 * Native PostgreSQL logical replication set up directly: a {@code FOR ALL TABLES} publication on
 * the side that serves and a subscription on the other.
 *
 * <p>Design notes.
 *
 * <ul>
 *   <li>One direction at a time. PostgreSQL 12 cannot filter changes by origin, so with
 *       subscriptions both ways every row would come back to where it was written. Turning around
 *       therefore drops the running subscription first.
 *   <li>No gap when turning around under load. Traffic already runs on the side that becomes the
 *       publisher, so a subscription that merely skipped the initial copy would miss whatever was
 *       written there between the switch and its slot. Instead the slot is created first, through
 *       the replication protocol, which exports the snapshot it starts from; the rows visible in
 *       that snapshot are copied (upserted by primary key) into the receiving side, and the
 *       subscription then streams from the slot: everything before the snapshot is copied,
 *       everything after it is streamed, nothing is in neither. The copy runs with
 *       {@code session_replication_role = replica}, as apply workers do, so the fence triggers of
 *       the receiving side do not fire. It copies whole tables: fine for a rehearsal's data, not
 *       for a terabyte; that is the replicator's job.
 *   <li>Sequences are not replicated; the driver moves them at each switch.
 * </ul>
 */
final class NativeReplication implements ReplicationSetup {
  private static final String PREFIX = "cutover_rehearsal";
  /** Schemas of the application: not the system's, not the control schema (its markers have their own path). */
  private static final String APPLICATION_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover')"
      + " AND n.nspname NOT LIKE 'pg\\_%'";

  /** Where replication runs now; one volatile, so the lag probe never sees half a turn. */
  private record Direction(Target into, String subscription) {}

  private final RehearsalDatabases databases;
  private final Set<Target> published = EnumSet.noneOf(Target.class);
  private volatile Direction direction;
  private int turns;

  NativeReplication(RehearsalDatabases databases) {
    this.databases = databases;
  }

  @Override
  public List<String> check() throws SQLException {
    List<String> problems = new ArrayList<>();
    for (Target side : Target.values()) {
      try (Connection c = databases.direct(side); Statement s = c.createStatement()) {
        try (ResultSet rs = s.executeQuery("SELECT current_setting('wal_level'),"
            + " current_setting('max_replication_slots')::int, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")) {
          rs.next();
          if (!"logical".equals(rs.getString(1))) {
            problems.add("the " + side.value() + " server has wal_level=" + rs.getString(1) + "; logical replication needs wal_level=logical");
          }
          if (rs.getInt(2) < 2) {
            problems.add("the " + side.value() + " server has max_replication_slots=" + rs.getInt(2) + "; it needs at least 2");
          }
          if (!rs.getBoolean(3)) {
            problems.add("the " + side.value() + " user is not a superuser; native subscriptions and the catch-up copy need one");
          }
        }
        try (ResultSet rs = s.executeQuery("SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c"
            + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND " + APPLICATION_SCHEMAS
            + " AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) ORDER BY 1")) {
          while (rs.next()) {
            problems.add("table " + rs.getString(1) + " on the " + side.value() + " database has no primary key;"
                + " its updates and deletes cannot be replicated");
          }
        }
      }
    }
    return problems;
  }

  @Override
  public void start(Duration timeout) throws SQLException, TimeoutException, InterruptedException {
    if (direction != null) {
      throw new IllegalStateException("replication already runs into " + direction.into().value());
    }
    String subscription = name(Target.NEW);
    try (Connection old = databases.direct(Target.OLD); Connection nw = databases.direct(Target.NEW)) {
      publish(Target.OLD, old);
      LogicalReplication.subscribe(nw, subscription, databases.libpq(Target.OLD), publication(Target.OLD), InitialData.COPY);
      LogicalReplication.awaitSynced(old, nw, subscription, timeout);
    }
    direction = new Direction(Target.NEW, subscription);
  }

  @Override
  public Target into() {
    Direction d = direction;
    return d == null ? null : d.into();
  }

  @Override
  public void awaitCaughtUp(Duration timeout) throws SQLException, TimeoutException, InterruptedException {
    Direction d = running();
    try (Connection publisher = databases.direct(d.into().other()); Connection subscriber = databases.direct(d.into())) {
      LogicalReplication.awaitSynced(publisher, subscriber, d.subscription(), timeout);
    }
  }

  @Override
  public void replicateInto(Target target, Duration timeout) throws SQLException, TimeoutException, InterruptedException {
    Direction d = running();
    if (d.into() == target) {
      return;
    }
    Target source = d.into(); // serves now, and still receives
    String subscription = name(target);
    try (Connection fromSide = databases.direct(source); Connection toSide = databases.direct(target)) {
      // Everything written on target before traffic left it is on source by now (the switch's
      // barrier proved it); waiting again costs nothing and makes dropping safe on its own.
      LogicalReplication.awaitSynced(toSide, fromSide, d.subscription(), timeout);
      direction = null;
      LogicalReplication.drop(toSide, fromSide, d.subscription(), timeout);

      publish(source, fromSide);
      try (Connection walsender = replicationConnection(source)) {
        String snapshot = createSlot(walsender, subscription);
        copySnapshot(fromSide, toSide, snapshot);
      }
      try (Statement s = toSide.createStatement()) {
        s.execute("CREATE SUBSCRIPTION " + subscription + " CONNECTION " + literal(databases.libpq(source))
            + " PUBLICATION " + publication(source)
            + " WITH (create_slot = false, slot_name = '" + subscription + "', copy_data = false)");
      }
      LogicalReplication.awaitSynced(fromSide, toSide, subscription, timeout);
    }
    direction = new Direction(target, subscription);
  }

  @Override
  public Optional<ReplicationLag> lag() {
    Direction d = direction;
    if (d == null) {
      return Optional.empty();
    }
    try (Connection publisher = databases.direct(d.into().other());
        PreparedStatement ps = publisher.prepareStatement("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn)::bigint,"
            + " COALESCE(EXTRACT(epoch FROM write_lag) * 1000, 0)::float8 FROM pg_stat_replication WHERE application_name = ?")) {
      ps.setString(1, d.subscription());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new ReplicationLag(Math.max(0, rs.getLong(1)), rs.getDouble(2))) : Optional.empty();
      }
    } catch (SQLException e) {
      return Optional.empty();
    }
  }

  @Override
  public String describe() {
    Direction d = direction;
    return "native logical replication (publication FOR ALL TABLES, one subscription at a time)"
        + (d == null ? "" : ", now " + d.into().other().value() + " -> " + d.into().value());
  }

  private Direction running() {
    Direction d = direction;
    if (d == null) {
      throw new IllegalStateException("replication is not running");
    }
    return d;
  }

  private String name(Target into) {
    return PREFIX + "_into_" + into.value() + "_" + (++turns);
  }

  private static String publication(Target side) {
    return PREFIX + "_from_" + side.value();
  }

  private void publish(Target side, Connection c) throws SQLException {
    if (published.add(side)) {
      LogicalReplication.publishAll(c, publication(side));
    }
  }

  /** A walsender connection to {@code side}, able to create slots; the exported snapshot lives while it stays open. */
  private Connection replicationConnection(Target side) throws SQLException {
    Properties p = new Properties();
    PGProperty.USER.set(p, databases.user());
    if (!databases.password().isEmpty()) {
      PGProperty.PASSWORD.set(p, databases.password());
    }
    PGProperty.REPLICATION.set(p, "database");
    PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "10");
    PGProperty.PREFER_QUERY_MODE.set(p, "simple");
    return new org.postgresql.Driver().connect(databases.jdbcUrl(side), p);
  }

  /** Creates a pgoutput slot and returns the name of the snapshot it starts from. */
  private static String createSlot(Connection walsender, String slot) throws SQLException {
    ReplicationSlotInfo info = walsender.unwrap(PGConnection.class).getReplicationAPI()
        .createReplicationSlot().logical().withSlotName(slot).withOutputPlugin("pgoutput").make();
    return info.getSnapshotName();
  }

  /** Upserts every application row visible in {@code snapshot} on {@code from} into {@code to}. */
  private static void copySnapshot(Connection from, Connection to, String snapshot) throws SQLException {
    List<Table> tables = tables(from);
    CopyManager reader = from.unwrap(PGConnection.class).getCopyAPI();
    CopyManager writer = to.unwrap(PGConnection.class).getCopyAPI();
    try (Statement source = from.createStatement()) {
      source.execute("BEGIN ISOLATION LEVEL REPEATABLE READ");
      source.execute("SET TRANSACTION SNAPSHOT " + literal(snapshot));
      to.setAutoCommit(false);
      try (Statement target = to.createStatement()) {
        target.execute("SET LOCAL session_replication_role = replica");
        int n = 0;
        for (Table table : tables) {
          String staging = "cutover_rehearsal_copy_" + (++n);
          ByteArrayOutputStream rows = new ByteArrayOutputStream();
          reader.copyOut("COPY " + table.name() + " (" + table.columnList() + ") TO STDOUT", rows);
          target.execute("CREATE TEMP TABLE " + staging + " (LIKE " + table.name() + ") ON COMMIT DROP");
          writer.copyIn("COPY " + staging + " (" + table.columnList() + ") FROM STDIN", new ByteArrayInputStream(rows.toByteArray()));
          target.execute(table.upsertFrom(staging));
        }
        to.commit();
      } catch (SQLException | IOException | RuntimeException e) {
        to.rollback();
        throw e instanceof SQLException ? (SQLException) e : new SQLException("copying the snapshot failed: " + e.getMessage(), e);
      } finally {
        to.setAutoCommit(true);
        source.execute("COMMIT");
      }
    }
  }

  /** An application table: its quoted name, columns and primary key columns. */
  private record Table(String name, List<String> columns, List<String> key) {
    String columnList() {
      return String.join(", ", columns);
    }

    String upsertFrom(String staging) {
      List<String> others = columns.stream().filter(c -> !key.contains(c)).collect(Collectors.toList());
      String onConflict = others.isEmpty() ? "DO NOTHING"
          : "DO UPDATE SET " + others.stream().map(c -> c + " = EXCLUDED." + c).collect(Collectors.joining(", "));
      return "INSERT INTO " + name + " (" + columnList() + ") OVERRIDING SYSTEM VALUE SELECT " + columnList()
          + " FROM " + staging + " ON CONFLICT (" + String.join(", ", key) + ") " + onConflict;
    }
  }

  private static List<Table> tables(Connection c) throws SQLException {
    List<Table> tables = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT format('%I.%I', n.nspname, c.relname),"
            + " array(SELECT quote_ident(a.attname) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0"
            + "   AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum),"
            + " array(SELECT quote_ident(a.attname) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            + "   AND a.attnum = ANY (i.indkey) WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY a.attnum)"
            + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            + " WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND " + APPLICATION_SCHEMAS + " ORDER BY 1")) {
      while (rs.next()) {
        List<String> key = List.of((String[]) rs.getArray(3).getArray());
        if (key.isEmpty()) {
          throw new SQLException("table " + rs.getString(1) + " has no primary key, so it cannot be copied by key", "55000");
        }
        tables.add(new Table(rs.getString(1), List.of((String[]) rs.getArray(2).getArray()), key));
      }
    }
    return tables;
  }

  private static String literal(String value) {
    return "'" + value.replace("'", "''") + "'";
  }
}
