package dev.cutover.replicator.operator;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * Reads {@link SwitchStatus} from the control schema's tables on both databases ({@code
 * cutover.instance}, {@code cutover.switch}, the fence) and the leader's advisory lock. Read-only;
 * the tables are the installer's, so this needs the role that installed the control schema (the
 * replicator's) or a superuser.
 */
public final class SwitchStatusReader {
  /** As the driver's {@code Router.INSTANCE_TTL}: an older heartbeat no longer holds a switch back. */
  static final long LIVE_MILLIS = 5_000;
  private static final String READY = "ready:";

  private SwitchStatusReader() {}

  /** Reads both sides; {@code services} limits the view (empty: every service found). */
  public static SwitchStatus read(Endpoint old, Endpoint nw, List<String> services) throws ReplicatorException {
    SideView o = side(old, services);
    SideView n = side(nw, services);
    TreeSet<String> names = new TreeSet<>(services);
    if (names.isEmpty()) {
      names.addAll(o.instances.keySet());
      names.addAll(n.instances.keySet());
      names.addAll(o.switches.keySet());
      names.addAll(n.switches.keySet());
    }
    List<SwitchStatus.Service> out = new ArrayList<>();
    for (String service : names) {
      SwitchStatus.Switch current = latest(o.switches.get(service), n.switches.get(service));
      out.add(new SwitchStatus.Service(service, instances(service, o, n, current), current));
    }
    return new SwitchStatus(SwitchStatus.sides(o.version, n.version), SwitchStatus.sides(o.fenced, n.fenced),
        List.copyOf(out));
  }

  /** One side's rows: instances by service (then by name), switches by service. */
  private record SideView(Integer version, Boolean fenced, Map<String, Map<String, Row>> instances,
      Map<String, SwitchStatus.Switch> switches) {}

  private record Row(long ageMillis, String drainedFor) {}

  private static SideView side(Endpoint endpoint, List<String> services) throws ReplicatorException {
    String side = endpoint.side().label();
    try (Connection c = endpoint.connect()) {
      OptionalInt version = ControlSchema.installedVersion(c);
      if (version.isEmpty()) {
        return new SideView(null, null, Map.of(), Map.of());
      }
      Map<String, Map<String, Row>> instances = new HashMap<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT service, instance, (extract(epoch FROM clock_timestamp() - heartbeat_at) * 1000)::bigint, drained_for"
              + " FROM cutover.instance WHERE cardinality(?::text[]) = 0 OR service = ANY (?::text[])")) {
        bindServices(c, ps, services);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            instances.computeIfAbsent(rs.getString(1), k -> new LinkedHashMap<>())
                .put(rs.getString(2), new Row(Math.max(0, rs.getLong(3)), rs.getString(4)));
          }
        }
      }
      Map<String, SwitchStatus.Switch> switches = new HashMap<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT s.service, s.id, s.source, s.target, s.state, s.reason, s.updated_at, l.holder, a.application_name,"
              + " host(a.client_addr) FROM cutover.switch s"
              // the leader's lock key is the control schema's secret: only its own function finds the holder
              + " LEFT JOIN LATERAL cutover.lead_holders(s.service, s.id) l ON true"
              + " LEFT JOIN pg_stat_activity a ON a.pid = l.holder"
              + " WHERE cardinality(?::text[]) = 0 OR s.service = ANY (?::text[])")) {
        bindServices(c, ps, services);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            Timestamp at = rs.getTimestamp(7);
            int pid = rs.getInt(8);
            SwitchStatus.Leader leader = rs.wasNull() ? null : new SwitchStatus.Leader(pid, rs.getString(9), rs.getString(10));
            switches.put(rs.getString(1), new SwitchStatus.Switch(rs.getString(2), side, rs.getString(3), rs.getString(4),
                rs.getString(5), rs.getString(6), at == null ? null : at.toInstant(), leader));
          }
        }
      }
      boolean fenced;
      try (PreparedStatement ps = c.prepareStatement("SELECT cutover.fence_raised()");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        fenced = rs.getBoolean(1);
      }
      return new SideView(version.getAsInt(), fenced, instances, switches);
    } catch (SQLException e) {
      if ("42501".equals(e.getSQLState())) {
        throw new ReplicatorException(Failure.PRIVILEGE, side + ": " + firstLine(e.getMessage()) + " reading the control schema",
            "connect as the role that installed it (the replicator's) or a superuser (--" + side + "-user)", e);
      }
      throw new ReplicatorException(Failure.CONNECTION, side + ": cannot read the control schema: " + firstLine(e.getMessage()),
          "check --" + side + "-url and that the database answers", e);
    }
  }

  private static void bindServices(Connection c, PreparedStatement ps, List<String> services) throws SQLException {
    java.sql.Array array = c.createArrayOf("text", services.toArray());
    ps.setArray(1, array);
    ps.setArray(2, array);
  }

  /** The newer of the two sides' records of a service's switch. */
  private static SwitchStatus.Switch latest(SwitchStatus.Switch o, SwitchStatus.Switch n) {
    if (o == null || n == null) {
      return o != null ? o : n;
    }
    if (o.updatedAt() == null || n.updatedAt() == null) {
      return o.updatedAt() == null ? n : o;
    }
    return o.updatedAt().isAfter(n.updatedAt()) ? o : n;
  }

  /** Each instance once, on the side of its freshest heartbeat, which is the side that serves it. */
  private static List<SwitchStatus.Instance> instances(String service, SideView o, SideView n, SwitchStatus.Switch current) {
    Map<String, SwitchStatus.Instance> byName = new LinkedHashMap<>();
    for (SideView view : List.of(o, n)) {
      String side = view == o ? Side.OLD.label() : Side.NEW.label();
      for (Map.Entry<String, Row> e : view.instances.getOrDefault(service, Map.of()).entrySet()) {
        SwitchStatus.Instance candidate = new SwitchStatus.Instance(e.getKey(), side, e.getValue().ageMillis(),
            e.getValue().ageMillis() < LIVE_MILLIS, phase(e.getValue().drainedFor(), current));
        byName.merge(e.getKey(), candidate, (a, b) -> a.heartbeatAgeMillis() <= b.heartbeatAgeMillis() ? a : b);
      }
    }
    List<SwitchStatus.Instance> list = new ArrayList<>(byName.values());
    list.sort(Comparator.comparingLong(SwitchStatus.Instance::heartbeatAgeMillis).thenComparing(SwitchStatus.Instance::name));
    return List.copyOf(list);
  }

  private static String phase(String drainedFor, SwitchStatus.Switch current) {
    if (drainedFor == null || current == null || !current.inProgress()) {
      return "idle";
    }
    if (drainedFor.equals(READY + current.id())) {
      return "ready";
    }
    return drainedFor.equals(current.id()) ? "drained" : "idle";
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "no message";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }
}
