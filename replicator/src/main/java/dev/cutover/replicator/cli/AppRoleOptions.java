package dev.cutover.replicator.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --app-role ROLE} (repeatable): the roles the application connects as. */
final class AppRoleOptions {
  @Option(names = "--app-role", paramLabel = "ROLE",
      description = "A role the application connects as (repeatable): check verifies its privileges and ownership on new.")
  List<String> appRoles = new ArrayList<>();
}
