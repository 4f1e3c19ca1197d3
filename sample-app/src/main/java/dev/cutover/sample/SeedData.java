package dev.cutover.sample;

import static dev.cutover.common.Transactions.inTransaction;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.UUID;

/**
 * Houses, users and a few bookings to start from, generated from a seed so that two rehearsals
 * with the same options start from the same data.
 */
final class SeedData {
  static final List<String> CITIES = List.of("Lisbon", "Porto", "Faro", "Madeira", "Azores", "Coimbra");
  private static final int BATCH = 500;

  /** What the load needs to know about the seeded data. */
  record Catalog(List<UUID> houses, List<UUID> users, LocalDate firstDay, int seededBookings) {}

  private SeedData() {}

  /** Inserts {@code houses} houses, {@code users} users and two bookings per house, in one transaction. */
  static Catalog insert(Connection c, int houses, int users, LocalDate firstDay, long seed) throws SQLException {
    Random random = new Random(seed);
    List<UUID> houseIds = new ArrayList<>(houses);
    List<UUID> userIds = new ArrayList<>(users);
    List<BigDecimal> prices = new ArrayList<>(houses);
    return inTransaction(c, () -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO houses (id, name, city, nightly_price) VALUES (?, ?, ?, ?)")) {
        for (int i = 0; i < houses; i++) {
          UUID id = new UUID(random.nextLong(), random.nextLong());
          BigDecimal price = BigDecimal.valueOf(40 + random.nextInt(260)).setScale(2);
          houseIds.add(id);
          prices.add(price);
          ps.setObject(1, id);
          ps.setString(2, "House " + (i + 1));
          ps.setString(3, CITIES.get(i % CITIES.size()));
          ps.setBigDecimal(4, price);
          batch(ps, i);
        }
        ps.executeBatch();
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO users (id, email, name) VALUES (?, ?, ?)")) {
        for (int i = 0; i < users; i++) {
          UUID id = new UUID(random.nextLong(), random.nextLong());
          userIds.add(id);
          ps.setObject(1, id);
          ps.setString(2, "guest" + (i + 1) + "@example.com");
          ps.setString(3, "Guest " + (i + 1));
          batch(ps, i);
        }
        ps.executeBatch();
      }
      int bookings = 0;
      try (PreparedStatement booking = c.prepareStatement(
              "INSERT INTO bookings (house_id, user_id, day) VALUES (?, ?, ?)");
          PreparedStatement payment = c.prepareStatement(
              "INSERT INTO payments (booking_id, amount) VALUES (currval('bookings_id_seq'), ?)")) {
        for (int h = 0; h < houses; h++) {
          Set<Integer> days = new HashSet<>();
          while (days.size() < 2) {
            days.add(random.nextInt(LoadWorker.BOOKABLE_DAYS));
          }
          for (int day : days) {
            booking.setObject(1, houseIds.get(h));
            booking.setObject(2, userIds.get(random.nextInt(users)));
            booking.setDate(3, Date.valueOf(firstDay.plusDays(day)));
            booking.executeUpdate();
            payment.setBigDecimal(1, prices.get(h));
            payment.executeUpdate();
            bookings++;
          }
        }
      }
      return new Catalog(List.copyOf(houseIds), List.copyOf(userIds), firstDay, bookings);
    });
  }

  private static void batch(PreparedStatement ps, int i) throws SQLException {
    ps.addBatch();
    if ((i + 1) % BATCH == 0) {
      ps.executeBatch();
    }
  }
}
