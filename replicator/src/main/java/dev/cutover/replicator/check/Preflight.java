package dev.cutover.replicator.check;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.BoundedRead;
import dev.cutover.replicator.DistinctDatabases;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.capture.CaptureChecks;
import dev.cutover.replicator.capture.EngineChoice;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.copy.InitialCopy;
import dev.cutover.replicator.ddl.ConstraintDrift;
import dev.cutover.replicator.ddl.SchemaChanges;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.privileges.Gap;
import dev.cutover.replicator.privileges.PasswordStatements;
import dev.cutover.replicator.privileges.Requirements;
import dev.cutover.replicator.privileges.SubscriptionLogin;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.replication.SlotHeldByAnother;
import dev.cutover.replicator.schema.CatalogDdl;
import dev.cutover.replicator.schema.DatabaseSettings;
import dev.cutover.replicator.schema.GivenPrerequisites;
import dev.cutover.replicator.schema.RoleSettings;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Column;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code check}: looks at both databases before anything is changed and says what would go
 * wrong, with a remedy for each finding. Read-only.
 */
public final class Preflight {
  private final Connection old;
  private final Connection nw;
  private final Names names;
  private final EngineChoice engine;
  private final List<Finding> findings = new ArrayList<>();
  /** The schemas, types and sequences an earlier remedy creates: each once, the remedies run in the order printed. */
  private final GivenPrerequisites given = new GivenPrerequisites();

  private Preflight(Connection old, Connection nw, Names names, EngineChoice engine) {
    this.old = old;
    this.nw = nw;
    this.names = names;
    this.engine = engine;
  }

  /**
   * The preflight for the engine {@code requested} comes to (see {@link EngineChoice}); its first
   * finding says which and why. No statement waits longer than {@code networkTimeout} for its
   * answer: a silent network or a frozen server fails the check naming that side.
   *
   * @param appRoles the application's roles ({@code --app-role}): their privileges on new and their
   *     control-plane grant on both sides are checked (none: the control schema's defaults)
   */
  public static CheckReport run(Endpoint oldEp, Endpoint newEp, Names names, List<String> appRoles, Capture requested,
      Duration networkTimeout) throws Exception {
    try (Connection o = oldEp.connect(); Connection n = newEp.connect()) {
      return BoundedRead.within(networkTimeout, "check --network-timeout", Map.of("old", o, "new", n), () -> {
        DistinctDatabases.require(o, n);
        Preflight p = new Preflight(o, n, names, EngineChoice.decide(o, n, requested));
        // Information only: what stands in logical replication's way is an error of its own below.
        boolean asked = requested == p.engine.engine();
        p.add(Severity.INFO, "both", "engine", "engine: " + p.engine.explain(), p.triggers() || !asked || p.engine.blockers().isEmpty()
            ? "" : "fix what stands in the way (below), or use --capture triggers (or auto)");
        p.versions();
        if (p.triggers()) {
          p.findings.addAll(CaptureChecks.run(o, n));
        } else {
          p.settings();
          p.privileges(oldEp, newEp);
        }
        p.findings.addAll(RoleParity.check(o, n));
        p.findings.addAll(AppRolePrivileges.check(o, n, appRoles));
        p.tables();
        p.findings.addAll(RowSecurityCheck.findings(o, n));
        p.findings.addAll(SearchPathCheck.findings(o, n));
        p.databaseSettings(appRoles);
        p.sequences();
        p.extensions();
        p.largeObjects();
        p.findings.addAll(p.triggers() ? CaptureChecks.schemaChanges(o) : DdlCheck.findings(o));
        p.findings.addAll(DdlReplayRoles.findings(o, n));
        p.leftovers();
        p.findings.addAll(ControlPlaneCheck.run(o, n, appRoles));
        List<Finding> sorted = new ArrayList<>(p.findings);
        sorted.sort(Comparator.comparing(Finding::severity));
        return new CheckReport(Sql.string(o, "SHOW server_version"), Sql.string(n, "SHOW server_version"), List.copyOf(sorted));
      });
    }
  }

  /** Whether trigger capture is the engine checked for. */
  private boolean triggers() {
    return engine.engine() == Capture.TRIGGERS;
  }

