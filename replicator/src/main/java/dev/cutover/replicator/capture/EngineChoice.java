package dev.cutover.replicator.capture;

import dev.cutover.replicator.Side;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.privileges.Gap;
import dev.cutover.replicator.privileges.Requirements;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Which engine replicates, and why: logical replication when nothing stands in its way; relayed
 * logical decoding when only old's version (11) keeps the native engine out and the role on new
 * may write with triggers off, as relaying needs; trigger capture when something else does; or
 * what was asked for. What can be seen from here: the source's version
 * (the native engine needs 12 or newer, relayed replication 11; 9.6 has no logical decoding at all), its
 * {@code wal_level}, whether the role on old may create replication slots (tried). What cannot:
 * whether new's server can reach old's at all (a private network); then ask for
 * {@code --capture relay} (old's slot read by the apply process) or {@code --capture triggers}. A
 * role on new that may not subscribe does not change the engine: that is a grant to add, which
 * check names with the other privileges, or {@code --capture relay} to ask for.
 *
 * @param engine {@link Capture#LOGICAL}, {@link Capture#TRIGGERS}, or {@link Capture#RELAY}
 * @param requested what was asked for
 * @param blockers why logical replication cannot run here, one sentence each; empty when it can
 */
public record EngineChoice(Capture engine, Capture requested, List<String> blockers) {
  /** The oldest source the native engine supports. */
  public static final int LOGICAL_MIN = 12;
  /** The oldest source relayed replication supports: pgoutput decodes TRUNCATE from 11. */
  public static final int RELAY_MIN = 11;
  /** The oldest source trigger capture supports (9.6, as {@code server_version_num / 10000}). */
  public static final int TRIGGERS_MIN = 9;

  public static EngineChoice decide(Connection old, Connection nw, Capture requested) throws SQLException {
    List<String> blockers = new ArrayList<>();
    int major = Sql.majorVersionOf(old);
    if (major < 10) {
      blockers.add("old runs PostgreSQL " + Sql.string(old, "SHOW server_version") + ", which has no logical decoding");
    } else if (major < LOGICAL_MIN) {
      blockers.add("old runs PostgreSQL " + major + "; the native engine needs " + LOGICAL_MIN + " or newer"
          + (major >= RELAY_MIN ? " (--capture relay reads old's slot from " + RELAY_MIN + " on, without triggers)" : ""));
    }
    String wal = Sql.string(old, "SHOW wal_level");
    if (major >= 10 && !"logical".equals(wal)) {
      blockers.add("old has wal_level = " + wal + ", not logical");
    }
    if (major >= 10 && !Capabilities.probe(old, Side.OLD).slots()) {
      blockers.add("role " + Catalog.currentUser(old) + " on old may not create replication slots (no REPLICATION)");
    }
    // Where old's version alone keeps the native engine out, auto relays unless relaying is kept out too.
    boolean onlyTheVersion = requested == Capture.AUTO && major >= RELAY_MIN && major < LOGICAL_MIN && blockers.size() == 1;
    List<String> relayBlockers = new ArrayList<>();
    if (onlyTheVersion) {
      Capabilities n = Capabilities.probe(nw, Side.NEW);
      if (!n.replicaRole()) {
        Gap g = Requirements.replicaRole(n);
        relayBlockers.add("relaying old's slot: on new " + g.message() + " (" + g.remedy() + ")");
      }
      if ("SQL_ASCII".equals(Sql.string(old, "SHOW server_encoding"))) {
        relayBlockers.add("old's server_encoding is SQL_ASCII, whose bytes a relay cannot read as text");
      }
      blockers.addAll(relayBlockers);
    }
    Capture engine = switch (requested) {
      case LOGICAL -> Capture.LOGICAL;
      case TRIGGERS -> Capture.TRIGGERS;
      case RELAY -> Capture.RELAY;
      case AUTO -> blockers.isEmpty() ? Capture.LOGICAL : onlyTheVersion && relayBlockers.isEmpty() ? Capture.RELAY : Capture.TRIGGERS;
    };
    return new EngineChoice(engine, requested, List.copyOf(blockers));
  }

  /** One sentence for check and start: which engine and why. */
  public String explain() {
    if (engine == Capture.RELAY) {
      return "logical decoding relayed (publication and slot on old, read by `cutover-replicator apply`, which connects to both"
          + " sides; new never connects to old)" + (requested == Capture.RELAY
              ? ", as asked" + (blockers.isEmpty() ? "" : ", although " + String.join("; ", blockers))
              : ", because " + String.join("; ", blockers));
    }
    if (engine == Capture.LOGICAL) {
      return requested == Capture.LOGICAL && !blockers.isEmpty()
          ? "logical replication, as asked, although " + String.join("; ", blockers)
          : "logical replication (publication and slot on old, subscription on new): nothing stands in its way"
              + " (if new cannot reach old over the network, use --capture relay or --capture triggers)";
    }
    return "trigger capture (row triggers into a change log on old, applied by `cutover-replicator apply`, which connects to"
        + " both sides; new never connects to old)" + (requested == Capture.TRIGGERS ? ", as asked"
            : ", because " + String.join("; ", blockers));
  }
}
