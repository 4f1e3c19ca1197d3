package dev.cutover.replicator.privileges;

import dev.cutover.common.Transactions;
import dev.cutover.replicator.BoundedRead;
import dev.cutover.replicator.FirstLine;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Whether a subscription on one server can log in to the other as the replicator would make it:
 * tried by creating one that connects ({@code connect = true}, no slot, disabled) in a transaction
 * that is rolled back. The server opens the replication connection and reads the publication's
 * tables, then nothing of it remains. This finds before the copy what would otherwise stop
 * {@code start} after it: a source new cannot reach, refused credentials, or a non-superuser's
 * subscription (16+) that logs in where the source asks for no password. Only a failure to reach
 * or log in ({@link #loginFailure}) is reported as one; what the server refuses after it logged in
 * (a table the source publishes that the target lacks) is reported as what it is.
 *
 * <p>The server's own connection attempt knows no timeout ({@code connect_timeout} is not applied
 * to it): behind a firewall that drops its packets it waits for the operating system's, minutes,
 * and where something accepts but never answers (a stalled proxy), for ever. The probe's statement
 * is ended on the server after {@link #PROBE_TIMEOUT} instead, which says as much. A command whose
 * statements have a shorter read limit ({@code --network-timeout}) awaits the answer that long and a
 * moment more all the same ({@link #reachingTheSource}): until then no answer says nothing of the
 * network between the replicator and the server.
 */
public final class SubscriptionLogin {
  /** The code of a gap that is the login itself (reachability, credentials), as against what the subscription finds after it. */
  public static final String LOGIN = "subscription-login";

  /** How long the server may try to reach the source for the probe. */
  public static final Duration PROBE_TIMEOUT = Duration.ofSeconds(10);
  /** How long the answer to a statement that logs in to the source is awaited at least: the probe's timeout and a moment. */
  private static final Duration LOGIN_ANSWER = PROBE_TIMEOUT.plusSeconds(1);

  private SubscriptionLogin() {}

  /**
   * A gap when the subscription could not log in, else empty.
   *
   * @param target the server the subscription would be on, connected as the role that would own it
   * @param side that server's side
   * @param conninfo how it reaches the source
   * @param publication the publication it would subscribe to (need not exist yet)
   */
  public static Optional<Gap> check(Connection target, Side side, String conninfo, String publication)
      throws SQLException, ReplicatorException {
    String name = "cutover_probe_" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    String role = Sql.string(target, "SELECT current_user");
    try {
      reachingTheSource(target, side, () -> {
        probe(target, name, conninfo, publication);
        return null;
      });
      return Optional.empty();
    } catch (SQLException e) {
      if (Sql.unanswered(e)) {
        throw e;
      }
      String source = side.other().label();
      if (!"57014".equals(e.getSQLState()) && !loginFailure(e)) {
        return Optional.of(notLogin(e, side, source));
      }
      String message = "57014".equals(e.getSQLState())
          ? side.label() + "'s server did not reach " + source + " within " + PROBE_TIMEOUT.toSeconds() + " s (a firewall dropping"
              + " its packets, an address that answers nothing, or a wrong host)"
          : Sql.maskSecrets(FirstLine.of(e));
      String remedy = message.contains("password is required")
          ? "let " + source + "'s pg_hba.conf ask " + role + " for a password (scram-sha-256 or md5) and give it in " + source
              + "'s connection (its environment variable, or password= in --" + source + "-conninfo)"
          : "make " + source + " reachable from " + side.label() + "'s server as --" + source + "-conninfo says (host, port,"
              + " user, password; " + source + "'s pg_hba.conf must admit replication connections of that user from there)";
      return Optional.of(new Gap(side, LOGIN, "a subscription on " + side.label() + " cannot log in to " + source
          + ": " + message, remedy));
    }
  }

  /**
   * Why the existing subscription {@code subscription} on {@code target} cannot log in to the source
   * now: its own connection string tried as {@link #check} tries one. A password changed on the
   * source mid-window (or its address) leaves the subscription's apply worker failing its login
   * and retrying for ever, which only the server log says. Refused credentials (class 28), a
   * source out of reach (class 08, a timeout) or "password is required" is a gap whose remedy is
   * the {@code ALTER SUBSCRIPTION … CONNECTION} that mends it, the password masked; empty where it
   * logs in, and where this role may not read the connection string ({@code
   * pg_subscription.subconninfo} is for superusers) or try it (another refusal: it then says nothing).
   */
  public static Optional<Gap> existing(Connection target, Side side, String subscription) throws SQLException, ReplicatorException {
    if (!Sql.bool(target, "SELECT has_column_privilege('pg_catalog.pg_subscription', 'subconninfo', 'SELECT')")) {
      return Optional.empty();
    }
    String ofTarget = " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())";
    List<String[]> rows = Sql.rows(target, "SELECT subconninfo, subpublications[1] FROM pg_subscription WHERE subname = ?"
        + ofTarget, subscription);
    if (rows.isEmpty() || rows.get(0)[0] == null || rows.get(0)[1] == null) {
      return Optional.empty();
    }
    String conninfo = rows.get(0)[0];
    Optional<Gap> gap = check(target, side, conninfo, rows.get(0)[1]);
    if (gap.isEmpty() || !gap.get().code().equals(LOGIN)) {
      return Optional.empty();
    }
    String source = side.other().label();
    String why = gap.get().message().substring(gap.get().message().indexOf(": ") + 2);
    return Optional.of(new Gap(side, LOGIN, "subscription " + subscription + " on " + side.label() + " cannot log in to " + source
        + " with its connection string (a password or address changed on " + source + " since it was made?): " + why,
        "run on " + side.label() + ": ALTER SUBSCRIPTION " + Sql.ident(subscription) + " CONNECTION "
            + Sql.literal(Sql.maskConninfo(conninfo)) + " with " + source + "'s current password (or address) in place of the"
            + " old one (*** here); its apply worker then resumes where it stopped, and nothing is lost"));
  }

  /**
   * Whether the probe failed to reach or log in to the source: the server reports a failed
   * connection (class 08: "could not connect to the publisher", or the publisher gone while its
   * tables were read), refused credentials (class 28), a login without a password where one is
   * required (2F003 "password is required", 16+), or a timeout named in the message.
   */
  static boolean loginFailure(SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    String text = String.valueOf(e.getMessage());
    return state.startsWith("08") || state.startsWith("28") || text.contains("could not connect")
        || text.contains("password authentication failed") || text.contains("password is required") || text.contains("timeout")
        || text.contains("timed out");
  }

  /**
   * What the server refused once it was logged in, as it says it, with a remedy for the cause: a
   * table the source publishes that the target lacks (42P01), else the server's message.
   */
  private static Gap notLogin(SQLException e, Side side, String source) {
    String message = "a subscription on " + side.label() + " cannot subscribe to " + source + "'s publication: "
        + Sql.maskSecrets(FirstLine.of(e));
    String remedy = "42P01".equals(e.getSQLState())
        ? "create the table on " + side.label() + " as it is on " + source + " (check's missing-table finding gives the statement;"
            + " mid-migration, enable the subscription and let it replay the captured CREATE), then try again"
        : "fix what " + side.label() + "'s server reports there, then try again";
    return new Gap(side, "subscription-tables", message, remedy);
  }

  /**
   * Runs {@code work}, a statement by which {@code target}'s server logs in to the source (the probe,
   * a CREATE SUBSCRIPTION that connects), its answer awaited at least {@link #PROBE_TIMEOUT} and a
   * moment whatever shorter read limit {@code target} has; past that the side is named as silent.
   */
  public static <T, E extends Exception> T reachingTheSource(Connection target, Side side, Sql.ThrowingWork<T, E> work)
      throws SQLException, ReplicatorException, E {
    int limit = target.getNetworkTimeout();
    return limit == 0 || limit >= LOGIN_ANSWER.toMillis() ? work.run()
        : BoundedRead.within(LOGIN_ANSWER, null, Map.of(side.label(), target), work);
  }

  /** Creates the probing subscription in a transaction rolled back after, its password kept out of the server's log. */
  private static void probe(Connection target, String name, String conninfo, String publication) throws SQLException {
    Transactions.rolledBack(target, () -> {
      Sql.execute(target, "SET LOCAL statement_timeout = '" + PROBE_TIMEOUT.toMillis() + "ms'");
      PasswordStatements.execute(target, "CREATE SUBSCRIPTION " + Sql.ident(name) + " CONNECTION " + Sql.literal(conninfo) + " PUBLICATION "
          + Sql.ident(publication) + " WITH (enabled = false, create_slot = false, slot_name = NONE, copy_data = false)");
      return null;
    });
  }
}
