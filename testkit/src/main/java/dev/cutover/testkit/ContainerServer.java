package dev.cutover.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * A PostgreSQL server in a Docker container ({@code postgres:<major>}), for machines that have
 * Docker but should not run the bundled binaries. Its own class so that Testcontainers (an optional
 * dependency) is loaded only when this provider is selected.
 */
final class ContainerServer implements PostgresServer {

  private static final int CONTAINER_PORT = PostgreSQLContainer.POSTGRESQL_PORT;

  private final int majorVersion;
  private final String alias;
  private final PostgreSQLContainer<?> container;

  private ContainerServer(int majorVersion, String alias, PostgreSQLContainer<?> container) {
    this.majorVersion = majorVersion;
    this.alias = alias;
    this.container = container;
  }

  /** All containers join one network, so that a subscriber container reaches its publisher by alias. */
  static ContainerServer start(int majorVersion) {
    String alias = "postgres-" + majorVersion + "-" + UUID.randomUUID().toString().substring(0, 8);
    List<String> command = new ArrayList<>(List.of("postgres"));
    ServerSettings.forVersion(majorVersion).forEach((key, value) -> command.addAll(List.of("-c", key + "=" + value)));
    PostgreSQLContainer<?> container = new PostgreSQLContainer<>(DockerImageName.parse("postgres:" + (majorVersion == 9 ? "9.6" : majorVersion)))
        .withNetwork(Network.SHARED)
        .withNetworkAliases(alias);
    container.setCommand(command.toArray(String[]::new));
    container.start();
    return new ContainerServer(majorVersion, alias, container);
  }

  @Override
  public int majorVersion() {
    return majorVersion;
  }

  @Override
  public String host() {
    return container.getHost();
  }

  @Override
  public int port() {
    return container.getMappedPort(CONTAINER_PORT);
  }

  @Override
  public String user() {
    return container.getUsername();
  }

  @Override
  public String password() {
    return container.getPassword();
  }

  /** Another container cannot reach this one through the host's mapped port, only by network alias. */
  @Override
  public String libpqConnection(String database) {
    return Sql.libpq(alias, CONTAINER_PORT, database, user(), password());
  }

  @Override
  public void stop() {
    container.stop();
  }

  @Override
  public String toString() {
    return "PostgreSQL " + majorVersion + " in container " + alias;
  }
}