  /** Whether relayed logical replication is the engine checked for: no subscription on new. */
  private boolean relay() {
    return engine.engine() == Capture.RELAY;
  }

  private void add(Severity s, String side, String code, String message, String remedy) {
    findings.add(new Finding(s, side, code, message, remedy));
  }

  /**
   * Defaults of old's database and of roles in it that new's lacks or sets otherwise
   * ({@link DatabaseSettings}): a warning each, with the statement that gives new old's. Not an
   * error: replication works, and a setting may differ on purpose (a memory or timeout setting
   * sized for new's server); but one that changes what the application's statements mean (a
   * search_path, a timezone) must be made alike before the switch. The same for the defaults for
   * every database ({@link RoleSettings}) of the application's roles and of the role old's URL
   * connects as, which {@code schema} does not copy. And the server-level settings that change what
   * the application reads ({@link ServerSettings}), which neither catalog holds.
   */
  private void databaseSettings(List<String> appRoles) throws SQLException {
    for (DatabaseSettings.Difference d : DatabaseSettings.differences(old, nw)) {
      add(Severity.WARNING, "new", "database-setting", d.describe(), "unless new's differs on purpose, run on new as the database's"
          + " owner" + (d.role() == null ? "" : " (for a role's: a role with CREATEROLE)") + " or a superuser: " + d.statement());
    }
    // The application's roles and the one old's URL connects as: their defaults for every database apply to its sessions too.
    Set<String> roles = new LinkedHashSet<>(appRoles);
    roles.add(Sql.string(old, "SELECT session_user::text"));
    for (RoleSettings.Difference d : RoleSettings.differences(old, nw, roles)) {
      add(Severity.WARNING, "new", "role-setting", d.describe() + ". schema does not copy it: it holds for the role's sessions in"
          + " every database on new's server, not this one alone (ALTER ROLE ... IN DATABASE ... SET gives it this one only)",
          "unless new's differs on purpose, run on new as a role with CREATEROLE or a superuser: " + d.statement());
    }
    // What the server's configuration gives every session where neither catalog default above does.
    findings.addAll(ServerSettings.findings(old, nw));
  }

