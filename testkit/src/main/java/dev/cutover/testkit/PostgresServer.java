package dev.cutover.testkit;

import dev.cutover.common.Quoting;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * A running, real PostgreSQL server that tests connect to, replicate between and stop.
 *
 * <p>Servers come from {@link PostgresPair#start(int, int)}, which picks the provider (embedded
 * binaries, Testcontainers or external URLs). Tests isolate themselves inside one shared server
 * with {@link #createDatabase(String)}. Every server has {@code wal_level=logical} and room for
 * replication slots, so it can be either side of a logical replication.
 */
public interface PostgresServer extends AutoCloseable {

  /** The database every PostgreSQL server has, used when none is named. */
  String DEFAULT_DATABASE = "postgres";

  /** The server's major version, as the server reports it (for example 12 or 17). */
  int majorVersion();

  /** Host name for JDBC connections from this JVM. */
  String host();

  /** Port for JDBC connections from this JVM. */
  int port();

  /** A superuser that can create databases, publications and subscriptions. */
  String user();

  /** The user's password; empty when the server trusts local connections. */
  String password();

  /** A JDBC URL for {@code database}, without credentials (see {@link #user()}, {@link #password()}). */
  default String jdbcUrl(String database) {
    return "jdbc:postgresql://" + host() + ":" + port() + "/" + database;
  }

  /** A JDBC URL for the {@code postgres} database. */
  default String jdbcUrl() {
    return jdbcUrl(DEFAULT_DATABASE);
  }

  /**
   * Opens a connection to {@code database} through PgJDBC itself rather than {@code DriverManager},
   * so that a test never silently gets another registered driver (such as the Cutover driver).
   */
  default Connection connect(String database) throws SQLException {
    return connect(database, new Properties());
  }

  /** Opens a connection to {@code database} with further PgJDBC properties, such as {@code ApplicationName}. */
  default Connection connect(String database, Properties pgjdbcProperties) throws SQLException {
    Properties properties = new Properties();
    properties.putAll(pgjdbcProperties);
    properties.setProperty("user", user());
    properties.setProperty("password", password());
    return Sql.DRIVER.connect(jdbcUrl(database), properties);
  }

  /** Opens a connection to the {@code postgres} database. */
  default Connection connect() throws SQLException {
    return connect(DEFAULT_DATABASE);
  }

  /**
   * A libpq connection string for {@code database}, as another server on this machine reaches this
   * one; meant for {@code CREATE SUBSCRIPTION ... CONNECTION '...'}.
   */
  default String libpqConnection(String database) {
    return Sql.libpq(host(), port(), database, user(), password());
  }

  /**
   * Creates a new database and returns its name, so that tests sharing this server do not see each
   * other's tables. The name is quoted, so it is used exactly as given.
   *
   * <p>From 15 on, the copy is {@code STRATEGY = FILE_COPY}, as it always was before 15: the default
   * since, {@code WAL_LOG}, writes the whole template into WAL and took about 2.5 times the CPU
   * (some 120 ms against 46 ms per database on 17), for each of the two databases every test makes.
   */
  default String createDatabase(String name) throws SQLException {
    String strategy = majorVersion() >= 15 ? " STRATEGY = FILE_COPY" : "";
    try (Connection connection = connect(); Statement statement = connection.createStatement()) {
      statement.execute("CREATE DATABASE " + Quoting.identifier(name) + strategy);
    }
    return name;
  }

  /** Stops the server and deletes its data, or only lets it go when this JVM did not start it. */
  void stop();

  /** Same as {@link #stop()}. */
  @Override
  default void close() {
    stop();
  }
}
