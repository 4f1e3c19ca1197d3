package dev.cutover.driver.internal.switching;

import dev.cutover.driver.control.SameDatabase;
import dev.cutover.driver.control.SwitchState;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.internal.control.Lineage;
import dev.cutover.driver.internal.session.Backend;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a router finds when it starts: which side serves, and what it could not check on the
 * other. The side that serves is where the service serves now: the unfenced one when the other is
 * fenced, whatever the flag says (the router then switches toward the flag, or that switch aborts
 * as it did for the service). Only the database that serves must answer; an unreachable other side
 * is reported (log and the router's {@code PendingGuarantees}), and the next switch checks it again
 * and is refused while it stays unreachable; a new that did not answer is looked at again until it
 * does ({@link #recheckNew}). A router whose delivered flag says new does not start on an old
 * database without any control schema (see {@link #abandonedOld}).
 *
 * @param serving the side that serves from the start
 * @param control whether both databases carry this driver's control schema
 * @param beats whether the database that serves carries it: the instance heartbeats there from the
 *     start, whether or not the other answered, so that its peers' switches drain it and it joins them
 * @param newUnanswered whether the new database did not answer
 * @param pending what could not be checked, each saying which guarantee waits for what
 */
record Startup(Target serving, boolean control, boolean beats, boolean newUnanswered, List<String> pending) {
  private static final Logger LOG = LoggerFactory.getLogger(Startup.class);
  /** How {@code pending} begins to say that new did not answer at start, until it answers again. */
  private static final String NEW_UNANSWERED = "the new database did not answer at start";

  /**
   * @param flagged the side the flag asks for at start, or {@code null} while it has delivered no
   *     value (its default is no decision: then the service's own state alone decides, as for old)
   * @throws SQLException 08001 when the database that must serve does not answer; 08004 when the
   *     delivered flag says new and old has no control schema (see {@link #abandonedOld})
   */
  static Startup probe(Router router, Target flagged) throws SQLException {
    SQLException oldError = null;
    SQLException newError = null;
    Connection o = null;
    Connection n = null;
    List<String> pending = new ArrayList<>();
    try {
      try {
        o = open(router, Target.OLD, pending);
      } catch (SQLException e) {
        oldError = e;
      }
      try {
        n = open(router, Target.NEW, pending);
      } catch (SQLException e) {
        newError = e;
      }
      if (o == null && n == null) {
        SQLException neither = new SQLException("cutover: neither database answers: " + oldError.getMessage() + "; "
            + newError.getMessage(), "08001", oldError);
        neither.addSuppressed(newError);
        throw neither;
      }
      String oldControl = o == null ? null : SwitchCheck.controlProblem(o, Target.OLD);
      String newControl = n == null ? null : SwitchCheck.controlProblem(n, Target.NEW);
      if (o != null && oldControl == null) {
        refuseIfSwapped(o, Target.OLD, n, router);
      }
      if (n != null && newControl == null) {
        refuseIfSwapped(n, Target.NEW, o, router);
      }
      Target serving;
      if (flagged != Target.NEW) {
        if (o == null) {
          throw oldError;
        }
        // The service serves new if old is fenced and new is not (a switch back that aborted):
        // start there, and let the initial switch follow the flag back to old, or abort.
        boolean servedByNew = movedAway(o, oldControl, n, newControl, router, pending) && n != null && newControl == null
            && !Fence.isRaised(n);
        serving = servedByNew ? Target.NEW : Target.OLD;
      } else if (o == null) {
        serving = Target.NEW;
        pending.add("the old database did not answer at start (" + oldError.getMessage() + "): the flag says new,"
            + " so new serves without a switch; nothing fenced old (I2) if it comes back");
      } else if (SwitchCheck.noControlSchema(Target.OLD).equals(oldControl) && !router.settings().force()) {
        throw abandonedOld(router);
      } else if (movedAway(o, oldControl, n, newControl, router, pending)) {
        if (n == null) {
          throw newError;
        }
        serving = Target.NEW;
      } else {
        serving = Target.OLD;
      }
      if (serving == Target.OLD && n != null && oldControl == null && newControl == null && !Fence.isRaised(o)) {
        refuseIfServedByNew(o, n, router, flagged, pending);
      }
      if (n == null) {
        pending.add(NEW_UNANSWERED + " (" + newError.getMessage() + "): its control schema (fence I2, barrier I1/I4) is"
            + " checked when it answers again and at the next switch, which is refused while it does not answer");
      }
      for (Connection c : new Connection[] {o, n}) {
        Target side = c == o ? Target.OLD : Target.NEW;
        if (c != null && pending.stream().noneMatch(p -> p.startsWith(directUrlKey(side)))) {
          String problem = SwitchCheck.sessionProblem(router, side, c);
          if (problem != null) {
            pending.add(problem + "; until then every switch is refused");
          }
        }
      }
      for (Connection c : new Connection[] {o, n}) {
        Target side = c == o ? Target.OLD : Target.NEW;
        if (c != null && router.settings().directUrl(side).isPresent()) {
          warnIfBlind(router, side, c);
        }
      }
      boolean control = o != null && n != null && oldControl == null && newControl == null;
      if (o != null && n != null && !control) {
        pending.add(controlMissing(oldControl, newControl));
      }
      boolean beats = serving == Target.OLD ? o != null && oldControl == null : n != null && newControl == null;
      return new Startup(serving, control, beats, n == null, List.copyOf(pending));
    } finally {
      Router.closeQuietly(o);
      Router.closeQuietly(n);
    }
  }

  /**
   * Looks again at the new database, which did not answer when the router started, serving old: once
   * it answers, whether both databases carry the control schema and whether the switch's session to
   * new is a real one are found again, and {@code pending} loses what waited for new. Bounded by the
   * switch's connect and socket timeouts ({@link Router#endpoint}).
   *
   * @param pending what the router reports now
   * @return what the router finds now, or empty while new still does not answer
   */
  static Optional<Startup> recheckNew(Router router, List<String> pending) throws SQLException {
    Connection n;
    try {
      n = router.endpoint(Target.NEW).open();
    } catch (SQLException e) {
      return Optional.empty();
    }
    try (n; Connection o = router.endpoint(Target.OLD).open()) {
      List<String> found = new ArrayList<>(pending.stream().filter(p -> !p.startsWith(NEW_UNANSWERED)).toList());
      String session = SwitchCheck.sessionProblem(router, Target.NEW, n);
      if (session != null) {
        found.add(session + "; until then every switch is refused");
      }
      String oldControl = SwitchCheck.controlProblem(o, Target.OLD);
      String newControl = SwitchCheck.controlProblem(n, Target.NEW);
      boolean control = oldControl == null && newControl == null;
      if (!control) {
        found.add(controlMissing(oldControl, newControl));
      }
      return Optional.of(new Startup(Target.OLD, control, oldControl == null, false, List.copyOf(found)));
    }
  }

  /**
   * What waits while either database lacks the control schema: {@code oldControl} and {@code
   * newControl} are their problems, or null.
   */
  private static String controlMissing(String oldControl, String newControl) {
    List<String> missing = new ArrayList<>();
    for (String problem : new String[] {oldControl, newControl}) {
      if (problem != null) {
        missing.add(problem);
      }
    }
    return String.join(" and ", missing) + ": switches are refused (fence I2, barrier I1/I4) until it is installed,"
        + " unless cutover.switch.force=true";
  }

  /**
   * The refusal of a router whose delivered flag says new while old has no control schema at all:
   * nothing records where the service serves, and no switch to new can run (it is refused for want
   * of the schema), so serving old would write on a database the service may have left for good,
   * once {@code cutover-replicator cleanup} removed the schema and the fence with it: the split
   * brain an instance started after cleanup made. A router whose flag says old still serves old
   * (the migration has not begun), as does one whose flag has delivered nothing and one without a
   * flag source, which have no decision; {@code cutover.switch.force=true} switches without the
   * schema instead.
   */
  private static SQLException abandonedOld(Router router) {
    return new SQLException("cutover " + router.service() + ": the routing flag (" + router.flag() + ") says new, but the"
        + " old database has no Cutover control schema (cutover-replicator cleanup removed it, or the migration never"
        + " started), so nothing records whether the service moved to new and no switch can fence old; refusing to connect"
        + " rather than write on old: once the cutover is final, point the application at new with a plain jdbc:postgresql:"
        + " URL; if the migration has not begun, set the flag to old", "08004");
  }

  /**
   * Refuses to serve an unfenced old that the service has left: old came back from a standby (a
   * failover, a restore) that missed the switch to new, its fence and its record, while new serves.
   * Two signs, each cheap and each impossible while old still serves: new holds a switch's barrier
   * marker that came from old, but old does not hold it (written on a primary old has lost); or, for
   * a router whose flag says new, a live instance of the service heartbeats serving new. Serving old
   * then wrote rows that never reach new: a split brain, and writes lost.
   *
   * @throws SQLException 08004 naming what new shows and the remedy
   */
  private static void refuseIfServedByNew(Connection o, Connection n, Router router, Target flagged,
      List<String> pending) throws SQLException {
    List<String> lost;
    List<String> peers = new ArrayList<>();
    try {
      lost = Lineage.lostOnSource(o, n, router.service());
      if (flagged == Target.NEW) {
        peers.addAll(Lineage.liveServing(n, router.service(), Target.NEW.value(), router.member(), Heartbeat.INSTANCE_TTL));
      }
    } catch (SQLException e) {
      String problem = "could not check whether the old database came back from a standby that missed a switch to new"
          + " (" + e.getMessage() + "): install the control schema again on both databases (cutover-replicator start,"
          + " ControlSchema.install) so that this instance's role may call cutover.recent_barriers";
      LOG.warn("cutover {}: {}", router.service(), problem);
      pending.add(problem);
      return;
    }
    if (lost.isEmpty() && peers.isEmpty()) {
      return;
    }
    List<String> signs = new ArrayList<>();
    if (!lost.isEmpty()) {
      signs.add("the new database holds the barrier marker(s) " + String.join(", ", lost) + " of a switch from old,"
          + " which the old database does not hold");
    }
    if (!peers.isEmpty()) {
      signs.add("live instance(s) " + String.join(", ", peers) + " of " + router.service() + " serve new");
    }
    throw new SQLException("cutover " + router.service() + ": the old database is not fenced and records no switch to"
        + " new, but " + String.join(", and ", signs) + ": old came back from a standby (a failover or a restore) that"
        + " missed the switch to new, its fence and its record, while the service serves new; refusing to connect"
        + " rather than write on old, where writes never reach new (a split brain). The service serves new: start this"
        + " instance with the flag at new once old is fenced again or out of its URL (point the application at new),"
        + " and compare old with new by hand for rows written on old since the failover", "08004");
  }

  /**
   * Refuses to start when live instances of the service that serve the other side heartbeat in this
   * router's database for {@code side} ({@code c}): an instance beats only in the database it
   * serves, so this router's {@code side} is their other one, and its URL and {@code
   * cutover.new.url} are swapped (or theirs are). Two mirror signs, each checked whatever the flag
   * says:
   *
   * <ul>
   *   <li>instances serving new beat in this router's old (after a switch): with the flag at old this
   *       router would serve the database the service serves, beat there as serving old, and hold
   *       every later switch of the service at its gate until it timed out; with the flag at new it
   *       would be refused as if old had come back from a standby, a different fault with a different
   *       remedy;
   *   <li>instances serving old beat in this router's new (before a switch, or after a flip back):
   *       this router would serve, as its old, the database the service replicates into, and its
   *       writes there would never reach the database the service serves, then break replication
   *       into it (duplicate keys).
   * </ul>
   *
   * A correctly configured instance never meets either: after a switch and {@code reverse} its old
   * is a replication target, but the instances serving new beat in new. Nor does one whose two URLs
   * reach the same database (its peers serving old beat in its "new"): every switch refuses that,
   * naming the setting, while old keeps serving. A control schema that cannot answer is left to the
   * checks after it (reported there).
   *
   * @throws SQLException 08004 naming the instances, this router's database and the remedy
   */
  private static void refuseIfSwapped(Connection c, Target side, Connection otherSide, Router router)
      throws SQLException {
    Target other = side == Target.OLD ? Target.NEW : Target.OLD;
    List<String> peers;
    try {
      peers = Lineage.liveServing(c, router.service(), other.value(), router.member(), Heartbeat.INSTANCE_TTL);
    } catch (SQLException e) {
      LOG.debug("cutover {}: could not read the instances heartbeating in the {} database: {}", router.service(),
          side.value(), e.getMessage());
      return;
    }
    if (!peers.isEmpty() && !sameDatabase(c, otherSide)) {
      String instead = side == Target.OLD
          ? "serve the database the service serves as if it were old"
          : "serve, as if it were old, the database the service replicates into, where writes never reach the database"
              + " the service serves";
      throw new SQLException("cutover " + router.service() + ": live instance(s) " + String.join(", ", peers) + " of "
          + router.service() + " serving " + other.value() + " heartbeat in this instance's " + router.endpoint(side)
          + ": the URL and cutover.new.url look swapped (here or on those instances), since an instance beats only in"
          + " the database it serves; refusing to connect rather than " + instead + ": give this instance the same"
          + " jdbc:cutover: URL (old) and cutover.new.url (new) as the others", "08004");
    }
  }

  /**
   * Whether {@code a} and {@code b} reach one database ({@link SameDatabase}, as the switch's own
   * check asks); {@code false} when {@code b} is missing or either cannot answer.
   */
  private static boolean sameDatabase(Connection a, Connection b) {
    try {
      return b != null && SameDatabase.of(a, b);
    } catch (SQLException e) {
      return false;
    }
  }

  /**
   * Refuses to follow a verified release of switch {@code switchId} when this router's new is not
   * the database the switch moved to, as its first instance recorded it on old ({@link
   * Coordination#claimTarget}): serving it would write where the rest of the service does not, on a
   * database whose sequences the switch never moved. Nothing to compare where old records no target
   * (a switch run by an earlier driver) or either control schema predates the record.
   *
   * @throws SQLException 08004 naming the recorded database, the one this router reaches, and the remedy
   */
  private static void refuseIfNotTheTarget(Connection o, Connection n, Router router, String switchId)
      throws SQLException {
    Optional<String> recorded = Coordination.claimTarget(o, router.service(), switchId, null);
    Optional<String> own = recorded.isEmpty() ? Optional.empty() : Coordination.databaseIdentity(n);
    if (recorded.isPresent() && own.isPresent() && !recorded.get().equals(own.get())) {
      throw new SQLException("cutover " + router.service() + ": " + Switchover.notTheTarget(router, Target.NEW,
          "switch " + switchId + " moved to", recorded.get(), own.get()) + "; refusing to connect", "08004");
    }
  }

  /**
   * Whether the service moved away from old: old records a released switch of the service, and this
   * router verifies what that release claims (the fence it raised stands, its marker was written
   * under it), as a follower of the release would. Nothing else moves a router to new: a switch in
   * progress is joined from old through the heartbeat, rather than writing on new before the
   * barrier; and a fence with no release to verify (a record lost in a crash under a control schema
   * from before records were durable, a fence raised by another service or by hand) keeps the router
   * on old, where writes fail until an operator lowers it, and is reported loudly in {@code pending}.
   */
  private static boolean movedAway(Connection o, String oldControl, Connection n, String newControl, Router router,
      List<String> pending) throws SQLException {
    if (oldControl != null || !Fence.isRaised(o)) {
      return false;
    }
    Optional<Coordination.Decision> last = Coordination.decision(o, router.service());
    if (last.isPresent() && last.get().state() == SwitchState.DRAINING) {
      if (n != null && newControl == null) {
        try {
          Optional<String> passed = Lineage.led(o, router.service()) ? Optional.empty()
              : Lineage.barrierPassed(o, n, router.service(), last.get().id());
          if (passed.isPresent()) {
            String problem = pastItsBarrier(router, last.get().id(), passed.get());
            LOG.error("cutover {}: {}", router.service(), problem);
            pending.add(problem);
          }
        } catch (SQLException e) {
          LOG.warn("cutover {}: could not look for the barrier marker of switch {} on new: {}", router.service(),
              last.get().id(), e.getMessage());
        }
      }
      return false;
    }
    String unverified;
    if (last.isPresent() && last.get().released()) {
      Coordination.Verified v = Coordination.verifyRelease(o, router.service(), last.get().id());
      if (v.ok()) {
        if (n != null && newControl == null) {
          refuseIfNotTheTarget(o, n, router, last.get().id());
        }
        return true;
      }
      unverified = "its last switch " + last.get().id() + " was released, but " + v.problem();
    } else {
      unverified = last.isEmpty() ? "it records no switch of the service (lost in a crash under a control schema"
          + " installed before switch records were durable, or raised by another service or by hand)"
          : "its last switch " + last.get().id() + " was " + last.get().state().value();
    }
    String problem = "the old database is fenced but " + unverified + ": this instance serves old, not new, since no"
        + " release to new can be verified, and writes on old fail (25006) until the fence comes down; if no instance"
        + " of " + router.service() + " serves new, lower it as the installer (SELECT cutover.lower_fence()), else"
        + " flip the flag to new so that a switch moves this instance behind a barrier";
    LOG.error("cutover {}: {}", router.service(), problem);
    if (pending.stream().noneMatch(problem::equals)) {
      pending.add(problem);
    }
    return false;
  }

  /**
   * What a fenced old says at start when its switch is draining with no leader, though its barrier
   * marker is on new: the switch got past its barrier, and old may have come back from a standby
   * that missed its release (new then serves). Neither aborting (lowering the fence) nor following
   * is safe without an operator; writes on old fail (25006) meanwhile.
   */
  static String pastItsBarrier(Router router, String switchId, String marker) {
    return "the old database is fenced by switch " + switchId + ", which it records as draining with no leader, but the"
        + " new database holds that switch's barrier marker " + marker + ": the switch got past its barrier, and old may"
        + " have come back from a standby (a failover) that missed its release, while new serves; this instance serves"
        + " the fenced old, where writes fail (25006), and does not lower the fence: if an instance serves new or new"
        + " took writes, finish the switch to new (cutover-replicator switch-force, then the flag at new); only if"
        + " nothing was written on new, abort it by hand as the installer (SELECT cutover.lower_fence() on old)";
  }

  /**
   * A session to {@code side} for the switch (its direct URL when it has one). When only the direct
   * URL fails, the side still serves through the application's URL, and the failure waits in
   * {@code pending}: a wrong direct URL must not keep the application from starting.
   */
  private static Connection open(Router router, Target side, List<String> pending) throws SQLException {
    try {
      return router.endpoint(side).open();
    } catch (SQLException e) {
      if (router.settings().directUrl(side).isEmpty()) {
        throw e;
      }
      Connection app = router.openApp(side);
      pending.add(directUrlKey(side) + " does not answer (" + e.getMessage() + "): every switch is refused until it"
          + " does");
      return app;
    }
  }

  /**
   * Warns when the switch's connection to {@code side}, logged in as the user its direct URL names,
   * cannot see the start of the application's sessions (another role, without {@code
   * pg_read_all_stats}): a switch from that side is refused while any session is there ({@link
   * SwitchCheck#unseenSessions}). Only where a direct URL is set: without one, the
   * switch logs in as the application; with no user configured, the application's is taken to be
   * the switch's. Sessions of other roles than the configured user are not known here; the switch
   * checks those before its gate.
   */
  private static void warnIfBlind(Router router, Target side, Connection c) {
    Properties app = side == Target.OLD ? router.settings().oldProperties() : router.settings().newProperties();
    try (PreparedStatement ps = c.prepareStatement("SELECT current_user::text,"
        + " pg_catalog.to_regrole('pg_read_all_stats') IS NOT NULL, EXISTS (SELECT 1 FROM pg_catalog.pg_roles r"
        + " WHERE r.rolname::text IN (COALESCE(?, session_user::text), 'pg_read_all_stats')"
        + " AND pg_catalog.pg_has_role(r.oid, 'USAGE'))")) {
      ps.setString(1, app.getProperty("user"));
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next() && !rs.getBoolean(3)) {
          LOG.warn("cutover {}: {}; while the application logs in as {}, a switch from the {} database is refused"
              + " whenever any of its sessions is there", router.service(),
              Switchover.unseen(new Backend.Hidden(rs.getString(1), rs.getBoolean(2), List.of()), side),
              app.getProperty("user"), side.value());
        }
      }
    } catch (SQLException e) {
      // a warning's check fails no start; the switch finds the same before its gate
      LOG.debug("cutover {}: cannot tell whether the switch's role sees the application's sessions on the {}"
          + " database: {}", router.service(), side.value(), e.getMessage());
    }
  }

  private static String directUrlKey(Target side) {
    return "cutover." + side.value() + ".direct-url";
  }
}
