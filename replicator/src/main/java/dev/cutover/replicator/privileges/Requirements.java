package dev.cutover.replicator.privileges;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.privileges.Capabilities.ForeignTable;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What each step of native logical replication needs from the role it connects as, per side and
 * version, as PostgreSQL itself requires it, compared with {@link Capabilities}: every gap with the
 * exact statement that closes it, or, where a version allows no grant (a subscription below 16,
 * {@code session_replication_role} below 15), the reason and the alternatives.
 *
 * <table>
 * <caption>needs</caption>
 * <tr><th>step</th><th>source</th><th>target</th></tr>
 * <tr><td>{@code start}</td><td>a slot (REPLICATION), CREATE on the database (control schema, publication),
 *     the owner's privileges on every application table (fence trigger, publication's table list)</td>
 *     <td>CREATE on the database, the owner's privileges on the tables (fence trigger, indexes set aside,
 *     COPY FREEZE), {@code session_replication_role} (copy with triggers and foreign keys off), a subscription
 *     (superuser below 16, {@code pg_create_subscription} from 16), on 16+ SET ROLE to the tables' owners
 *     and a password to log in to the source</td></tr>
 * <tr><td>{@code reverse}</td><td>the same as start's source</td><td>a subscription, as start's target</td></tr>
 * </table>
 */
public final class Requirements {
  private static final Pattern PASSWORD = Pattern.compile("(?i)(^|\\s)password\\s*=\\s*\\S|//[^/@:\\s]+:[^@/\\s]+@");

  private Requirements() {}

  /**
   * Whether the connection string by which the other server reaches {@code endpoint} carries a
   * password: PostgreSQL 16+ refuses a subscription owned by a non-superuser without one.
   */
  public static boolean loginHasPassword(Endpoint endpoint) {
    return PASSWORD.matcher(endpoint.conninfo()).find();
  }

  /**
   * What {@code start} lacks.
   *
   * @param oldLoginHasPassword whether the subscription's connection to old carries a password
   */
  public static List<Gap> start(Capabilities old, Capabilities nw, boolean oldLoginHasPassword) {
    List<Gap> gaps = relayStart(old, nw);
    target(nw, old.side(), oldLoginHasPassword, gaps);
    return gaps;
  }

  /**
   * What {@code start --capture relay} lacks: start's source, and start's target without the
   * subscription (the apply process writes into new with {@code session_replication_role}).
   */
  public static List<Gap> relayStart(Capabilities old, Capabilities nw) {
    List<Gap> gaps = new ArrayList<>();
    source(old, gaps);
    if (!nw.createOnDatabase()) {
      gaps.add(createOnDatabase(nw, "the control schema"));
    }
    ownership(nw, gaps);
    if (!nw.replicaRole()) {
      gaps.add(replicaRole(nw));
    }
    return gaps;
  }

  /**
   * What turning replication around lacks: {@code from} is the way back's source (the side about
   * to serve), {@code to} its target.
   *
   * @param fromLoginHasPassword whether the subscription's connection to {@code from} carries a password
   */
  public static List<Gap> wayBack(Capabilities from, Capabilities to, boolean fromLoginHasPassword) {
    List<Gap> gaps = new ArrayList<>();
    source(from, gaps);
    target(to, from.side(), fromLoginHasPassword, gaps);
    return gaps;
  }

  /**
   * Fails with {@link Failure#PRIVILEGE} naming every gap and its remedy, before {@code step}
   * changes anything.
   */
  public static void require(List<Gap> gaps, String step) throws ReplicatorException {
    if (gaps.isEmpty()) {
      return;
    }
    throw new ReplicatorException(Failure.PRIVILEGE, gaps.stream().map(Gap::describe).collect(Collectors.joining("; "))
        + " (" + step + " changed nothing)", gaps.stream().map(Gap::remedy).distinct().collect(Collectors.joining("; ")));
  }

  /**
   * Fails with {@link Failure#CONNECTION} when a subscription on {@code target} could not log in
   * to the other side through {@code conninfo} ({@link SubscriptionLogin}), with
   * {@link Failure#PRECONDITION} when it logged in and the server refused what it found; call it once
   * {@link #require} passed (a login without REPLICATION on the source fails for that reason alone).
   */
  public static void requireLogin(Connection target, Side side, String conninfo, String publication, String step)
      throws SQLException, ReplicatorException {
    Optional<Gap> gap = SubscriptionLogin.check(target, side, conninfo, publication);
    if (gap.isPresent()) {
      throw new ReplicatorException(gap.get().code().equals(SubscriptionLogin.LOGIN) ? Failure.CONNECTION : Failure.PRECONDITION,
          gap.get().describe() + " (" + step + " changed nothing)", gap.get().remedy());
    }
  }

  private static void source(Capabilities c, List<Gap> gaps) {
    if (!c.slots()) {
      String r = Sql.ident(c.role());
      gaps.add(new Gap(c.side(), "replication-privilege", "role " + c.role() + " may not create replication slots",
          "ALTER ROLE " + r + " REPLICATION, as a superuser (on a managed service, grant its replication role instead,"
              + " e.g. RDS: GRANT rds_replication TO " + r + ")"));
    }
    if (!c.createOnDatabase()) {
      gaps.add(createOnDatabase(c, "the control schema and a publication"));
    }
    ownership(c, gaps);
  }