  private void versions() throws SQLException {
    int o = Sql.majorVersion(old);
    int n = Sql.majorVersion(nw);
    add(Severity.INFO, "both", "versions", "old runs PostgreSQL " + Sql.string(old, "SHOW server_version") + ", new "
        + Sql.string(nw, "SHOW server_version"), "");
    String tooOld = null;
    String remedy = null;
    if (triggers() && o < EngineChoice.TRIGGERS_MIN) {
      tooOld = "9.6, the oldest source trigger capture supports";
      remedy = "upgrade it in place to 9.6 or newer first, or use pg_dump";
    } else if (relay() && o < EngineChoice.RELAY_MIN) {
      tooOld = EngineChoice.RELAY_MIN + ", the oldest source relayed replication supports (10 does not decode TRUNCATE)";
      remedy = "use --capture triggers (9.6 and newer)";
    } else if (!triggers() && !relay() && o < EngineChoice.LOGICAL_MIN) {
      tooOld = "12, the oldest source logical replication supports here";
      remedy = "use --capture triggers (9.6 and newer), or --capture relay (11 and newer)";
    }
    if (tooOld != null) {
      add(Severity.ERROR, "old", "unsupported-version", "PostgreSQL " + Sql.string(old, "SHOW server_version") + " is older than "
          + tooOld, remedy);
    }
    if (n < 12) {
      add(Severity.ERROR, "new", "unsupported-version", "PostgreSQL " + n + " is older than 12, the oldest target",
          "move to PostgreSQL 12 to 18");
    }
    if (n < o) {
      add(Severity.WARNING, "new", "downgrade", "new (" + n + ") is older than old (" + o + ")",
          "logical replication works, but pg_dump " + o + " output may not restore on " + n + ": create the schema by hand");
    }
    if (!triggers() && !relay() && (o < 16 || n < 16)) {
      add(Severity.INFO, "both", "reverse-after-fence", "PostgreSQL " + Math.min(o, n)
          + " cannot filter replication by origin: reverse replication can be armed only after the switch fenced old", "");
    }
    String[] oc = collation(old);
    String[] nc = collation(nw);
    if (!String.join(" ", oc).equals(String.join(" ", nc))) {
      add(Severity.WARNING, "both", "collation", "old's collation is " + String.join(" ", oc) + ", new's " + String.join(" ", nc)
          + ": text sorts differently, unique indexes on text may disagree", "create new with " + switch (oc[0]) {
            case "ICU" -> "LOCALE_PROVIDER = icu, ICU_LOCALE = '" + oc[1] + "'";
            case "builtin" -> "LOCALE_PROVIDER = builtin, BUILTIN_LOCALE = '" + oc[1] + "'";
            default -> (n >= 15 ? "LOCALE_PROVIDER = libc, " : "") + "LC_COLLATE = '" + oc[1] + "'";
          } + " (TEMPLATE template0)");
    }
    String oe = Sql.string(old, "SHOW server_encoding");
    String ne = Sql.string(nw, "SHOW server_encoding");
    if (!"SQL_ASCII".equals(oe) && !oe.equals(ne)) {
      add(Severity.WARNING, "both", "encoding", "old's server_encoding is " + oe + ", new's " + ne + ": text is converted on"
          + " the way, so a character " + ne + " cannot hold fails start's copy, or stops replication at the change that carries"
          + " it; verify compares text by its UTF-8 form, which costs more than between servers of one encoding",
          "UTF8".equals(ne) ? "nothing to do for the conversion (UTF8 holds every character); to keep " + oe + ", create new with"
              + " ENCODING '" + oe + "' TEMPLATE template0"
              : "create new with ENCODING '" + oe + "' (or UTF8) TEMPLATE template0, or rewrite on old what " + ne + " cannot hold");
    }
    if ("SQL_ASCII".equals(oe)) {
      add(Severity.WARNING, "old", "encoding", "old's server_encoding is SQL_ASCII, which keeps text as bytes without checking them,"
          + " and old sends text to the replicator as UTF8 only where its bytes are valid UTF8: start's copy fails at the first value"
          + " whose bytes are not (Latin-1 text, say), and trigger capture's apply stops at the first change that carries one and"
          + " cannot pass it",
          "before start, rewrite every such value on old as UTF8 (old's error names the bytes), and"
          + " make sure the application writes UTF8 only");
    }
  }

  /**
   * The provider and locale that sort a database's text: {@code datcollate} with libc, the ICU
   * locale with ICU (15+: {@code daticulocale}, from 17 {@code datlocale}), the builtin provider's
   * locale (17+); as {@code {provider, locale}}.
   */
  private static String[] collation(Connection c) throws SQLException {
    int v = Sql.majorVersionOf(c);
    String locale = v >= 17 ? "datlocale" : "daticulocale";
    String sql = v >= 15
        ? "SELECT CASE datlocprovider WHEN 'i' THEN 'ICU' WHEN 'b' THEN 'builtin' ELSE 'libc' END,"
            + " CASE WHEN datlocprovider = 'c' THEN datcollate ELSE " + locale + " END"
        : "SELECT 'libc', datcollate";
    return Sql.rows(c, sql + " FROM pg_database WHERE datname = current_database()").get(0);
  }

