package dev.cutover.replicator.privileges;

import dev.cutover.replicator.Side;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Runs the statements that carry a password (a subscription's connection string) so that the
 * server's log does not keep them: with {@code log_statement = ddl} or {@code all} it would log
 * every CREATE SUBSCRIPTION whole, with {@code log_min_error_statement = error} (the default) every
 * one that fails, with {@code log_min_duration_statement} every slow one. Around such a statement
 * the settings that log a statement's text are turned off for the session, and back after, where
 * the role may set them: a superuser, or from PostgreSQL 15 a role granted {@code SET} on them.
 * Where it may not, {@link #exposure} says so for {@code check}, which the docs repeat.
 *
 * <p>Why not a bind parameter: a utility statement takes none, and the server logs a statement's
 * parameters with it all the same.
 */
public final class PasswordStatements {
  /** Each setting that can write a statement's text into the log, and its value that does not. */
  private static final String QUIET = "(VALUES ('log_statement', 'none'), ('log_min_error_statement', 'panic'),"
      + " ('log_min_duration_statement', '-1'), ('log_min_duration_sample', '-1'), ('log_transaction_sample_rate', '0'))"
      + " s (name, quiet)";

  private PasswordStatements() {}

  /**
   * Runs {@code sql}, which carries a password, with the logging of statements turned off around it
   * where the role may (in the transaction, if one is open, else for the session and back).
   */
  public static void execute(Connection c, String sql) throws SQLException {
    boolean local = !c.getAutoCommit();
    List<String[]> previous = Sql.rows(c, "SELECT name, previous, pg_catalog.set_config(name, quiet, " + local + ") FROM"
        + " (SELECT s.name, s.quiet, pg_catalog.current_setting(s.name) AS previous FROM " + QUIET + " WHERE " + settable(c)
        + " OFFSET 0) q");
    try {
      Sql.execute(c, sql);
    } catch (SQLException e) {
      if (!local) { // in a transaction, its end takes the settings back
        try {
          restore(c, previous, false);
        } catch (SQLException r) {
          e.addSuppressed(r);
        }
      }
      throw e;
    }
    restore(c, previous, local);
  }

  private static void restore(Connection c, List<String[]> previous, boolean local) throws SQLException {
    for (String[] setting : previous) {
      Sql.string(c, "SELECT pg_catalog.set_config(?, ?, " + local + ")", setting[0], setting[1]);
    }
  }

  /**
   * Where {@code c}'s role may not turn them off, the settings of {@code c}'s server that would
   * write a subscription's password into its log, as a gap for {@code check} (a warning); empty
   * where none would.
   */
  public static Optional<Gap> exposure(Connection c, Side side) throws SQLException {
    List<String> exposed = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (String[] s : Sql.rows(c, "SELECT s.name, pg_catalog.current_setting(s.name) FROM " + QUIET + " WHERE NOT (" + settable(c)
        + ") AND s.name IN (SELECT name FROM pg_catalog.pg_settings)")) {
      String name = s[0];
      String value = s[1];
      String what = switch (name) {
        case "log_statement" -> value.equals("ddl") || value.equals("all") ? "with every CREATE SUBSCRIPTION (check's probes too)" : null;
        case "log_min_error_statement" -> List.of("log", "fatal", "panic").contains(value) ? null
            : "with every CREATE SUBSCRIPTION that fails (a probe that cannot log in)";
        case "log_min_duration_statement", "log_min_duration_sample" -> value.equals("-1") ? null : "with every CREATE SUBSCRIPTION that takes that long";
        default -> Double.parseDouble(value) > 0 ? "with every CREATE SUBSCRIPTION in a transaction it samples" : null;
      };
      if (what != null) {
        exposed.add((exposed.isEmpty() ? side.label() + "'s " : "") + name + " = " + value
            + (exposed.isEmpty() ? " writes the subscription's password into " + side.label() + "'s server log " : " ") + what);
        names.add(name);
      }
    }
    if (exposed.isEmpty()) {
      return Optional.empty();
    }
    String role = Sql.string(c, "SELECT current_user");
    String lower = "lower " + (names.size() == 1 ? "it" : "them") + " on " + side.label() + " for the cutover (ALTER SYSTEM SET "
        + String.join(", ", names) + ", then SELECT pg_reload_conf())";
    return Optional.of(new Gap(side, "password-in-server-log", String.join("; ", exposed) + ": role " + role
        + " may not turn " + (names.size() == 1 ? "it" : "them") + " off around those statements, as the replicator does where it may",
        Sql.majorVersion(c) >= 15
            ? "as a superuser, GRANT SET ON PARAMETER " + String.join(", ", names) + " TO " + Sql.ident(role) + "; or " + lower
            : "connect as a superuser, or " + lower));
  }

  /** SQL true where the role may set {@code s.name}. */
  private static String settable(Connection c) throws SQLException {
    return Sql.majorVersion(c) >= 15
        ? "s.name IN (SELECT name FROM pg_catalog.pg_settings) AND pg_catalog.has_parameter_privilege(s.name, 'SET')"
        : "s.name IN (SELECT name FROM pg_catalog.pg_settings) AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)";
  }
}
