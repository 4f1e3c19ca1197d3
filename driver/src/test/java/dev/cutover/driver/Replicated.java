package dev.cutover.driver;

import static org.awaitility.Awaitility.await;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.testkit.LogicalReplication;
import dev.cutover.testkit.LogicalReplication.InitialData;
import dev.cutover.testkit.PgBouncer;
import dev.cutover.testkit.PostgresPair;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.postgresql.core.Utils;

/**
 * One application database on both servers of a pair: the same schema on old and new, the
 * control schema on both (unless asked not to), and native logical replication old → new.
 * Each instance has its own database, flag and service name, so test classes never meet.
 */
final class Replicated {
  private static final AtomicInteger IDS = new AtomicInteger();
  static final Duration SYNC = Duration.ofSeconds(30);

  final PostgresPair pair;
  final String database;
  final String flagKey;
  private final String forward;
  private final String reverse;
  private boolean reverseArmed;

  private Replicated(PostgresPair pair, String database, String forward) {
    this.pair = pair;
    this.database = database;
    this.flagKey = database + "-flag";
    this.forward = forward;
    this.reverse = database + "_rev";
  }

  /**
   * Creates the database with {@code schema} (definitions only: its tables are empty) on both sides
   * and starts replicating old → new.
   */
  static Replicated create(PostgresPair pair, String schema, boolean control) throws Exception {
    return create(pair, schema, control, "%s_fwd");
  }

  /**
   * As {@link #create}, the forward subscription named as the replicator names it ({@code
   * cutover_fwd_<database>}), so that the control schema's {@code cutover.way_in} finds it: what a
   * refused probe words its remedy from.
   */
  static Replicated createAsTheReplicator(PostgresPair pair, String schema) throws Exception {
    return create(pair, schema, true, "cutover_fwd_%s");
  }

  private static Replicated create(PostgresPair pair, String schema, boolean control, String forward) throws Exception {
    String database = "app" + IDS.incrementAndGet() + "_" + Long.toString(System.nanoTime() % 100000, 36);
    Replicated r = new Replicated(pair, database, forward.formatted(database));
    pair.oldServer().createDatabase(r.database);
    pair.newServer().createDatabase(r.database);
    for (Connection c : new Connection[] {r.oldDirect(), r.newDirect()}) {
      try (c; Statement s = c.createStatement()) {
        s.execute(schema);
        if (control) {
          ControlSchema.install(c);
        }
      }
    }
    ManualFlag.named(r.flagKey).set(Target.OLD);
    try (Connection o = r.oldDirect(); Connection n = r.newDirect()) {
      LogicalReplication.publishAll(o, r.database + "_pub");
      // The tables are empty: without a copy no table sync worker starts for each (a backend on new,
      // a walsender and a slot on old), and every table is ready at once.
      LogicalReplication.subscribe(n, r.forward, pair.oldServer().libpqConnection(r.database), r.database + "_pub",
          InitialData.SKIP);
      LogicalReplication.awaitSynced(o, n, r.forward, SYNC);
    }
    return r;
  }

  Connection oldDirect() throws SQLException {
    return pair.oldServer().connect(database);
  }

  Connection newDirect() throws SQLException {
    return pair.newServer().connect(database);
  }

  /** The application's URL: old as the main URL, new and the flag as parameters. */
  String url(String... extra) {
    return urlVia(pair.oldServer().jdbcUrl(database), pair.newServer().jdbcUrl(database), extra);
  }

  /**
   * The application's URL reaching the databases through something in between (a pooler, a
   * relay): {@code oldUrl} and {@code newUrl} are jdbc:postgresql: URLs, the old one's parameters
   * kept as PgJDBC's.
   */
  String urlVia(String oldUrl, String newUrl, String... extra) {
    String old = oldUrl.substring("jdbc:postgresql://".length());
    StringBuilder url = new StringBuilder("jdbc:cutover:postgresql://").append(old).append(old.contains("?") ? '&' : '?')
        .append("cutover.new.url=").append(URLEncoder.encode(newUrl, StandardCharsets.UTF_8))
        .append("&cutover.flag.provider=manual&cutover.flag.key=").append(flagKey)
        .append("&cutover.service=").append(database);
    for (String e : extra) {
      url.append('&').append(e);
    }
    return url.toString();
  }

