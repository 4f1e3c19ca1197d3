package dev.cutover.sample;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The booking service: plain JDBC over a pooled {@link DataSource}, one transaction per call.
 *
 * <p>Nothing here knows about Cutover. The pool's JDBC URL ({@code jdbc:cutover:postgresql:…})
 * is the only place that does, which is the point: a service moves between databases by changing
 * its URL, not its code.
 */
final class BookingService {
  static final String ONE_BOOKING_PER_DAY = "bookings_one_per_day";
  private static final String UNIQUE_VIOLATION = "23505";

  private final DataSource dataSource;

  BookingService(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * Books {@code house} for {@code day} and records the payment of its nightly price, in one
   * transaction.
   *
   * @throws AlreadyBooked when the house is taken that day, by this or any other instance
   * @throws IllegalArgumentException when the house does not exist
   */
  Booking book(UUID user, UUID house, LocalDate day) throws AlreadyBooked, SQLException {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        BigDecimal price = nightlyPrice(c, house);
        long id;
        try (PreparedStatement insert = c.prepareStatement(
            "INSERT INTO bookings (house_id, user_id, day) VALUES (?, ?, ?) RETURNING id")) {
          insert.setObject(1, house);
          insert.setObject(2, user);
          insert.setDate(3, Date.valueOf(day));
          try (ResultSet rs = insert.executeQuery()) {
            rs.next();
            id = rs.getLong(1);
          }
        }
        try (PreparedStatement pay = c.prepareStatement("INSERT INTO payments (booking_id, amount) VALUES (?, ?)")) {
          pay.setLong(1, id);
          pay.setBigDecimal(2, price);
          pay.executeUpdate();
        }
        c.commit();
        return new Booking(id, house, user, day, price);
      } catch (SQLException e) {
        rollback(c, e);
        if (isDoubleBooking(e)) {
          throw new AlreadyBooked(house, day, e);
        }
        throw e;
      }
    }
  }

  /** The booking with {@code id}, with its payment. */
  Optional<Booking> find(long id) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT b.id, b.house_id, b.user_id, b.day, p.amount FROM bookings b"
            + " JOIN payments p ON p.booking_id = b.id WHERE b.id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(booking(rs)) : Optional.empty();
      }
    }
  }

  /** The days {@code house} is booked between {@code from} and {@code to}, inclusive. */
  List<LocalDate> calendar(UUID house, LocalDate from, LocalDate to) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT day FROM bookings WHERE house_id = ? AND day BETWEEN ? AND ? ORDER BY day")) {
      ps.setObject(1, house);
      ps.setDate(2, Date.valueOf(from));
      ps.setDate(3, Date.valueOf(to));
      List<LocalDate> days = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          days.add(rs.getDate(1).toLocalDate());
        }
      }
      return days;
    }
  }

  /** The user's latest bookings, newest first. */
  List<Booking> bookingsOf(UUID user, int limit) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT b.id, b.house_id, b.user_id, b.day, p.amount FROM bookings b"
            + " JOIN payments p ON p.booking_id = b.id WHERE b.user_id = ? ORDER BY b.id DESC LIMIT ?")) {
      ps.setObject(1, user);
      ps.setInt(2, limit);
      List<Booking> bookings = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          bookings.add(booking(rs));
        }
      }
      return bookings;
    }
  }

  /** Houses in {@code city} still free on {@code day}, cheapest first. */
  List<UUID> freeHouses(String city, LocalDate day, int limit) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT h.id FROM houses h WHERE h.city = ? AND NOT EXISTS"
            + " (SELECT 1 FROM bookings b WHERE b.house_id = h.id AND b.day = ?) ORDER BY h.nightly_price, h.id LIMIT ?")) {
      ps.setString(1, city);
      ps.setDate(2, Date.valueOf(day));
      ps.setInt(3, limit);
      List<UUID> houses = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          houses.add(rs.getObject(1, UUID.class));
        }
      }
      return houses;
    }
  }

  private static BigDecimal nightlyPrice(Connection c, UUID house) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT nightly_price FROM houses WHERE id = ?")) {
      ps.setObject(1, house);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new IllegalArgumentException("no house " + house);
        }
        return rs.getBigDecimal(1);
      }
    }
  }

  private static Booking booking(ResultSet rs) throws SQLException {
    return new Booking(rs.getLong(1), rs.getObject(2, UUID.class), rs.getObject(3, UUID.class),
        rs.getDate(4).toLocalDate(), rs.getBigDecimal(5));
  }

  private static boolean isDoubleBooking(SQLException e) {
    return UNIQUE_VIOLATION.equals(e.getSQLState()) && String.valueOf(e.getMessage()).contains(ONE_BOOKING_PER_DAY);
  }

  private static void rollback(Connection c, SQLException failure) {
    try {
      c.rollback();
    } catch (SQLException e) {
      failure.addSuppressed(e);
    }
  }
}
