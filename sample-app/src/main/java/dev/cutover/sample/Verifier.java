package dev.cutover.sample;

import dev.cutover.flags.Target;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.verify.VerifyReport;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

/** Checks, after the load, that the databases hold what the application was told, and that old and new agree. */
final class Verifier {
  private static final Duration CATCH_UP = Duration.ofSeconds(60);
  private static final int SAMPLES = 5;

  private Verifier() {}

  /**
   * Waits for the other side to catch up, checks every acknowledged booking on the serving side
   * and runs the replicator's verify. Failures of catching up or of the replicator's verify are
   * in the result, not thrown.
   */
  static Verification verify(RehearsalDatabases databases, Replication replication, Target serving,
      List<Ledger.Acknowledged> acknowledged) throws SQLException {
    List<String> notes = new ArrayList<>();
    boolean caughtUp = true;
    try {
      replication.awaitCaughtUp(CATCH_UP);
    } catch (Exception e) {
      caughtUp = false;
      notes.add("not caught up: " + message(e));
    }

    int missing = 0;
    List<String> samples = new ArrayList<>();
    int storedDuplicates;
    try (Connection c = databases.direct(serving)) {
      Map<Long, Booking> stored = bookings(c);
      for (Ledger.Acknowledged ack : acknowledged) {
        Booking found = stored.get(ack.booking().id());
        if (found == null || !LoadWorker.same(found, ack.booking())) {
          missing++;
          if (samples.size() < SAMPLES) {
            samples.add("booking " + ack.booking().id() + " by " + ack.instance() + ": "
                + (found == null ? "absent" : "stored as " + found));
          }
        }
      }
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
          "SELECT count(*) FROM (SELECT 1 FROM bookings GROUP BY house_id, day HAVING count(*) > 1) d")) {
        rs.next();
        storedDuplicates = rs.getInt(1);
      }
    }

    Map<String, Integer> perNight = new HashMap<>();
    for (Ledger.Acknowledged ack : acknowledged) {
      perNight.merge(ack.booking().house() + "/" + ack.booking().day(), 1, Integer::sum);
    }
    int acknowledgedDuplicates = (int) perNight.values().stream().filter(n -> n > 1).count();

    Verification.Replicated replicated = null;
    try {
      replicated = replicated(replication.verify());
    } catch (Exception e) {
      notes.add("the replicator's verify failed: " + message(e));
    }
    return new Verification(serving, acknowledged.size(), missing, samples, acknowledgedDuplicates, storedDuplicates,
        caughtUp, replicated, String.join("; ", notes));
  }

  /** The replicator's verify as the report shows it, with old's and new's rows whichever way it compared. */
  static Verification.Replicated replicated(VerifyReport report) {
    boolean oldIsSource = report.source().equals("old");
    List<Verification.TableResult> tables = new ArrayList<>();
    for (VerifyReport.TableResult t : report.tables()) {
      tables.add(new Verification.TableResult(t.table(), oldIsSource ? t.sourceRows() : t.targetRows(),
          oldIsSource ? t.targetRows() : t.sourceRows(), t.differenceCount(),
          t.differences().stream().limit(SAMPLES).map(d -> d.kind() + " " + d.key()).collect(Collectors.toList())));
    }
    return new Verification.Replicated(report.source() + " -> " + report.target(), report.rows(), report.millis(),
        report.differences(), report.inFlight(), report.rechecked(), report.note(), tables, report.uncarried(), report.carry());
  }

  private static String message(Exception e) {
    return e instanceof ReplicatorException r ? r.oneLine() : String.valueOf(e.getMessage());
  }

  /** Every booking with its payment's amount (null when it has none). */
  private static Map<Long, Booking> bookings(Connection c) throws SQLException {
    Map<Long, Booking> bookings = new HashMap<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT b.id, b.house_id, b.user_id, b.day, p.amount FROM bookings b LEFT JOIN payments p ON p.booking_id = b.id")) {
      while (rs.next()) {
        Booking b = new Booking(rs.getLong(1), rs.getObject(2, UUID.class), rs.getObject(3, UUID.class),
            rs.getObject(4, LocalDate.class), rs.getBigDecimal(5));
        bookings.put(b.id(), b);
      }
    }
    return bookings;
  }
}
