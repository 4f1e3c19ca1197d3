package dev.cutover.sample;

import java.time.LocalDate;
import java.util.List;
import java.util.UUID;

/**
 * The night everybody wants right now: one house and day at a time, shared by every instance and
 * changing every {@value #SLOT_MILLIS} ms, so that instances race to book it and all but one get
 * {@link AlreadyBooked}. Its days lie after the days ordinary bookings use, so only the race decides.
 */
final class HotSlots {
  static final long SLOT_MILLIS = 250;
  private static final int HOT_HOUSES = 10;

  /** A house and day. */
  record Slot(UUID house, LocalDate day) {}

  private final List<UUID> houses;
  private final LocalDate firstDay;
  private final long startNanos;

  HotSlots(List<UUID> houses, LocalDate firstDay, long startNanos) {
    this.houses = houses.subList(0, Math.min(HOT_HOUSES, houses.size()));
    this.firstDay = firstDay.plusDays(LoadWorker.BOOKABLE_DAYS + 30);
    this.startNanos = startNanos;
  }

  /** The slot of this moment; each moment's slot is distinct from every other's. */
  Slot now() {
    long index = Math.max(0, (System.nanoTime() - startNanos) / (SLOT_MILLIS * 1_000_000));
    return new Slot(houses.get((int) (index % houses.size())), firstDay.plusDays(index / houses.size()));
  }
}