  private static void target(Capabilities c, Side source, boolean loginHasPassword, List<Gap> gaps) {
    String r = Sql.ident(c.role());
    if (!c.subscriptions()) {
      if (c.major() >= 16) {
        gaps.add(new Gap(c.side(), "subscription-privilege", "role " + c.role() + " may not create subscriptions",
            "GRANT pg_create_subscription TO " + r + ", as a superuser" + (c.createOnDatabase() ? ""
                : ", and GRANT CREATE ON DATABASE " + Sql.ident(c.database()) + " TO " + r)));
      } else {
        gaps.add(new Gap(c.side(), "subscription-privilege", "PostgreSQL " + c.major()
            + " lets only a superuser create a subscription, and role " + c.role() + " is not one",
            "connect to " + c.side().label() + " as a superuser (or a provider's admin role that may, e.g. RDS rds_superuser),"
                + " or upgrade " + c.side().label() + " to 16+ where GRANT pg_create_subscription suffices,"
                + " or replicate without a subscription on " + c.side().label() + ": start with `--capture relay` (the slot read by"
                + " `cutover-replicator apply`) or `--capture triggers`" + (c.side() == Side.OLD ? " (the engine is chosen at start:"
                + " for a migration started already, `cutover-replicator cleanup`, then start again with one of them, before the switch)"
                : "")));
      }
    }
    if (c.superuser() || c.major() < 16) {
      return;
    }
    if (!c.ownersNotSettable().isEmpty()) {
      gaps.add(new Gap(c.side(), "subscription-owner-role", "a subscription applies each change as the table's owner (16+),"
          + " and role " + c.role() + " cannot SET ROLE to " + String.join(", ", c.ownersNotSettable()),
          c.ownersNotSettable().stream().map(o -> "GRANT " + Sql.ident(o) + " TO " + r).collect(Collectors.joining("; "))));
    }
    if (!loginHasPassword) {
      String s = source.label();
      gaps.add(new Gap(c.side(), "subscription-password", "a subscription owned by " + c.role()
          + ", not a superuser, must log in to " + s + " with a password (16+), and " + s + "'s connection has none",
          "give " + s + "'s password (its environment variable, or password= in --" + s + "-conninfo), and let "
              + s + "'s pg_hba.conf ask " + c.role() + " for it (scram-sha-256 or md5)"));
    }
  }

  private static Gap createOnDatabase(Capabilities c, String what) {
    return new Gap(c.side(), "database-privilege", "role " + c.role() + " may not create " + what + " in database "
        + c.database(), "GRANT CREATE ON DATABASE " + Sql.ident(c.database()) + " TO " + Sql.ident(c.role())
        + ", as the database's owner");
  }

  private static void ownership(Capabilities c, List<Gap> gaps) {
    gaps.addAll(ownership(c.side(), c.role(), c.foreign()));
  }

  /**
   * Tables {@code role} cannot act as owner of ({@link Capabilities#foreignTables}), per owner: a
   * GRANT of the owner, or ALTER TABLE ... OWNER TO where the owner is a superuser.
   */
  public static List<Gap> ownership(Side side, String role, List<ForeignTable> foreign) {
    Map<String, List<ForeignTable>> byOwner = new LinkedHashMap<>();
    for (ForeignTable t : foreign) {
      byOwner.computeIfAbsent(t.owner(), k -> new ArrayList<>()).add(t);
    }
    List<Gap> gaps = new ArrayList<>();
    String r = Sql.ident(role);
    for (Map.Entry<String, List<ForeignTable>> e : byOwner.entrySet()) {
      List<ForeignTable> tables = e.getValue();
      String remedy = tables.get(0).superuserOwner()
          ? tables.stream().map(t -> "ALTER TABLE " + t.name() + " OWNER TO " + r).collect(Collectors.joining("; ")) + ", as a superuser"
          : "GRANT " + Sql.ident(e.getKey()) + " TO " + r;
      gaps.add(new Gap(side, "ownership", "role " + role + " lacks the owner's privileges on " + tables.size()
          + " table(s) owned by " + e.getKey() + " (" + tables.stream().limit(5).map(ForeignTable::name)
          .collect(Collectors.joining(", ")) + (tables.size() > 5 ? ", ..." : "") + ")", remedy));
    }
    return gaps;
  }

  /** The gap of a role that may not set {@code session_replication_role}, with the grant its version allows. */
  public static Gap replicaRole(Capabilities c) {
    String message = "role " + c.role() + " may not set session_replication_role, which the copy needs to write with"
        + " triggers and foreign keys off";
    if (c.major() >= 15) {
      return new Gap(c.side(), "replica-role-privilege", message,
          "GRANT SET ON PARAMETER session_replication_role TO " + Sql.ident(c.role()) + ", as a superuser");
    }
    return new Gap(c.side(), "replica-role-privilege", message + "; PostgreSQL " + c.major() + " lets only a superuser set it",
        "connect to " + c.side().label() + " as a superuser (or a provider's admin role that may, e.g. RDS rds_superuser),"
            + " or upgrade " + c.side().label() + " to 15+ where GRANT SET ON PARAMETER session_replication_role suffices");
  }
}
