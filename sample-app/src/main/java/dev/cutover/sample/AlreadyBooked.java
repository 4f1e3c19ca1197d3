package dev.cutover.sample;

import java.sql.SQLException;
import java.time.LocalDate;
import java.util.UUID;

/**
 * Someone else booked the house for that day first: a business outcome, not a failure. Two
 * customers racing for the same night is normal; giving the night to both would be the bug.
 */
final class AlreadyBooked extends Exception {
  AlreadyBooked(UUID house, LocalDate day, SQLException cause) {
    super("house " + house + " is already booked on " + day, cause);
  }
}
