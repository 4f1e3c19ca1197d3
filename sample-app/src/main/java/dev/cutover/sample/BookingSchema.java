package dev.cutover.sample;

import dev.cutover.common.Transactions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The booking service's tables. UUID keys for houses and users, serial ids for bookings and
 * payments (so the switch must move sequences), and one booking per house and day.
 */
final class BookingSchema {
  /** Every table of the service, parents first. */
  static final List<String> TABLES = List.of("houses", "users", "bookings", "payments");

  private static final String[] DDL = {
    "CREATE TABLE houses (id uuid PRIMARY KEY, name text NOT NULL, city text NOT NULL,"
        + " nightly_price numeric(10,2) NOT NULL)",
    "CREATE INDEX houses_city ON houses (city, nightly_price)",
    "CREATE TABLE users (id uuid PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL)",
    "CREATE TABLE bookings (id serial PRIMARY KEY, house_id uuid NOT NULL REFERENCES houses,"
        + " user_id uuid NOT NULL REFERENCES users, day date NOT NULL,"
        + " created_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
        + " CONSTRAINT " + BookingService.ONE_BOOKING_PER_DAY + " UNIQUE (house_id, day))",
    "CREATE INDEX bookings_user ON bookings (user_id)",
    "CREATE TABLE payments (id bigserial PRIMARY KEY, booking_id int NOT NULL REFERENCES bookings,"
        + " amount numeric(10,2) NOT NULL, paid_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE INDEX payments_booking ON payments (booking_id)",
  };

  private BookingSchema() {}

  /** Creates the tables in one transaction: all of them or none. */
  static void create(Connection c) throws SQLException {
    inTransaction(c, DDL);
  }

  /** Drops the tables (and with them their sequences and indexes) in one transaction. */
  static void drop(Connection c) throws SQLException {
    inTransaction(c, "DROP TABLE payments, bookings, users, houses");
  }

  private static void inTransaction(Connection c, String... statements) throws SQLException {
    Transactions.inTransaction(c, () -> {
      try (Statement s = c.createStatement()) {
        for (String sql : statements) {
          s.execute(sql);
        }
      }
      return null;
    });
  }
}
