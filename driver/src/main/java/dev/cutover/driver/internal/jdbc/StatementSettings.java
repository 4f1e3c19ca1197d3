package dev.cutover.driver.internal.jdbc;

import java.sql.SQLException;
import java.sql.Statement;

/** Statement-level settings the application changed, replayed when a statement is recreated. */
final class StatementSettings {
  private Integer fetchSize;
  private Integer fetchDirection;
  private Long maxRows;
  private Integer maxFieldSize;
  private Integer queryTimeout;
  private Boolean escapeProcessing;
  private Boolean poolable;
  private String cursorName;
  private boolean closeOnCompletion;

  void fetchSize(int v) {
    fetchSize = v;
  }

  void fetchDirection(int v) {
    fetchDirection = v;
  }

  void maxRows(long v) {
    maxRows = v;
  }

  void maxFieldSize(int v) {
    maxFieldSize = v;
  }

  void queryTimeout(int v) {
    queryTimeout = v;
  }

  void escapeProcessing(boolean v) {
    escapeProcessing = v;
  }

  void poolable(boolean v) {
    poolable = v;
  }

  void cursorName(String v) {
    cursorName = v;
  }

  void closeOnCompletion() {
    closeOnCompletion = true;
  }

  void applyTo(Statement s) throws SQLException {
    if (fetchSize != null) {
      s.setFetchSize(fetchSize);
    }
    if (fetchDirection != null) {
      s.setFetchDirection(fetchDirection);
    }
    if (maxRows != null) {
      s.setLargeMaxRows(maxRows);
    }
    if (maxFieldSize != null) {
      s.setMaxFieldSize(maxFieldSize);
    }
    if (queryTimeout != null) {
      s.setQueryTimeout(queryTimeout);
    }
    if (escapeProcessing != null) {
      s.setEscapeProcessing(escapeProcessing);
    }
    if (poolable != null) {
      s.setPoolable(poolable);
    }
    if (cursorName != null) {
      s.setCursorName(cursorName);
    }
    if (closeOnCompletion) {
      s.closeOnCompletion();
    }
  }
}
