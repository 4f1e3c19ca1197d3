package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.cutover.replicator.schema.SchemaCopy;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pg_dump old refuses to log in where the replicator's JDBC sessions logged in (libpq reaching the
 * server otherwise than PgJDBC): {@code schema}'s remedy is the one {@link Endpoint#connect} gives
 * that cause, not "check --old-url, --old-user and CUTOVER_REPLICATOR_OLD_PASSWORD" whatever it was.
 * A {@code --pg-dump} script stands for the difference: it changes one thing and runs the real pg_dump.
 */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
class PgDumpLoginTest {
  @Test
  void schema_pgDumpsPasswordRefused_remedyNamesWhereTheUserAndPasswordComeFrom(PostgresPair pair, @TempDir Path dir)
      throws Exception {
    PostgresServer old = pair.oldServer();
    String db = old.createDatabase("pg_dump_password_refused");
    pair.newServer().createDatabase(db);
    role(old, "dumps_password");
    ProviderAdmin.askForPasswords(old, "dumps_password");
    Path pgDump = script(dir, "PGPASSWORD=not-the-role-password; export PGPASSWORD\nexec pg_dump \"$@\"");

    ReplicatorException x = refusal(Endpoint.of(Side.OLD, old.jdbcUrl(db), "dumps_password", "role-S3cret"), pair, db, pgDump);

    assertThat(x.getMessage()).contains("pg_dump failed on old: ").contains("password authentication failed");
    assertThat(x.remedy()).isEqualTo("check --old-user and the password in CUTOVER_REPLICATOR_OLD_PASSWORD, or its password expired"
        + " (VALID UNTIL): run ALTER ROLE \"dumps_password\" VALID UNTIL 'infinity' there (or a later date)");
  }

  @Test
  void schema_pgDumpsLoginRefusedByPgHba_remedyNamesOldsPgHbaConf(PostgresPair pair, @TempDir Path dir) throws Exception {
    PostgresServer old = pair.oldServer();
    String db = old.createDatabase("pg_dump_hba_refused");
    pair.newServer().createDatabase(db);
    role(old, "dumps_hba_rejected");
    ProviderAdmin.authenticateFirst(old, "reject", "dumps_hba_rejected");
    Path pgDump = script(dir, "exec pg_dump \"$@\" --username=dumps_hba_rejected");

    ReplicatorException x = refusal(Endpoint.of(Side.OLD, old.jdbcUrl(db), old.user(), old.password()), pair, db, pgDump);

    assertThat(x.getMessage()).contains("pg_dump failed on old: ").contains("pg_hba.conf rejects connection");
    assertThat(x.remedy()).startsWith("old's server does not admit this host, user and database: add a line for them to old's"
        + " pg_hba.conf").contains("SELECT pg_reload_conf()");
  }

  private static void role(PostgresServer server, String name) throws Exception {
    try (Connection admin = server.connect()) {
      Sql.execute(admin, "DO $$ BEGIN CREATE ROLE " + name + " LOGIN PASSWORD 'role-S3cret'; EXCEPTION WHEN duplicate_object"
          + " THEN NULL; END $$");
    }
  }

  /** A --pg-dump script running {@code body}. */
  private static Path script(Path dir, String body) throws Exception {
    Path pgDump = dir.resolve("pg_dump");
    Files.writeString(pgDump, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(pgDump, PosixFilePermissions.fromString("rwx------"));
    return pgDump;
  }

  /** schema's failure from old to new's {@code db} with {@code pgDump}, checked for the role's password. */
  private static ReplicatorException refusal(Endpoint old, PostgresPair pair, String db, Path pgDump) {
    Endpoint nw = Endpoint.of(Side.NEW, pair.newServer().jdbcUrl(db), pair.newServer().user(), pair.newServer().password());
    ReplicatorException x = catchThrowableOfType(ReplicatorException.class,
        () -> SchemaCopy.run(old, nw, new SchemaCopy.Options(pgDump.toString(), false, false, Duration.ofSeconds(30))));
    assertThat(x.failure()).isEqualTo(Failure.CONNECTION);
    assertThat(x.getMessage() + x.remedy()).doesNotContain("S3cret");
    return x;
  }
}
