package dev.cutover.replicator.capture;

import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.ApplyProgress;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.copy.TriggersOff;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * {@code check}'s findings for trigger capture: what it needs (ownership of the tables, CREATE on
 * the database for the control schema) and what a role without {@code session_replication_role}
 * on a target changes. Read-only.
 */
public final class CaptureChecks {
  private final Connection old;
  private final Connection nw;
  private final List<Finding> findings = new ArrayList<>();

  private CaptureChecks(Connection old, Connection nw) {
    this.old = old;
    this.nw = nw;
  }

  /** Everything trigger capture needs from these two databases. */
  public static List<Finding> run(Connection old, Connection nw) throws SQLException {
    CaptureChecks c = new CaptureChecks(old, nw);
    List<TableName> tables = Catalog.applicationTables(old);
    c.ownership(old, "old", tables);
    c.ownership(nw, "new", tables.stream().filter(t -> exists(nw, t)).toList());
    c.schemaRights(old, "old");
    c.schemaRights(nw, "new");
    c.triggersOff(nw, "new", "old -> new");
    c.triggersOff(old, "old", "the way back, new -> old");
    c.values(tables);
    c.triggerOrder(tables);
    c.leftovers();
    return c.findings;
  }

  /**
   * Whether schema changes on old, and tables created there after start, are carried by trigger
   * capture (instead of the native engine's {@code ddl-capture} finding).
   */
  public static List<Finding> schemaChanges(Connection old) throws SQLException {
    int major = Sql.majorVersionOf(old);
    boolean events = Capabilities.mayCreateEventTriggers(old);
    String by = "connect to old as a superuser (RDS: a member of rds_superuser) for start, or make every schema change on both sides";
    if (major < 10) {
      return List.of(new Finding(Severity.WARNING, "old", "ddl-capture", "schema changes on old (PostgreSQL " + Sql.string(old,
          "SHOW server_version") + ") are not captured: the first row written after one stops the apply until the same change is made"
          + " on new" + (events ? "; tables created on old get their capture triggers as they are created" : "; tables created on"
          + " old after start are not captured until `cutover-replicator adopt` brings them in (`status` names them)"),
          "make every schema change on both sides, new first"));
    }
    if (events) {
      return List.of(new Finding(Severity.INFO, "old", "ddl-capture", "schema changes on old during the migration (CREATE, ALTER, DROP,"
          + " ...) travel through the change log and are made on new at the same point; tables created on old get their capture"
          + " triggers as they are created, so their rows follow", ""));
    }
    return List.of(new Finding(Severity.WARNING, "old", "ddl-capture", "role " + Catalog.currentUser(old) + " cannot create event"
        + " triggers, so schema changes on old during the migration are not captured (the first row written after one stops the"
        + " apply until the same change is made on new), and tables created on old after start are not captured until"
        + " `cutover-replicator adopt` brings them in (`status` names them)", by));
  }

  private void add(Severity s, String side, String code, String message, String remedy) {
    findings.add(new Finding(s, side, code, message, remedy));
  }

  private static boolean exists(Connection c, TableName t) {
    try {
      return Sql.relationExists(c, t.quoted());
    } catch (SQLException e) {
      return false;
    }
  }

  private void ownership(Connection c, String side, List<TableName> tables) throws SQLException {
    List<String> notOwned = new ArrayList<>();
    for (TableName t : tables) {
      if (!Sql.bool(c, "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = ?::regclass", t.regclass())) {
        notOwned.add(t.toString());
      }
    }
    String user = Catalog.currentUser(c);
    if (!notOwned.isEmpty()) {
      add(Severity.ERROR, side, "capture-ownership", "role " + user + " does not own " + notOwned.size() + " table(s) ("
          + String.join(", ", notOwned.subList(0, Math.min(5, notOwned.size()))) + (notOwned.size() > 5 ? ", ..." : "")
          + "): trigger capture adds triggers" + (side.equals("new") ? ", builds indexes and turns triggers off there" : " there"),
          "connect to " + side + " as the tables' owner, or ALTER TABLE ... OWNER TO " + Sql.ident(user));
    } else if (!tables.isEmpty()) {
      add(Severity.INFO, side, "capture-ownership", "role " + user + " owns all " + tables.size() + " table(s): enough for trigger capture", "");
    }
  }

  private void schemaRights(Connection c, String side) throws SQLException {
    String remedy = controlSchemaRemedy(c);
    if (remedy != null) {
      add(Severity.ERROR, side, "capture-schema", "role " + Catalog.currentUser(c) + " may not create schemas in this database, and the"
          + " control schema cutover (fence, barrier, change log) must be created there", remedy);
    }
  }

