package dev.cutover.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The five statements of pgbench's TPC-B transaction, prepared on one connection: update an
 * account, read its balance, update its teller and branch, insert a history row. The caller
 * commits.
 */
final class TpcbTransaction implements AutoCloseable {
  private final PreparedStatement account;
  private final PreparedStatement balance;
  private final PreparedStatement teller;
  private final PreparedStatement branch;
  private final PreparedStatement history;

  TpcbTransaction(Connection c) throws SQLException {
    account = c.prepareStatement("UPDATE pgbench_accounts SET abalance = abalance + ? WHERE aid = ?");
    balance = c.prepareStatement("SELECT abalance FROM pgbench_accounts WHERE aid = ?");
    teller = c.prepareStatement("UPDATE pgbench_tellers SET tbalance = tbalance + ? WHERE tid = ?");
    branch = c.prepareStatement("UPDATE pgbench_branches SET bbalance = bbalance + ? WHERE bid = ?");
    history = c.prepareStatement("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (?, ?, ?, ?, now())");
  }

  /** Runs the five statements for account {@code aid}, teller {@code tid} and branch {@code bid}. */
  void run(int aid, int tid, int bid, int delta) throws SQLException {
    account.setInt(1, delta);
    account.setInt(2, aid);
    account.executeUpdate();
    balance.setInt(1, aid);
    try (ResultSet rs = balance.executeQuery()) {
      rs.next();
    }
    teller.setInt(1, delta);
    teller.setInt(2, tid);
    teller.executeUpdate();
    branch.setInt(1, delta);
    branch.setInt(2, bid);
    branch.executeUpdate();
    history.setInt(1, tid);
    history.setInt(2, bid);
    history.setInt(3, aid);
    history.setInt(4, delta);
    history.executeUpdate();
  }

  @Override
  public void close() throws SQLException {
    for (PreparedStatement ps : new PreparedStatement[] {account, balance, teller, branch, history}) {
      ps.close();
    }
  }
}
