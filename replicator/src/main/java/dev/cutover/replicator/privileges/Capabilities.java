package dev.cutover.replicator.privileges;

import dev.cutover.common.Transactions;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What the role a command connects as may do on one database, found out the way the server
 * decides it: through the role's attributes and memberships ({@code pg_has_role(..., 'USAGE')},
 * {@code has_database_privilege}), and where only the server knows, by trying harmlessly. A role
 * is never judged by its name: membership in a provider's admin role (RDS {@code rds_superuser},
 * say) counts through what that role was granted, and a provider's patched checks through the tries.
 *
 * <p>The tries change nothing that outlives them: a temporary physical slot that reserves no WAL,
 * dropped at once (it would go with the session anyway); {@code set_config} of
 * {@code session_replication_role} and {@code CREATE SUBSCRIPTION ... (connect = false)}, each in
 * a transaction that is rolled back. A try that fails for another reason than a missing privilege
 * (no free slot, say) falls back to the catalog's rule for that version.
 */
public final class Capabilities {
  private static final String INSUFFICIENT_PRIVILEGE = "42501";
  private static final String UNDEFINED_FUNCTION = "42883";

  /**
   * An application table whose owner's privileges the role lacks.
   *
   * @param owner the owning role
   * @param name schema-qualified, quoted where needed
   * @param superuserOwner whether the owner is a superuser (then no GRANT of it helps)
   */
  public record ForeignTable(String owner, String name, boolean superuserOwner) {}

  private final Side side;
  private final int major;
  private final String role;
  private final String database;
  private final boolean superuser;
  private final boolean slots;
  private final boolean replicaRole;
  private final boolean subscriptions;
  private final boolean createOnDatabase;
  private final List<ForeignTable> foreign;
  private final List<String> ownersNotSettable;

  private Capabilities(Side side, int major, String role, String database, boolean superuser, boolean slots,
      boolean replicaRole, boolean subscriptions, boolean createOnDatabase, List<ForeignTable> foreign,
      List<String> ownersNotSettable) {
    this.side = side;
    this.major = major;
    this.role = role;
    this.database = database;
    this.superuser = superuser;
    this.slots = slots;
    this.replicaRole = replicaRole;
    this.subscriptions = subscriptions;
    this.createOnDatabase = createOnDatabase;
    this.foreign = foreign;
    this.ownersNotSettable = ownersNotSettable;
  }

  /** Finds out what the connected role may do on {@code c}, which is {@code side}. */
  public static Capabilities probe(Connection c, Side side) throws SQLException {
    int major = Sql.majorVersion(c);
    String role = Catalog.currentUser(c);
    String database = Sql.string(c, "SELECT current_database()");
    boolean superuser = Catalog.superuser(c);
    boolean createOnDatabase = Sql.bool(c, "SELECT has_database_privilege(current_database(), 'CREATE')");
    if (superuser) {
      return new Capabilities(side, major, role, database, true, true, true, true, true, List.of(), List.of());
    }
    return new Capabilities(side, major, role, database, false, trySlot(c), tryReplicaRole(c, major),
        trySubscription(c, major), createOnDatabase, foreignTables(c, role), major >= 16 ? ownersNotSettable(c) : List.of());
  }