  /** The grant that lets the role create the control schema, or null when it exists or the role may create it. */
  static String controlSchemaRemedy(Connection c) throws SQLException {
    if (Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'cutover')")
        || Sql.bool(c, "SELECT has_database_privilege(current_database(), 'CREATE')")) {
      return null;
    }
    return "GRANT CREATE ON DATABASE " + Sql.ident(Sql.string(c, "SELECT current_database()")) + " TO " + Sql.ident(Catalog.currentUser(c));
  }

  private void triggersOff(Connection c, String side, String way) throws SQLException {
    TriggersOff mode = TriggersOff.detect(c);
    if (mode == TriggersOff.REPLICA_ROLE) {
      add(Severity.INFO, side, "apply-triggers", "writes into " + side + " (" + way + ") run with session_replication_role = replica,"
          + " as PostgreSQL's own apply does", "");
      return;
    }
    String user = Catalog.currentUser(c);
    add(Severity.INFO, side, "apply-triggers", "role " + user + " may not set session_replication_role, so writes into " + side + " ("
        + way + ") turn the tables' ordinary triggers off inside each transaction (ALTER TABLE ... DISABLE TRIGGER, undone before"
        + " commit, never seen by other sessions); foreign keys stay checked there", Sql.majorVersionOf(c) >= 15
            ? "optional: GRANT SET ON PARAMETER session_replication_role TO " + Sql.ident(user) + " (as a superuser) to skip foreign key checks"
            : "");
    List<String> selfReferencing = Sql.strings(c, "SELECT format('%I.%I', n.nspname, t.relname) FROM pg_constraint k"
        + " JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
        + " WHERE k.contype = 'f' AND k.conrelid = k.confrelid AND NOT k.condeferrable ORDER BY 1");
    if (!selfReferencing.isEmpty()) {
      add(Severity.WARNING, side, "self-referencing-key", "table(s) " + String.join(", ", selfReferencing) + " reference themselves with a"
          + " foreign key that is checked at once: a statement on the source that changes several rows referring to each other"
          + " may not apply row by row on " + side + " while foreign keys are checked",
          "make the foreign key DEFERRABLE, or let the role set session_replication_role");
    }
    List<TableName> ruled = Catalog.tables(c, "c.relkind IN ('r', 'p') AND " + Catalog.SYSTEM_SCHEMA_FILTER + " AND EXISTS (SELECT 1"
        + " FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.ev_enabled = 'O' AND r.rulename <> '_RETURN')");
    if (!ruled.isEmpty()) {
      add(Severity.WARNING, side, "apply-rules", "table(s) " + ruled.stream().map(TableName::toString).collect(Collectors.joining(", "))
          + " have rules, which writes into " + side
          + " turn off inside each transaction too (ALTER TABLE ... DISABLE RULE), as replica mode would: that locks each such table"
          + " ACCESS EXCLUSIVE until the transaction commits, so its readers on " + side + " wait for every batch that writes it",
          Sql.majorVersionOf(c) >= 15 ? "GRANT SET ON PARAMETER session_replication_role TO " + Sql.ident(user) + " (as a superuser)"
              : "run the replicator as a superuser on " + side + ", or accept the waits");
    }
  }

  private void values(List<TableName> tables) throws SQLException {
    List<String> money = new ArrayList<>();
    for (TableName t : tables) {
      money.addAll(Sql.strings(old, "SELECT ? || '.' || a.attname FROM pg_attribute a WHERE a.attrelid = ?::regclass AND a.attnum > 0"
          + " AND NOT a.attisdropped AND format_type(a.atttypid, NULL) LIKE 'money%' ORDER BY a.attnum", t.toString(), t.regclass()));
    }
    if (!money.isEmpty()) {
      add(Severity.WARNING, "old", "capture-money", "money column(s) " + String.join(", ", money) + " travel as text formatted by"
          + " lc_monetary: old and new must use the same", "compare SHOW lc_monetary on both sides, or use numeric");
    }
  }

  /**
   * The application's triggers that would fire before the capture's (CaptureSchema#triggersBefore):
   * on old, which start refuses; on new, for the way back, whose capture reverse adds there.
   */
  private void triggerOrder(List<TableName> tables) throws SQLException {
    List<CaptureSchema.EarlyTrigger> early = CaptureSchema.triggersBefore(old, tables);
    if (!early.isEmpty()) {
      add(Severity.ERROR, "old", "capture-trigger-order", CaptureSchema.earlyMessage(early) + "; start refuses",
          CaptureSchema.earlyRemedy(early));
    }
    List<CaptureSchema.EarlyTrigger> onNew = CaptureSchema.triggersBefore(nw, tables);
    if (!onNew.isEmpty()) {
      add(Severity.WARNING, "new", "capture-trigger-order", CaptureSchema.earlyMessage(onNew) + ", on the way back (new -> old)",
          CaptureSchema.earlyRemedy(onNew) + ", before `cutover-replicator reverse`");
    }
  }

  private void leftovers() throws SQLException {
    for (Object[] side : new Object[][] {{old, Side.OLD, nw}, {nw, Side.NEW, old}}) {
      Connection c = (Connection) side[0];
      Side s = (Side) side[1];
      if (CaptureSchema.installed(c) || ApplyProgress.armed(c, Way.FORWARD) || ApplyProgress.armed(c, Way.REVERSE)) {
        Optional<String> another = CaptureSchema.ofAnother(c, s, (Connection) side[2]);
        if (another.isPresent()) {
          add(Severity.ERROR, s.label(), "capture-leftovers", another.get(), CaptureSchema.OF_ANOTHER_REMEDY);
        } else {
          add(Severity.WARNING, s.label(), "capture-leftovers", "trigger capture of an earlier run is installed ("
              + CaptureSchema.capturedTables(c).size() + " table(s) with capture triggers)",
              "`cutover-replicator status` if it is running, else `cutover-replicator cleanup`");
        }
      }
    }
  }
}
