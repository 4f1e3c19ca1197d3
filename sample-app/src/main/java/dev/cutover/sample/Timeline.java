package dev.cutover.sample;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Throughput, latency and replication lag second by second since the load began, plus the whole
 * run's latency; and every transaction's start and end, so that the report can show the moments
 * around a flip at millisecond resolution. Transactions are counted in the second they ended.
 */
final class Timeline {
  private static final long MAX_LATENCY_MICROS = TimeUnit.MINUTES.toMicros(5);

  /** One second, as reported. Latencies in milliseconds; lag is -1 when nothing was measured. */
  record Second(int second, long committed, long failed, long conflicts, double p50Millis, double p99Millis,
      double maxMillis, long lagBytes, double lagMillis) {}

  private static final class Bucket {
    final LongAdder committed = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder conflicts = new LongAdder();
    final ConcurrentHistogram latency = new ConcurrentHistogram(MAX_LATENCY_MICROS, 2);
    volatile long lagBytes = -1;
    volatile double lagMillis = -1;
  }

  /** One transaction as it happened: {@code kind} is committed, conflict (lost the race) or failed. */
  private record Tx(long beganNanos, long endedNanos, String kind) {}

  /**
   * A transaction around a flip, relative to the moment the flag changed.
   *
   * @param endedMillis when it ended, in ms after the flag changed (negative: before)
   * @param latencyMillis how long it took
   * @param kind committed, conflict or failed
   */
  record TxPoint(double endedMillis, double latencyMillis, String kind) {}

  private final long startNanos;
  private final ConcurrentLinkedQueue<Tx> transactions = new ConcurrentLinkedQueue<>();
  private final ConcurrentHashMap<Integer, Bucket> seconds = new ConcurrentHashMap<>();
  private final ConcurrentHistogram overall = new ConcurrentHistogram(MAX_LATENCY_MICROS, 3);

  Timeline(long startNanos) {
    this.startNanos = startNanos;
  }

  long startNanos() {
    return startNanos;
  }

  /** Seconds since the load began, as a fraction. */
  double secondsAt(long nanos) {
    return (nanos - startNanos) / 1e9;
  }

  void committed(long beganNanos, long endedNanos) {
    Bucket b = bucket(endedNanos);
    b.committed.increment();
    record(b, beganNanos, endedNanos);
    transactions.add(new Tx(beganNanos, endedNanos, "committed"));
  }

  /** A booking that lost the race for its night: a completed transaction, counted apart. */
  void conflict(long beganNanos, long endedNanos) {
    Bucket b = bucket(endedNanos);
    b.conflicts.increment();
    record(b, beganNanos, endedNanos);
    transactions.add(new Tx(beganNanos, endedNanos, "conflict"));
  }

  void failed(long beganNanos, long endedNanos) {
    bucket(endedNanos).failed.increment();
    transactions.add(new Tx(beganNanos, endedNanos, "failed"));
  }

  /** Transactions that ended between {@code before} ms before {@code atNanos} and {@code after} ms after it, oldest first. */
  List<TxPoint> around(long atNanos, long beforeMillis, long afterMillis) {
    List<TxPoint> points = new ArrayList<>();
    for (Tx t : transactions) {
      double ended = (t.endedNanos() - atNanos) / 1e6;
      if (ended >= -beforeMillis && ended <= afterMillis) {
        points.add(new TxPoint(ended, (t.endedNanos() - t.beganNanos()) / 1e6, t.kind()));
      }
    }
    points.sort(java.util.Comparator.comparingDouble(TxPoint::endedMillis));
    return points;
  }

  void lag(long atNanos, long bytes, double millis) {
    Bucket b = bucket(atNanos);
    b.lagBytes = Math.max(b.lagBytes, bytes);
    b.lagMillis = Math.max(b.lagMillis, millis);
  }

  private void record(Bucket b, long beganNanos, long endedNanos) {
    long micros = Math.min(MAX_LATENCY_MICROS, Math.max(1, (endedNanos - beganNanos) / 1000));
    b.latency.recordValue(micros);
    overall.recordValue(micros);
  }

  private Bucket bucket(long nanos) {
    int second = (int) Math.max(0, (nanos - startNanos) / 1_000_000_000L);
    return seconds.computeIfAbsent(second, s -> new Bucket());
  }

  /** Every second from 0 to the last one with data, gaps included. */
  List<Second> seconds() {
    int last = seconds.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
    List<Second> list = new ArrayList<>(last + 1);
    for (int s = 0; s <= last; s++) {
      Bucket b = seconds.get(s);
      if (b == null) {
        list.add(new Second(s, 0, 0, 0, 0, 0, 0, -1, -1));
        continue;
      }
      Histogram h = b.latency;
      boolean any = h.getTotalCount() > 0;
      list.add(new Second(s, b.committed.sum(), b.failed.sum(), b.conflicts.sum(),
          any ? millis(h.getValueAtPercentile(50)) : 0, any ? millis(h.getValueAtPercentile(99)) : 0,
          any ? millis(h.getMaxValue()) : 0, b.lagBytes, b.lagMillis));
    }
    return list;
  }

  /** Latency of every completed transaction at {@code percentile}, in milliseconds. */
  double overallMillis(double percentile) {
    return overall.getTotalCount() == 0 ? 0 : millis(overall.getValueAtPercentile(percentile));
  }

  double overallMaxMillis() {
    return overall.getTotalCount() == 0 ? 0 : millis(overall.getMaxValue());
  }

  private static double millis(long micros) {
    return micros / 1000.0;
  }
}