  /** The application's URL with the new database reached through {@code newUrl} (a proxy in front of it). */
  String urlWithNew(String newUrl, String... extra) {
    return url(extra).replace(URLEncoder.encode(pair.newServer().jdbcUrl(database), StandardCharsets.UTF_8),
        URLEncoder.encode(newUrl, StandardCharsets.UTF_8));
  }

  /**
   * The application's URL following a flag source other than the in-JVM manual flag: {@code flag}
   * holds the {@code cutover.flag.*} settings, the provider included (values are URL-encoded here);
   * {@code extra} are further parameters written as key=value. The service is this database, as
   * with {@link #url}.
   */
  String urlWithFlag(Map<String, String> flag, String... extra) {
    StringBuilder url = new StringBuilder("jdbc:cutover:postgresql://")
        .append(pair.oldServer().host()).append(':').append(pair.oldServer().port()).append('/').append(database)
        .append("?cutover.new.url=").append(URLEncoder.encode(pair.newServer().jdbcUrl(database), StandardCharsets.UTF_8))
        .append("&cutover.service=").append(database);
    new TreeMap<>(flag).forEach((key, value) ->
        url.append('&').append(key).append('=').append(URLEncoder.encode(value, StandardCharsets.UTF_8)));
    for (String e : extra) {
      url.append('&').append(e);
    }
    return url.toString();
  }

  /** PgBouncer in transaction mode in front of both databases, as {@code app_old} and {@code app_new}. */
  PgBouncer pgBouncer() throws java.io.IOException {
    return PgBouncer.start(Map.of(
        "app_old", new PgBouncer.Backend(pair.oldServer(), database),
        "app_new", new PgBouncer.Backend(pair.newServer(), database)));
  }

  /**
   * The application's URL through {@code bouncer} (without server-side prepared statements, which
   * PgBouncer 1.18 cannot pool).
   */
  String urlThrough(PgBouncer bouncer, String... extra) {
    return urlVia(bouncer.jdbcUrl("app_old") + "?prepareThreshold=0", bouncer.jdbcUrl("app_new") + "?prepareThreshold=0",
        extra);
  }

  /** The settings that send the switch's own sessions to the databases themselves. */
  String[] directUrls(String... extra) {
    String[] all = java.util.Arrays.copyOf(extra, extra.length + 2);
    all[extra.length] = "cutover.old.direct-url=" + URLEncoder.encode(pair.oldServer().jdbcUrl(database), StandardCharsets.UTF_8);
    all[extra.length + 1] = "cutover.new.direct-url=" + URLEncoder.encode(pair.newServer().jdbcUrl(database), StandardCharsets.UTF_8);
    return all;
  }

  /** The slot and subscription name of the way back ({@link #prepareReverse}). */
  String reverseSlot() {
    return reverse;
  }

  String user() {
    return pair.oldServer().user();
  }

  void flip(Target target) {
    ManualFlag.named(flagKey).set(target);
  }

  /** Waits until everything committed on the source side so far has been applied on the other. */
  void awaitReplicated() throws Exception {
    if (reverseArmed) {
      try (Connection o = oldDirect(); Connection n = newDirect()) {
        LogicalReplication.awaitSynced(n, o, reverse, SYNC);
      }
    } else {
      try (Connection o = oldDirect(); Connection n = newDirect()) {
        LogicalReplication.awaitSynced(o, n, forward, SYNC);
      }
    }
  }

