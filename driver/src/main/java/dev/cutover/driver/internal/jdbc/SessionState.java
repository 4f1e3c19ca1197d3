package dev.cutover.driver.internal.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executor;
import org.postgresql.PGConnection;
import org.postgresql.jdbc.AutoSave;
import org.postgresql.util.PGobject;

/**
 * The JDBC-level settings an application changed on a logical connection, replayed on every
 * physical connection it moves to. Only settings that were set are replayed, so a fresh
 * connection keeps the server's defaults otherwise.
 *
 * <p>Some of them live in PgJDBC only (autocommit, read-only, holdability, network timeout,
 * PgJDBC's own options); the others change the server session (isolation, schema, application
 * name), and a {@link dev.cutover.driver.internal.session.SessionSnapshot} carries their server-side
 * effect when the session's state is read: then only the first kind is replayed here.
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
  private Integer prepareThreshold;
  private Integer defaultFetchSize;
  private AutoSave autosave;
  private Boolean adaptiveFetch;
  private Map<String, Class<? extends PGobject>> dataTypes;

  void autoCommit(boolean value) {
    autoCommit = value;
  }

  /** Whether the connection is in autocommit mode (as every PgJDBC connection starts). */
  boolean autoCommit() {
    return autoCommit == null || autoCommit;
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

  void prepareThreshold(int value) {
    prepareThreshold = value;
  }

  void defaultFetchSize(int value) {
    defaultFetchSize = value;
  }

  void autosave(AutoSave value) {
    autosave = value;
  }

  void adaptiveFetch(boolean value) {
    adaptiveFetch = value;
  }

  void dataType(String type, Class<? extends PGobject> javaClass) {
    if (dataTypes == null) {
      dataTypes = new LinkedHashMap<>();
    }
    dataTypes.put(type, javaClass);
  }

  /** Replays everything, for a move whose server-side session state was not read (behind a pooler). */
  void applyTo(Connection c) throws SQLException {
    applyClientSideTo(c);
    if (isolation != null) {
      c.setTransactionIsolation(isolation);
    }
    if (schema != null) {
      c.setSchema(schema);
    }
    if (clientInfo != null) {
      c.setClientInfo(clientInfo);
    }
  }

  /** Replays what only PgJDBC keeps; none of it costs a round trip on a connection outside a transaction. */
  void applyClientSideTo(Connection c) throws SQLException {
    if (autoCommit != null) {
      c.setAutoCommit(autoCommit);
    }
    if (readOnly != null) {
      c.setReadOnly(readOnly);
    }
    if (networkTimeout != null) {
      c.setNetworkTimeout(networkExecutor, networkTimeout);
    }
    if (holdability != null) {
      c.setHoldability(holdability);
    }
    PGConnection pg = c.unwrap(PGConnection.class);
    if (prepareThreshold != null) {
      pg.setPrepareThreshold(prepareThreshold);
    }
    if (defaultFetchSize != null) {
      pg.setDefaultFetchSize(defaultFetchSize);
    }
    if (autosave != null) {
      pg.setAutosave(autosave);
    }
    if (adaptiveFetch != null) {
      pg.setAdaptiveFetch(adaptiveFetch);
    }
    if (dataTypes != null) {
      for (Map.Entry<String, Class<? extends PGobject>> t : dataTypes.entrySet()) {
        pg.addDataType(t.getKey(), t.getValue());
      }
    }
  }
}
