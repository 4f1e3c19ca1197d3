package dev.cutover.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The per-call path a transaction takes, through plain PgJDBC and through Cutover, on a real
 * server: borrow from HikariCP, prepare, bind, execute, read, return ({@link #pointSelect}); and
 * the same bind, execute, read on a statement kept open ({@link #heldStatement}), what every call
 * after the first costs. Run with the GC profiler, the difference in bytes per operation is what
 * Cutover allocates.
 */
@State(Scope.Benchmark)
public class JdbcPathBenchmark {
  @Param({"plain", "cutover"})
  public String driver;

  private PostgresPair pair;
  private HikariDataSource pool;

  @Setup(Level.Trial)
  public void start() throws SQLException {
    pair = PostgresPair.start(17, 17);
    String db = pair.oldServer().createDatabase("jmh");
    pair.newServer().createDatabase(db);
    try (Connection c = pair.oldServer().connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL)");
      s.execute("INSERT INTO kv SELECT g, g FROM generate_series(1, 1000) g");
    }
    pool = "plain".equals(driver)
        ? Pools.plain(pair.oldServer(), db, 1)
        : Pools.cutover(pair.oldServer(), pair.newServer(), db, 1, "cutover.service=jmh");
  }

  @TearDown(Level.Trial)
  public void stop() {
    pool.close();
    pair.close();
  }

  /** A connection and a prepared statement kept open for a whole trial of {@link #heldStatement}. */
  @State(Scope.Benchmark)
  public static class Held {
    Connection connection;
    PreparedStatement statement;

    @Setup(Level.Trial)
    public void open(JdbcPathBenchmark path) throws SQLException {
      connection = path.pool.getConnection();
      statement = connection.prepareStatement("SELECT v FROM kv WHERE k = ?");
    }

    @TearDown(Level.Trial)
    public void close() throws SQLException {
      statement.close();
      connection.close();
    }
  }

  @Benchmark
  public int pointSelect() throws SQLException {
    try (Connection c = pool.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT v FROM kv WHERE k = ?")) {
      ps.setInt(1, 42);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  @Benchmark
  public int heldStatement(Held held) throws SQLException {
    held.statement.setInt(1, 42);
    try (ResultSet rs = held.statement.executeQuery()) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