  private void settings() throws SQLException {
    String wal = Sql.string(old, "SHOW wal_level");
    if (!"logical".equals(wal)) {
      add(Severity.ERROR, "old", "wal-level", "wal_level is " + wal + ", logical replication needs logical",
          "ALTER SYSTEM SET wal_level = logical and restart (RDS: rds.logical_replication = 1)");
    }
    slotRoom(old, "old", 1);
    findings.add(SlotWalLimit.finding(old, "old", names.forwardSlot(), SlotWalLimit.forwardConsumer(relay(), names)));
    SynchronousStandbys.finding(old, "old", relay() ? Endpoint.APPLICATION_NAME : names.forward(), Severity.ERROR)
        .ifPresent(findings::add);
    findings.addAll(PhysicalStandbys.findings(old, names, relay()));
    if (relay()) {
      return;
    }
    SynchronousStandbys.finding(nw, "new", names.reverse(), Severity.WARNING).ifPresent(findings::add);
    String walNew = Sql.string(nw, "SHOW wal_level");
    if (!"logical".equals(walNew)) {
      add(Severity.WARNING, "new", "wal-level", "wal_level is " + walNew + ": reverse replication (for a lossless flip back) needs logical",
          "ALTER SYSTEM SET wal_level = logical and restart (RDS: rds.logical_replication = 1)");
    }
    slotRoom(nw, "new", 1);
    findings.add(SlotWalLimit.finding(nw, "new", names.reverseSlot(), "the way back's subscription " + names.reverse() + " on old"));
    originRoom(nw, "new", Severity.ERROR, ApplyWorkerSettings.FORWARD);
    originRoom(old, "old", Severity.WARNING, ApplyWorkerSettings.WAY_BACK);
    findings.addAll(ApplyWorkerSettings.findings(nw, "new", Severity.ERROR, ApplyWorkerSettings.FORWARD));
    findings.addAll(ApplyWorkerSettings.findings(old, "old", Severity.WARNING, ApplyWorkerSettings.WAY_BACK));
    WorkerRoom.finding(nw, "new", names.forward(), Severity.ERROR, ApplyWorkerSettings.FORWARD).ifPresent(findings::add);
    WorkerRoom.finding(old, "old", names.reverse(), Severity.WARNING, ApplyWorkerSettings.WAY_BACK).ifPresent(findings::add);
  }

  private void slotRoom(Connection c, String side, int needed) throws SQLException {
    long slots = Sql.number(c, "SELECT setting::bigint FROM pg_settings WHERE name = 'max_replication_slots'");
    long used = Sql.number(c, "SELECT count(*) FROM pg_replication_slots WHERE slot_name NOT LIKE 'cutover\\_%'");
    if (slots - used < needed) {
      add(side.equals("old") ? Severity.ERROR : Severity.WARNING, side, "replication-slots", "max_replication_slots is " + slots
          + " and " + used + " are in use; the cutover needs " + needed + " more",
          "ALTER SYSTEM SET max_replication_slots = " + (used + needed + 2) + " and restart");
    }
    long senders = Sql.number(c, "SELECT setting::bigint FROM pg_settings WHERE name = 'max_wal_senders'");
    long active = Sql.number(c, "SELECT count(*) FROM pg_stat_replication");
    if (senders - active < needed) {
      add(side.equals("old") ? Severity.ERROR : Severity.WARNING, side, "wal-senders", "max_wal_senders is " + senders + " and "
          + active + " are in use", "ALTER SYSTEM SET max_wal_senders = " + (active + needed + 2) + " and restart");
    }
  }

  /**
   * Room for a subscription's replication origin on {@code c}: its apply worker takes one of the
   * server's origin states ({@code max_active_replication_origins} from 18, before that as many as
   * {@code max_replication_slots}), which other subscriptions' origins keep even while they are
   * stopped; without a free one the worker never starts. Checked only where the role may read them
   * ({@code pg_replication_origin_status}: superusers, unless granted), so as never to guess.
   */
  private void originRoom(Connection c, String side, Severity severity, String direction) throws SQLException {
    if (!Sql.bool(c, "SELECT has_table_privilege('pg_catalog.pg_replication_origin_status', 'SELECT')"
        + " AND has_function_privilege('pg_catalog.pg_show_replication_origin_status()', 'EXECUTE')")) {
      return;
    }
    String setting = Sql.majorVersion(c) >= 18 ? "max_active_replication_origins" : "max_replication_slots";
    long max = Sql.number(c, "SELECT setting::bigint FROM pg_settings WHERE name = ?", setting);
    long used = Sql.number(c, "SELECT count(*) FROM pg_replication_origin_status");
    if (max - used < 1) {
      add(severity, side, "replication-origins", setting + " is " + max + " and " + used + " replication origins hold progress"
          + " there: the apply worker of " + direction + " would find no free one and never start",
          "ALTER SYSTEM SET " + setting + " = " + (used + 3) + " and restart, or drop the origins of subscriptions that are gone"
              + " (pg_replication_origin_drop)");
    }
  }

