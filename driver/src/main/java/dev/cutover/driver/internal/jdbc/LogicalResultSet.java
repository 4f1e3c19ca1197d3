package dev.cutover.driver.internal.jdbc;

import dev.cutover.flags.Target;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.core.BaseConnection;

/**
 * A result set whose {@link #getStatement()} is ours and whose {@link #next()} fails with 40001
 * as soon as a switch rolled its transaction back, even while PgJDBC still has fetched rows in
 * memory. The row writes of an updatable one ({@link #updateRow()}, {@link #insertRow()}, {@link
 * #deleteRow()}, and {@link #refreshRow()}, which reads) send statements of PgJDBC's own on the
 * physical connection the rows were read on: they pass the connection's statement boundary like
 * any statement (a transaction starts there: it waits at a closed gate and moves the session), and
 * one whose rows were read on a physical connection the session no longer uses (it moved in a
 * switch, or a switch rolled it back) is refused before anything is sent, with 24000 saying to read
 * them again: written where they were read, they would meet old's fence (or, read again by key on
 * the side left, stale rows); written on the side that serves, they would change rows the
 * application has not seen there. All else is generated delegation ({@code updateXxx} and {@code
 * moveToInsertRow} after the same refusal, see {@link #checkReadHere}). It holds only its {@link
 * ResultSetState}, which it gives back to its statement when the application closes it, so that a
 * statement's next results allocate only this object.
 */
public abstract class LogicalResultSet implements ResultSet, Translating {
  /** Null once closed through this object. */
  private ResultSetState state;

  protected LogicalResultSet(ResultSetState state) {
    this.state = state;
  }

  private ResultSetState live() throws SQLException {
    ResultSetState s = state;
    if (s == null) {
      throw SqlStates.closed("result set");
    }
    return s;
  }

  /** The physical result set; read by generated delegation. */
  protected final ResultSet results() throws SQLException {
    return live().results;
  }

  @Override
  public boolean next() throws SQLException {
    ResultSetState s = live();
    s.connection.checkDoomed();
    return s.results.next();
  }

  @Override
  public void updateRow() throws SQLException {
    ResultSetState s = admitRowChange("updateRow");
    try {
      s.results.updateRow();
    } finally {
      s.connection.afterStatement();
    }
  }

  @Override
  public void insertRow() throws SQLException {
    ResultSetState s = admitRowChange("insertRow");
    try {
      s.results.insertRow();
    } finally {
      s.connection.afterStatement();
    }
  }

  @Override
  public void deleteRow() throws SQLException {
    ResultSetState s = admitRowChange("deleteRow");
    try {
      s.results.deleteRow();
    } finally {
      s.connection.afterStatement();
    }
  }

  @Override
  public void refreshRow() throws SQLException {
    ResultSetState s = admitRowChange("refreshRow");
    try {
      s.results.refreshRow();
    } finally {
      s.connection.afterStatement();
    }
  }

  /**
   * Before a row write: the statement boundary (a transaction starts, or the write joins the one in
   * flight), then the refusal of rows read on a physical connection the session no longer uses. The
   * caller ends the statement ({@link LogicalConnection#afterStatement()}) once the write returns.
   */
  private ResultSetState admitRowChange(String call) throws SQLException {
    ResultSetState s = live();
    LogicalConnection c = s.connection;
    c.beforeStatement(null, null, null);
    boolean admitted = false;
    try {
      checkReadHere(s, call);
      admitted = true;
      return s;
    } finally {
      if (!admitted) {
        c.afterStatement();
      }
    }
  }

  /**
   * Before the client-side changes of a row ({@code updateXxx}, {@code moveToInsertRow}; woven in
   * by {@link Wrappers}): PgJDBC's first one asks the connection the rows were read on for the
   * table's key, which after the session left it is closed (or the side left): refused as a row
   * write would be, so that the application reads the rows again rather than get "This connection
   * has been closed" (08003, which pools take for a broken connection).
   */
  final void checkReadHere(String call) throws SQLException {
    checkReadHere(live(), call);
  }

  private static void checkReadHere(ResultSetState s, String call) throws SQLException {
    Statement read = s.results.getStatement(); // PgJDBC's: fails as closed on a closed result set
    LogicalConnection c = s.connection;
    if (read != null && read.getConnection() != c.physical().unwrap(BaseConnection.class)) {
      throw readAgain(call, s.side, c.side());
    }
  }

  private static SQLException readAgain(String call, Target read, Target now) {
    String where = read == now
        ? "was read on a connection to the " + read.value() + " database that this session has since replaced"
            + " (a switch rolled its transaction back, or moved it away and back)"
        : "was read on the " + read.value() + " database, which this session left for the " + now.value()
            + " database in a switch";
    return SqlStates.readAgain("cutover: " + call + " refused, nothing was sent: this result set " + where
        + "; run its query again and change the rows it returns on the " + now.value() + " database");
  }

  /** The statement that produced it, or {@code null} for metadata results, as JDBC allows. */
  @Override
  public Statement getStatement() throws SQLException {
    ResultSetState s = live();
    s.results.getStatement(); // PgJDBC's closed check, so a closed result set fails as it would there
    return s.owner;
  }

  /** Closes the physical result set; once that succeeded, its state goes back to the statement. */
  @Override
  public void close() throws SQLException {
    ResultSetState s = state;
    if (s == null) {
      return;
    }
    s.results.close(); // a failure is translated while the state is still here, and the state is not reused
    state = null;
    LogicalStatement owner = s.owner;
    s.start(null, null);
    if (owner != null) {
      owner.giveBack(s);
    }
  }

  @Override
  public boolean isClosed() throws SQLException {
    ResultSetState s = state;
    return s == null || s.results.isClosed();
  }

  @Override
  public final SQLException translate(SQLException e) {
    ResultSetState s = state;
    return s == null ? e : s.connection.translate(e);
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    return iface.isInstance(this) ? iface.cast(this) : results().unwrap(iface);
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) throws SQLException {
    return iface.isInstance(this) || results().isWrapperFor(iface);
  }
}
