package dev.cutover.torture;

import dev.cutover.common.Poll;
import dev.cutover.common.Threads;
import dev.cutover.flags.Target;
import dev.cutover.testkit.ServerProcess;
import dev.cutover.testkit.TcpProxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Plays one round of the schedule: moves the flag and starts and ends each fault at its moment,
 * on a thread per action, then heals whatever is still broken. Every action is recorded with its
 * moment in the run (milliseconds from the run's start, the harness's own clock), for the record.
 */
final class Nemesis implements AutoCloseable {

  /** An action as it happened: what, when it began and ended in the run, and anything worth saying. */
  record Applied(String what, long startedAt, long endedAt, String note) {}

  /** What a flag step records when the operator left the flag where it was, unprepared. */
  static final String NOT_MOVED = "flag not moved (unprepared) -> ";
  private static final Duration PREPARE_RETRY = Duration.ofSeconds(15);
  private static final Duration RESUME_RETRY = Duration.ofSeconds(5);

  private final Cluster cluster;
  private final Fleet fleet;
  private final Operator operator;
  private final ExternalWriter external;
  private final LongSupplier runMillis;
  private final ScheduledExecutorService timeline = Executors.newScheduledThreadPool(8, Threads.daemon("nemesis"));

  Nemesis(Cluster cluster, Fleet fleet, Operator operator, ExternalWriter external, LongSupplier runMillis) {
    this.cluster = cluster;
    this.fleet = fleet;
    this.operator = operator;
    this.external = external;
    this.runMillis = runMillis;
  }

  /**
   * Plays {@code round} with {@code serving} as the side that served when it began, waits until every
   * action has ended, heals, and returns what was done.
   *
   * @param wroteNew whether new has ever served (before that the external writer stays off it: new is
   *     then an unfenced replication target, which no careful operator lets a client write to)
   */
  List<Applied> play(Schedule.Round round, Target serving, boolean wroteNew) throws InterruptedException {
    List<Applied> applied = Collections.synchronizedList(new ArrayList<>());
    List<Future<?>> actions = new ArrayList<>();
    for (Schedule.FlagStep step : round.flag()) {
      Target to = step.away() ? serving.other() : serving;
      actions.add(at(step.at(), () -> {
        long t = runMillis.getAsLong();
        // As the replicator's docs ask: the way back prepared right before the flag moves. An
        // operator whose prepare fails (a server down) retries while it recovers and does not move
        // the flag unprepared: reverse would refuse after such a switch (exit 5, docs/faults.md B2).
        String failure = prepareFlip();
        if (failure != null) {
          applied.add(new Applied(NOT_MOVED + to.value(), t, runMillis.getAsLong(), "reverse --prepare kept failing for "
              + PREPARE_RETRY.toSeconds() + " s: " + failure));
          return;
        }
        operator.setFlag(to);
        applied.add(new Applied("flag -> " + to.value(), t, runMillis.getAsLong(), ""));
      }));
    }
    for (Schedule.Fault fault : round.faults()) {
      actions.add(at(fault.at(), () -> applied.add(inject(fault, serving, wroteNew))));
    }
    for (Future<?> action : actions) {
      try {
        action.get();
      } catch (java.util.concurrent.ExecutionException e) {
        applied.add(new Applied("nemesis failure", runMillis.getAsLong(), runMillis.getAsLong(), String.valueOf(e.getCause())));
      }
    }
    applied.addAll(heal());
    return applied;
  }

  /** {@code reverse --prepare}, retried while a server recovers; the last failure, or null once it succeeded. */
  private String prepareFlip() {
    String[] failure = {null};
    boolean prepared = Poll.every(Duration.ofMillis(500)).within(PREPARE_RETRY, () -> {
      try {
        operator.prepareFlip();
        return true;
      } catch (Exception e) {
        failure[0] = String.valueOf(e.getMessage());
        return false;
      }
    });
    return prepared ? null : failure[0];
  }

  private Future<?> at(long millis, Runnable action) {
    return timeline.schedule(action, millis, TimeUnit.MILLISECONDS);
  }