  /** What start needs (errors) and what the way back needs (warnings), by capability: see {@link Requirements}. */
  private void privileges(Endpoint oldEp, Endpoint newEp) throws SQLException, ReplicatorException {
    Capabilities o = Capabilities.probe(old, Side.OLD);
    Capabilities n = Capabilities.probe(nw, Side.NEW);
    add(Severity.INFO, "old", "privileges", o.summary(), "");
    add(Severity.INFO, "new", "privileges", n.summary(), "");
    if (relay()) {
      for (Gap g : Requirements.relayStart(o, n)) {
        add(Severity.ERROR, g.side().label(), g.code(), g.message(), g.remedy());
      }
      return;
    }
    List<Gap> start = new ArrayList<>(Requirements.start(o, n, Requirements.loginHasPassword(oldEp)));
    // Subscribing to another migration's publication (the same --name) would say nothing of this one's: leftovers names it.
    if (n.subscriptions() && o.slots() && heldByAnother(old, names.forward()) == null) {
      SubscriptionLogin.check(nw, Side.NEW, oldEp.conninfo(), names.forward()).ifPresent(start::add);
    }
    List<Gap> wayBack = new ArrayList<>(Requirements.wayBack(n, o, Requirements.loginHasPassword(newEp)));
    if (o.subscriptions() && n.slots()) {
      SubscriptionLogin.check(old, Side.OLD, newEp.conninfo(), names.reverse()).ifPresent(wayBack::add);
    }
    // Where the password would reach a server's log, a warning either way: the probe above wrote it there already.
    if (n.subscriptions() && Requirements.loginHasPassword(oldEp)) {
      PasswordStatements.exposure(nw, Side.NEW)
          .ifPresent(g -> add(Severity.WARNING, g.side().label(), g.code(), g.message(), g.remedy()));
    }
    if (o.subscriptions() && Requirements.loginHasPassword(newEp)) {
      PasswordStatements.exposure(old, Side.OLD).ifPresent(g -> add(Severity.WARNING, g.side().label(), g.code(),
          g.message() + " (the subscription of reverse replication, the lossless way back)", g.remedy()));
    }
    Set<String> reported = new HashSet<>();
    for (Gap g : start) {
      reported.add(g.side() + g.code());
      add(Severity.ERROR, g.side().label(), g.code(), g.message(), g.remedy());
    }
    for (Gap g : wayBack) {
      if (reported.add(g.side() + g.code())) {
        add(Severity.WARNING, g.side().label(), g.code(), g.message() + " (needed for reverse replication, the lossless way back)",
            g.remedy());
      }
    }
  }

