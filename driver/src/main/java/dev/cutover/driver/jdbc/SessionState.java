package dev.cutover.driver.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;
import java.util.concurrent.Executor;

/**
 * The JDBC-level session settings an application changed on a logical connection, replayed on
 * every physical connection it moves to. Only settings that were set are replayed, so a fresh
 * connection keeps the server's defaults otherwise.
 */
final class SessionState {
  private Boolean autoCommit;
  private Integer isolation;
  private Boolean readOnly;
  private String schema;
  private Executor networkExecutor;
  private Integer networkTimeout;
  private Properties clientInfo;
  private Integer holdability;

  void autoCommit(boolean value) {
    autoCommit = value;
  }

  void isolation(int value) {
    isolation = value;
  }

  void readOnly(boolean value) {
    readOnly = value;
  }

  void schema(String value) {
    schema = value;
  }

  void networkTimeout(Executor executor, int millis) {
    networkExecutor = executor;
    networkTimeout = millis;
  }

  void clientInfo(String name, String value) {
    if (clientInfo == null) {
      clientInfo = new Properties();
    }
    if (value == null) {
      clientInfo.remove(name);
    } else {
      clientInfo.setProperty(name, value);
    }
  }

  void clientInfo(Properties properties) {
    clientInfo = new Properties();
    clientInfo.putAll(properties);
  }

  void holdability(int value) {
    holdability = value;
  }

  void applyTo(Connection c) throws SQLException {
    if (autoCommit != null) {
      c.setAutoCommit(autoCommit);
    }
    if (isolation != null) {
      c.setTransactionIsolation(isolation);
    }
    if (readOnly != null) {
      c.setReadOnly(readOnly);
    }
    if (schema != null) {
      c.setSchema(schema);
    }
    if (networkTimeout != null) {
      c.setNetworkTimeout(networkExecutor, networkTimeout);
    }
    if (clientInfo != null) {
      c.setClientInfo(clientInfo);
    }
    if (holdability != null) {
      c.setHoldability(holdability);
    }
  }
}
