package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.schema.SchemaCopy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "schema", mixinStandardHelpOptions = true,
    description = {"Copies old's schema into the empty new database with pg_dump.",
        "pg_dump --schema-only without the cutover schema, its triggers, publications and subscriptions, applied in one transaction. Owners the connecting role cannot become on new are mapped to it (--no-owner), grants to roles new lacks stop it before anything runs (exit code 5), and no grant to PUBLIC widens what PUBLIC has on new (warned). Without a pg_dump of at least old's version it prints the exact commands to run (exit code 9)."})
final class SchemaCommand extends BaseCommand {
  @Option(names = "--pg-dump", paramLabel = "PATH", description = "pg_dump to use (default: the newest on PATH or under /usr/lib/postgresql).")
  String pgDump;

  @Option(names = "--no-owner", description = "Do not set owners: the connecting role owns everything on new"
      + " (chosen by itself when that role cannot become old's owners there).")
  boolean noOwner;

  @Option(names = "--no-privileges", description = "Do not copy GRANTs.")
  boolean noPrivileges;

  @Option(names = "--lock-wait", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "30s",
      description = "How long pg_dump may wait for each table's lock on old (another session's ALTER TABLE, VACUUM FULL or"
          + " prepared transaction); then schema stops, naming it (default: ${DEFAULT-VALUE}).")
  java.time.Duration lockWait;

  @Override
  int run(Replicator r) throws Exception {
    Units.requirePositive(spec.commandLine(), "--lock-wait", lockWait);
    SchemaCopy.Report report = r.schema(new SchemaCopy.Options(pgDump, noOwner, noPrivileges, lockWait));
    print(report, () -> {
      out().println("schema copied with " + report.pgDump() + " (" + report.pgDumpMajor() + "): "
          + Units.bytes(report.dumpBytes()) + " of DDL, " + report.tables() + " table(s) on new, " + Units.millis(report.millis()));
      report.settings().forEach(st -> out().println("database setting copied: " + st));
      report.warnings().forEach(w -> out().println("warning: " + w));
    });
    return 0;
  }
}
