package dev.cutover.driver.control;

import dev.cutover.common.Poll;
import dev.cutover.common.Queries;
import dev.cutover.driver.Phase;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.internal.control.Lineage;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What an operator reads and does about a service's switches, on one database (the one that
 * serves is where its instances meet): the view of instances, fence and switch; an abort of the
 * switch in progress; the per-service force setting that routers read at their next switch; and
 * the fence of the database. The view, the fence's state and the abort are granted with the
 * control plane; the force setting and lowering the fence are for the installer only, since they
 * let a switch go without proof that replication caught up, or writes land on a side left behind.
 */
public final class OperatorControl {
  private static final String INSUFFICIENT_PRIVILEGE = "42501";
  private static final String UNDEFINED_FUNCTION = "42883";
  /** How long an ended leader's backend may take to let go of its lock. */
  private static final Duration LEADER_EXIT = Duration.ofSeconds(5);

  private OperatorControl() {}

  /**
   * One instance as it last heartbeat.
   *
   * @param flagTarget what its flag asks for, {@code null} while its flag has delivered nothing
   * @param phase what its current switch is doing, as it published it ({@code fencing old}; {@code idle}
   *     when none runs): the text, not a {@link Phase}, because it names the side too and an instance
   *     of another driver version may publish a step this one does not know
   * @param drainedFor the switch it has drained for (or {@code ready:<switch>} when ready to)
   */
  public record InstanceView(String instance, Duration heartbeatAge, String serving, String flagTarget, String phase,
      String drainedFor) {

    /** The step {@link #phase} names; empty for text this driver version does not publish. */
    public Optional<Phase> step() {
      for (Phase p : Phase.values()) {
        for (Target side : Target.values()) {
          if (p.describe(side).equals(phase)) {
            return Optional.of(p);
          }
        }
      }
      return Optional.empty();
    }
  }

  /**
   * The service's current or last switch on this database.
   *
   * @param leaderBackend the backend holding the switch's leader lock now, if one does
   */
  public record SwitchView(String id, String source, String target, SwitchState state, String leader, String reason,
      String abortRequested, Instant beganAt, Instant updatedAt, Optional<LeaderBackend> leaderBackend) {}

  /**
   * The backend holding a switch's leader lock: the leading instance's control session.
   *
   * @param clientAddress its client's address, {@code null} for a local socket or where the server
   *     hides it from the reading role (seeing it takes that backend's role or {@code
   *     pg_read_all_stats})
   */
  public record LeaderBackend(int pid, String applicationName, String clientAddress) {}

  /**
   * The leader of a switch in progress that stalled behind its fence: its session holds the lock
   * (so no other instance may lead or abort) while its instance has not heartbeat within the
   * instances' liveness limit (a frozen JVM, a paused container, a link that went silent without a
   * reset). The switch is not released: ending the session cannot split writes.
   *
   * @param ended whether the call that found it ended its session ({@link #endStalledLeader})
   */
  public record StalledLeader(String switchId, int pid, String instance, Duration heartbeatAge, boolean ended) {
    /** {@code instance i0 (backend 4711, no heartbeat for 67 s)}. */
    public String describe() {
      return "instance " + instance + " (backend " + pid + ", no heartbeat for " + heartbeatAge.toMillis() + " ms)";
    }

    /** What ends it, for a role that may not: the statement, and who may run it. */
    public String remedy(String service) {
      return "end its session as the instances' role, a member of pg_signal_backend or a superuser: SELECT * FROM"
          + " cutover.end_stalled_leader('" + service.replace("'", "''") + "') (or cutover-replicator switch-abort"
          + " --service " + service + " as such a role); the switch is not released, so ending it splits nothing: the"
          + " next instance to try takes over or aborts it";
    }
  }

  /** Everything the operator view shows of one service on one database. */
  public record ServiceView(String service, boolean fenceRaised, long fenceEpoch, boolean forced,
      Optional<SwitchView> lastSwitch, List<InstanceView> instances) {}

