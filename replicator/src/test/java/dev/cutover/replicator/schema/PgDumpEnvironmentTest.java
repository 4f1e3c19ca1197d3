package dev.cutover.replicator.schema;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.cli.ReplicatorCli;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** pg_dump connects where the JDBC URL says, whatever PG* variables the replicator's environment holds. */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class PgDumpEnvironmentTest {
  /**
   * The replicator runs (in a JVM of its own, whose environment the test chooses) with PGHOSTADDR,
   * PGSERVICE and PGOPTIONS set; its {@code --pg-dump} is a script that records its environment and
   * runs the real pg_dump. pg_dump inherited them all: libpq connected to PGHOSTADDR instead of
   * old's host, read a service file for the rest and ran PGOPTIONS' settings in its session. Now
   * it gets no PG* variable but those schema sets itself, and new gets old's tables.
   */
  @Test
  void schema_replicatorsEnvironmentHoldsPgVariables_pgDumpGetsOnlyItsOwnAndDumpsOld(PostgresPair pair, @TempDir Path dir)
      throws Exception {
    String db = pair.oldServer().createDatabase("schema_pg_environment");
    pair.newServer().createDatabase(db);
    try (Connection c = pair.oldServer().connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE only_on_old (id int PRIMARY KEY)");
    }
    Path seen = dir.resolve("pg_dump.env");
    List<String> own = new ArrayList<>(List.of("PGCONNECT_TIMEOUT"));
    if (!pair.oldServer().password().isEmpty()) {
      own.add("PGPASSWORD");
    }

    Process p = replicator(pair, db, seen, Map.of("PGHOSTADDR", "127.0.0.2", "PGSERVICE", "cutover_no_such_service",
        "PGOPTIONS", "-c default_transaction_read_only=on"));
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(1, TimeUnit.MINUTES)).as(output).isTrue();

    assertThat(p.exitValue()).as(output).isZero();
    assertThat(Files.readAllLines(seen)).as("pg_dump's PG* variables").filteredOn(l -> l.startsWith("PG"))
        .extracting(l -> l.substring(0, l.indexOf('='))).containsOnly(own.toArray(String[]::new));
    try (Connection c = pair.newServer().connect(db); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT string_agg(relname, ',') FROM pg_class WHERE relname = 'only_on_old'")) {
      rs.next();
      assertThat(rs.getString(1)).as("the table new got").isEqualTo("only_on_old");
    }
  }

  /**
   * The operator reads German ({@code LANGUAGE=de}, as Debian sets it; this machine has pg_dump's
   * German messages, and gettext honours LANGUAGE under its C.UTF-8): pg_dump's and
   * libpq's own messages came in German, which schema reads for the cause and quotes in its English
   * sentence. Now pg_dump runs with {@code LC_ALL=C} and they are English; the server's part follows
   * its lc_messages.
   */
  @Test
  void schema_replicatorsLanguageIsGerman_pgDumpsOwnMessagesAreEnglish(PostgresPair pair, @TempDir Path dir) throws Exception {
    String db = pair.oldServer().createDatabase("schema_pg_dump_language");
    pair.newServer().createDatabase(db);
    try (Connection c = pair.oldServer().connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE locked_by_migration (id int PRIMARY KEY)");
    }
    try (Connection migration = pair.oldServer().connect(db); Statement s = migration.createStatement()) {
      migration.setAutoCommit(false);
      s.execute("ALTER TABLE locked_by_migration ADD COLUMN note text");

      Process p = replicator(pair, db, dir.resolve("pg_dump.env"), Map.of("LANGUAGE", "de"), "--lock-wait", "1s");
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(1, TimeUnit.MINUTES)).as(output).isTrue();

      assertThat(p.exitValue()).as(output).isEqualTo(8);
      assertThat(output).contains("pg_dump could not lock a table on old").contains("pg_dump: error: query failed")
          .doesNotContain("Fehler");
      migration.rollback();
    }
  }

  /**
   * The replicator's {@code schema} from old's {@code db} to new's, in a JVM of its own whose
   * environment has {@code env} besides the passwords; its --pg-dump records its environment in
   * {@code seen} and runs the real pg_dump. Output and errors come together.
   */
  private static Process replicator(PostgresPair pair, String db, Path seen, Map<String, String> env, String... options)
      throws Exception {
    Path pgDump = seen.resolveSibling("pg_dump");
    Files.writeString(pgDump, "#!/bin/sh\nenv >> '" + seen + "'\nexec pg_dump \"$@\"\n");
    Files.setPosixFilePermissions(pgDump, PosixFilePermissions.fromString("rwx------"));
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        // Surefire runs tests through a manifest-only jar; the real class path is in this property.
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")), ReplicatorCli.class.getName(),
        "schema", "--pg-dump", pgDump.toString(), "--old-url", pair.oldServer().jdbcUrl(db), "--new-url",
        pair.newServer().jdbcUrl(db), "--old-user", pair.oldServer().user(), "--new-user", pair.newServer().user()));
    command.addAll(List.of(options));
    ProcessBuilder replicator = new ProcessBuilder(command).redirectErrorStream(true);
    replicator.environment().putAll(env);
    if (!pair.oldServer().password().isEmpty()) {
      replicator.environment().put("CUTOVER_REPLICATOR_OLD_PASSWORD", pair.oldServer().password());
    }
    if (!pair.newServer().password().isEmpty()) {
      replicator.environment().put("CUTOVER_REPLICATOR_NEW_PASSWORD", pair.newServer().password());
    }
    return replicator.start();
  }
}
