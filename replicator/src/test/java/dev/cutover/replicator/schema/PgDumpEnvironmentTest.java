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
    Path pgDump = dir.resolve("pg_dump");
    Files.writeString(pgDump, "#!/bin/sh\nenv >> '" + seen + "'\nexec pg_dump \"$@\"\n");
    Files.setPosixFilePermissions(pgDump, PosixFilePermissions.fromString("rwx------"));
    ProcessBuilder replicator = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        // Surefire runs tests through a manifest-only jar; the real class path is in this property.
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")), ReplicatorCli.class.getName(),
        "schema", "--pg-dump", pgDump.toString(), "--old-url", pair.oldServer().jdbcUrl(db), "--new-url",
        pair.newServer().jdbcUrl(db), "--old-user", pair.oldServer().user(), "--new-user", pair.newServer().user())
        .redirectErrorStream(true);
    Map<String, String> env = replicator.environment();
    env.put("PGHOSTADDR", "127.0.0.2");
    env.put("PGSERVICE", "cutover_no_such_service");
    env.put("PGOPTIONS", "-c default_transaction_read_only=on");
    List<String> own = new ArrayList<>(List.of("PGCONNECT_TIMEOUT"));
    if (!pair.oldServer().password().isEmpty()) {
      env.put("CUTOVER_REPLICATOR_OLD_PASSWORD", pair.oldServer().password());
      own.add("PGPASSWORD");
    }
    if (!pair.newServer().password().isEmpty()) {
      env.put("CUTOVER_REPLICATOR_NEW_PASSWORD", pair.newServer().password());
    }

    Process p = replicator.start();
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
}
