package dev.cutover.driver.internal.jdbc;

import java.lang.reflect.Method;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Statement-level settings the application changed, replayed when a statement is recreated. Kept
 * as primitives with one bit per setting that was set, so that recording one (which frameworks do
 * per statement) does not box. Each recording method has the name and parameters of the {@link
 * Statement} setter it records ({@link #RECORDED}): {@link Wrappers} generates that setter as a
 * call to the physical statement, then to the recording method.
 */
final class StatementSettings {
  /** The recording methods: those with the signature of a {@link Statement} method. */
  static final List<Method> RECORDED = recorded();

  private static final int FETCH_SIZE = 1;
  private static final int FETCH_DIRECTION = 1 << 1;
  private static final int MAX_ROWS = 1 << 2;
  private static final int MAX_FIELD_SIZE = 1 << 3;
  private static final int QUERY_TIMEOUT = 1 << 4;
  private static final int ESCAPE_PROCESSING = 1 << 5;
  private static final int POOLABLE = 1 << 6;
  private static final int CLOSE_ON_COMPLETION = 1 << 7;

  private int set;
  private int fetchSize;
  private int fetchDirection;
  private long maxRows;
  private int maxFieldSize;
  private int queryTimeout;
  private boolean escapeProcessing;
  private boolean poolable;
  private String cursorName;

  void setFetchSize(int v) {
    fetchSize = v;
    set |= FETCH_SIZE;
  }

  void setFetchDirection(int v) {
    fetchDirection = v;
    set |= FETCH_DIRECTION;
  }

  void setMaxRows(int v) {
    setLargeMaxRows(v);
  }

  void setLargeMaxRows(long v) {
    maxRows = v;
    set |= MAX_ROWS;
  }

  void setMaxFieldSize(int v) {
    maxFieldSize = v;
    set |= MAX_FIELD_SIZE;
  }

  void setQueryTimeout(int v) {
    queryTimeout = v;
    set |= QUERY_TIMEOUT;
  }

  void setEscapeProcessing(boolean v) {
    escapeProcessing = v;
    set |= ESCAPE_PROCESSING;
  }

  void setPoolable(boolean v) {
    poolable = v;
    set |= POOLABLE;
  }

  void setCursorName(String v) {
    cursorName = v;
  }

  void closeOnCompletion() {
    set |= CLOSE_ON_COMPLETION;
  }

  /** Forgets every setting, for a statement that reuses this object. */
  void clear() {
    set = 0;
    cursorName = null;
  }

  void applyTo(Statement s) throws SQLException {
    if ((set & FETCH_SIZE) != 0) {
      s.setFetchSize(fetchSize);
    }
    if ((set & FETCH_DIRECTION) != 0) {
      s.setFetchDirection(fetchDirection);
    }
    if ((set & MAX_ROWS) != 0) {
      if (maxRows <= Integer.MAX_VALUE) {
        s.setMaxRows((int) maxRows); // PgJDBC does not implement setLargeMaxRows
      } else {
        s.setLargeMaxRows(maxRows);
      }
    }
    if ((set & MAX_FIELD_SIZE) != 0) {
      s.setMaxFieldSize(maxFieldSize);
    }
    if ((set & QUERY_TIMEOUT) != 0) {
      s.setQueryTimeout(queryTimeout);
    }
    if ((set & ESCAPE_PROCESSING) != 0) {
      s.setEscapeProcessing(escapeProcessing);
    }
    if ((set & POOLABLE) != 0) {
      s.setPoolable(poolable);
    }
    if (cursorName != null) {
      s.setCursorName(cursorName);
    }
    if ((set & CLOSE_ON_COMPLETION) != 0) {
      s.closeOnCompletion();
    }
  }

  private static List<Method> recorded() {
    List<Method> methods = new ArrayList<>();
    for (Method m : StatementSettings.class.getDeclaredMethods()) {
      try {
        Statement.class.getMethod(m.getName(), m.getParameterTypes());
        methods.add(m);
      } catch (NoSuchMethodException e) {
        // not a recording method
      }
    }
    return List.copyOf(methods);
  }
}
