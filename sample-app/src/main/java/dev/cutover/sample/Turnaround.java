package dev.cutover.sample;

import dev.cutover.driver.control.Barrier;
import dev.cutover.driver.control.Fence;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.replication.Heartbeat;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Column;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.postgresql.copy.CopyOut;
import org.postgresql.replication.ReplicationSlotInfo;

/**
 * Turns replication around right after a switch, on servers older than 16, without losing what the
 * serving side committed meanwhile.
 *
 * <p>Why not the replicator's {@code reverse()}: below 16 a subscriber cannot filter changes by
 * origin, so only one direction can run at a time, and the way back can start only once the switch
 * has fenced the side traffic left. {@code reverse()} then creates the reverse subscription with a
 * fresh slot and no initial copy, so what the application committed on the serving side between
 * the switch's release and that slot is never carried back, and a flip back would lose it.
 *
 * <p>What this does instead, in the replicator's names (so its status, verify and cleanup see the
 * result): drain the running direction with a barrier (the receiving side is fenced, nothing new
 * can enter it), drop its subscription and slot; create the slot of the other direction through
 * the replication protocol, which exports the snapshot the slot starts from; bring the fenced side
 * to exactly that snapshot (rows it lacks inserted, changed rows updated, rows deleted since
 * removed, in one transaction with {@code session_replication_role = replica}, so fences and
 * foreign-key triggers stay quiet as they do for apply workers); then subscribe from the slot.
 * Everything before the snapshot is copied, everything after it streamed, nothing is in neither.
 * Each turnaround reads every replicated table once: fine for a rehearsal, and what the replicator
 * should do itself (see the sample app's README).
 */
final class Turnaround {
  private static final Duration SLOT_WAIT = Duration.ofSeconds(10);

  /**
   * What a turnaround did.
   *
   * @param rowsRead rows of the serving side's snapshot that were read
   * @param rowsChanged rows inserted, updated or deleted on the fenced side to match the snapshot
   * @param steps what was done, in order
   */
  record Result(long rowsRead, long rowsChanged, List<String> steps) {}

  private Turnaround() {}

  /**
   * Makes {@code source} (which serves now) replicate into {@code target} (which the switch fenced).
   *
   * @throws IllegalStateException when {@code target} is not fenced: turning around then could lose writes
   * @throws TimeoutException when the running direction does not drain within {@code drainTimeout}
   */
  static Result run(Endpoint source, Endpoint target, Names names, Duration drainTimeout) throws Exception {
    List<String> steps = new ArrayList<>();
    String from = source.side().label();
    String into = target.side().label();
    // The replicator's names: cutover_fwd (publication on old, subscription on new), cutover_rev the other way.
    String running = source.side() == Side.NEW ? Names.FORWARD : Names.REVERSE;
    String runningSlot = source.side() == Side.NEW ? names.forwardSlot() : names.reverseSlot();
    String direction = source.side() == Side.NEW ? Names.REVERSE : Names.FORWARD;
    String slot = source.side() == Side.NEW ? names.reverseSlot() : names.forwardSlot();
    try (Connection s = source.connect(); Connection t = target.connect()) {
      if (!Fence.isRaised(t)) {
        throw new IllegalStateException(into + " is not fenced, so writes could still commit there; replication turns"
            + " around only after a switch fenced it");
      }
      if (ReplicationObjects.subscriptionExists(s, running)) {
        String marker = Barrier.write(t);
        if (!Barrier.await(s, marker, drainTimeout)) {
          throw new TimeoutException(into + " -> " + from + " replication did not deliver a barrier marker within "
              + drainTimeout.toMillis() + " ms");
        }
        ReplicationObjects.dropSubscription(s, running);
        steps.add(into + " -> " + from + " drained (a marker written after the fence arrived) and subscription "
            + running + " dropped");
      }
      if (ReplicationObjects.dropSlot(t, runningSlot, SLOT_WAIT)) {
        steps.add("slot " + runningSlot + " on " + into + " dropped");
      }
      if (ReplicationObjects.subscriptionExists(t, direction)) {
        throw new IllegalStateException(into + " already has subscription " + direction);
      }
      Heartbeat.install(s);
      Heartbeat.install(t);
      if (ReplicationObjects.createPublication(s, direction)) {
        steps.add("publication " + direction + " created on " + from);
      }
      ReplicationObjects.dropSlot(s, slot, SLOT_WAIT);
      List<TableInfo> tables = new ArrayList<>();
      for (TableName table : Catalog.publishedTables(s, direction)) {
        if (!table.schema().equals("cutover")) {
          tables.add(Catalog.require(s, table, from));
        }
      }
      TableInfo heartbeat = Catalog.require(s, new TableName("cutover", "replication_heartbeat"), from);

      long[] counts;
      // The snapshot the slot exports lives as long as this connection stays open and idle.
      Connection walsender = source.connectReplication();
      try {
        ReplicationSlotInfo info = walsender.unwrap(PGConnection.class).getReplicationAPI().createReplicationSlot()
            .logical().withSlotName(slot).withOutputPlugin("pgoutput").make();
        try {
          counts = reconcile(source, t, info.getSnapshotName(), tables, heartbeat);
        } catch (Exception e) {
          walsender.close();
          ReplicationObjects.dropSlot(s, slot, SLOT_WAIT);
          throw e;
        }
      } finally {
        walsender.close();
      }
      steps.add("slot " + slot + " created on " + from + "; " + into + " brought to its snapshot: " + counts[0]
          + " rows read, " + counts[1] + " changed");
      ReplicationObjects.createSubscription(t, direction, source.conninfo(), direction, slot, false, false);
      steps.add("subscription " + direction + " created on " + into + ", streaming from " + slot);
      return new Result(counts[0], counts[1], steps);
    }
  }