  private void tables() throws SQLException {
    List<TableName> onOld = Catalog.applicationTables(old);
    List<TableName> onNew = Catalog.applicationTables(nw);
    for (TableName t : onOld) {
      TableInfo o = Catalog.require(old, t, "old");
      if (!o.replicable() && triggers()) {
        add(Severity.INFO, "old", "table-without-key", "table " + t + " has no key" + o.deferrableNote(null) + ": trigger capture logs"
            + " its whole old row for UPDATE and DELETE, and new finds the row by all its columns (a scan per change)",
            "add a primary key (not DEFERRABLE) for faster apply");
      } else if (!o.replicable()) {
        String reason = o.replicaIdentity() == 'n' ? "has REPLICA IDENTITY NOTHING" : o.replicaIdentity() == 'i'
            ? "has no usable replica identity index" : "has no primary key" + o.deferrableNote("primary key");
        add(Severity.ERROR, "old", "table-without-key", "table " + t + " " + reason
            + ": once published, UPDATE and DELETE on it fail on old and cannot be replicated",
            "add a primary key (not DEFERRABLE), or ALTER TABLE " + t.quoted() + " REPLICA IDENTITY FULL (what `start --replica-identity-full` does)");
      }
      Optional<TableInfo> n = Catalog.describe(nw, t);
      if (n.isEmpty()) {
        add(Severity.ERROR, "new", "missing-table", "table " + t + " is missing on new (`cutover-replicator schema` creates the"
            + " whole schema into an empty database)", runOnNew(SchemaChanges.runOrSay("run on new: ",
                () -> given.notGiven(CatalogDdl.createMissingWithSequences(old, nw, t), "table " + t))));
        continue;
      }
      String split = InitialCopy.splitOnNew(new InitialCopy.TablePair(o, n.get()));
      if (split != null) {
        add(Severity.ERROR, "new", "partitioning-differs", split,
            "create it on new as it is on old (`cutover-replicator schema` into an empty database does), and partition it after the migration");
        continue;
      }
      columns(o, n.get(), t);
      if (!o.key().equals(n.get().key())) {
        add(triggers() ? Severity.ERROR : Severity.WARNING, "new", "key-differs", "table " + t + " is keyed by " + o.key() + " on old but " + n.get().key()
            + " on new", "give new the same primary key as old");
      }
      indexes(t);
      if (Sql.bool(nw, "SELECT has_table_privilege(?, 'SELECT')", t.regclass())
          && Sql.bool(nw, "SELECT EXISTS (SELECT 1 FROM ONLY " + t.quoted() + ")")) {
        String extension = Catalog.extensionOfConfigTable(nw, t);
        add(Severity.ERROR, "new", "table-not-empty", "table " + t + " on new already has rows; start copies into empty tables only"
            + (extension == null ? "" : ". It is a configuration table of extension " + extension
            + ", filled by CREATE EXTENSION on new (schema's ran it), so schema again does not help"),
            extension == null ? "TRUNCATE it on new, or create the schema into an empty database"
                : "run on new: TRUNCATE " + t.quoted() + "; the copy then brings old's rows there, the extension's own and any added on old");
      }
    }
    for (CatalogDdl.EnumGap gap : CatalogDdl.missingEnumValues(old, nw)) {
      add(Severity.ERROR, "new", "enum-values", "enum " + gap.type() + " has value(s) " + gap.listed() + " on old but not on new: a row holding one fails the copy or replication",
          "run on new: " + String.join("; ", gap.statements()));
    }
    for (ConstraintDrift.Difference d : ConstraintDrift.between(old, nw, "old", "new", false)) {
      add(Severity.WARNING, "new", "constraint-only-on-new", d.problem(), d.remedy());
    }
    for (TableName t : onNew) {
      if (!onOld.contains(t)) {
        add(Severity.INFO, "new", "extra-table", "table " + t + " exists only on new; it is neither copied nor replicated", "");
      }
    }
    for (TableName t : Catalog.unloggedTables(old)) {
      add(Severity.WARNING, "old", "unlogged-table", "unlogged table " + t + " is not replicated: start copies it from its snapshot,"
          + " but its changes after start do not reach new", "ALTER TABLE " + t.quoted() + " SET LOGGED on old before start,"
          + " or copy it yourself at the switch");
    }
    List<TableName> views = dev.cutover.replicator.copy.MaterializedViews.populated(old);
    if (!views.isEmpty()) {
      add(Severity.INFO, "new", "materialized-views", views.size() + " populated materialized view(s) on old: start refreshes them on"
          + " new after its copy; a REFRESH on old is repeated on new where DDL capture runs, else `cutover-replicator refresh`"
          + " before the switch", "");
    }
  }

  private void columns(TableInfo o, TableInfo n, TableName t) throws SQLException {
    for (Column c : o.columns()) {
      Column other = n.column(c.name());
      if (other == null) {
        add(Severity.ERROR, "new", "missing-column", "column " + c.name() + " of " + o.name() + " is missing on new",
            runOnNew("run on new: " + String.join("; ", given.notGiven(CatalogDdl.addColumnWithSequences(old, nw, t, c.name()),
                "column " + c.name() + " of " + o.name()))));
      } else if (!other.type().equals(c.type())) {
        add(Severity.ERROR, "new", "column-type", "column " + c.name() + " of " + o.name() + " is " + c.type() + " on old but "
            + other.type() + " on new", "run on new: " + CatalogDdl.alterColumnType(old, t, c.name()));
      }
    }
    for (Column c : n.columns()) {
      if (o.column(c.name()) == null && c.notNull()) {
        add(Severity.WARNING, "new", "extra-column", "column " + c.name() + " of " + o.name() + " exists only on new and is NOT NULL:"
            + " replicated rows have no value for it (or give it a DEFAULT)", "run on new: ALTER TABLE " + o.name().quoted()
            + " ALTER COLUMN " + Sql.ident(c.name()) + " DROP NOT NULL");
      }
    }
  }

