package dev.cutover.replicator.cli;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import picocli.CommandLine.Option;

/** The options every command takes: the two databases, credentials, output format. */
final class ConnectionOptions {
  @Option(names = "--old-url", paramLabel = "JDBC_URL", defaultValue = "${env:CUTOVER_REPLICATOR_OLD_URL}",
      description = "Old database: jdbc:postgresql://host:port/db (env CUTOVER_REPLICATOR_OLD_URL).")
  String oldUrl;

  @Option(names = "--new-url", paramLabel = "JDBC_URL", defaultValue = "${env:CUTOVER_REPLICATOR_NEW_URL}",
      description = "New database: jdbc:postgresql://host:port/db (env CUTOVER_REPLICATOR_NEW_URL).")
  String newUrl;

  @Option(names = "--old-user", paramLabel = "ROLE", defaultValue = "${env:CUTOVER_REPLICATOR_OLD_USER}",
      description = "Role on old (env CUTOVER_REPLICATOR_OLD_USER); its password comes from env CUTOVER_REPLICATOR_OLD_PASSWORD.")
  String oldUser;

  @Option(names = "--new-user", paramLabel = "ROLE", defaultValue = "${env:CUTOVER_REPLICATOR_NEW_USER}",
      description = "Role on new (env CUTOVER_REPLICATOR_NEW_USER); its password comes from env CUTOVER_REPLICATOR_NEW_PASSWORD.")
  String newUser;

  @Option(names = "--old-conninfo", paramLabel = "CONNINFO",
      description = "libpq connection string by which new's server reaches old (default: from --old-url).")
  String oldConninfo;

  @Option(names = "--new-conninfo", paramLabel = "CONNINFO",
      description = "libpq connection string by which old's server reaches new, for reverse (default: from --new-url).")
  String newConninfo;

  @Option(names = "--name", paramLabel = "LABEL",
      description = "Label in replication slot names, unique per server, at most 40 characters (default: old's database name).")
  String name;

  @Option(names = "--json", description = "Print the result as JSON on standard output.")
  boolean json;

  Replicator replicator(java.util.Map<String, String> env, picocli.CommandLine commandLine, java.util.List<String> appRoles) {
    require(commandLine, oldUrl, "--old-url", "CUTOVER_REPLICATOR_OLD_URL");
    require(commandLine, newUrl, "--new-url", "CUTOVER_REPLICATOR_NEW_URL");
    Endpoint old = Endpoint.of(Side.OLD, oldUrl, oldUser, env.get("CUTOVER_REPLICATOR_OLD_PASSWORD"));
    Endpoint nw = Endpoint.of(Side.NEW, newUrl, newUser, env.get("CUTOVER_REPLICATOR_NEW_PASSWORD"));
    if (oldConninfo != null) {
      old = old.withConninfo(oldConninfo);
    }
    if (newConninfo != null) {
      nw = nw.withConninfo(newConninfo);
    }
    Replicator.Builder builder = Replicator.builder().old(old).nw(nw).appRoles(appRoles);
    try {
      builder.name(name);
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(commandLine, e.getMessage());
    }
    return builder.build();
  }

  private static void require(picocli.CommandLine commandLine, String value, String option, String env) {
    if (value == null || value.isBlank()) {
      throw new picocli.CommandLine.ParameterException(commandLine, "Missing " + option + " (or env " + env + ")");
    }
  }
}
