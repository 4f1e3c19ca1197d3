package dev.cutover.driver.internal.jdbc;

import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLNonTransientException;
import java.sql.SQLTransactionRollbackException;

/** The SQLStates Cutover raises, with the exceptions that carry them. */
final class SqlStates {
  /** Retry the transaction: a switch rolled it back or held it too long. */
  static final String SERIALIZATION_FAILURE = "40001";
  /** The logical connection was closed. */
  static final String CONNECTION_DOES_NOT_EXIST = "08003";
  /** A result set's rows cannot be written where the session is now: read them again (PgJDBC's own for row writes). */
  static final String INVALID_CURSOR_STATE = "24000";

  private SqlStates() {}

  static SQLException retry(String message, Throwable cause) {
    return new SQLTransactionRollbackException(message, SERIALIZATION_FAILURE, cause);
  }

  /** The connection lost session state it could not carry; the message names it. */
  static SQLException lost(String message, SQLException cause) {
    return new SQLNonTransientConnectionException(message, CONNECTION_DOES_NOT_EXIST, cause);
  }

  /** A row write refused before anything was sent; the message says why and to read the rows again. */
  static SQLException readAgain(String message) {
    return new SQLNonTransientException(message, INVALID_CURSOR_STATE);
  }

  static SQLException closed(String what) {
    return new SQLNonTransientConnectionException(
        "cutover: this " + what + " is closed", CONNECTION_DOES_NOT_EXIST);
  }
}