  private void indexes(TableName t) throws SQLException {
    Map<String, String> o = definitions(old, t);
    Map<String, String> n = definitions(nw, t);
    for (Map.Entry<String, String> e : o.entrySet()) {
      String other = n.get(e.getKey());
      if (other == null) {
        add(Severity.INFO, "new", "missing-index", "index " + e.getKey() + " of " + t + " is missing on new; start builds it", "");
      } else if (!other.equals(e.getValue())) {
        add(Severity.WARNING, "new", "index-differs", "index " + e.getKey() + " of " + t + " differs: old " + e.getValue()
            + ", new " + other, "start rebuilds it as on old; fix new's schema if that is not what you want");
      }
    }
  }

  private static Map<String, String> definitions(Connection c, TableName t) throws SQLException {
    Map<String, String> out = new LinkedHashMap<>();
    String previous = Sql.string(c, "SHOW search_path");
    Sql.execute(c, "SET search_path = pg_catalog");
    try (PreparedStatement ps = c.prepareStatement("SELECT ic.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        + " JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = ?::regclass ORDER BY 1")) {
      ps.setString(1, t.regclass());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(rs.getString(1), rs.getString(2));
        }
      }
    } finally {
      Sql.bool(c, "SELECT set_config('search_path', ?, false) IS NOT NULL", previous);
    }
    return out;
  }

  private void sequences() throws SQLException {
    List<String[]> sequences = Catalog.sequences(old);
    List<String> onOld = sequences.stream().map(q -> q[0] + "." + q[1]).toList();
    TreeSet<String> onNew = new TreeSet<>(Catalog.sequences(nw).stream().map(q -> q[0] + "." + q[1]).toList());
    long identity = Sql.majorVersionOf(old) < 10 ? 0 : Sql.number(old, "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE a.attidentity <> '' AND NOT a.attisdropped AND "
        + Catalog.SYSTEM_SCHEMA_FILTER);
    if (!onOld.isEmpty()) {
      add(Severity.INFO, "both", "sequences", onOld.size() + " sequence(s) on old (" + identity
          + " behind identity columns): replication does not move them; `cutover-replicator sequences` and the driver's switch do", "");
    }
    for (String[] q : sequences) {
      String s = q[0] + "." + q[1];
      if (!onNew.contains(s)) {
        // An identity column's sequence comes with its column; only the others are created by hand.
        String create = CatalogDdl.createSequence(old, q[0], q[1], Sql.majorVersionOf(nw));
        String remedy = identitySequence(q[0], q[1]) ? "create its column on new (see missing-column)"
            : given.givenBy(create) != null ? "the remedy of " + given.givenBy(create) + " above creates it"
            : runOnNew("run on new: " + String.join("; ", given.notGiven(CatalogDdl.createMissingSequence(old, nw, q[0], q[1], create), "sequence " + s)));
        add(Severity.ERROR, "new", "missing-sequence", "sequence " + s + " is missing on new", remedy);
      }
    }
  }

  /** {@code remedy}, saying it comes after the remedies above when {@link #given} left out what they create. */
  private String runOnNew(String remedy) {
    return given.leftOut() ? remedy.replaceFirst("^run on new: ", "run on new, after the remedies above: ") : remedy;
  }

  private boolean identitySequence(String schema, String name) throws SQLException {
    return Sql.bool(old, "SELECT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = ?::regclass AND d.deptype = 'i'"
        + " AND d.classid = 'pg_class'::regclass)", Sql.qualified(schema, name));
  }

  private void extensions() throws SQLException {
    Map<String, String> onOld = new LinkedHashMap<>();
    try (PreparedStatement ps = old.prepareStatement("SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        onOld.put(rs.getString(1), rs.getString(2));
      }
    }
    for (Map.Entry<String, String> e : onOld.entrySet()) {
      String installed = Sql.string(nw, "SELECT extversion FROM pg_extension WHERE extname = ?", e.getKey());
      if (installed != null) {
        continue;
      }
      boolean available = Sql.bool(nw, "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = ?)", e.getKey());
      add(Severity.ERROR, "new", "missing-extension", "extension " + e.getKey() + " " + e.getValue() + " is installed on old but not on new"
          + (available ? "" : ", and new's server does not offer it"),
          available ? "CREATE EXTENSION " + Sql.ident(e.getKey()) + " on new" : "install the extension's package on new's server, then CREATE EXTENSION");
    }
  }

  private void largeObjects() throws SQLException {
    long n = Sql.number(old, "SELECT count(*) FROM pg_largeobject_metadata");
    if (n > 0) {
      java.util.OptionalInt pgDump = dev.cutover.replicator.schema.SchemaCopy.availablePgDump();
      // pg_dump's switch for large objects is -b/--blobs before 16 and --large-objects from 16.
      String dumpSwitch = pgDump.isPresent() && pgDump.getAsInt() >= 16 ? "--large-objects" : "--blobs";
      add(Severity.WARNING, "old", "large-objects", n + " large object(s) on old: logical replication does not carry them; start"
          + " copies them from its snapshot, but those written on old after start are not on new",
          "run `cutover-replicator sync-large-objects` right before the switch (verify compares them), or move them into bytea"
          + " columns; by hand, for the ones new lacks: pg_dump --data-only " + dumpSwitch
          + " --schema=public --exclude-table-data='*' (only the large objects) piped into psql on new");
    }
  }

  /** The process holding {@code c}'s slot {@code slot} for another migration ({@link SlotHeldByAnother}), or null. */
  private String heldByAnother(Connection c, String slot) throws SQLException {
    return SlotHeldByAnother.holder(c, slot, other(c), Duration.ZERO);
  }

  private Connection other(Connection c) {
    return c == old ? nw : old;
  }

  private static String other(String side) {
    return "old".equals(side) ? "new" : "old";
  }

  private void leftovers() throws SQLException {
    for (Object[] side : new Object[][] {{old, "old"}, {nw, "new"}}) {
      Connection c = (Connection) side[0];
      String label = (String) side[1];
      List<String> ours = new ArrayList<>();
      List<String> others = new ArrayList<>();
      List<String> mine = List.of(names.forward(), names.reverse());
      ReplicationObjects.ourSlots(c).forEach(s -> (mine.contains(s) ? ours : others).add("slot " + s));
      ReplicationObjects.ourPublications(c).forEach(s -> (mine.contains(s) ? ours : others).add("publication " + s));
      ReplicationObjects.ourSubscriptions(c).forEach(s -> (mine.contains(s) ? ours : others).add("subscription " + s));
      for (String slot : mine) {
        String pid = heldByAnother(c, slot);
        if (pid != null) {
          add(Severity.ERROR, label, "slot-of-another-migration", SlotHeldByAnother.problem(c, slot, pid, other(c), other(label)),
              SlotHeldByAnother.remedy(label, names.label(), pid));
          ours.removeAll(List.of("slot " + slot, "publication " + slot));
        }
      }
      if (!others.isEmpty()) {
        add(Severity.INFO, label, "other-migrations", "objects of other migrations (other --name) in this database: "
            + String.join(", ", others) + "; this one leaves them alone", "");
      }
      if (!ours.isEmpty()) {
        add(Severity.WARNING, label, "leftovers", "objects of an earlier run: " + String.join(", ", ours)
            + (ours.stream().anyMatch(s -> s.startsWith("slot")) ? " (a slot keeps WAL until dropped)" : ""),
            "`cutover-replicator status` if it is running, else `cutover-replicator cleanup`");
      }
      if (ControlSchema.installedVersion(c).isPresent()) {
        add(Severity.INFO, label, "control-schema", "the control schema is installed (version " + ControlSchema.installedVersion(c).getAsInt() + ")", "");
      }
    }
    for (String slot : new String[] {names.forwardSlot(), names.reverseSlot()}) {
      for (Object[] side : new Object[][] {{old, "old"}, {nw, "new"}}) {
        Connection c = (Connection) side[0];
        if (ReplicationObjects.slotExists(c, slot) && !ReplicationObjects.ourSlots(c).contains(slot)) {
          add(Severity.ERROR, (String) side[1], "slot-name-taken", "slot " + slot + " exists for another database on this server",
              "choose another --name");
        }
      }
    }
  }
}
