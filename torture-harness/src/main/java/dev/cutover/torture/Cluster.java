package dev.cutover.torture;

import dev.cutover.flags.Target;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.ServerProcess;
import dev.cutover.testkit.TcpProxy;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Properties;

/**
 * The two databases under torture: embedded servers whose processes the nemesis can kill and
 * restart, the workload's database on each, and replication between them by the Cutover
 * replicator, whose connections run through a proxy per side so that the nemesis can stall or
 * cut them.
 */
final class Cluster implements AutoCloseable {
  static final Duration RESTART_TIMEOUT = Duration.ofSeconds(60);
  private static final org.postgresql.Driver PGJDBC = new org.postgresql.Driver();

  /** How the way back is kept ready, by the servers' versions (see the replicator's reverse). */
  enum Mode {
    /** Both 16+: both directions run at once (origin = none), armed once. */
    TWO_WAY,
    /** Older: one direction at a time, turned around after each switch from a slot the switch creates. */
    TURNAROUND
  }

  private final PostgresPair pair;
  private final Map<Target, ServerProcess> processes = new EnumMap<>(Target.class);
  private final Map<Target, TcpProxy> replicationLinks = new EnumMap<>(Target.class);
  private final Replicator replicator;
  private final Mode mode;

  private Cluster(PostgresPair pair, Path runDirectory) throws Exception {
    this.pair = pair;
    for (Target side : Target.values()) {
      ServerProcess process = ServerProcess.of(server(side), runDirectory.resolve(side.value() + ".log"));
      process.restart(RESTART_TIMEOUT); // from here on, every line the server logs is in the run's folder
      processes.put(side, process);
      replicationLinks.put(side, TcpProxy.in(server(side)));
    }
    this.replicator = Replicator.builder().old(endpoint(Target.OLD)).nw(endpoint(Target.NEW)).build();
    this.mode = Math.min(pair.oldServer().majorVersion(), pair.newServer().majorVersion()) >= 16 ? Mode.TWO_WAY : Mode.TURNAROUND;
  }

  /** Starts both servers, creates and seeds the workload, and replicates old to new (and back, on 16+). */
  static Cluster start(int oldMajor, int newMajor, Path runDirectory) throws Exception {
    PostgresPair pair = PostgresPair.start(oldMajor, newMajor);
    Cluster cluster;
    try {
      cluster = new Cluster(pair, runDirectory);
    } catch (Exception e) {
      pair.close();
      throw e;
    }
    try {
      cluster.prepare();
      return cluster;
    } catch (Exception e) {
      cluster.close();
      throw e;
    }
  }

  private void prepare() throws Exception {
    for (Target side : Target.values()) {
      server(side).createDatabase(TortureSchema.DATABASE);
      try (Connection c = direct(side)) {
        TortureSchema.create(c, side.value());
      }
    }
    try (Connection old = direct(Target.OLD)) {
      TortureSchema.seed(old);
    }
    replicator.start(StartOptions.defaults(), new CopyProgress(), CopyListener.NONE);
    replicator.awaitCaughtUp(Duration.ofSeconds(60));
    if (mode == Mode.TWO_WAY) {
      replicator.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(30)));
    }
  }

  /**
   * How the replicator reaches a side: directly for its own sessions, and through that side's link
   * proxy for the subscription the other server holds.
   */
  private Endpoint endpoint(Target side) {
    PostgresServer server = server(side);
    TcpProxy link = replicationLinks.get(side);
    String conninfo = "host=" + link.host() + " port=" + link.port() + " dbname=" + TortureSchema.DATABASE
        + " user=" + server.user();
    return Endpoint.of(side == Target.OLD ? Side.OLD : Side.NEW, server.jdbcUrl(TortureSchema.DATABASE), server.user(),
        server.password()).withConninfo(conninfo);
  }

  PostgresServer server(Target side) {
    return side == Target.OLD ? pair.oldServer() : pair.newServer();
  }

  ServerProcess process(Target side) {
    return processes.get(side);
  }

  /** The proxy in front of {@code side} that the other server's subscription to it runs through. */
  TcpProxy replicationLink(Target side) {
    return replicationLinks.get(side);
  }

  Replicator replicator() {
    return replicator;
  }

  Mode mode() {
    return mode;
  }

  /** A superuser connection to the workload's database on {@code side}, not through the driver or a proxy. */
  Connection direct(Target side) throws SQLException {
    return server(side).connect(TortureSchema.DATABASE);
  }

  /** A connection as the external writer's role, with a short timeout: a dead server must not hold it. */
  Connection external(Target side) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", TortureSchema.EXTERNAL_ROLE);
    p.setProperty("connectTimeout", "3");
    p.setProperty("socketTimeout", "10");
    p.setProperty("ApplicationName", "torture-external");
    return PGJDBC.connect(server(side).jdbcUrl(TortureSchema.DATABASE), p);
  }

  /** "host:port" of {@code side}'s server. */
  String address(Target side) {
    return server(side).host() + ":" + server(side).port();
  }

  String describe() {
    return "old: " + pair.oldServer() + ", new: " + pair.newServer() + "; way back: "
        + (mode == Mode.TWO_WAY ? "both directions at once (16+)" : "turned around at each switch");
  }

  /** Restarts a server that is down (so that zonky can stop it), then stops both and the link proxies. */
  @Override
  public void close() {
    for (Target side : Target.values()) {
      ServerProcess process = processes.get(side);
      if (process != null && !process.isRunning()) {
        try {
          process.restart(RESTART_TIMEOUT);
        } catch (RuntimeException e) {
          // it is stopped either way
        }
      }
      TcpProxy link = replicationLinks.get(side);
      if (link != null) {
        link.close();
      }
    }
    pair.close();
  }
}
