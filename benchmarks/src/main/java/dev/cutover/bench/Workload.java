package dev.cutover.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;

/** The transactions the overhead benchmark runs: shapes taken from pgbench's TPC-B. */
enum Workload {
  POINT_SELECT("point select") {
    @Override
    void run(DataSource pool, int accounts) throws SQLException {
      try (Connection c = pool.getConnection();
          PreparedStatement ps = c.prepareStatement("SELECT abalance FROM pgbench_accounts WHERE aid = ?")) {
        ps.setInt(1, 1 + ThreadLocalRandom.current().nextInt(accounts));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
        }
      }
    }
  },
  TPC_B("TPC-B-like write") {
    @Override
    void run(DataSource pool, int accounts) throws SQLException {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      int aid = 1 + random.nextInt(accounts);
      int tid = 1 + random.nextInt(TELLERS);
      int delta = random.nextInt(-5000, 5001);
      try (Connection c = pool.getConnection()) {
        c.setAutoCommit(false);
        try (TpcbTransaction tx = new TpcbTransaction(c)) {
          tx.run(aid, tid, 1, delta);
          c.commit();
        } catch (SQLException e) {
          c.rollback();
          throw e;
        }
      }
    }
  },
  BATCH_INSERT("batch insert (50 rows)") {
    @Override
    void run(DataSource pool, int accounts) throws SQLException {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      try (Connection c = pool.getConnection();
          PreparedStatement ps = c.prepareStatement(
              "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (?, 1, ?, ?, now())")) {
        for (int i = 0; i < 50; i++) {
          ps.setInt(1, 1 + random.nextInt(TELLERS));
          ps.setInt(2, 1 + random.nextInt(accounts));
          ps.setInt(3, random.nextInt(-5000, 5001));
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
  };

  static final int TELLERS = 10;

  private final String label;

  Workload(String label) {
    this.label = label;
  }

  String label() {
    return label;
  }

  abstract void run(DataSource pool, int accounts) throws SQLException;

  /** Creates pgbench's tables with {@code accounts} rows, one branch and ten tellers. */
  static void createSchema(Connection c, int accounts) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int NOT NULL, filler char(88))");
      s.execute("CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL,"
          + " filler char(84))");
      s.execute("CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL,"
          + " filler char(84))");
      s.execute("CREATE TABLE pgbench_history (id bigserial PRIMARY KEY, tid int, bid int, aid int, delta int,"
          + " mtime timestamp, filler char(22))");
      s.execute("INSERT INTO pgbench_branches VALUES (1, 0, '')");
      s.execute("INSERT INTO pgbench_tellers SELECT t, 1, 0, '' FROM generate_series(1, " + TELLERS + ") t");
      s.execute("INSERT INTO pgbench_accounts SELECT a, 1, 0, '' FROM generate_series(1, " + accounts + ") a");
      s.execute("VACUUM ANALYZE");
    }
  }
}
