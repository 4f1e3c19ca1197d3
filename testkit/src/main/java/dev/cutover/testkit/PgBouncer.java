package dev.cutover.testkit;

import dev.cutover.common.Poll;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * A PgBouncer process in transaction pooling mode in front of databases of one or more servers,
 * as many production deployments run one: a client's consecutive transactions may run on
 * different server sessions, so session state, session advisory locks, LISTEN and the backend
 * process id seen at connect do not belong to the client.
 *
 * <p>It runs Debian's {@code pgbouncer} binary ({@code apt-get install pgbouncer}; {@code .ci/run}
 * installs it) from a configuration in a temporary directory: trust authentication, pool size 10
 * per database, listening on a free loopback port. Without the binary, {@link #start} fails with
 * the command that installs it. Run as root, it drops to {@code nobody}, since PgBouncer refuses
 * to run as root.
 */
public final class PgBouncer implements AutoCloseable {
  /** The pool size per database and user, as in the configuration most guides start from. */
  public static final int POOL_SIZE = 10;
  private static final String INSTALL = "apt-get install -y pgbouncer";
  private static final long START_MILLIS = 15_000;

  private final Path dir;
  private final Process process;
  private final int port;

  /**
   * A database PgBouncer serves under an alias.
   *
   * @param server the server it lives on
   * @param database its name there
   */
  public record Backend(PostgresServer server, String database) {}

  private PgBouncer(Path dir, Process process, int port) {
    this.dir = dir;
    this.process = process;
    this.port = port;
  }

  /**
   * Starts PgBouncer serving each backend under its alias, and waits until it accepts connections.
   *
   * @throws IllegalStateException when the binary is missing (the message says how to install it)
   *     or PgBouncer does not start (the message holds its log)
   */
  public static PgBouncer start(Map<String, Backend> databases) throws IOException {
    Path binary = binary();
    Path dir = Files.createTempDirectory("pgbouncer");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    int port = freePort();
    StringBuilder config = new StringBuilder("[databases]\n");
    TreeSet<String> users = new TreeSet<>();
    new LinkedHashMap<>(databases).forEach((alias, b) -> {
      config.append(alias).append(" = host=").append(b.server().host()).append(" port=").append(b.server().port())
          .append(" dbname=").append(b.database()).append(" user=").append(b.server().user());
      if (!b.server().password().isEmpty()) {
        config.append(" password=").append(b.server().password());
      }
      config.append('\n');
      users.add(b.server().user());
    });
    config.append("[pgbouncer]\n")
        .append("listen_addr = 127.0.0.1\n")
        .append("listen_port = ").append(port).append('\n')
        .append("unix_socket_dir =\n")
        .append("auth_type = trust\n")
        .append("auth_file = ").append(dir.resolve("users.txt")).append('\n')
        .append("pool_mode = transaction\n")
        .append("default_pool_size = ").append(POOL_SIZE).append('\n')
        .append("max_client_conn = 1000\n")
        // PgJDBC sends it at connect; PgBouncer only passes on the parameters it tracks.
        .append("ignore_startup_parameters = extra_float_digits\n");
    StringBuilder userList = new StringBuilder();
    for (String user : users) {
      userList.append('"').append(user).append("\" \"\"\n");
    }
    Path ini = dir.resolve("pgbouncer.ini");
    Files.writeString(ini, config);
    Files.writeString(dir.resolve("users.txt"), userList);
    for (Path f : List.of(ini, dir.resolve("users.txt"))) {
      Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    }
    List<String> command = new ArrayList<>(List.of(binary.toString()));
    if ("root".equals(System.getProperty("user.name"))) {
      command.addAll(List.of("-u", "nobody"));
    }
    command.add(ini.toString());
    Path log = dir.resolve("pgbouncer.log");
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    PgBouncer bouncer = new PgBouncer(dir, process, port);
    try {
      bouncer.awaitListening(log);
    } catch (RuntimeException e) {
      bouncer.close();
      throw e;
    }
    return bouncer;
  }

  private static Path binary() {
    List<Path> candidates = new ArrayList<>();
    for (String entry : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (!entry.isEmpty()) {
        candidates.add(Path.of(entry, "pgbouncer"));
      }
    }
    candidates.add(Path.of("/usr/sbin/pgbouncer"));
    candidates.add(Path.of("/usr/bin/pgbouncer"));
    for (Path p : candidates) {
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    throw new IllegalStateException("pgbouncer is not installed (looked on PATH, /usr/sbin and /usr/bin); tests of"
        + " the driver behind a connection pooler need it: " + INSTALL + " (.ci/run installs it)");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private void awaitListening(Path log) {
    boolean listening = Poll.every(Duration.ofMillis(50)).within(Duration.ofMillis(START_MILLIS), () -> {
      if (!process.isAlive()) {
        throw new IllegalStateException("pgbouncer exited with status " + process.exitValue() + " at start: "
            + tail(log));
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return true;
      } catch (IOException notYet) {
        return false;
      }
    });
    if (!listening) {
      if (Thread.currentThread().isInterrupted()) {
        throw new IllegalStateException("interrupted while pgbouncer started");
      }
      throw new IllegalStateException("pgbouncer did not listen on port " + port + " within " + START_MILLIS
          + " ms: " + tail(log));
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  public String host() {
    return "127.0.0.1";
  }

  public int port() {
    return port;
  }

  /** A JDBC URL for the database served under {@code alias}, without credentials. */
  public String jdbcUrl(String alias) {
    return "jdbc:postgresql://" + host() + ":" + port + "/" + alias;
  }

  /** Stops PgBouncer (closing every client and server connection) and deletes its directory. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Directories.deleteQuietly(dir);
  }

  @Override
  public String toString() {
    return "PgBouncer[" + host() + ":" + port + "]";
  }
}