  /**
   * Makes the application tables on {@code t} hold exactly the rows of {@code source} in {@code
   * snapshot}, and copies the source's own heartbeat row. Returns rows read and rows changed.
   */
  private static long[] reconcile(Endpoint source, Connection t, String snapshot, List<TableInfo> tables, TableInfo heartbeat)
      throws Exception {
    long read = 0;
    long changed = 0;
    try (Connection reader = source.connect()) {
      Sql.execute(reader, "BEGIN ISOLATION LEVEL REPEATABLE READ");
      Sql.execute(reader, "SET TRANSACTION SNAPSHOT " + Sql.literal(snapshot));
      CopyManager out = reader.unwrap(PGConnection.class).getCopyAPI();
      CopyManager in = t.unwrap(PGConnection.class).getCopyAPI();
      t.setAutoCommit(false);
      try (Statement st = t.createStatement()) {
        st.execute("SET LOCAL session_replication_role = replica");
        int n = 0;
        for (TableInfo table : tables) {
          String staging = "cutover_rehearsal_turnaround_" + (++n);
          read += stage(out, in, st, table, staging, "");
          if (table.hasKey()) {
            changed += st.executeUpdate("DELETE FROM ONLY " + table.name().quoted() + " t WHERE NOT EXISTS (SELECT 1 FROM "
                + staging + " s WHERE " + table.key().stream().map(c -> "s." + Sql.ident(c) + " = t." + Sql.ident(c))
                .collect(Collectors.joining(" AND ")) + ")");
            changed += st.executeUpdate(upsert(table, staging, table.key()));
          } else {
            changed += st.executeUpdate("DELETE FROM ONLY " + table.name().quoted());
            changed += st.executeUpdate("INSERT INTO " + table.name().quoted() + " (" + table.copiedColumnList()
                + ") OVERRIDING SYSTEM VALUE SELECT " + table.copiedColumnList() + " FROM " + staging);
          }
        }
        // Only the source writes its heartbeat row; the target's own row stays as it is.
        stage(out, in, st, heartbeat, "cutover_rehearsal_turnaround_heartbeat",
            " WHERE origin = " + Sql.literal(source.side().label()));
        st.executeUpdate(upsert(heartbeat, "cutover_rehearsal_turnaround_heartbeat", List.of("origin")));
        t.commit();
      } catch (Exception e) {
        t.rollback();
        throw e;
      } finally {
        t.setAutoCommit(true);
        Sql.execute(reader, "COMMIT");
      }
    }
    return new long[] {read, changed};
  }

  /** Copies the table's rows (matching {@code where}) from the snapshot into a temporary table; returns how many. */
  private static long stage(CopyManager out, CopyManager in, Statement st, TableInfo table, String staging, String where)
      throws SQLException {
    String columns = table.copiedColumnList();
    st.execute("CREATE TEMP TABLE " + staging + " (LIKE " + table.name().quoted() + ") ON COMMIT DROP");
    CopyOut reading = out.copyOut("COPY (SELECT " + columns + " FROM ONLY " + table.name().quoted() + where + ") TO STDOUT");
    CopyIn writing = in.copyIn("COPY " + staging + " (" + columns + ") FROM STDIN");
    try {
      byte[] row;
      while ((row = reading.readFromCopy()) != null) {
        writing.writeToCopy(row, 0, row.length);
      }
      return writing.endCopy();
    } finally {
      if (writing.isActive()) {
        writing.cancelCopy();
      }
      if (reading.isActive()) {
        reading.cancelCopy();
      }
    }
  }

  /** Inserts the staged rows, updating those whose key exists with other values; rows already equal are left alone. */
  private static String upsert(TableInfo table, String staging, List<String> key) {
    String columns = table.copiedColumnList();
    List<String> others = table.copiedColumns().stream().map(Column::name).filter(c -> !key.contains(c)).map(Sql::ident)
        .collect(Collectors.toList());
    String conflict = others.isEmpty() ? "DO NOTHING"
        : "DO UPDATE SET " + others.stream().map(c -> c + " = EXCLUDED." + c).collect(Collectors.joining(", "))
            // Compared as text: some types (json, point) have no equality operator.
            + " WHERE ROW(" + others.stream().map(c -> "target." + c).collect(Collectors.joining(", ")) + ")::text"
            + " IS DISTINCT FROM ROW(" + others.stream().map(c -> "EXCLUDED." + c).collect(Collectors.joining(", ")) + ")::text";
    return "INSERT INTO " + table.name().quoted() + " AS target (" + columns + ") OVERRIDING SYSTEM VALUE SELECT " + columns
        + " FROM " + staging + " ON CONFLICT (" + key.stream().map(Sql::ident).collect(Collectors.joining(", ")) + ") " + conflict;
  }
}