  /** Starts a fault, holds it for its duration, ends it; runs on a timeline thread. */
  private Applied inject(Schedule.Fault f, Target serving, boolean wroteNew) {
    long started = runMillis.getAsLong();
    String note = "";
    try {
      switch (f.kind()) {
        case KILL_SERVER -> {
          ServerProcess p = cluster.process(side(f.target()));
          note = p.kill() ? "killed" : "was not running";
          pause(f.duration());
          p.restart(Cluster.RESTART_TIMEOUT);
        }
        case CRASH_BACKEND -> note = crashBackend(side(f.target()));
        case KILL_APP -> {
          Fleet.Member killed = fleet.kill(f.target());
          note = killed == null ? "no JVM in the slot" : "killed " + killed.name;
          pause(f.duration());
          if (!fleet.occupied(f.target())) {
            note += ", started " + fleet.start(f.target()).name;
          }
        }
        case LINK_DELAY -> {
          List<TcpProxy> links = links(f.target());
          links.forEach(l -> l.delay(Duration.ofMillis(f.param())));
          pause(f.duration());
          links.forEach(l -> l.delay(Duration.ZERO));
          note = links.size() + " link(s)";
        }
        case LINK_STALL -> {
          List<TcpProxy> links = links(f.target());
          links.forEach(TcpProxy::stall);
          pause(f.duration());
          links.forEach(TcpProxy::resume);
          note = links.size() + " link(s)";
        }
        case LINK_CUT -> {
          List<TcpProxy> links = links(f.target());
          links.forEach(TcpProxy::cut);
          note = links.size() + " link(s)";
        }
        case REPLICATION_PAUSE -> {
          note = "disabled " + operator.pauseReplication();
          pause(f.duration());
          operator.resumeReplication();
        }
        case REPLICATION_LINK_STALL -> {
          TcpProxy link = cluster.replicationLink(side(f.target()));
          link.stall();
          pause(f.duration());
          link.resume();
        }
        case REPLICATION_LINK_CUT -> cluster.replicationLink(side(f.target())).cut();
        case STRAGGLER -> note = fleet.command(f.target(), "straggler " + f.duration()) ? "" : "slot empty";
        case LONG_CURSOR -> note = fleet.command(f.target(), "cursor " + f.duration()) ? "" : "slot empty";
        case EXTERNAL_WRITER -> {
          Target side = f.target().equals("serving") || !wroteNew ? serving : serving.other();
          note = "on " + side.value();
          external.run(side, f.duration());
        }
      }
    } catch (Exception e) {
      note = (note.isEmpty() ? "" : note + "; ") + "failed: " + e;
    }
    return new Applied(f.toString(), started, runMillis.getAsLong(), note);
  }

  /** kill -9 of one application backend: the postmaster then ends every session and recovers. */
  private String crashBackend(Target side) throws SQLException {
    long pid;
    try (Connection c = cluster.direct(side); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            + " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            + " ORDER BY random() LIMIT 1")) {
      if (!rs.next()) {
        return "no application backend";
      }
      pid = rs.getLong(1);
    }
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    return "killed backend " + pid;
  }

  private List<TcpProxy> links(String target) {
    String[] parts = target.split(":");
    return fleet.links(side(parts[0]), parts[1]);
  }

  private static Target side(String name) {
    return Target.parse(name);
  }

  private static void pause(long millis) throws InterruptedException {
    Thread.sleep(millis); // the fault's duration: nothing to await, the schedule says how long
  }

  /**
   * Ends every fault still in force: links flowing, servers running, subscriptions enabled, every
   * slot with a live instance.
   */
  List<Applied> heal() {
    List<Applied> healed = new ArrayList<>();
    long t = runMillis.getAsLong();
    for (Target side : Target.values()) {
      for (TcpProxy link : fleet.links(side, "all")) {
        link.delay(Duration.ZERO);
        link.resume();
      }
      cluster.replicationLink(side).resume();
      ServerProcess p = cluster.process(side);
      if (!p.isRunning()) {
        try {
          p.restart(Cluster.RESTART_TIMEOUT);
          healed.add(new Applied("heal: restarted " + side.value(), t, runMillis.getAsLong(), ""));
        } catch (RuntimeException e) {
          healed.add(new Applied("heal: restart " + side.value(), t, runMillis.getAsLong(), "failed: " + e.getMessage()));
        }
      }
    }
    Poll.every(Duration.ofMillis(100)).within(RESUME_RETRY, () -> {
      try {
        List<String> enabled = operator.resumeReplication();
        if (!enabled.isEmpty()) {
          healed.add(new Applied("heal: enabled " + enabled, t, runMillis.getAsLong(), ""));
        }
        return true;
      } catch (SQLException e) {
        return false; // a restarted server may still be recovering
      }
    });
    for (String slot : fleet.processSlots()) {
      if (!fleet.occupied(slot)) {
        try {
          healed.add(new Applied("heal: started " + fleet.start(slot).name, t, runMillis.getAsLong(), ""));
        } catch (java.io.IOException e) {
          healed.add(new Applied("heal: start " + slot, t, runMillis.getAsLong(), "failed: " + e));
        }
      }
    }
    return healed;
  }

  @Override
  public void close() {
    timeline.shutdownNow();
  }
}
