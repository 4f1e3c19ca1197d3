package dev.cutover.torture;

import dev.cutover.flags.Target;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.postgresql.PGConnection;

/**
 * When a check fails, what both databases held, as CSV files next to the record: the servers and
 * their data directories are gone once the run ends.
 */
final class StateDump {
  private static final Map<String, String> QUERIES = Map.of(
      "ledger", "SELECT * FROM ledger ORDER BY tick, id",
      "account", "SELECT * FROM account ORDER BY id",
      "clock", "SELECT * FROM clock",
      "barrier", "SELECT * FROM cutover.barrier ORDER BY written_at",
      "switch", "SELECT * FROM cutover.switch",
      "instance", "SELECT * FROM cutover.instance",
      "fence", "SELECT cutover.fence_raised()",
      "subscriptions", "SELECT subname, subenabled, subslotname, subpublications FROM pg_subscription",
      "slots", "SELECT slot_name, plugin, active, restart_lsn, confirmed_flush_lsn FROM pg_replication_slots",
      "sequences", "SELECT schemaname, sequencename, last_value FROM pg_sequences");

  private StateDump() {}

  /** Writes {@code <side>-<what>.csv} into {@code directory}; returns what could not be read. */
  static List<String> write(Cluster cluster, Path directory) throws IOException {
    Files.createDirectories(directory);
    List<String> missed = new ArrayList<>();
    for (Target side : Target.values()) {
      try (Connection c = cluster.direct(side)) {
        for (Map.Entry<String, String> q : QUERIES.entrySet()) {
          try (OutputStream out = Files.newOutputStream(directory.resolve(side.value() + "-" + q.getKey() + ".csv"))) {
            c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (" + q.getValue() + ") TO STDOUT WITH CSV HEADER", out);
          } catch (SQLException e) {
            missed.add(side.value() + " " + q.getKey() + ": " + e.getMessage());
          }
        }
      } catch (SQLException e) {
        missed.add(side.value() + ": " + e.getMessage());
      }
    }
    return missed;
  }
}
