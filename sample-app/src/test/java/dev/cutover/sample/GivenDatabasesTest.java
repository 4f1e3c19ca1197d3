package dev.cutover.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.common.Queries;
import dev.cutover.driver.CutoverDataSource;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import picocli.CommandLine;

/**
 * The rehearsal on databases it is given ({@code --old-url}, {@code --new-url}) rather than
 * embedded servers it starts: here two extra databases on the test's servers stand in for real
 * ones. Credentials come from the environment and never show; a database that is not empty is
 * refused and left untouched; with {@code --allow-existing} a table of others takes part and stays.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class GivenDatabasesTest {
  private static final String OLD_PASSWORD = "old-pw-never-shown";
  private static final String NEW_PASSWORD = "new-pw-never-shown";

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int rehearse(PostgresServer oldServer, String oldDb, PostgresServer newServer, String newDb, String... more) {
    List<String> args = new ArrayList<>(List.of("--old-url", oldServer.jdbcUrl(oldDb), "--new-url", newServer.jdbcUrl(newDb)));
    args.addAll(List.of(more));
    // The servers trust local connections, so the passwords are sent nowhere; they must not show anywhere either.
    Map<String, String> env = Map.of("CUTOVER_REPLICATOR_OLD_USER", oldServer.user(), "CUTOVER_REPLICATOR_NEW_USER", newServer.user(),
        "CUTOVER_REPLICATOR_OLD_PASSWORD", OLD_PASSWORD, "CUTOVER_REPLICATOR_NEW_PASSWORD", NEW_PASSWORD);
    return new CommandLine(new RehearseCommand(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), env)).execute(args.toArray(String[]::new));
  }

  private String printed() {
    return out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void run_givenDatabasesWithAnotherTable_passesAndLeavesOnlyWhatWasThere(PostgresPair pair) throws Exception {
    PostgresServer oldServer = pair.oldServer();
    PostgresServer newServer = pair.newServer();
    oldServer.createDatabase("given_old");
    newServer.createDatabase("given_new");
    try (Connection o = oldServer.connect("given_old"); Connection n = newServer.connect("given_new")) {
      for (Connection c : List.of(o, n)) {
        execute(c, "CREATE TABLE guestbook (id int PRIMARY KEY, note text NOT NULL)");
      }
      execute(o, "INSERT INTO guestbook SELECT g, 'note ' || g FROM generate_series(1, 25) g");
    }
    Path reportDir = Path.of("target", "rehearsal-given");

    int exit = rehearse(oldServer, "given_old", newServer, "given_new", "--allow-existing", "--instances", "2",
        "--pool-size", "2", "--rate", "100", "--houses", "20", "--users", "50", "--duration-per-phase", "3s",
        "--report-dir", reportDir.toString());

    System.out.println(printed());
    assertThat(exit).as("exit code").isEqualTo(RehearseCommand.PASSED);
    Path latest = reportDir.resolve(ReportFiles.LATEST);
    String report = Files.readString(latest.resolve(ReportFiles.JSON));
    assertThat(report).startsWith("{\n  \"passed\": true").contains("\"databases\": \"given (--old-url, --new-url)\"",
        "\"table\": \"public.guestbook\"");
    assertThat(out.toString(StandardCharsets.UTF_8)).containsPattern("public\\.guestbook +old +25 rows, new +25 rows  same")
        .contains("rows that differ between old and new (replicator verify)");
    for (String text : List.of(printed(), report, Files.readString(latest.resolve(ReportFiles.HTML)))) {
      assertThat(text).doesNotContain(OLD_PASSWORD, NEW_PASSWORD);
    }
    try (Connection o = oldServer.connect("given_old"); Connection n = newServer.connect("given_new")) {
      for (Connection c : List.of(o, n)) {
        assertThat(strings(c, "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"))
            .as("only the table that was there before").containsExactly("guestbook");
        assertThat(strings(c, "SELECT nspname FROM pg_namespace WHERE nspname = 'cutover'")).isEmpty();
        assertThat(strings(c, "SELECT pubname FROM pg_publication")).isEmpty();
        assertThat(strings(c, "SELECT subname FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database"
            + " WHERE datname = current_database())")).isEmpty();
        assertThat(strings(c, "SELECT slot_name FROM pg_replication_slots WHERE database = current_database()")).isEmpty();
        assertThat(strings(c, "SELECT count(*)::text FROM guestbook")).as("copied to new, kept on old").containsExactly("25");
      }
    }
  }

  @Test
  void run_nonEmptyDatabase_refusedAndLeftUntouched(PostgresPair pair) throws Exception {
    pair.oldServer().createDatabase("busy_old");
    pair.newServer().createDatabase("busy_new");
    try (Connection o = pair.oldServer().connect("busy_old")) {
      execute(o, "CREATE TABLE notes (id int PRIMARY KEY)");
    }

    int exit = rehearse(pair.oldServer(), "busy_old", pair.newServer(), "busy_new");

    assertThat(exit).isEqualTo(RehearseCommand.CANNOT_RUN);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("old database busy_old is not empty", "public.notes",
        "--allow-existing");
    assertThat(printed()).doesNotContain(OLD_PASSWORD, NEW_PASSWORD);
    try (Connection o = pair.oldServer().connect("busy_old"); Connection n = pair.newServer().connect("busy_new")) {
      assertThat(strings(o, "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"))
          .containsExactly("notes");
      assertThat(strings(n, "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace")).isEmpty();
    }
  }

  @Test
  void given_controlSchemaPresent_refusedEvenWithAllowExisting(PostgresPair pair) throws Exception {
    pair.oldServer().createDatabase("cutover_old");
    pair.newServer().createDatabase("cutover_new");
    try (Connection o = pair.oldServer().connect("cutover_old")) {
      execute(o, "CREATE SCHEMA cutover");
    }

    int exit = rehearse(pair.oldServer(), "cutover_old", pair.newServer(), "cutover_new", "--allow-existing");

    assertThat(exit).isEqualTo(RehearseCommand.CANNOT_RUN);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("already holds a cutover (schema cutover)", "cutover-replicator cleanup");
    try (Connection o = pair.oldServer().connect("cutover_old")) {
      assertThat(strings(o, "SELECT nspname FROM pg_namespace WHERE nspname = 'cutover'")).containsExactly("cutover");
    }
  }

  @Test
  void dataSource_secrets_goToPropertiesNeverTheUrl(PostgresPair pair) throws Exception {
    pair.oldServer().createDatabase("secrets_old");
    pair.newServer().createDatabase("secrets_new");
    RehearsalDatabases databases = RehearsalDatabases.given(new RehearsalPlan.Given(
        new RehearsalPlan.Login(pair.oldServer().jdbcUrl("secrets_old"), pair.oldServer().user(), OLD_PASSWORD),
        new RehearsalPlan.Login(pair.newServer().jdbcUrl("secrets_new"), pair.newServer().user(), NEW_PASSWORD), false));

    CutoverDataSource dataSource = databases.dataSource("booking-1", Map.of(RoutingFlags.PROVIDER, "launchdarkly",
        RoutingFlags.KEY, "app-db-cutover", RoutingFlags.LD_SDK_KEY, "sdk-never-in-url"));

    assertThat(dataSource.getUrl()).startsWith("jdbc:cutover:postgresql://").contains("cutover.flag.key=app-db-cutover",
        "cutover.instance=booking-1", "cutover.new.url=jdbc%3Apostgresql").doesNotContain("sdk-never-in-url", OLD_PASSWORD,
        NEW_PASSWORD);
    assertThat(databases.describe(dev.cutover.flags.Target.OLD)).contains("secrets_old").doesNotContain(OLD_PASSWORD);
  }

  @Test
  void given_sameDatabaseTwice_refused(PostgresPair pair) throws Exception {
    pair.oldServer().createDatabase("twice");
    RehearsalPlan.Login login = new RehearsalPlan.Login(pair.oldServer().jdbcUrl("twice"), pair.oldServer().user(), null);
    assertThatThrownBy(() -> RehearsalDatabases.given(new RehearsalPlan.Given(login, login, false)))
        .isInstanceOf(RehearsalException.class).hasMessageContaining("name the same database");
  }

  private static void execute(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static List<String> strings(Connection c, String sql) throws SQLException {
    return Queries.strings(c, sql);
  }
}
