package dev.cutover.replicator.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code --app-role ROLE}, repeatable: the roles the application (the Cutover driver) connects as.
 * {@code start} grants them the control plane; {@code check} verifies their privileges and
 * ownership on new and reports what of the control plane they lack.
 */
final class AppRoleOptions {
  @Option(names = "--app-role", paramLabel = "ROLE",
      description = "A role the application connects as through the Cutover driver (repeatable). start grants only"
          + " these roles the control plane (default: the installing role and the owners of the application tables);"
          + " check verifies their privileges and ownership on new and their control-plane grant.")
  List<String> appRoles = new ArrayList<>();
}
