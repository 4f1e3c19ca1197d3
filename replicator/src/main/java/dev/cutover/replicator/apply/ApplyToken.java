package dev.cutover.replicator.apply;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.sql.Sql;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HexFormat;

/**
 * The secret by which a database's capture function knows an apply session writing into it (whose
 * changes came from the other side and must not be captured again), kept in
 * {@code cutover.apply_token}, which only the owner can read.
 *
 * <p>Why a table of its own, made by whichever needs it first: an apply session in
 * {@code session_replication_role = replica} sets the token once, when it connects, and may have
 * connected long before capture was installed on its target (the forward apply, writing on new,
 * before {@code reverse} armed capture there). Capture then takes the token its apply sessions
 * already carry, so no session is ever without it, and the capture function need not leave out
 * every replica-mode session to be safe.
 *
 * <p>The table is UNLOGGED, so no publication carries it: under relayed or native replication a
 * side's token would otherwise arrive on the other side and collide with its own. A crash or a
 * failover empties it, and ends every session that carried the token with it; the next apply
 * session makes it again from the capture's copy ({@code cutover.capture_state}, which survives),
 * or anew where there is no capture yet, which capture then takes over.
 */
public final class ApplyToken {
  static final String TABLE = "cutover.apply_token";
  private static final String UNIQUE_VIOLATION = "23505";
  private static final String DUPLICATE_TABLE = "42P07";

  private ApplyToken() {}

  /**
   * Creates the token on {@code c} if it is missing: the capture log's token where capture was
   * installed by an earlier build, a new random one otherwise. Two callers at once (an apply
   * starting while {@code reverse} installs capture) are told apart by PostgreSQL's unique
   * indexes: the loser's attempt fails and, tried again, finds the winner's token. No advisory
   * lock, which any role could hold forever.
   */
  public static void ensure(Connection c) throws SQLException {
    for (int attempt = 1; ; attempt++) {
      try {
        inTransaction(c, () -> create(c));
        break;
      } catch (SQLException e) {
        if (attempt == 3 || !(UNIQUE_VIOLATION.equals(e.getSQLState()) || DUPLICATE_TABLE.equals(e.getSQLState()))) {
          throw e;
        }
      }
    }
  }

  static Void create(Connection c) throws SQLException {
    Sql.execute(c, "CREATE UNLOGGED TABLE IF NOT EXISTS " + TABLE + " (one boolean PRIMARY KEY DEFAULT true CHECK (one), token text NOT NULL)");
    String inherited = Sql.relationExists(c, "cutover.capture_state") ? "(SELECT apply_token FROM cutover.capture_state)" : "NULL";
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + TABLE + " (token) SELECT coalesce(" + inherited + ", ?)"
        + " WHERE NOT EXISTS (SELECT 1 FROM " + TABLE + ")")) {
      byte[] token = new byte[24];
      new SecureRandom().nextBytes(token);
      ps.setString(1, HexFormat.of().formatHex(token));
      ps.executeUpdate();
    }
    return null;
  }

  /** SQL for the token, for capture's own state. */
  public static String select() {
    return "(SELECT token FROM " + TABLE + ")";
  }

  /**
   * Creates the token on {@code c} if missing (sealed: only the owner reads it; capture's install
   * seals what it makes too) and sets it in the session, for every transaction to come.
   */
  public static void carry(Connection c) throws SQLException {
    ensure(c);
    ControlSchema.seal(c);
    Sql.execute(c, "SELECT pg_catalog.set_config('cutover.apply_token', token, false) FROM " + TABLE);
  }
}
