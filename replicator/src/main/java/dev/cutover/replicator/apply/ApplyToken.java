package dev.cutover.replicator.apply;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.sql.Sql;
import java.io.IOException;
import java.io.StringReader;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HexFormat;
import org.postgresql.PGConnection;

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
   * starting while {@code reverse} installs capture) are told apart by PostgreSQL: the table's
   * lock, which only its owner may take (no advisory lock, which any role could hold forever), and
   * where the table itself is made at once, its unique catalog indexes: the loser's attempt fails
   * and, tried again, finds the winner's token.
   *
   * <p>The token never travels in a statement's text or bind parameters, which the server logs
   * ({@code log_statement = mod} logs an INSERT with its parameters, {@code log_min_error_statement}
   * a failed one): a new one goes in as COPY data, which no setting logs. It is made here rather
   * than by the server, whose {@code random()} before 12 is seeded with 32 bits (the pid and start
   * time) while the token's md5 is in the capture function's source, which every role can read;
   * {@code gen_random_uuid()} came only with 13 and trigger capture serves sources from 9.6.
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
    // Held to the end of the transaction: a second caller waits here, then finds the first's row,
    // so that no COPY of a token that loses can fail (a failed COPY's error context holds its line).
    Sql.execute(c, "LOCK TABLE " + TABLE + " IN SHARE ROW EXCLUSIVE MODE");
    if (Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM " + TABLE + ")")) {
      return null;
    }
    if (Sql.relationExists(c, "cutover.capture_state")) {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + TABLE + " (token) SELECT apply_token FROM cutover.capture_state")) {
        if (ps.executeUpdate() > 0) {
          return null;
        }
      }
    }
    byte[] token = new byte[24];
    new SecureRandom().nextBytes(token);
    try {
      c.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY " + TABLE + " (token) FROM STDIN",
          new StringReader(HexFormat.of().formatHex(token) + "\n"));
    } catch (IOException e) {
      throw new SQLException("cannot write the apply token into " + TABLE, "58030", e);
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
    setAgain(c);
  }

  /** Sets the token in the session again, as {@link #carry} did (a replayed schema change may have changed it). */
  static void setAgain(Connection c) throws SQLException {
    Sql.execute(c, "SELECT pg_catalog.set_config('cutover.apply_token', token, false) FROM " + TABLE);
  }
}
