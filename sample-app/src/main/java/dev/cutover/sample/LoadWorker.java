package dev.cutover.sample;

import dev.cutover.testkit.Pacer;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * One thread of an application instance: calls the booking service at a steady pace, the way
 * request handlers would, and writes down every outcome.
 *
 * <p>The mix, per scheduled transaction: {@value #CONTENDED_PERCENT}% try to book the night every
 * instance is racing for ({@link HotSlots}), {@value #BOOKING_PERCENT}% book a random house and day,
 * the rest read (a house's calendar, a user's bookings, free houses in a city). A booking that
 * commits is read back at once by a second transaction of the same instance (I4: read your own
 * writes across a flip); the read-back counts toward the pace.
 *
 * <p>Pacing is open-loop: transactions are due at fixed intervals whatever the previous one cost,
 * so a pause at a switch shows up as latency and then as a short catch-up burst, as it would with
 * real users. A worker more than a second behind drops the backlog instead of bursting longer.
 */
final class LoadWorker implements Runnable {
  /** Ordinary bookings fall on one of this many days from the first day. */
  static final int BOOKABLE_DAYS = 365;
  static final int CONTENDED_PERCENT = 10;
  static final int BOOKING_PERCENT = 30;

  private final String instance;
  private final BookingService service;
  private final SeedData.Catalog catalog;
  private final HotSlots hotSlots;
  private final Ledger ledger;
  private final Timeline timeline;
  private final double transactionsPerSecond;
  private final SplittableRandom random;
  private volatile boolean running = true;

  LoadWorker(String instance, BookingService service, SeedData.Catalog catalog, HotSlots hotSlots, Ledger ledger,
      Timeline timeline, double transactionsPerSecond, long seed) {
    this.instance = instance;
    this.service = service;
    this.catalog = catalog;
    this.hotSlots = hotSlots;
    this.ledger = ledger;
    this.timeline = timeline;
    this.transactionsPerSecond = transactionsPerSecond;
    this.random = new SplittableRandom(seed);
  }

  void stop() {
    running = false;
  }

  @Override
  public void run() {
    Pacer.staggered(transactionsPerSecond, random).run(() -> running, this::step);
  }

  /** Runs one scheduled operation and returns how many transactions it took. */
  private int step() {
    int dice = random.nextInt(100);
    if (dice < CONTENDED_PERCENT) {
      HotSlots.Slot slot = hotSlots.now();
      return book("book contended night", slot.house(), slot.day(), true);
    }
    if (dice < CONTENDED_PERCENT + BOOKING_PERCENT) {
      return book("book", pick(catalog.houses()), catalog.firstDay().plusDays(random.nextInt(BOOKABLE_DAYS)), false);
    }
    read();
    return 1;
  }

  private int book(String operation, UUID house, LocalDate day, boolean contended) {
    UUID user = pick(catalog.users());
    long began = System.nanoTime();
    Booking booking;
    try {
      booking = service.book(user, house, day);
    } catch (AlreadyBooked e) {
      timeline.conflict(began, System.nanoTime());
      ledger.conflict();
      return 1;
    } catch (SQLException | RuntimeException e) {
      failed(operation, e, began);
      return 1;
    }
    timeline.committed(began, System.nanoTime());
    ledger.acknowledged(booking, instance, contended);

    began = System.nanoTime();
    try {
      Optional<Booking> seen = service.find(booking.id());
      timeline.committed(began, System.nanoTime());
      ledger.read();
      if (seen.isEmpty() || !same(seen.get(), booking)) {
        ledger.unread(instance, booking.id());
      }
    } catch (SQLException | RuntimeException e) {
      failed("read own booking", e, began);
    }
    return 2;
  }

  private void read() {
    long began = System.nanoTime();
    String operation = "read";
    try {
      switch (random.nextInt(3)) {
        case 0 -> {
          operation = "read calendar";
          LocalDate from = catalog.firstDay().plusDays(random.nextInt(BOOKABLE_DAYS));
          service.calendar(pick(catalog.houses()), from, from.plusDays(30));
        }
        case 1 -> {
          operation = "read user's bookings";
          service.bookingsOf(pick(catalog.users()), 20);
        }
        default -> {
          operation = "read free houses";
          service.freeHouses(SeedData.CITIES.get(random.nextInt(SeedData.CITIES.size())),
              catalog.firstDay().plusDays(random.nextInt(BOOKABLE_DAYS)), 10);
        }
      }
      timeline.committed(began, System.nanoTime());
      ledger.read();
    } catch (SQLException | RuntimeException e) {
      failed(operation, e, began);
    }
  }

  private void failed(String operation, Exception e, long began) {
    long ended = System.nanoTime();
    String state = e instanceof SQLException && ((SQLException) e).getSQLState() != null
        ? ((SQLException) e).getSQLState()
        : "none (" + e.getClass().getSimpleName() + ")";
    timeline.failed(began, ended);
    ledger.failed(new Ledger.Failure(instance, operation, state, String.valueOf(e.getMessage()), began, ended));
  }

  /** Equal as a customer sees it; amounts compare by value (12.5 and 12.50 are the same price). */
  static boolean same(Booking a, Booking b) {
    return a.id() == b.id() && a.house().equals(b.house()) && a.user().equals(b.user()) && a.day().equals(b.day())
        && a.amount() != null && b.amount() != null && a.amount().compareTo(b.amount()) == 0;
  }

  private <T> T pick(java.util.List<T> list) {
    return list.get(random.nextInt(list.size()));
  }
}
