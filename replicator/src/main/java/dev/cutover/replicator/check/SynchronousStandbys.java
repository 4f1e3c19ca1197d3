package dev.cutover.replicator.check;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.sql.NameList;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Whether a source's {@code synchronous_standby_names} takes the walsender of our slot for a
 * synchronous standby: {@code *} names every walsender, logical ones too (their application name
 * is the subscription's, or the relay's). Then the source's commits wait until the other side has
 * applied them, so the application runs at the apply's pace, and while the subscription or the
 * relay is stopped, or the other side is down, they wait without end (a statement timeout does not
 * end a commit's wait): seen on old with {@code '*'}, a disabled subscription and an INSERT that
 * never returned. After a switch the application runs on new, the source of the way back.
 */
public final class SynchronousStandbys {
  private SynchronousStandbys() {}

  /** The standby names in a {@code synchronous_standby_names} value: {@code FIRST n (...)}, {@code ANY n (...)}, {@code n (...)} or a list. */
  static List<String> names(String setting) {
    String s = setting.trim();
    int open = s.indexOf('(');
    if (open >= 0 && s.endsWith(")")) {
      s = s.substring(open + 1, s.length() - 1);
    }
    return NameList.split(s);
  }

  /** Whether {@code setting} names {@code applicationName} (compared as the server does, ignoring case) or {@code *}. */
  static boolean takes(String setting, String applicationName) {
    for (String name : names(setting)) {
      if (name.equals("*") || name.toLowerCase(Locale.ROOT).equals(applicationName.toLowerCase(Locale.ROOT))) {
        return true;
      }
    }
    return false;
  }

  /**
   * What stands in the way when {@code c}'s server, side {@code side}, the source of the replication
   * whose walsender is called {@code applicationName}, takes it for a synchronous standby;
   * {@code severity} as the caller weighs that direction.
   */
  static Optional<Finding> finding(Connection c, String side, String applicationName, Severity severity) throws SQLException {
    String setting = Sql.string(c, "SHOW synchronous_standby_names");
    if (setting == null || setting.isBlank() || !takes(setting, applicationName)) {
      return Optional.empty();
    }
    return Optional.of(new Finding(severity, side, "synchronous-standby", side + "'s synchronous_standby_names = '" + setting
        + "' takes the walsender of the replication from " + side + " (" + applicationName + ") for a synchronous standby: "
        + side + "'s commits would wait until the other side has applied them, and while that replication is stopped or the"
        + " other side is down, the application's commits on " + side + " would wait without end",
        "on " + side + ", name the physical standbys instead of * (ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1"
            + " (standby_a, standby_b)'; SELECT pg_reload_conf()), or use --capture triggers, which has no walsender"));
  }

  /** Fails with {@link Failure#PRECONDITION} when {@link #finding} finds it on {@code source}, before {@code step} changes anything. */
  public static void require(Connection source, String side, String applicationName, String step) throws SQLException, ReplicatorException {
    Optional<Finding> found = finding(source, side, applicationName, Severity.ERROR);
    if (found.isPresent()) {
      throw new ReplicatorException(Failure.PRECONDITION, found.get().message(), found.get().remedy() + "; " + step + " changed nothing");
    }
  }
}
