package dev.cutover.testkit;

import dev.cutover.common.Poll;
import dev.cutover.common.Quoting;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * After each test, drops the subscriptions that appeared on the servers of the class's
 * {@link PostgresPairExtension} pair during it, and their slots on the other server of the pair;
 * those that were there before (set up in {@code @BeforeAll} for every test) stay.
 *
 * <p>Why: a walsender decodes the WAL of every database on its server, not only its slot's. A class
 * that left each test's subscription running had, by its last tests, a dozen walsenders on old
 * decoding every write of the test at hand (and spilling its large transactions to disk a dozen
 * times), and as many apply workers on new: {@code perf} put most of the class's CPU in them. A slot
 * no walsender holds costs no CPU, so other slots (a relay's, held from the test's JVM) are left
 * to the test.
 *
 * <p>A subscription is dropped without its slot ({@code slot_name = NONE}), whose drop would wait
 * for the walsender to let go; the slot and the subscription's table-sync slots are then dropped
 * once released, waited for up to 10 s. A slot still held then is left, not fought over.
 *
 * <p>Register it after {@link PostgresPairExtension} and before {@link NoLeakedConnections}, whose
 * check then runs before this (after-each callbacks run in reverse order) and does not see its
 * connections.
 */
public final class ReplicationTeardown implements BeforeEachCallback, AfterEachCallback {

  private static final Duration RELEASE_WAIT = Duration.ofSeconds(10);
  private static final Poll POLL = Poll.every(Duration.ofMillis(5), Duration.ofMillis(100));
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(ReplicationTeardown.class);

  /** A subscription on a server: its database, name and slot (null for none). */
  private record Subscription(long oid, String database, String name, String slot) {}

  /** The oids of the subscriptions each server had before the test. */
  private record Before(Map<PostgresServer, Set<Long>> subscriptions) {}

  @Override
  public void beforeEach(ExtensionContext context) throws SQLException {
    Map<PostgresServer, Set<Long>> before = new HashMap<>();
    for (PostgresPair pair : PostgresPairExtension.started(context)) {
      for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
        before.put(server, subscriptions(server).stream().map(Subscription::oid).collect(Collectors.toSet()));
      }
    }
    context.getStore(NAMESPACE).put(Before.class, new Before(before));
  }

  @Override
  public void afterEach(ExtensionContext context) throws SQLException {
    Before before = context.getStore(NAMESPACE).getOrDefault(Before.class, Before.class, new Before(Map.of()));
    for (PostgresPair pair : PostgresPairExtension.started(context)) {
      tearDown(pair.oldServer(), pair.newServer(), before.subscriptions().getOrDefault(pair.oldServer(), Set.of()));
      tearDown(pair.newServer(), pair.oldServer(), before.subscriptions().getOrDefault(pair.newServer(), Set.of()));
    }
  }

  /** Drops the subscriptions on {@code server} but {@code kept}, and their slots on {@code publisher}. */
  private static void tearDown(PostgresServer server, PostgresServer publisher, Set<Long> kept) throws SQLException {
    List<Subscription> dropped = new ArrayList<>();
    for (Subscription subscription : subscriptions(server)) {
      if (!kept.contains(subscription.oid())) {
        drop(server, subscription);
        dropped.add(subscription);
      }
    }
    if (!dropped.isEmpty()) {
      dropSlots(publisher, dropped, Poll.deadline(RELEASE_WAIT));
    }
  }

  /** {@code server}'s subscriptions; none on 9.6, and none on a server the test stopped. */
  private static List<Subscription> subscriptions(PostgresServer server) throws SQLException {
    List<Subscription> subscriptions = new ArrayList<>();
    Connection connection = server.majorVersion() >= 10 ? connectIfRunning(server) : null;
    if (connection != null) {
      try (Connection c = connection; Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
          "SELECT s.oid, d.datname, s.subname, s.subslotname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid")) {
        while (rs.next()) {
          subscriptions.add(new Subscription(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4)));
        }
      }
    }
    return subscriptions;
  }

  /** A connection to {@code server}, or null when it takes none: a server a test stopped runs no walsender. */
  private static Connection connectIfRunning(PostgresServer server) {
    try {
      return server.connect();
    } catch (SQLException refused) {
      return null;
    }
  }

  private static void drop(PostgresServer server, Subscription subscription) throws SQLException {
    String name = Quoting.identifier(subscription.name());
    try (Connection c = server.connect(subscription.database()); Statement s = c.createStatement()) {
      // A test may have made its database read-only by default.
      s.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE");
      s.execute("ALTER SUBSCRIPTION " + name + " DISABLE");
      s.execute("ALTER SUBSCRIPTION " + name + " SET (slot_name = NONE)");
      s.execute("DROP SUBSCRIPTION " + name);
    }
  }

  /**
   * Drops the slots of {@code dropped} on {@code publisher} (each subscription's own and its
   * table-sync slots, {@code pg_<oid>_sync_…} on 14+) as they are released, until none is left or
   * {@code deadline} passes.
   */
  private static void dropSlots(PostgresServer publisher, List<Subscription> dropped, long deadline) throws SQLException {
    String where = " FROM pg_replication_slots WHERE slot_type = 'logical' AND (slot_name = ANY (?) OR slot_name LIKE ANY (?))";
    Connection connection = connectIfRunning(publisher);
    if (connection == null) {
      return;
    }
    try (Connection c = connection;
        PreparedStatement drop = c.prepareStatement("SELECT pg_drop_replication_slot(slot_name)" + where + " AND NOT active");
        PreparedStatement left = c.prepareStatement("SELECT count(*)" + where)) {
      Object[] names = dropped.stream().map(Subscription::slot).filter(Objects::nonNull).toArray();
      Object[] syncSlots = dropped.stream().map(s -> "pg\\_" + s.oid() + "\\_sync\\_%").toArray();
      for (PreparedStatement p : List.of(drop, left)) {
        p.setArray(1, c.createArrayOf("text", names));
        p.setArray(2, c.createArrayOf("text", syncSlots));
      }
      POLL.until(deadline, () -> {
        // A slot a walsender took since it was seen released makes the drop fail: asked again.
        try {
          drop.execute();
        } catch (SQLException e) {
          if (!"55006".equals(e.getSQLState())) {
            throw e;
          }
        }
        try (ResultSet rs = left.executeQuery()) {
          rs.next();
          return rs.getLong(1) == 0;
        }
      });
    }
  }
}