  /** What {@link #abort} did. */
  public enum AbortOutcome {
    /** No switch of the service is in progress on this database. */
    NONE,
    /** Its leader will abort it at its next step, lowering the fence. */
    REQUESTED,
    /**
     * Its leader had stalled behind its fence ({@link StalledLeader}): its session was ended and
     * the switch aborted, its fence lowered.
     */
    LEADER_ENDED,
    /**
     * Its leader stalled behind its fence ({@link StalledLeader}) and this role may not end its
     * session: nothing happens until it does, or until the leader comes back.
     */
    LEADER_STALLED,
    /** Nobody led it: it is aborted and its fence lowered now. */
    ABORTED,
    /** It had been released already; the decision stands. */
    RELEASED
  }

  /**
   * Every service this database knows of, from its instances' heartbeats, its switches and its
   * force settings (a service forced here shows before any instance of it started), by name.
   */
  public static List<String> services(Connection c) throws SQLException {
    return List.copyOf(Queries.strings(c, "SELECT * FROM cutover.service_names()"));
  }

  /**
   * What this database records of {@code service}: the fence, the force setting, the current or
   * last switch with the backend leading it, and the instances that heartbeat here.
   */
  public static ServiceView read(Connection c, String service) throws SQLException {
    boolean raised;
    long epoch;
    boolean forced;
    Optional<SwitchView> last;
    Optional<LeaderBackend> leader = leader(c, service);
    try (PreparedStatement ps = c.prepareStatement("SELECT * FROM cutover.service_status(?)")) {
      ps.setString(1, service);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        raised = rs.getBoolean("fence_raised");
        epoch = rs.getLong("fence_epoch");
        forced = rs.getBoolean("forced");
        last = rs.getString("switch_id") == null ? Optional.empty() : Optional.of(new SwitchView(
            rs.getString("switch_id"), rs.getString("switch_source"), rs.getString("switch_target"),
            SwitchState.of(rs.getString("switch_state")), rs.getString("switch_leader"), rs.getString("switch_reason"),
            rs.getString("abort_requested"), instant(rs.getTimestamp("began_at")), instant(rs.getTimestamp("updated_at")),
            leader));
      }
    }
    List<InstanceView> instances = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT * FROM cutover.service_instances(?)")) {
      ps.setString(1, service);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          instances.add(new InstanceView(rs.getString("instance_name"), Duration.ofMillis(rs.getLong("heartbeat_age_ms")),
              rs.getString("serving"), rs.getString("flag_target"), rs.getString("phase"), rs.getString("drained_for")));
        }
      }
    }
    return new ServiceView(service, raised, epoch, forced, last, List.copyOf(instances));
  }

  /**
   * Aborts the switch of {@code service} in progress on this database; {@code reason} goes into its
   * event. A switch led by a live session is aborted by its leader at its next step ({@link
   * AbortOutcome#REQUESTED}); one whose leader stalled behind its fence ({@link #stalledLeader}) is
   * aborted here once that session is ended, which takes a role allowed to end it ({@link
   * AbortOutcome#LEADER_STALLED} otherwise).
   */
  public static AbortOutcome abort(Connection c, String service, String reason) throws SQLException {
    AbortOutcome outcome = requestAbort(c, service, reason);
    if (outcome != AbortOutcome.REQUESTED) {
      return outcome;
    }
    Optional<StalledLeader> stalled;
    Savepoint before = c.getAutoCommit() ? null : c.setSavepoint(); // the request stays if the end is refused
    try {
      stalled = endStalledLeader(c, service);
    } catch (SQLException e) {
      if (before != null) {
        c.rollback(before);
      }
      if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
        return AbortOutcome.LEADER_STALLED;
      }
      throw e;
    }
    if (stalled.isEmpty()) {
      return outcome;
    }
    int pid = stalled.get().pid();
    Poll.every(Duration.ofMillis(10)).within(LEADER_EXIT, () -> leader(c, service).map(l -> l.pid() != pid).orElse(true));
    outcome = requestAbort(c, service, reason);
    return outcome == AbortOutcome.ABORTED ? AbortOutcome.LEADER_ENDED : outcome;
  }

  private static AbortOutcome requestAbort(Connection c, String service, String reason) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT cutover.request_abort(?, ?)")) {
      ps.setString(1, service);
      ps.setString(2, reason);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return AbortOutcome.valueOf(rs.getString(1).toUpperCase(Locale.ROOT));
      }
    }
  }

  /**
   * The leader of {@code service}'s switch in progress if it stalled behind its fence ({@link
   * StalledLeader}); empty when none did, or where the control schema predates the question.
   */
  public static Optional<StalledLeader> stalledLeader(Connection c, String service) throws SQLException {
    return stalled(c, "SELECT *, false AS ended FROM cutover.stalled_leader(?)", service);
  }

  /**
   * Ends the session of {@code service}'s stalled leader ({@link #stalledLeader}), with the caller's
   * rights: refused (42501) unless the role may end that backend (its own role, {@code
   * pg_signal_backend}, a superuser). Empty when no leader stalled, or the control schema predates it.
   */
  public static Optional<StalledLeader> endStalledLeader(Connection c, String service) throws SQLException {
    return stalled(c, "SELECT * FROM cutover.end_stalled_leader(?)", service);
  }

  private static Optional<StalledLeader> stalled(Connection c, String sql, String service) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, service);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new StalledLeader(rs.getString("switch_id"), rs.getInt("leader_pid"),
            rs.getString("leader_instance"), Duration.ofMillis(rs.getLong("heartbeat_age_ms")), rs.getBoolean("ended")))
            : Optional.empty();
      }
    } catch (SQLException e) {
      if (UNDEFINED_FUNCTION.equals(e.getSQLState())) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /**
   * The barrier marker of {@code service}'s switch in progress on {@code source} that has arrived
   * on {@code target} while no session leads the switch: it got past its barrier, so a primary of
   * {@code source} that is gone may have released it and opened {@code target}, which {@code source},
   * back from a standby that missed the release, no longer records. Aborting it ({@link #abort})
   * would lower the fence and let writes land on {@code source} that never reach {@code target}.
   * Empty when no switch is in progress, when one leads it (the leader decides), or when the
   * barrier has not passed.
   */
  public static Optional<String> barrierPassed(Connection source, Connection target, String service)
      throws SQLException {
    Optional<SwitchView> last = read(source, service).lastSwitch();
    if (last.isEmpty() || last.get().state() != SwitchState.DRAINING || last.get().leaderBackend().isPresent()) {
      return Optional.empty();
    }
    return Lineage.barrierPassed(source, target, service, last.get().id());
  }

  /**
   * Sets whether {@code service}'s switches from this database go without the probe and the
   * barrier (like {@code cutover.switch.force=true}, without a redeploy). The fence is raised
   * either way. For the installer only.
   */
  public static void setForce(Connection c, String service, boolean force) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT cutover.set_force(?, ?)")) {
      ps.setString(1, service);
      ps.setBoolean(2, force);
      ps.execute();
    }
  }

  /**
   * Whether the fence of the connected database stands, whichever service's switch raised it: its
   * application writes are refused. One round trip; {@link #read} gives the fence with its epoch.
   */
  public static boolean fenceRaised(Connection c) throws SQLException {
    return Fence.isRaised(c);
  }

  /**
   * Lowers the fence of the connected database whatever switch raised it: the installer's remedy
   * for a switch that could not lower it (no application role may call it). Lowering the old
   * side's fence after a completed switch lets writes land where they are lost.
   */
  public static void lowerFence(Connection c) throws SQLException {
    Fence.lower(c);
  }

  private static Optional<LeaderBackend> leader(Connection c, String service) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT * FROM cutover.switch_leader(?)")) {
      ps.setString(1, service);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new LeaderBackend(rs.getInt("leader_pid"), rs.getString("application_name"),
            rs.getString("client_addr"))) : Optional.empty();
      }
    }
  }

  private static Instant instant(Timestamp t) {
    return t == null ? null : t.toInstant();
  }
}
