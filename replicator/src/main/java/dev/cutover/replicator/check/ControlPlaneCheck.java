package dev.cutover.replicator.check;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.ddl.SchemaChanges;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * {@code check}'s findings about the control plane and the fence, per database: which roles may
 * use the control plane and which the application needs ({@code --app-role}), grants to PUBLIC
 * left by a version-1 install, and the roles that can bypass the fence (superusers, owners of the
 * application tables, and from PostgreSQL 15 roles granted {@code SET} on {@code
 * session_replication_role}, sessions that start in replica mode), and prepared transactions in the
 * fence's way. Read-only.
 */
final class ControlPlaneCheck {
  private final List<Finding> findings = new ArrayList<>();
  private final List<String> appRoles;

  private ControlPlaneCheck(List<String> appRoles) {
    this.appRoles = appRoles;
  }

  static List<Finding> run(Connection old, Connection nw, List<String> appRoles) throws SQLException {
    ControlPlaneCheck check = new ControlPlaneCheck(appRoles);
    check.side(old, "old");
    check.side(nw, "new");
    return check.findings;
  }

  private void add(Severity severity, String side, String code, String message, String remedy) {
    findings.add(new Finding(severity, side, code, message, remedy));
  }

  private void side(Connection c, String side) throws SQLException {
    List<String> named = new ArrayList<>();
    for (String role : appRoles) {
      if (Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?)", role)) {
        named.add(role);
      } else {
        add(Severity.ERROR, side, "app-role-missing", "role " + role + " named by --app-role does not exist on " + side
            + "'s server", "CREATE ROLE " + Sql.ident(role) + " LOGIN on " + side + ", or correct --app-role");
      }
    }
    OptionalInt version;
    try {
      version = ControlSchema.installedVersion(c);
    } catch (SQLException e) {
      if (!"42501".equals(e.getSQLState())) {
        throw e;
      }
      add(Severity.ERROR, side, "control-plane-denied", "role " + Catalog.currentUser(c) + " may not use the control"
          + " schema installed on " + side, "run the replicator as the role that installed it, or as a superuser");
      return;
    }
    if (version.isEmpty()) {
      add(Severity.INFO, side, "control-plane-roles", "start will grant the control plane to "
          + String.join(", ", named.isEmpty() ? ControlSchema.defaultRoles(c) : named) + " only" + (named.isEmpty()
              ? " (the installing role and the owners of the application tables; name the application's roles with --app-role)"
              : ""), "");
    } else {
      installed(c, side, version.getAsInt(), named);
    }
    bypass(c, side);
  }

  private void installed(Connection c, String side, int version, List<String> named) throws SQLException {
    if (version < ControlSchema.VERSION) {
      add(Severity.WARNING, side, "control-schema-outdated", "the control schema on " + side + " is version " + version
          + ": every role may execute its functions, so any role can lower or raise the fence or steer a switch",
          "install version " + ControlSchema.VERSION + " with this replicator (start upgrades it in place); meanwhile,"
              + " as its installer: REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cutover FROM PUBLIC");
      return;
    }
    List<String> open = ControlSchema.publicFunctions(c);
    if (!open.isEmpty()) {
      add(Severity.WARNING, side, "control-plane-public", open.size() + " function(s) of the control schema are"
          + " executable by every role (PUBLIC): " + String.join(", ", open),
          "as the installer: REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cutover FROM PUBLIC");
    }
    for (String role : named) {
      if (!ControlSchema.granted(c, role) && !Sql.bool(c, "SELECT rolsuper FROM pg_roles WHERE rolname = ?", role)) {
        add(Severity.ERROR, side, "app-role-not-granted", "role " + role + " (--app-role) may not use the control"
            + " plane on " + side + ": a Cutover driver connecting as it refuses to start",
            "as the installer on " + side + ": " + SchemaChanges.BY_HAND + "; SELECT cutover.grant_control_plane(" + Sql.literal(role) + ")");
      }
    }
    List<String> granted = ControlSchema.grantedRoles(c);
    add(Severity.INFO, side, "control-plane-roles", "roles that may use the control plane on " + side + ": "
        + (granted.isEmpty() ? "none but superusers" : String.join(", ", granted)), "");
    List<String> without = Sql.strings(c, "SELECT r.rolname FROM pg_roles r WHERE r.rolcanlogin AND NOT r.rolsuper"
        + " AND has_database_privilege(r.oid, current_database(), 'CONNECT') AND r.rolname <> ALL (?::text[])"
        + " ORDER BY 1", c.createArrayOf("text", granted.toArray()));
    if (!without.isEmpty()) {
      add(Severity.INFO, side, "roles-without-control-plane", "roles that can connect to " + side + " but may not use"
          + " the control plane (a Cutover driver connecting as one refuses to start): " + String.join(", ", without),
          "grant it to those that run the application: SELECT cutover.grant_control_plane('ROLE') as the installer");
    }
  }

  /**
   * Sessions that start with {@code session_replication_role = replica} (ALTER ROLE or ALTER
   * DATABASE ... SET, or the server's configuration), where the fence, an ordinary trigger, does
   * not fire: their writes after a switch pass it and never reach the other side. An error on old
   * where it applies to the application (every role, or one named by {@code --app-role}); a
   * warning for other roles and on new (the way back). The driver refuses such a switch too.
   */
  private void replicaDefaults(Connection c, String side) throws SQLException {
    if (Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'session_replication_role'"
        + " AND source = 'configuration file' AND reset_val = 'replica')")) {
      replicaDefault(side, null, "every session on " + side + "'s server (its configuration)",
          "ALTER SYSTEM RESET session_replication_role (or remove it from postgresql.conf), then SELECT pg_reload_conf()");
    }
    String database = Sql.ident(Sql.string(c, "SELECT current_database()"));
    for (String[] d : Sql.rows(c, "SELECT r.rolname, s.setdatabase <> 0 FROM pg_db_role_setting s"
        + " LEFT JOIN pg_roles r ON r.oid = s.setrole WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database"
        + " WHERE datname = current_database())) AND EXISTS (SELECT 1 FROM unnest(s.setconfig) g"
        + " WHERE lower(g) = 'session_replication_role=replica') ORDER BY 1 NULLS FIRST, 2")) {
      String role = d[0];
      boolean here = "t".equals(d[1]);
      if (role == null) {
        replicaDefault(side, null, here ? "every session in this database" : "every session on " + side + "'s server",
            here ? "ALTER DATABASE " + database + " RESET session_replication_role" : "ALTER ROLE ALL RESET session_replication_role");
      } else {
        replicaDefault(side, role, "sessions of role " + role + (here ? " in this database" : ""),
            "ALTER ROLE " + Sql.ident(role) + (here ? " IN DATABASE " + database : "") + " RESET session_replication_role");
      }
    }
  }

  /** One {@code fence-bypass-default} finding: {@code role} null where every role's sessions start so. */
  private void replicaDefault(String side, String role, String scope, String remedy) {
    boolean application = role == null || appRoles.contains(role);
    add(side.equals("old") && application ? Severity.ERROR : Severity.WARNING, side, "fence-bypass-default", scope
        + " start with session_replication_role = replica: the fence does not fire for them, so their writes after a switch"
        + " from " + side + " would pass it and never reach the other side" + (application ? "" : " (if the application"
        + " connects as " + role + ")") + "; a Cutover driver refuses to switch from " + side + " while its sessions do",
        "as a superuser on " + side + ": " + remedy);
  }

  /**
   * Transactions prepared for two-phase commit in this database (XA transaction managers leave them
   * between their phases, or for ever after a crash): they keep the locks of their writes, which
   * the fence waits for, so a Cutover driver refuses to switch from this side while any is there.
   */
  private void prepared(Connection c, String side) throws SQLException {
    List<String> prepared = Sql.strings(c, "SELECT quote_literal(gid) || ' of role ' || owner || ' since ' || prepared"
        + " FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared");
    if (!prepared.isEmpty()) {
      add(Severity.WARNING, side, "prepared-transactions", prepared.size() + " prepared transaction(s) in this database on " + side
          + ": " + String.join(", ", prepared) + "; a Cutover driver refuses to switch from " + side + " while any is there (the"
          + " fence would wait for their locks, and their writes would commit after the switch)",
          "let their transaction manager finish them, or COMMIT PREPARED or ROLLBACK PREPARED each on " + side);
    }
  }

  /** Who can write past the fence: the guarantee that old takes no write after a switch holds for everyone else. */
  private void bypass(Connection c, String side) throws SQLException {
    List<String> superusers = Sql.strings(c, "SELECT rolname FROM pg_roles WHERE rolsuper AND rolcanlogin ORDER BY 1");
    add(Severity.INFO, side, "fence-bypass-superusers", "superusers can write past the fence on " + side
        + " (session_replication_role, DISABLE TRIGGER): " + String.join(", ", superusers), "");
    List<String> owners = Sql.strings(c, "SELECT DISTINCT m.rolname FROM pg_class c JOIN pg_namespace n"
        + " ON n.oid = c.relnamespace JOIN pg_roles m ON pg_has_role(m.oid, c.relowner, 'MEMBER')"
        + " WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND NOT m.rolsuper AND "
        + Catalog.SYSTEM_SCHEMA_FILTER + " ORDER BY 1");
    if (!owners.isEmpty()) {
      add(Severity.INFO, side, "fence-bypass-owners", "owners of application tables on " + side + " (and their members)"
          + " can disable the fence trigger on them: " + String.join(", ", owners),
          "let the application connect as a role that does not own its tables");
    }
    replicaDefaults(c, side);
    prepared(c, side);
    if (Sql.majorVersion(c) >= 15) {
      List<String> setters = Sql.strings(c, "SELECT rolname FROM pg_roles WHERE NOT rolsuper"
          + " AND has_parameter_privilege(oid, 'session_replication_role', 'SET') ORDER BY 1");
      if (!setters.isEmpty()) {
        add(Severity.WARNING, side, "fence-bypass-parameter", "roles granted SET on session_replication_role on " + side
            + " skip the fence and every trigger: " + String.join(", ", setters),
            "REVOKE SET ON PARAMETER session_replication_role FROM " + String.join(", ", setters.stream().map(Sql::ident)
                .toList()) + " on " + side + ", unless the role runs replication");
      }
    }
  }
}
