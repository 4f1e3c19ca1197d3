package dev.cutover.driver;

import dev.cutover.flags.Target;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * One switch of one instance, as it ended: what moved, what each {@link Phase} cost, and what
 * was not guaranteed. Immutable; built with {@link #builder()}.
 */
public final class SwitchEvent {
  private final String service;
  private final String instance;
  private final String id;
  private final Target from;
  private final Target to;
  private final Outcome outcome;
  private final String reason;
  private final boolean leader;
  private final boolean gateClosed;
  private final long gateWaits;
  private final Duration gateWaitMax;
  private final Duration gateWaitP99;
  private final Map<Phase, Duration> timings;
  private final Duration total;
  private final int rolledBack;
  private final int sequencesMoved;
  private final int prewarmed;
  private final List<String> notGuaranteed;
  private final Instant at;

  private SwitchEvent(Builder b) {
    this.service = Objects.requireNonNull(b.service, "service");
    this.instance = Objects.requireNonNull(b.instance, "instance");
    this.id = Objects.requireNonNull(b.id, "id");
    this.from = Objects.requireNonNull(b.from, "from");
    this.to = Objects.requireNonNull(b.to, "to");
    this.outcome = Objects.requireNonNull(b.outcome, "outcome");
    this.reason = b.reason;
    this.leader = b.leader;
    this.gateClosed = b.gateClosed;
    this.gateWaits = b.gateWaits;
    this.gateWaitMax = b.gateWaitMax;
    this.gateWaitP99 = b.gateWaitP99;
    this.timings = Collections.unmodifiableMap(new EnumMap<>(b.timings));
    this.total = b.total;
    this.rolledBack = b.rolledBack;
    this.sequencesMoved = b.sequencesMoved;
    this.prewarmed = b.prewarmed;
    this.notGuaranteed = List.copyOf(b.notGuaranteed);
    this.at = Objects.requireNonNull(b.at, "at");
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The service whose traffic switched. */
  public String service() {
    return service;
  }

  /** The instance (router) this event is about. */
  public String instance() {
    return instance;
  }

  /** The switch's id, shared by every instance of the service. */
  public String id() {
    return id;
  }

  /** The side that served before. */
  public Target from() {
    return from;
  }

  /** The side the flag asked for. */
  public Target to() {
    return to;
  }

  public Outcome outcome() {
    return outcome;
  }

  /** Why it aborted; empty when completed. */
  public String reason() {
    return reason;
  }

  /** Whether this instance led the switch (fenced, wrote the barrier, moved sequences). */
  public boolean leader() {
    return leader;
  }

  /**
   * Whether the switch closed this instance's gate (new transactions waited). False for a switch
   * that ended before: refused by its checks or its probe, a connection that failed, the router
   * closing. Such a switch held no transaction, led nothing and followed no one, went through none
   * of the phases from {@link Phase#DRAIN} on, and its {@link #total()} is the time it ran.
   */
  public boolean gateClosed() {
    return gateClosed;
  }

  /** Transactions that waited at the gate. */
  public long gateWaits() {
    return gateWaits;
  }

  /** The longest wait of any transaction at the gate. */
  public Duration gateWaitMax() {
    return gateWaitMax;
  }

  /** The 99th percentile of the waits at the gate. */
  public Duration gateWaitP99() {
    return gateWaitP99;
  }

  /** The time spent in each phase the switch went through, in the order of {@link Phase}. */
  public Map<Phase, Duration> timings() {
    return timings;
  }

  /** The time spent in {@code phase}; zero when the switch did not go through it. */
  public Duration timing(Phase phase) {
    return timings.getOrDefault(phase, Duration.ZERO);
  }

  /** Until in-flight transactions ended or were rolled back ({@link Phase#DRAIN}). */
  public Duration drain() {
    return timing(Phase.DRAIN);
  }

  /** Waiting for the service's other instances to drain, or for the leader ({@link Phase#COORDINATE}). */
  public Duration coordinate() {
    return timing(Phase.COORDINATE);
  }

  /** Fencing the source, waiting for writers that began before it ({@link Phase#FENCE}). */
  public Duration fence() {
    return timing(Phase.FENCE);
  }

  /** Until the marker was seen on the target ({@link Phase#BARRIER}). */
  public Duration barrier() {
    return timing(Phase.BARRIER);
  }

  /** Moving the target's sequences ({@link Phase#SEQUENCES}). */
  public Duration sequences() {
    return timing(Phase.SEQUENCES);
  }

  /**
   * Gate closed to gate opened: how long this instance held new transactions. For a switch that
   * ended before its gate closed ({@link #gateClosed()} false), the time it ran, from its start to
   * its end (its probe's wait, for one), though nothing was held.
   */
  public Duration total() {
    return total;
  }

  /** Transactions that outlived the drain and were rolled back with 40001. */
  public int rolledBack() {
    return rolledBack;
  }

  /** Sequences moved on the target. */
  public int sequencesMoved() {
    return sequencesMoved;
  }

  /** Physical connections opened to the target before release. */
  public int prewarmed() {
    return prewarmed;
  }

  /** Invariants this switch could not enforce (for example without a control schema). */
  public List<String> notGuaranteed() {
    return notGuaranteed;
  }

  /** When it ended. */
  public Instant at() {
    return at;
  }

  /**
   * One line for logs and the MBean. For a switch that ended before its gate closed it says so, and
   * lists the phases it went through ({@code connect}, {@code check}, {@code probe}, ...) with their
   * time instead of the gate's and the later phases' figures, which it had none of.
   */
  public String summary() {
    if (!gateClosed) {
      StringBuilder spent = new StringBuilder();
      timings.forEach((phase, time) -> spent.append(spent.length() == 0 ? "" : ", ")
          .append(phase.tag()).append(' ').append(time.toMillis()).append(" ms"));
      return String.format("switch %s/%s %s %s -> %s %s%s in %d ms (before the gate closed, no transaction held%s)%s",
          service, instance, id, from.value(), to.value(), outcome.name().toLowerCase(Locale.ROOT),
          reason.isEmpty() ? "" : " (" + reason + ")", total.toMillis(), spent.length() == 0 ? "" : "; " + spent,
          notGuaranteed.isEmpty() ? "" : "; not guaranteed: " + notGuaranteed);
    }
    return String.format(
        "switch %s/%s %s %s -> %s %s%s in %d ms (%s; gate waits %d, max %.1f ms, p99 %.1f ms; drain %d ms,"
            + " coordinate %d ms, fence %d ms, barrier %d ms, sequences %d ms; rolled back %d, sequences moved %d,"
            + " prewarmed %d)%s",
        service, instance, id, from.value(), to.value(), outcome.name().toLowerCase(Locale.ROOT),
        reason.isEmpty() ? "" : " (" + reason + ")", total.toMillis(), leader ? "leader" : "follower", gateWaits,
        gateWaitMax.toNanos() / 1e6, gateWaitP99.toNanos() / 1e6, drain().toMillis(), coordinate().toMillis(),
        fence().toMillis(), barrier().toMillis(), sequences().toMillis(),
        rolledBack, sequencesMoved, prewarmed, notGuaranteed.isEmpty() ? "" : "; not guaranteed: " + notGuaranteed);
  }

  @Override
  public String toString() {
    return "SwitchEvent[" + summary() + "]";
  }

  /**
   * Builds a {@link SwitchEvent}; the service, instance, id, sides, outcome and time are required.
   * Public because the switch that produces events lives in an internal package, and for tests of
   * listeners (metrics, alerting) that need an event without running a switch.
   */
  public static final class Builder {
    private String service;
    private String instance;
    private String id;
    private Target from;
    private Target to;
    private Outcome outcome;
    private String reason = "";
    private boolean leader;
    private boolean gateClosed = true;
    private long gateWaits;
    private Duration gateWaitMax = Duration.ZERO;
    private Duration gateWaitP99 = Duration.ZERO;
    private final Map<Phase, Duration> timings = new EnumMap<>(Phase.class);
    private Duration total = Duration.ZERO;
    private int rolledBack;
    private int sequencesMoved;
    private int prewarmed;
    private List<String> notGuaranteed = List.of();
    private Instant at;

    private Builder() {}

    /** The service and this instance's id among its instances. */
    public Builder instance(String service, String instance) {
      this.service = service;
      this.instance = instance;
      return this;
    }

    /** The switch's id and its direction. */
    public Builder switchOf(String id, Target from, Target to) {
      this.id = id;
      this.from = from;
      this.to = to;
      return this;
    }

    /** Completed: traffic moved. */
    public Builder completed() {
      this.outcome = Outcome.COMPLETED;
      this.reason = "";
      return this;
    }

    /** Aborted for {@code reason}: traffic stayed. */
    public Builder aborted(String reason) {
      this.outcome = Outcome.ABORTED;
      this.reason = Objects.requireNonNull(reason, "reason");
      return this;
    }

    public Builder leader(boolean leader) {
      this.leader = leader;
      return this;
    }

    /**
     * Whether the switch closed its gate; true unless said otherwise. False for one that ended
     * before ({@link SwitchEvent#gateClosed()}), whose {@link #total} is then the time it ran.
     */
    public Builder gateClosed(boolean closed) {
      this.gateClosed = closed;
      return this;
    }

    /** How many transactions waited at the gate, the longest wait and the 99th percentile. */
    public Builder gateWaits(long count, Duration max, Duration p99) {
      this.gateWaits = count;
      this.gateWaitMax = max;
      this.gateWaitP99 = p99;
      return this;
    }

    /** The time spent in {@code phase}. */
    public Builder timing(Phase phase, Duration spent) {
      timings.put(phase, spent);
      return this;
    }

    /** Gate closed to gate opened; for a switch that ended before its gate closed, the time it ran. */
    public Builder total(Duration total) {
      this.total = total;
      return this;
    }

    public Builder rolledBack(int transactions) {
      this.rolledBack = transactions;
      return this;
    }

    public Builder sequencesMoved(int sequences) {
      this.sequencesMoved = sequences;
      return this;
    }

    public Builder prewarmed(int connections) {
      this.prewarmed = connections;
      return this;
    }

    public Builder notGuaranteed(List<String> invariants) {
      this.notGuaranteed = invariants;
      return this;
    }

    public Builder at(Instant at) {
      this.at = at;
      return this;
    }

    public SwitchEvent build() {
      return new SwitchEvent(this);
    }
  }
}
