package dev.cutover.replicator.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code --app-role ROLE}, repeatable: the roles the application (the Cutover driver) connects as.
 * {@code start} grants them the control plane; {@code check} reports what they lack.
 */
final class AppRoleOptions {
  @Option(names = "--app-role", paramLabel = "ROLE",
      description = "A role the application connects as through the Cutover driver (repeatable). Only these roles get"
          + " the control plane (default: the installing role and the owners of the application tables).")
  List<String> appRoles = new ArrayList<>();
}
