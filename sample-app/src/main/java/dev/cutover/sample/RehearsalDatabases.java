package dev.cutover.sample;

import dev.cutover.driver.CutoverDataSource;
import dev.cutover.common.Secrets;
import dev.cutover.flags.Target;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.PostgresPair;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * The old and new databases a rehearsal moves the booking service between, and how each party
 * reaches them: the application through a {@code jdbc:cutover:} URL, the rehearsal and the
 * replicator directly.
 *
 * <p>Either two embedded servers that the rehearsal starts, creates database {@value
 * #EMBEDDED_DATABASE} on and throws away, or two databases it is given. Given databases must be
 * free of the rehearsal's tables and of any cutover (the control schema, {@code cutover_*}
 * publications, subscriptions and slots): those are refused whatever the options, because the
 * rehearsal removes such objects at the end and must only remove its own. Other tables are refused
 * too unless {@code --allow-existing}, since the replicator copies, fences and verifies every
 * table of the database. At the end the rehearsal drops only the tables it created.
 */
final class RehearsalDatabases implements AutoCloseable {
  static final String SERVICE = "booking";
  static final String EMBEDDED_DATABASE = "booking";
  private static final int LISTED = 5;
  /** Relations outside the system schemas and the control schema that no extension owns. */
  private static final String OTHER_RELATIONS = "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c"
      + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
      + " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover') AND n.nspname NOT LIKE 'pg\\_%'"
      + " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
      + " AND d.deptype = 'e') ORDER BY 1";

  private final PostgresPair pair;
  private final Map<Target, RehearsalPlan.Login> logins;
  private final Map<Target, String> descriptions;
  private final Set<Target> tablesCreated = EnumSet.noneOf(Target.class);

  private RehearsalDatabases(PostgresPair pair, Map<Target, RehearsalPlan.Login> logins, Map<Target, String> descriptions) {
    this.pair = pair;
    this.logins = logins;
    this.descriptions = descriptions;
  }

  /** Starts two embedded servers and creates the rehearsal's database on each. */
  static RehearsalDatabases start(RehearsalPlan.Embedded versions) throws SQLException {
    PostgresPair pair = PostgresPair.start(versions.oldVersion(), versions.newVersion());
    try {
      Map<Target, RehearsalPlan.Login> logins = new EnumMap<>(Target.class);
      Map<Target, String> descriptions = new EnumMap<>(Target.class);
      for (Target side : Target.values()) {
        var server = side == Target.OLD ? pair.oldServer() : pair.newServer();
        server.createDatabase(EMBEDDED_DATABASE);
        logins.put(side, new RehearsalPlan.Login(server.jdbcUrl(EMBEDDED_DATABASE), server.user(), server.password()));
        descriptions.put(side, server.toString());
      }
      return new RehearsalDatabases(pair, logins, descriptions);
    } catch (SQLException | RuntimeException e) {
      pair.close();
      throw e;
    }
  }

  /**
   * Connects to two given databases and checks that the rehearsal may use them; changes nothing.
   *
   * @throws RehearsalException when a database cannot be reached, both URLs name the same one, or
   *     one holds what the rehearsal must not touch (see the class comment)
   */
  static RehearsalDatabases given(RehearsalPlan.Given given) throws RehearsalException {
    Map<Target, RehearsalPlan.Login> logins = new EnumMap<>(Target.class);
    logins.put(Target.OLD, given.old());
    logins.put(Target.NEW, given.nw());
    RehearsalDatabases databases = new RehearsalDatabases(null, logins, new EnumMap<>(Target.class));
    Map<Target, String> identities = new EnumMap<>(Target.class);
    for (Target side : Target.values()) {
      try (Connection c = databases.direct(side)) {
        databases.descriptions.put(side, "PostgreSQL " + Sql.string(c, "SHOW server_version") + " at "
            + Secrets.maskUrl(logins.get(side).url()) + " as " + Sql.string(c, "SELECT current_user"));
        identities.put(side, identity(c));
        refuseIfUnfit(c, side, given.allowExisting());
      } catch (SQLException e) {
        throw new RehearsalException(e.getMessage(), e);
      }
    }
    if (identities.get(Target.OLD) != null && identities.get(Target.OLD).equals(identities.get(Target.NEW))) {
      throw new RehearsalException("--old-url and --new-url name the same database (" + identities.get(Target.OLD)
          + "): a cutover needs two", null);
    }
    return databases;
  }

  /** The server's system identifier and the database's name, or null when the role may not read them. */
  private static String identity(Connection c) {
    try {
      return Sql.string(c, "SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' || current_database()");
    } catch (SQLException e) {
      return null;
    }
  }

