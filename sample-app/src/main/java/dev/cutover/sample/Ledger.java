package dev.cutover.sample;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the application was told, from every instance: each acknowledged booking, each failed
 * transaction, each own write that a later read of the same instance did not find. The verdict
 * compares it with what the databases hold afterwards.
 */
final class Ledger {
  /** A booking whose commit the application saw succeed. */
  record Acknowledged(Booking booking, String instance, long atNanos) {}

  /**
   * A transaction that failed: its SQLState ({@code none} when the exception had none), when it
   * began and ended (System.nanoTime).
   */
  record Failure(String instance, String operation, String sqlState, String message, long startNanos, long endNanos) {}

  /** A booking the instance that made it could not read back right after. */
  record UnreadWrite(String instance, long bookingId, long atNanos) {}

  private final ConcurrentLinkedQueue<Acknowledged> acknowledged = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<UnreadWrite> unread = new ConcurrentLinkedQueue<>();
  private final LongAdder conflicts = new LongAdder();
  private final LongAdder contendedWins = new LongAdder();
  private final LongAdder reads = new LongAdder();

  void acknowledged(Booking booking, String instance, boolean contended) {
    acknowledged.add(new Acknowledged(booking, instance, System.nanoTime()));
    if (contended) {
      contendedWins.increment();
    }
  }

  void conflict() {
    conflicts.increment();
  }

  void read() {
    reads.increment();
  }

  void failed(Failure failure) {
    failures.add(failure);
  }

  void unread(String instance, long bookingId) {
    unread.add(new UnreadWrite(instance, bookingId, System.nanoTime()));
  }

  List<Acknowledged> acknowledged() {
    return new ArrayList<>(acknowledged);
  }

  List<Failure> failures() {
    return new ArrayList<>(failures);
  }

  List<UnreadWrite> unreadWrites() {
    return new ArrayList<>(unread);
  }

  long conflicts() {
    return conflicts.sum();
  }

  long contendedWins() {
    return contendedWins.sum();
  }

  long reads() {
    return reads.sum();
  }
}