  /** The instance that leads a switch and waits for its barrier, as old's control schema shows it (awaited up to 20 s). */
  String awaitLeaderAtTheBarrier(Connection watch) {
    return await().atMost(Duration.ofSeconds(20)).until(() -> OperatorControl.read(watch, database).instances().stream()
        .filter(i -> "waiting for the barrier".equals(i.phase())).map(OperatorControl.InstanceView::instance).findFirst()
        .orElse(null), java.util.Objects::nonNull);
  }

  /**
   * Installs the control schema on both databases after the fact, as the replicator's start does
   * for an application already running, and lets replication pick up its barrier table.
   */
  void installControlSchema() throws Exception {
    for (Connection c : new Connection[] {oldDirect(), newDirect()}) {
      try (c) {
        ControlSchema.install(c);
      }
    }
    try (Connection n = newDirect(); Statement s = n.createStatement()) {
      s.execute("ALTER SUBSCRIPTION " + Utils.escapeIdentifier(null, forward) + " REFRESH PUBLICATION");
    }
    awaitReplicated();
  }

  void stopForward() throws SQLException {
    try (Connection n = newDirect()) {
      LogicalReplication.disable(n, forward);
    }
  }

  void dropForward() throws Exception {
    try (Connection o = oldDirect(); Connection n = newDirect()) {
      LogicalReplication.drop(o, n, forward, SYNC);
    }
  }

  /** Lets the forward subscription see tables published since it was created (the control schema's barrier). */
  void refreshForward() throws SQLException {
    try (Connection n = newDirect(); Statement s = n.createStatement()) {
      s.execute("ALTER SUBSCRIPTION " + Utils.escapeIdentifier(null, forward) + " REFRESH PUBLICATION WITH (copy_data = false)");
    }
  }

  String forward() {
    return forward;
  }

  /** Points the forward subscription's connection at old's {@code user}: a role old lacks or refuses stops its apply worker. */
  void forwardLogsInAs(String user) throws SQLException {
    String conninfo = pair.oldServer().libpqConnection(database) + " user=" + user;
    try (Connection n = newDirect(); Statement s = n.createStatement()) {
      s.execute("ALTER SUBSCRIPTION " + Utils.escapeIdentifier(null, forward) + " CONNECTION '" + conninfo.replace("'", "''") + "'");
    }
  }

  void startForward() throws SQLException {
    try (Connection n = newDirect(); Statement s = n.createStatement()) {
      s.execute("ALTER SUBSCRIPTION " + Utils.escapeIdentifier(null, forward) + " ENABLE");
    }
  }

  /**
   * Prepares the way back before the first flip: a publication on new, and a request that the
   * switch create the reverse slot at the fence, before release, so that it starts exactly where
   * new begins to take writes. Old (12) cannot filter by origin, so reverse replication cannot
   * run beside forward replication; this is how a later subscription still misses nothing.
   */
  void prepareReverse() throws SQLException {
    try (Connection n = newDirect(); Statement s = n.createStatement()) {
      LogicalReplication.publishAll(n, database + "_rpub");
      s.execute("SELECT cutover.request_slot_at_switch('" + reverse + "')");
    }
  }

  /**
   * Arms new → old replication after the switch, from the slot the switch created: the forward
   * subscription is dropped first (old would otherwise loop rows back), then old subscribes
   * without copying, starting where new began to take writes.
   */
  void armReverse() throws Exception {
    dropForward();
    try (Connection o = oldDirect(); Connection n = newDirect(); Statement s = o.createStatement()) {
      s.execute("CREATE SUBSCRIPTION " + Utils.escapeIdentifier(null, reverse) + " CONNECTION "
          + literal(pair.newServer().libpqConnection(database)) + " PUBLICATION "
          + Utils.escapeIdentifier(null, database + "_rpub") + " WITH (create_slot = false, slot_name = "
          + literal(reverse) + ", copy_data = false)");
      LogicalReplication.awaitSynced(n, o, reverse, SYNC);
    }
    reverseArmed = true;
  }

  static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  private static String literal(String value) throws SQLException {
    return Utils.escapeLiteral(new StringBuilder("'"), value, true).append('\'').toString();
  }
}
