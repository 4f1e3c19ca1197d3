package dev.cutover.sample;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.UUID;

/** A night of a house booked by a user, with the amount paid for it. */
record Booking(long id, UUID house, UUID user, LocalDate day, BigDecimal amount) {}
