package dev.cutover.replicator.schema;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What a schema dump may do on new when restored by the role {@code schema} connects as, which is
 * often not a superuser: owners it cannot become are mapped to itself ({@code --no-owner}, chosen
 * by {@link SchemaCopy}), grants to roles new lacks are refused before anything runs, and no ACL is
 * widened: a grant to PUBLIC on a schema new already has (the public schema, which 14 and older
 * open to everyone with CREATE, while 15+ do not) keeps only what PUBLIC already holds there.
 *
 * <p>pg_dump writes each ALTER ... OWNER TO, GRANT, REVOKE and ALTER DEFAULT PRIVILEGES as one line
 * of its own; those lines are what is read here. A function body line that looks like one can only
 * make this choose {@code --no-owner} or report a role, never run anything that was not in the dump.
 */
final class RestorePolicy {
  private static final String ROLE = "(\"(?:[^\"]|\"\")+\"|[A-Za-z_][A-Za-z0-9_$]*)";
  private static final Pattern OWNER = Pattern.compile("^ALTER [A-Z ]+ .* OWNER TO " + ROLE + ";$");
  private static final Pattern ACL = Pattern.compile("^(?:GRANT|REVOKE|ALTER DEFAULT PRIVILEGES) .* (?:TO|FROM) ((?:" + ROLE + "(?:, )?)+)( WITH GRANT OPTION)?;$");
  private static final Pattern DEFAULTS = Pattern.compile("^ALTER DEFAULT PRIVILEGES FOR ROLE " + ROLE + " .*;$");
  private static final Pattern SCHEMA_TO_PUBLIC = Pattern.compile("^GRANT ([A-Z, ]+) ON SCHEMA " + ROLE + " TO PUBLIC;$");
  private static final Pattern ONE_ROLE = Pattern.compile(ROLE);

  private final Connection nw;

  RestorePolicy(Connection nw) {
    this.nw = nw;
  }

  /** The script to run and what was left out of it, one sentence each. */
  record Adjusted(String script, List<String> warnings) {}

  /** Roles the dump makes owners of something that the connected role cannot become on new (missing ones included). */
  List<String> ownersNotBecomable(String dump) throws SQLException {
    List<String> out = new ArrayList<>();
    for (String role : owners(dump)) {
      if (!Capabilities.canBecome(nw, role)) {
        out.add(role);
      }
    }
    return out;
  }

  /** Fails with {@link Failure#PRECONDITION}, before anything runs, when the dump grants to roles that new lacks. */
  void requireGrantees(String dump) throws SQLException, ReplicatorException {
    Set<String> onNew = new LinkedHashSet<>(Sql.strings(nw, "SELECT rolname FROM pg_roles"));
    List<String> missing = grantees(dump).stream().filter(r -> !onNew.contains(r)).collect(Collectors.toList());
    if (!missing.isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, "new lacks role(s) " + String.join(", ", missing)
          + " to which old's schema grants privileges (schema changed nothing)", "create them on new first ("
          + missing.stream().map(r -> "CREATE ROLE " + Sql.ident(r)).collect(Collectors.joining("; "))
          + ", with LOGIN and a password for roles that log in), or copy the schema with --no-privileges and grant by hand"
          + " (`cutover-replicator check --app-role ROLE` names what the application needs)");
    }
  }

  /**
   * Leaves out default privileges of roles the connected one cannot act for, and narrows grants to
   * PUBLIC on schemas that exist on new before the restore to what PUBLIC holds there now.
   */
  Adjusted adjust(String script) throws SQLException {
    Set<String> existing = new TreeSet<>(Sql.strings(nw, "SELECT nspname FROM pg_namespace n WHERE " + Catalog.SYSTEM_SCHEMA_FILTER));
    List<String> warnings = new ArrayList<>();
    Set<String> skippedDefaults = new TreeSet<>();
    StringBuilder out = new StringBuilder(script.length());
    for (String line : script.split("\n", -1)) {
      Matcher defaults = DEFAULTS.matcher(line);
      if (defaults.matches() && !Capabilities.canBecome(nw, unquote(defaults.group(1)))) {
        skippedDefaults.add(unquote(defaults.group(1)));
        continue;
      }
      Matcher grant = SCHEMA_TO_PUBLIC.matcher(line);
      if (grant.matches() && existing.contains(unquote(grant.group(2)))) {
        String schema = unquote(grant.group(2));
        List<String> kept = new ArrayList<>();
        List<String> dropped = new ArrayList<>();
        for (String privilege : schemaPrivileges(grant.group(1))) {
          (Sql.bool(nw, "SELECT has_schema_privilege('public', ?, ?)", schema, privilege) ? kept : dropped).add(privilege);
        }
        if (!dropped.isEmpty()) {
          warnings.add("GRANT " + String.join(", ", dropped) + " ON SCHEMA " + grant.group(2) + " TO PUBLIC was not copied:"
              + " PUBLIC has it on old but not on new, and schema never widens an ACL (grant it by hand if you mean it)");
          line = kept.isEmpty() ? "" : "GRANT " + String.join(", ", kept) + " ON SCHEMA " + grant.group(2) + " TO PUBLIC;";
        }
      }
      out.append(line).append('\n');
    }
    if (!skippedDefaults.isEmpty()) {
      warnings.add("default privileges (ALTER DEFAULT PRIVILEGES FOR ROLE " + String.join(", ", skippedDefaults)
          + ") were not copied: the role schema connects as cannot act for them on new");
    }
    return new Adjusted(out.substring(0, Math.max(0, out.length() - 1)), warnings);
  }

  private static List<String> schemaPrivileges(String list) {
    List<String> out = new ArrayList<>();
    for (String p : list.split(",")) {
      String privilege = p.trim().toUpperCase(Locale.ROOT);
      if (privilege.equals("ALL") || privilege.equals("ALL PRIVILEGES")) {
        out.add("USAGE");
        out.add("CREATE");
      } else if (!privilege.isEmpty()) {
        out.add(privilege);
      }
    }
    return out;
  }

  static Set<String> owners(String dump) {
    Set<String> out = new TreeSet<>();
    for (String line : dump.split("\n")) {
      Matcher m = OWNER.matcher(line);
      if (m.matches()) {
        out.add(unquote(m.group(1)));
      }
    }
    return out;
  }

  /** Roles named by GRANT, REVOKE and ALTER DEFAULT PRIVILEGES, without PUBLIC. */
  static Set<String> grantees(String dump) {
    Set<String> out = new TreeSet<>();
    for (String line : dump.split("\n")) {
      Matcher m = ACL.matcher(line);
      if (m.matches()) {
        Matcher role = ONE_ROLE.matcher(m.group(1));
        while (role.find()) {
          if (!role.group(1).equals("PUBLIC")) {
            out.add(unquote(role.group(1)));
          }
        }
      }
      Matcher d = DEFAULTS.matcher(line);
      if (d.matches()) {
        out.add(unquote(d.group(1)));
      }
    }
    return out;
  }

  /** A role or schema name as pg_dump writes it ({@code fmtId}): quoted with doubled quotes, or plain lower case. */
  static String unquote(String identifier) {
    if (identifier.startsWith("\"")) {
      return identifier.substring(1, identifier.length() - 1).replace("\"\"", "\"");
    }
    return identifier;
  }
}
