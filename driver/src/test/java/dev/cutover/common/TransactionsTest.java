package dev.cutover.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/** One transaction on a connection the caller keeps (here, in the driver's tests: common has no database of its own). */
@LeakCheckedPair
class TransactionsTest {

  private static Connection withTable(PostgresPair pair, String db) throws SQLException {
    pair.oldServer().createDatabase(db);
    Connection c = pair.oldServer().connect(db);
    execute(c, "CREATE TABLE t (id int PRIMARY KEY)");
    return c;
  }

  private static void execute(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static long rows(Connection c) throws SQLException {
    return Long.parseLong(Queries.strings(c, "SELECT count(*) FROM t").get(0));
  }

  @Test
  void inTransaction_workReturns_committedAndAutoCommitRestored(PostgresPair pair) throws Exception {
    try (Connection c = withTable(pair, "tx_commit")) {
      String result = Transactions.inTransaction(c, () -> {
        execute(c, "INSERT INTO t VALUES (1)");
        return "done";
      });

      assertThat(result).isEqualTo("done");
      assertThat(c.getAutoCommit()).isTrue();
      assertThat(rows(c)).isEqualTo(1);
    }
  }

  @Test
  void inTransaction_workThrowsUncheckedAfterAWrite_rolledBackNotCommittedByRestoringAutoCommit(PostgresPair pair)
      throws Exception {
    try (Connection c = withTable(pair, "tx_unchecked")) {
      assertThatThrownBy(() -> Transactions.inTransaction(c, () -> {
        execute(c, "INSERT INTO t VALUES (1)");
        throw new IllegalStateException("half done");
      })).isInstanceOf(IllegalStateException.class).hasMessage("half done");

      assertThat(c.getAutoCommit()).isTrue();
      assertThat(rows(c)).as("setAutoCommit(true) on an open transaction would have committed the insert").isZero();
    }
  }

  @Test
  void inTransaction_statementUnanswered_throwsTheTimeoutNotTheClosedConnectionsRefusalToRollBack(PostgresPair pair)
      throws Exception {
    assertUnansweredThrownAsSuch(pair, "tx_unanswered", Transactions::inTransaction);
  }

  @Test
  void inTransaction_autoCommitWasOff_leftOff(PostgresPair pair) throws Exception {
    try (Connection c = withTable(pair, "tx_manual")) {
      c.setAutoCommit(false);
      Transactions.inTransaction(c, () -> {
        execute(c, "INSERT INTO t VALUES (1)");
        return null;
      });

      assertThat(c.getAutoCommit()).isFalse();
      c.rollback();
      assertThat(rows(c)).as("committed by inTransaction, not left for the caller").isEqualTo(1);
      c.setAutoCommit(true);
    }
  }

  @Test
  void rolledBack_statementUnanswered_throwsTheTimeoutNotTheClosedConnectionsRefusalToRollBack(PostgresPair pair)
      throws Exception {
    assertUnansweredThrownAsSuch(pair, "tx_probe_unanswered", Transactions::rolledBack);
  }

  /** One of the ways to run work in a transaction. */
  private interface Runner {
    Object run(Connection c, Transactions.Work<Object> work) throws SQLException;
  }

  /**
   * A statement of the work left unanswered past the connection's network timeout: what is thrown
   * is the timeout, the closed connection's refusal to roll back kept as suppressed.
   */
  private static void assertUnansweredThrownAsSuch(PostgresPair pair, String db, Runner runner) throws Exception {
    try (Connection c = withTable(pair, db)) {
      c.setNetworkTimeout(Runnable::run, 300);

      assertThatThrownBy(() -> runner.run(c, () -> {
        execute(c, "SELECT pg_sleep(5)");
        return null;
      })).hasRootCauseInstanceOf(java.net.SocketTimeoutException.class)
          .satisfies(e -> assertThat(e.getSuppressed()).singleElement().extracting(Throwable::getMessage).asString()
              .contains("closed"));

      assertThat(c.isClosed()).as("PgJDBC gave the connection up").isTrue();
    }
  }

  @Test
  void rolledBack_workSucceeds_leavesNothing(PostgresPair pair) throws Exception {
    try (Connection c = withTable(pair, "tx_probe")) {
      Transactions.rolledBack(c, () -> {
        execute(c, "INSERT INTO t VALUES (1)");
        return null;
      });

      assertThat(c.getAutoCommit()).isTrue();
      assertThat(rows(c)).isZero();
    }
  }
}
