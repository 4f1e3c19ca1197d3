package dev.cutover.driver.internal.session;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.Encoding;
import org.postgresql.core.Field;
import org.postgresql.core.Query;
import org.postgresql.core.QueryExecutor;
import org.postgresql.core.ResultCursor;
import org.postgresql.core.ResultHandlerBase;
import org.postgresql.core.Tuple;

/**
 * One exchange with the server on a PgJDBC connection, below the JDBC layer: the statements go
 * out together in one flush and are answered in one round trip, no {@code BEGIN} is prepended
 * whatever the connection's autocommit, and the rows of each statement are kept as text even
 * when a later statement of the same exchange fails or ends the session.
 *
 * <p>The driver reads and applies session state with it: a JDBC statement would open a
 * transaction on a connection whose autocommit is off, and would lose the rows read before the
 * session ended. The exchange holds PgJDBC's connection lock from the first byte sent to the
 * last answer read, so no other thread's statement can run between its statements.
 */
public final class ServerExchange {
  private static final int FLAGS = QueryExecutor.QUERY_SUPPRESS_BEGIN | QueryExecutor.QUERY_EXECUTE_AS_SIMPLE
      | QueryExecutor.QUERY_NO_BINARY_TRANSFER;

  private ServerExchange() {}

  /**
   * What came back: the rows of each statement that returned rows, in order, and the first error.
   *
   * @param results one list of text rows per row-returning statement
   * @param error the first error, or {@code null}
   */
  public record Answer(List<List<String[]>> results, SQLException error) {
    /** The rows of the {@code n}-th row-returning statement, or an empty list. */
    public List<String[]> rows(int n) {
      return n < results.size() ? results.get(n) : List.of();
    }

    /** The rows of the first row-returning statement; throws the error if there was one. */
    public List<String[]> rowsOrThrow() throws SQLException {
      if (error != null) {
        throw error;
      }
      return rows(0);
    }
  }

  /** Sends {@code sql} (statements separated by semicolons) and collects the answer. */
  public static Answer run(BaseConnection c, String sql) {
    Collector collector = new Collector(c);
    try {
      QueryExecutor executor = c.getQueryExecutor();
      Query query = executor.createSimpleQuery(sql);
      try {
        executor.execute(query, null, collector, 0, 0, FLAGS);
      } finally {
        query.close();
      }
    } catch (SQLException e) {
      collector.handleError(e);
    }
    return new Answer(collector.results, collector.first);
  }

  /** PgJDBC's {@code Tuple}, in a class of its own so that versions without it never load it. */
  private static final class Tuples {
    static byte[][] values(Object tuple) {
      Tuple t = (Tuple) tuple;
      byte[][] values = new byte[t.fieldCount()][];
      for (int i = 0; i < values.length; i++) {
        values[i] = t.get(i);
      }
      return values;
    }
  }

  /** Keeps rows as text and the first error; never throws while the answer is read. */
  private static final class Collector extends ResultHandlerBase {
    private final BaseConnection connection;
    private final List<List<String[]>> results = new ArrayList<>();
    private SQLException first;

    Collector(BaseConnection connection) {
      this.connection = connection;
    }

    /**
     * Raw {@code List}: PgJDBC hands rows over as {@code Tuple}s since 42.2.11 and as {@code
     * byte[][]} before (the supported range starts at 42.2.9); both erase to this signature.
     */
    @Override
    @SuppressWarnings("rawtypes")
    public void handleResultRows(Query fromQuery, Field[] fields, List tuples, ResultCursor cursor) {
      List<String[]> rows = new ArrayList<>(tuples.size());
      try {
        Encoding encoding = connection.getEncoding();
        for (Object tuple : tuples) {
          byte[][] values = tuple instanceof byte[][] ? (byte[][]) tuple : Tuples.values(tuple);
          String[] row = new String[values.length];
          for (int i = 0; i < row.length; i++) {
            row[i] = values[i] == null ? null : encoding.decode(values[i]);
          }
          rows.add(row);
        }
      } catch (SQLException | java.io.IOException e) {
        handleError(new SQLException("cutover: cannot decode what the server sent: " + e.getMessage(), "22021", e));
      }
      results.add(rows);
    }

    @Override
    public void handleError(SQLException error) {
      if (first == null) {
        first = error;
      }
    }

    @Override
    public void handleWarning(java.sql.SQLWarning warning) {
      // "there is no transaction in progress" and the like: nothing to act on
    }

    @Override
    public void handleCompletion() {
      // the error, if any, is part of the answer
    }
  }
}
