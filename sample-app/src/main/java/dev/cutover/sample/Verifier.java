package dev.cutover.sample;

import dev.cutover.flags.Target;
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
import java.util.concurrent.TimeoutException;

/** Checks, after the load, that the databases hold what the application was told. */
final class Verifier {
  private static final Duration CATCH_UP = Duration.ofSeconds(60);
  private static final int SAMPLES = 5;

  private Verifier() {}

  static Verification verify(RehearsalDatabases databases, ReplicationSetup replication, Target serving,
      List<Ledger.Acknowledged> acknowledged) throws SQLException, InterruptedException {
    boolean caughtUp = true;
    String note = "";
    if (replication.into() == serving) {
      caughtUp = false;
      note = "replication runs into the serving side, so the other side is not kept up to date";
    } else {
      try {
        replication.awaitCaughtUp(CATCH_UP);
      } catch (TimeoutException | SQLException | IllegalStateException e) {
        caughtUp = false;
        note = e.getMessage();
      }
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

    List<Verification.TableComparison> tables = new ArrayList<>();
    try (Connection old = databases.direct(Target.OLD); Connection nw = databases.direct(Target.NEW)) {
      for (String table : BookingSchema.TABLES) {
        String[] o = fingerprint(old, table);
        String[] n = fingerprint(nw, table);
        tables.add(new Verification.TableComparison(table, Long.parseLong(o[0]), Long.parseLong(n[0]),
            o[0].equals(n[0]) && o[1].equals(n[1])));
      }
    }
    return new Verification(serving, acknowledged.size(), missing, samples, acknowledgedDuplicates, storedDuplicates,
        caughtUp, tables, note);
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

  /** Row count and an md5 over every row in key order: equal on both sides when they hold the same rows. */
  private static String[] fingerprint(Connection c, String table) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
        "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM " + table + " t")) {
      rs.next();
      return new String[] {rs.getString(1), rs.getString(2)};
    }
  }
}
