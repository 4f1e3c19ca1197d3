package dev.cutover.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.spring.boot.app.DocumentedApplication;
import dev.cutover.testkit.LogicalReplication;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.flywaydb.core.Flyway;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A Spring Boot application configured by a snippet taken from the documentation itself, on the
 * embedded servers of a pair: only the placeholder hosts are replaced. Around it, what an operator
 * does: the same migrations on new (as the replicator's {@code schema} would), the control schema
 * on both, replication old to new. Then writes go on while the flag flips.
 */
final class DocumentedApp implements AutoCloseable {
  static final String DATABASE = "app";
  private static final String SERVICE = "booking";

  private final PostgresPair pair;
  private final ConfigurableApplicationContext context;

  private DocumentedApp(PostgresPair pair, ConfigurableApplicationContext context) {
    this.pair = pair;
    this.context = context;
  }

  /**
   * Starts the application with the snippet of {@code page} that contains {@code marker}, its
   * placeholder hosts pointed at the pair and {@code replacing}'s placeholders (keys) replaced by
   * their values, plus {@code environment}: what a deployment adds (secrets, endpoints, the port,
   * Actuator exposure).
   */
  static DocumentedApp start(PostgresPair pair, String page, String marker, Map<String, String> replacing,
      String... environment) throws Exception {
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      server.createDatabase(DATABASE);
      try (Connection c = server.connect(); Statement s = c.createStatement()) {
        // The documented role; a superuser here so that one role owns the tables on both sides.
        s.execute("CREATE ROLE app LOGIN SUPERUSER PASSWORD 'app-secret'");
      }
      try (Connection c = server.connect(DATABASE)) {
        ControlSchema.install(c);
      }
    }
    String snippet = Docs.snippet(page, marker)
        .replace("old-host:5432", pair.oldServer().host() + ":" + pair.oldServer().port())
        .replace("new-host:5432", pair.newServer().host() + ":" + pair.newServer().port());
    for (Map.Entry<String, String> r : replacing.entrySet()) {
      assertThat(snippet).as("%s's snippet", page).contains(r.getKey());
      snippet = snippet.replace(r.getKey(), r.getValue());
    }
    Path config = Files.createTempFile("documented-", ".properties");
    Files.writeString(config, snippet);
    List<String> properties = new ArrayList<>(List.of(
        "spring.config.additional-location=file:" + config,
        "APP_DB_PASSWORD=app-secret",
        "server.port=0",
        "management.endpoints.web.exposure.include=health,metrics",
        "management.endpoint.health.show-details=always",
        // Liquibase is on this module's test class path (the starter supports it); these
        // applications migrate with Flyway.
        "spring.liquibase.enabled=false"));
    properties.addAll(List.of(environment));
    ConfigurableApplicationContext context = new SpringApplicationBuilder(DocumentedApplication.class)
        .properties(properties.toArray(String[]::new))
        .run();
    DocumentedApp app = new DocumentedApp(pair, context);
    app.replicate();
    return app;
  }

  /** New gets the same migrations, both sides the fence on the new table, and old replicates to new. */
  private void replicate() throws Exception {
    Flyway.configure().dataSource(pair.newServer().jdbcUrl(DATABASE), pair.newServer().user(), pair.newServer().password())
        .load().migrate();
    try (Connection o = pair.oldServer().connect(DATABASE); Connection n = pair.newServer().connect(DATABASE)) {
      ControlSchema.install(o);
      ControlSchema.install(n);
      LogicalReplication.publishAll(o, "app_pub");
      LogicalReplication.subscribe(n, "app_sub", pair.oldServer().libpqConnection(DATABASE), "app_pub",
          LogicalReplication.InitialData.SKIP);
      LogicalReplication.awaitSynced(o, n, "app_sub", Duration.ofSeconds(30));
    }
  }

  /** Every booking the application acknowledged while writing, and every failure. */
  record Writes(List<Integer> acknowledged, List<String> failures) {}

  /**
   * Writes bookings through the application's JdbcTemplate while {@code flip} moves the flag, until
   * the switch has ended and a few more writes went through; returns what happened and the event.
   */
  SwitchEvent writeThroughFlip(Runnable flip, List<Writes> out) throws Exception {
    JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
    ConcurrentLinkedQueue<Integer> acknowledged = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger seq = new AtomicInteger();
    Thread writer = new Thread(() -> {
      while (!stop.get()) {
        int n = seq.incrementAndGet();
        try {
          jdbc.update("INSERT INTO booking (guest, seq) VALUES (?, ?)", "guest-" + n, n);
          acknowledged.add(n);
        } catch (RuntimeException e) {
          failures.add(n + ": " + e);
        }
      }
    }, "documented-app-writer");
    SwitchEvent event;
    try (SwitchEventQueue switches = new SwitchEventQueue(SERVICE)) {
      writer.start();
      awaitWrites(acknowledged, 20);
      flip.run();
      event = switches.next(Duration.ofSeconds(60));
      int after = acknowledged.size();
      awaitWrites(acknowledged, after + 20);
    } finally {
      stop.set(true);
      writer.join(30_000);
    }
    out.add(new Writes(List.copyOf(acknowledged), List.copyOf(failures)));
    assertThat(event).as("a switch of %s ended within 60 s", SERVICE).isNotNull();
    return event;
  }

  private static void awaitWrites(ConcurrentLinkedQueue<Integer> acknowledged, int count) {
    await().atMost(Duration.ofSeconds(30)).until(() -> acknowledged.size() >= count);
  }

  /** The versions Flyway recorded as applied on old, where the application started. */
  List<String> migratedOnOld() throws Exception {
    List<String> versions = new ArrayList<>();
    try (Connection c = pair.oldServer().connect(DATABASE); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT version FROM flyway_schema_history WHERE success ORDER BY installed_rank")) {
      while (rs.next()) {
        versions.add(rs.getString(1));
      }
    }
    return versions;
  }

  /** The bookings on new, by seq. */
  List<Integer> bookingsOnNew() throws Exception {
    List<Integer> seqs = new ArrayList<>();
    try (Connection c = pair.newServer().connect(DATABASE); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT seq FROM booking ORDER BY seq")) {
      while (rs.next()) {
        seqs.add(rs.getInt(1));
      }
    }
    return seqs;
  }

  /** GET on the application's own port. */
  String get(String path) throws IOException, InterruptedException {
    int port = context.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
    HttpResponse<String> response = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as("GET %s: %s", path, response.body()).isEqualTo(200);
    return response.body();
  }

  MeterRegistry meters() {
    return context.getBean(MeterRegistry.class);
  }

  ConfigurableApplicationContext context() {
    return context;
  }

  @Override
  public void close() {
    context.close();
  }
}
