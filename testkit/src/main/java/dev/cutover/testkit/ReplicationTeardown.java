package dev.cutover.testkit;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;
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
 * <p>Each subscription goes as {@link LogicalReplication#drop} drops one: without its slot
 * ({@code slot_name = NONE}), then the slot and its table-sync slots once released, waited for up
 * to 10 s. A slot still held then is left, not fought over; none is dropped on a server the test
 * stopped.
 *
 * <p>Register it after {@link PostgresPairExtension} and before {@link NoLeakedConnections}, whose
 * check then runs before this (after-each callbacks run in reverse order) and does not see its
 * connections.
 */
public final class ReplicationTeardown implements BeforeEachCallback, AfterEachCallback {

  private static final Duration RELEASE_WAIT = Duration.ofSeconds(10);
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(ReplicationTeardown.class);

  /** A subscription on a server: its oid, database and name. */
  private record Subscription(long oid, String database, String name) {}

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
  public void afterEach(ExtensionContext context) throws Exception {
    Before before = context.getStore(NAMESPACE).getOrDefault(Before.class, Before.class, new Before(Map.of()));
    for (PostgresPair pair : PostgresPairExtension.started(context)) {
      tearDown(pair.oldServer(), pair.newServer(), before.subscriptions().getOrDefault(pair.oldServer(), Set.of()));
      tearDown(pair.newServer(), pair.oldServer(), before.subscriptions().getOrDefault(pair.newServer(), Set.of()));
    }
  }

  /**
   * Drops the subscriptions on {@code server} but {@code kept}, each from its own database, with
   * their slots on {@code publisher} as {@link LogicalReplication#drop} drops them; with no slot
   * dropped when the publisher is not running, and a slot still held after 10 s left.
   */
  private static void tearDown(PostgresServer server, PostgresServer publisher, Set<Long> kept) throws Exception {
    List<Subscription> dropped = subscriptions(server).stream().filter(s -> !kept.contains(s.oid())).toList();
    if (dropped.isEmpty()) {
      return;
    }
    try (Connection p = connectIfRunning(publisher)) {
      for (Subscription subscription : dropped) {
        try (Connection c = server.connect(subscription.database()); Statement s = c.createStatement()) {
          // A test may have made its database read-only by default.
          s.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE");
          if (p == null) {
            LogicalReplication.dropLeavingSlots(c, subscription.name());
          } else {
            LogicalReplication.drop(p, c, subscription.name(), RELEASE_WAIT);
          }
        } catch (TimeoutException held) {
          // Held by a stream the test left open: not fought over.
        }
      }
    }
  }

  /** {@code server}'s subscriptions; none on 9.6, and none on a server the test stopped. */
  private static List<Subscription> subscriptions(PostgresServer server) throws SQLException {
    List<Subscription> subscriptions = new ArrayList<>();
    Connection connection = server.majorVersion() >= 10 ? connectIfRunning(server) : null;
    if (connection != null) {
      try (Connection c = connection; Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
          "SELECT s.oid, d.datname, s.subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid")) {
        while (rs.next()) {
          subscriptions.add(new Subscription(rs.getLong(1), rs.getString(2), rs.getString(3)));
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
}
