package dev.cutover.testkit;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;
import org.postgresql.PGProperty;

/**
 * A PostgreSQL server someone else runs, named by a JDBC URL in an environment variable, for
 * testing against real providers (RDS, Heroku, a local cluster). Its major version is whatever the
 * server reports; stopping it only lets it go.
 */
final class ExternalServer implements PostgresServer {

  static final String USER_VARIABLE = "CUTOVER_TEST_USER";
  static final String PASSWORD_VARIABLE = "CUTOVER_TEST_PASSWORD";

  private final String host;
  private final int port;
  private final String query;
  private final String user;
  private final String password;
  private final int majorVersion;

  private ExternalServer(String host, int port, String query, String user, String password) throws SQLException {
    this.host = host;
    this.port = port;
    this.query = query;
    this.user = user;
    this.password = password;
    try (Connection connection = connect()) {
      this.majorVersion = Sql.majorVersion(connection);
    }
  }

  /** Connects to the server named by the JDBC URL in {@code urlVariable}, as {@code CUTOVER_TEST_USER}. */
  static ExternalServer fromEnvironment(String urlVariable) throws SQLException {
    String url = requiredVariable(urlVariable);
    Properties parsed = org.postgresql.Driver.parseURL(url, new Properties());
    if (parsed == null) {
      throw new IllegalArgumentException(urlVariable + " is not a jdbc:postgresql: URL: " + url.replaceAll("\\?.*", "?..."));
    }
    String host = PGProperty.PG_HOST.getOrDefault(parsed);
    String port = PGProperty.PG_PORT.getOrDefault(parsed);
    if (host.contains(",")) {
      throw new IllegalArgumentException(urlVariable + " must name one host, not " + host);
    }
    int queryStart = url.indexOf('?');
    String query = queryStart < 0 ? "" : url.substring(queryStart);
    String password = System.getenv(PASSWORD_VARIABLE);
    return new ExternalServer(host, Integer.parseInt(port), query, requiredVariable(USER_VARIABLE), password == null ? "" : password);
  }

  private static String requiredVariable(String name) {
    String value = System.getenv(name);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException("Environment variable " + name + " must be set when cutover.test.postgres=external");
    }
    return value;
  }

  @Override
  public int majorVersion() {
    return majorVersion;
  }

  @Override
  public String host() {
    return host;
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public String user() {
    return user;
  }

  @Override
  public String password() {
    return password;
  }

  /** Keeps the URL's parameters (sslmode and the like), only the database changes. */
  @Override
  public String jdbcUrl(String database) {
    return PostgresServer.super.jdbcUrl(database) + query;
  }

  @Override
  public void stop() {
    // Not ours to stop.
  }

  @Override
  public String toString() {
    return "external PostgreSQL " + majorVersion + " at " + host + ":" + port;
  }
}
