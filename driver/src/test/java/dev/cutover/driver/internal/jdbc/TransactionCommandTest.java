package dev.cutover.driver.internal.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TransactionCommandTest {

  @ParameterizedTest
  @ValueSource(strings = {"ROLLBACK", "rollback;", "  Rollback Work ; ", "ABORT", "abort transaction",
      "/* a /* nested */ comment */ ROLLBACK", "-- why\n rollback\n"})
  void of_rollbackAlone_isRollback(String sql) {
    assertThat(TransactionCommand.of(sql)).isEqualTo(TransactionCommand.ROLLBACK);
  }

  @ParameterizedTest
  @ValueSource(strings = {"COMMIT", "commit work;", "END", "end transaction", " /* x */ Commit"})
  void of_commitAlone_isCommit(String sql) {
    assertThat(TransactionCommand.of(sql)).isEqualTo(TransactionCommand.COMMIT);
  }

  @ParameterizedTest
  @ValueSource(strings = {"BEGIN", "begin;", "BEGIN ISOLATION LEVEL SERIALIZABLE", "begin work",
      "START TRANSACTION", "start /* c */ transaction read only", "-- c\nBegin; INSERT INTO t VALUES (1)"})
  void of_transactionStart_isBegin(String sql) {
    assertThat(TransactionCommand.of(sql)).isEqualTo(TransactionCommand.BEGIN);
  }

  @ParameterizedTest
  @ValueSource(strings = {"ROLLBACK TO SAVEPOINT a", "rollback to a", "ROLLBACK PREPARED 'x'", "COMMIT PREPARED 'x'",
      "COMMIT AND CHAIN", "ROLLBACK; SELECT 1", "rollbacks", "beginning", "START", "start_x", "ENDING",
      "SELECT 1", "", "   ", "/* unterminated ROLLBACK", "INSERT INTO t VALUES ('ROLLBACK')"})
  void of_anythingElse_isOther(String sql) {
    assertThat(TransactionCommand.of(sql)).isEqualTo(TransactionCommand.OTHER);
  }

  @Test
  void of_null_isOther() {
    assertThat(TransactionCommand.of(null)).isEqualTo(TransactionCommand.OTHER);
  }
}
