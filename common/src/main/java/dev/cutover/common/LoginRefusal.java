package dev.cutover.common;

import java.util.Locale;

/**
 * Why a server refused a login, one reading for the driver and the replicator, which each word the
 * remedy for their own settings: the remedies differ (a line in pg_hba.conf, {@code ALTER ROLE …
 * LOGIN}, a password) and a wrong one sends an operator after the wrong setting (r34: a NOLOGIN
 * role was told to check its password).
 *
 * <p>The SQLState decides first. The server's text, which tells apart the causes that share one
 * (28000, 53300), is in its {@code lc_messages}, which a client cannot choose before the login: the
 * English matches are a best effort, and a translated refusal gets its SQLState's general cause
 * ({@link #CREDENTIALS_REFUSED} for class 28, {@link #OTHER} for 53300); pg_hba.conf is named in
 * every version and translation. libpq programs (pg_dump) print no SQLState: for an empty one the
 * text alone decides.
 */
public enum LoginRefusal {
  /** 28000 naming pg_hba.conf (no entry for the host, user and database, or a {@code reject} line): no password was checked. */
  NOT_ADMITTED,
  /** 28000 "role … is not permitted to log in": the role is NOLOGIN. */
  LOGIN_NOT_PERMITTED,
  /** 28000 "role … does not exist" (under trust or peer; password methods answer for a missing role as for a wrong password). */
  NO_SUCH_ROLE,
  /** 28P01, and any other class 28 (ident, certificate): a wrong user or password, or one expired ({@code VALID UNTIL}). */
  CREDENTIALS_REFUSED,
  /** 53300 "too many connections for role …": the role's {@code CONNECTION LIMIT}. */
  ROLE_CONNECTION_LIMIT,
  /** 53300 "sorry, too many clients already", or the slots left are reserved: the server's {@code max_connections}. */
  SERVER_CONNECTION_LIMIT,
  /** PgJDBC's 08004 "…requested password-based authentication, but no password was provided", or libpq's "no password supplied". */
  NO_PASSWORD_GIVEN,
  /** Anything else, a failure before any login among them. */
  OTHER;

  private static final String NO_PASSWORD = "08004";
  private static final String TOO_MANY_CONNECTIONS = "53300";

  /**
   * The cause of a login refused with {@code state} (null or empty: unknown, as libpq prints none)
   * and the server's or the client's {@code message}; {@code passwordGiven}: whether the login had a
   * password, without which 08004 names no missing one.
   */
  public static LoginRefusal of(String state, String message, boolean passwordGiven) {
    String s = state == null ? "" : state;
    String m = String.valueOf(message);
    boolean textOnly = s.isEmpty();
    boolean refused = textOnly || s.startsWith("28");
    if (refused && m.contains("pg_hba.conf")) {
      return NOT_ADMITTED;
    }
    if (refused && m.contains("is not permitted to log in")) {
      return LOGIN_NOT_PERMITTED;
    }
    if (refused && m.matches("(?s).*\\brole \".*\" does not exist.*")) {
      return NO_SUCH_ROLE;
    }
    if (textOnly ? m.contains("password authentication failed") : refused) {
      return CREDENTIALS_REFUSED;
    }
    boolean full = textOnly || s.equals(TOO_MANY_CONNECTIONS);
    if (full && m.contains("too many connections for role")) {
      return ROLE_CONNECTION_LIMIT;
    }
    if (full && (m.contains("too many clients") || m.contains("connection slots are reserved"))) {
      return SERVER_CONNECTION_LIMIT;
    }
    if (!passwordGiven && (textOnly ? m.contains("no password supplied")
        : s.equals(NO_PASSWORD) && m.toLowerCase(Locale.ROOT).contains("password"))) {
      return NO_PASSWORD_GIVEN;
    }
    return OTHER;
  }

  /**
   * What to run on the refusing server where the cause is there ({@code role}: the login's, null
   * where not known), the SQL naming the role as a quoted identifier; null for the causes whose
   * remedy is the caller's settings alone. For {@link #CREDENTIALS_REFUSED} the expired password,
   * worded to follow the caller's advice on the credentials. A name with a NUL, which no role has
   * and {@link Quoting} refuses, is not known: the remedy must not fail the refusal it explains.
   */
  public String serverRemedy(String role) {
    boolean known = role != null && role.indexOf('\0') < 0;
    String name = known ? Quoting.identifier(role) : "<role>";
    String onTheRole = known ? "role " + name : "the role";
    return switch (this) {
      case LOGIN_NOT_PERMITTED -> onTheRole + " may not log in (NOLOGIN): run ALTER ROLE " + name + " LOGIN there, or log in as a"
          + " role that may";
      case NO_SUCH_ROLE -> "there is no " + onTheRole + " there: create it (CREATE ROLE " + name + " LOGIN PASSWORD '…')";
      case CREDENTIALS_REFUSED -> "or its password expired (VALID UNTIL): run ALTER ROLE " + name + " VALID UNTIL 'infinity' there"
          + " (or a later date)";
      case ROLE_CONNECTION_LIMIT -> onTheRole + " has all the connections its CONNECTION LIMIT allows: end some of its sessions"
          + " (pg_stat_activity) or raise it (ALTER ROLE " + name + " CONNECTION LIMIT n, -1 for none)";
      case SERVER_CONNECTION_LIMIT -> "the server has all the connections its max_connections allows (less those reserved for"
          + " superusers): end some sessions (pg_stat_activity), or raise max_connections there (ALTER SYSTEM, then a restart)";
      default -> null;
    };
  }
}