  private static void refuseIfUnfit(Connection c, Target side, boolean allowExisting) throws SQLException, RehearsalException {
    String name = side.value() + " database " + Sql.string(c, "SELECT current_database()");
    List<String> cutover = new ArrayList<>();
    if (Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'cutover')")) {
      cutover.add("schema cutover");
    }
    ReplicationObjects.ourPublications(c).forEach(p -> cutover.add("publication " + p));
    ReplicationObjects.ourSubscriptions(c).forEach(s -> cutover.add("subscription " + s));
    ReplicationObjects.ourSlots(c).forEach(s -> cutover.add("replication slot " + s));
    if (!cutover.isEmpty()) {
      throw new RehearsalException("the " + name + " already holds a cutover (" + String.join(", ", cutover)
          + "): the rehearsal removes such objects at the end, so it never starts beside ones it did not create;"
          + " if an interrupted rehearsal left them, remove them with `cutover-replicator cleanup` and the same URLs", null);
    }
    List<String> ours = new ArrayList<>();
    for (String table : BookingSchema.TABLES) {
      if (Sql.string(c, "SELECT to_regclass(?)::text", table) != null) {
        ours.add(table);
      }
    }
    if (!ours.isEmpty()) {
      throw new RehearsalException("the " + name + " already has table(s) " + String.join(", ", ours)
          + ", which the rehearsal creates and drops itself; drop them (an interrupted rehearsal left them) or use"
          + " another database", null);
    }
    List<String> others = Sql.strings(c, OTHER_RELATIONS);
    if (!others.isEmpty() && !allowExisting) {
      throw new RehearsalException("the " + name + " is not empty: it holds " + others.size() + " relation(s) ("
          + String.join(", ", others.subList(0, Math.min(LISTED, others.size()))) + (others.size() > LISTED ? ", ..." : "")
          + "); the replicator copies, fences and verifies every table of a database, so use an empty one, or give"
          + " --allow-existing if nothing else writes there during the rehearsal", null);
    }
  }

  /** Whether the rehearsal started these servers (and so may throw everything on them away). */
  boolean embedded() {
    return pair != null;
  }

  /** What the report says about one side: server and version; for a given database its masked URL and role. */
  String describe(Target side) {
    return descriptions.get(side);
  }

  /** How the replicator reaches one side. */
  Endpoint endpoint(Target side) {
    RehearsalPlan.Login login = logins.get(side);
    return Endpoint.of(side == Target.OLD ? Side.OLD : Side.NEW, login.url(), login.user(), login.password());
  }

  /**
   * A plain PgJDBC connection to one side, for setup and verification, with the settings the
   * application's sessions get there: the replicator's own are reset (among them pg_catalog first
   * in search_path, where a table created without its schema would be aimed).
   */
  Connection direct(Target side) throws SQLException {
    Connection c;
    try {
      c = endpoint(side).connect();
    } catch (ReplicatorException e) {
      throw new SQLException(e.oneLine(), "08001", e);
    }
    try (Statement s = c.createStatement()) {
      s.execute("RESET ALL");
    } catch (SQLException e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** Creates the booking tables on both sides, each side in one transaction. */
  void createTables() throws SQLException {
    for (Target side : Target.values()) {
      try (Connection c = direct(side)) {
        BookingSchema.create(c);
      }
      tablesCreated.add(side);
    }
  }

  /**
   * Drops the booking tables from given databases, on each side where this rehearsal created them,
   * and says what it dropped; embedded databases go with their servers.
   */
  List<String> dropCreatedTables() {
    List<String> done = new ArrayList<>();
    if (embedded()) {
      return done;
    }
    for (Target side : Target.values()) {
      if (!tablesCreated.contains(side)) {
        continue;
      }
      try (Connection c = direct(side)) {
        BookingSchema.drop(c);
        tablesCreated.remove(side);
        done.add(side.value() + ": dropped tables " + String.join(", ", BookingSchema.TABLES));
      } catch (SQLException e) {
        done.add(side.value() + ": could not drop tables " + String.join(", ", BookingSchema.TABLES) + ": " + e.getMessage());
      }
    }
    return done;
  }

  /**
   * The booking service's data source for one instance: old's {@code jdbc:cutover:} URL with the
   * new database, the service, the instance and the flag's plain settings as parameters (the
   * instance id gives each instance its own driver router and switch), and every secret (passwords,
   * an SDK key) as JDBC properties, never in the URL.
   */
  CutoverDataSource dataSource(String instance, Map<String, String> flagSettings) {
    RehearsalPlan.Login old = logins.get(Target.OLD);
    RehearsalPlan.Login nw = logins.get(Target.NEW);
    Map<String, String> parameters = new TreeMap<>();
    Properties secrets = new Properties();
    parameters.put("cutover.new.url", nw.url());
    parameters.put("cutover.service", SERVICE);
    parameters.put("cutover.instance", instance);
    flagSettings.forEach((key, value) -> {
      if (Secrets.isSecret(key)) {
        secrets.setProperty(key, value);
      } else {
        parameters.put(key, value);
      }
    });
    StringBuilder url = new StringBuilder("jdbc:cutover:").append(old.url().substring("jdbc:".length()));
    char separator = url.indexOf("?") < 0 ? '?' : '&';
    for (Map.Entry<String, String> p : parameters.entrySet()) {
      url.append(separator).append(p.getKey()).append('=').append(URLEncoder.encode(p.getValue(), StandardCharsets.UTF_8));
      separator = '&';
    }
    CutoverDataSource dataSource = new CutoverDataSource();
    dataSource.setUrl(url.toString());
    if (old.user() != null) {
      dataSource.setUser(old.user());
    }
    if (old.password() != null) {
      dataSource.setPassword(old.password());
    }
    if (nw.user() != null) {
      dataSource.setNewUser(nw.user());
    }
    if (nw.password() != null) {
      dataSource.setNewPassword(nw.password());
    }
    dataSource.setCutoverProperties(secrets);
    return dataSource;
  }

  /** Stops embedded servers (deleting their data); given databases are only let go. */
  @Override
  public void close() {
    if (pair != null) {
      pair.close();
    }
  }
}