  /** A temporary physical slot that reserves no WAL: needs exactly what a logical slot needs (REPLICATION). */
  private static boolean trySlot(Connection c) throws SQLException {
    String name = probeName();
    try {
      Sql.string(c, "SELECT pg_create_physical_replication_slot(?, false, true)::text", name);
      Sql.string(c, "SELECT pg_drop_replication_slot(?)::text", name);
      return true;
    } catch (SQLException e) {
      if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
        return false;
      }
      return Sql.bool(c, "SELECT rolreplication FROM pg_roles WHERE rolname = current_user");
    }
  }

  private static boolean tryReplicaRole(Connection c, int major) throws SQLException {
    try {
      rolledBack(c, "SELECT set_config('session_replication_role', 'replica', true)");
      return true;
    } catch (SQLException e) {
      if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
        return false;
      }
      return major >= 15 && Sql.bool(c, "SELECT has_parameter_privilege('session_replication_role', 'SET')");
    }
  }

  /** {@code connect = false}: nothing is contacted, no slot made; the transaction is rolled back. */
  private static boolean trySubscription(Connection c, int major) throws SQLException {
    String name = probeName();
    try {
      rolledBack(c, "CREATE SUBSCRIPTION " + Sql.ident(name) + " CONNECTION " + Sql.literal("dbname=" + name + " password=probe")
          + " PUBLICATION " + Sql.ident(name) + " WITH (connect = false, enabled = false, create_slot = false, slot_name = NONE)");
      return true;
    } catch (SQLException e) {
      if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
        return false;
      }
      return major >= 16 && Sql.bool(c, "SELECT pg_has_role('pg_create_subscription', 'USAGE')"
          + " AND has_database_privilege(current_database(), 'CREATE')");
    }
  }

  /**
   * Whether the connected role may create event triggers, as the server decides it: a superuser,
   * or a provider's admin role where the provider's patched check allows it (RDS
   * {@code rds_superuser}), never a role merely named so. Tried with a function that does not
   * exist: the privilege check comes first, so the server answers "permission denied" or "no such
   * function", and nothing is created. Inside a transaction the try runs under a savepoint.
   */
  public static boolean mayCreateEventTriggers(Connection c) throws SQLException {
    if (Catalog.superuser(c)) {
      return true;
    }
    String sql = "CREATE EVENT TRIGGER " + Sql.ident(probeName()) + " ON ddl_command_end EXECUTE PROCEDURE pg_catalog."
        + Sql.ident(probeName()) + "()";
    try {
      if (c.getAutoCommit()) {
        rolledBack(c, sql);
      } else {
        Savepoint before = c.setSavepoint();
        try {
          Sql.execute(c, sql);
        } finally {
          c.rollback(before);
        }
      }
      throw new IllegalStateException("an event trigger calling a function that cannot exist was accepted");
    } catch (SQLException e) {
      return UNDEFINED_FUNCTION.equals(e.getSQLState());
    }
  }

  private static void rolledBack(Connection c, String sql) throws SQLException {
    Transactions.rolledBack(c, () -> {
      Sql.execute(c, sql);
      return null;
    });
  }

  private static String probeName() {
    return "cutover_probe_" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
  }

  /**
   * Application tables (those the fence guards) whose owner's privileges the role lacks: the
   * fence trigger, a publication's table list, setting indexes aside and COPY FREEZE need them.
   */
  /**
   * The application tables whose owner's privileges {@code role} lacks (it neither owns them nor
   * is a member of their owner): for the connected role, what check and start need; for the
   * control schema's installer, what a switch's fence and cleanup need (status).
   */
  public static List<ForeignTable> foreignTables(Connection c, String role) throws SQLException {
    List<ForeignTable> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_get_userbyid(c.relowner), format('%I.%I', n.nspname, c.relname),"
        + " r.rolsuper FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner"
        + " WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND " + Catalog.SYSTEM_SCHEMA_FILTER
        + " AND NOT pg_has_role(?::name, c.relowner, 'USAGE') ORDER BY 1, 2")) {
      ps.setString(1, role);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new ForeignTable(rs.getString(1), rs.getString(2), rs.getBoolean(3)));
        }
      }
    }
    return List.copyOf(out);
  }

  /** 16+: a subscription applies each change as the table's owner, so its owner must be able to SET ROLE to them. */
  private static List<String> ownersNotSettable(Connection c) throws SQLException {
    return List.copyOf(Sql.strings(c, "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c"
        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND "
        + Catalog.SYSTEM_SCHEMA_FILTER + " AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        + " AND NOT pg_has_role(c.relowner, 'SET') ORDER BY 1"));
  }

  /**
   * Whether the connected role may make {@code role} the owner of an object: the role exists and
   * the connected one is a superuser or may SET ROLE to it (16+), or is a member of it (before 16).
   */
  public static boolean canBecome(Connection c, String role) throws SQLException {
    if (!Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?)", role)) {
      return false;
    }
    String mode = Sql.majorVersion(c) >= 16 ? "SET" : "MEMBER";
    return Catalog.superuser(c) || Sql.bool(c, "SELECT pg_has_role(?, '" + mode + "')", role);
  }

  public Side side() {
    return side;
  }

  public int major() {
    return major;
  }

  /** The connected role. */
  public String role() {
    return role;
  }

  public String database() {
    return database;
  }

  public boolean superuser() {
    return superuser;
  }

  /** May create replication slots (REPLICATION, or what the provider grants instead). */
  public boolean slots() {
    return slots;
  }

  /** May set {@code session_replication_role}, to write with triggers and foreign keys off. */
  public boolean replicaRole() {
    return replicaRole;
  }

  /** May create subscriptions here. */
  public boolean subscriptions() {
    return subscriptions;
  }

  /** Has CREATE on the database: schemas (the control schema) and publications. */
  public boolean createOnDatabase() {
    return createOnDatabase;
  }

  /** Application tables whose owner's privileges the role lacks. */
  public List<ForeignTable> foreign() {
    return foreign;
  }

  /** 16+: owners of application tables the role cannot SET ROLE to (a subscription it owns cannot apply to them). */
  public List<String> ownersNotSettable() {
    return ownersNotSettable;
  }

  /** One line for the record: who, and what it may do. */
  public String summary() {
    if (superuser) {
      return "connected as superuser " + role;
    }
    return "connected as " + role + " (not superuser): replication slots " + yesNo(slots) + ", session_replication_role "
        + yesNo(replicaRole) + ", subscriptions " + yesNo(subscriptions) + ", CREATE on database " + yesNo(createOnDatabase)
        + ", owner of every application table " + yesNo(foreign.isEmpty());
  }

  private static String yesNo(boolean b) {
    return b ? "yes" : "no";
  }
}
