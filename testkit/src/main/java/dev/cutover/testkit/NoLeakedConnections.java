package dev.cutover.testkit;

import dev.cutover.common.Durations;
import dev.cutover.common.Poll;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Fails a test that leaves a physical connection open on the servers of its
 * {@link PostgresPairExtension} pair: a connection a pool, router or statement of the code under
 * test forgot to close would otherwise only show as a server out of connection slots much later.
 *
 * <p>Before each test it notes the client sessions on both servers (one query per server); after
 * it, it waits until every session opened since has ended, up to 10 seconds
 * (closing returns before the server's backend exits), and otherwise fails naming each session's
 * application_name, database, state and last query. The same check runs around the whole class, so
 * that a connection opened in {@code @BeforeAll} must be closed by {@code @AfterAll}. A class whose
 * tests share connections on purpose (a pool opened in {@code @BeforeAll}, used by every test) is
 * annotated {@link PerClass} and is checked only at its end.
 *
 * <p>Register it after {@link PostgresPairExtension}:
 * {@code @ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})}. Servers started
 * during a test are new, so every client session on them counts as opened by the test; that
 * includes a test's {@link PostgresPairExtension.OwnPair}, checked before it is stopped. Sessions
 * that end themselves, a test stopping a server and the server's own processes are never reported.
 */
public final class NoLeakedConnections implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {

  /** Checks a test class only at its end, for classes whose tests share connections opened in {@code @BeforeAll}. */
  @Target(ElementType.TYPE)
  @Retention(RetentionPolicy.RUNTIME)
  @Inherited
  public @interface PerClass {}

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Poll POLL = Poll.every(Duration.ofMillis(2), Duration.ofMillis(100));
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(NoLeakedConnections.class);

  private final Duration wait;

  /** Waits up to 10 s for sessions to end: generous, since an ended session is seen at once. */
  public NoLeakedConnections() {
    this(WAIT);
  }

  private NoLeakedConnections(Duration wait) {
    this.wait = wait;
  }

  /** An instance for {@code @RegisterExtension} that waits up to {@code wait} for sessions to end. */
  public static NoLeakedConnections waitingAtMost(Duration wait) {
    return new NoLeakedConnections(wait);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    remember(context);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    check(context, "test class " + context.getRequiredTestClass().getSimpleName());
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (!perClass(context)) {
      remember(context);
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (!perClass(context)) {
      check(context, "test " + context.getRequiredTestClass().getSimpleName() + "." + context.getRequiredTestMethod().getName());
    }
  }

  private static boolean perClass(ExtensionContext context) {
    return AnnotationSupport.isAnnotated(context.getRequiredTestClass(), PerClass.class);
  }

  /** Notes the sessions open now, in the store of {@code context} (the test's or the class's). */
  private static void remember(ExtensionContext context) {
    Map<PostgresServer, Set<Integer>> baseline = new ConcurrentHashMap<>();
    servers(context).forEach(server -> baseline.put(server, ClientSessions.on(server).keySet()));
    context.getStore(NAMESPACE).put(Baseline.class, new Baseline(baseline));
  }

  private void check(ExtensionContext context, String what) {
    Baseline baseline = context.getStore(NAMESPACE).get(Baseline.class, Baseline.class);
    List<String> leaks = new ArrayList<>();
    Map<PostgresServer, Set<Integer>> reported = new HashMap<>();
    long deadline = Poll.deadline(wait);
    for (PostgresServer server : servers(context)) {
      Set<Integer> before = baseline == null ? Set.of() : baseline.sessions.getOrDefault(server, Set.of());
      List<ClientSessions.Session> opened = new ArrayList<>();
      POLL.until(deadline, () -> {
        opened.clear();
        ClientSessions.on(server).forEach((pid, session) -> {
          if (!before.contains(pid)) {
            opened.add(session);
          }
        });
        return opened.isEmpty();
      });
      if (!opened.isEmpty()) {
        reported.put(server, opened.stream().map(ClientSessions.Session::pid).collect(Collectors.toSet()));
        leaks.add(server + ": " + opened.stream().map(ClientSessions.Session::toString).collect(Collectors.joining("; ")));
      }
    }
    if (!leaks.isEmpty()) {
      forgiveAtClassEnd(context, reported);
      throw new AssertionError("The " + what + " left physical connections open " + Durations.format(wait) + " after it ended on "
          + String.join(", and on ", leaks) + "; close them (try-with-resources, close the pool or DataSource) or,"
          + " if the class's tests share them on purpose, annotate it @NoLeakedConnections.PerClass");
    }
  }

  /** A leak a test reported is not reported again by the check at its class's end. */
  private static void forgiveAtClassEnd(ExtensionContext context, Map<PostgresServer, Set<Integer>> reported) {
    if (context.getTestMethod().isEmpty()) {
      return;
    }
    Baseline classBaseline = context.getParent().orElseThrow().getStore(NAMESPACE).get(Baseline.class, Baseline.class);
    if (classBaseline != null) {
      reported.forEach((server, pids) -> classBaseline.sessions.merge(server, pids, (known, more) -> {
        Set<Integer> both = new HashSet<>(known);
        both.addAll(more);
        return both;
      }));
    }
  }

  private static List<PostgresServer> servers(ExtensionContext context) {
    return PostgresPairExtension.started(context).stream().flatMap(pair -> Stream.of(pair.oldServer(), pair.newServer())).toList();
  }

  /** The sessions each server had when the test or class began, by pid (and, for a class, those its tests reported). */
  private record Baseline(Map<PostgresServer, Set<Integer>> sessions) {}
}
