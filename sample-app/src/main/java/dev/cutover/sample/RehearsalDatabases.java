package dev.cutover.sample;

import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The old and new databases a rehearsal moves the booking service between, and how each party
 * reaches them: the application through one {@code jdbc:cutover:} URL, the rehearsal itself and
 * the replication directly.
 *
 * <p>Only embedded servers for now. Real servers ({@code --old-url}/{@code --new-url}) need what
 * the replicator will bring: privileges checks, refusing non-empty databases, cleaning up only
 * what it created.
 */
final class RehearsalDatabases {
  static final String SERVICE = "booking";

  private final PostgresServer oldServer;
  private final PostgresServer newServer;
  private final String database;

  private RehearsalDatabases(PostgresServer oldServer, PostgresServer newServer, String database) {
    this.oldServer = oldServer;
    this.newServer = newServer;
    this.database = database;
  }

  /** Creates {@code database} on both servers of {@code pair}. */
  static RehearsalDatabases create(PostgresPair pair, String database) throws SQLException {
    pair.oldServer().createDatabase(database);
    pair.newServer().createDatabase(database);
    return new RehearsalDatabases(pair.oldServer(), pair.newServer(), database);
  }

  String database() {
    return database;
  }

  PostgresServer server(Target side) {
    return side == Target.OLD ? oldServer : newServer;
  }

  /** A plain PgJDBC connection to one side, as a superuser, for setup and verification. */
  Connection direct(Target side) throws SQLException {
    return server(side).connect(database);
  }

  /** How a subscription on the other server reaches {@code side}. */
  String libpq(Target side) {
    return server(side).libpqConnection(database);
  }

  String jdbcUrl(Target side) {
    return server(side).jdbcUrl(database);
  }

  int majorVersion(Target side) {
    return server(side).majorVersion();
  }

  String user() {
    return oldServer.user();
  }

  String password() {
    return oldServer.password();
  }

  /**
   * The booking service's URL for one instance: old as the main URL, new and the flag file as
   * parameters, and the instance id, which gives each instance its own driver router and switch.
   */
  String cutoverUrl(String instance, Path flagFile) {
    return "jdbc:cutover:postgresql://" + oldServer.host() + ":" + oldServer.port() + "/" + database
        + "?cutover.new.url=" + encode(newServer.jdbcUrl(database))
        + "&cutover.flag.provider=file&cutover.flag.file=" + encode(flagFile.toString())
        + "&cutover.service=" + SERVICE
        + "&cutover.instance=" + encode(instance);
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
