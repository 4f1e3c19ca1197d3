package dev.cutover.torture;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ScheduleTest {
  private static final List<String> SLOTS = List.of("i0", "i1", "p0", "p1");
  private static final List<String> PROCESSES = List.of("p0", "p1");

  @Test
  void round_sameSeedAndNumber_sameRound() {
    Schedule.Generator a = new Schedule.Generator(42, SLOTS, PROCESSES);
    Schedule.Generator b = new Schedule.Generator(42, SLOTS, PROCESSES);
    // b asks in another order: a round depends on its number only, not on the rounds before it
    List<Schedule.Round> forward = IntStream.rangeClosed(1, 50).mapToObj(a::round).toList();
    List<Schedule.Round> backward = IntStream.iterate(50, n -> n >= 1, n -> n - 1).mapToObj(b::round).toList();
    assertThat(forward).containsExactlyInAnyOrderElementsOf(backward);
  }

  @Test
  void round_otherSeed_otherSchedule() {
    List<Schedule.Round> one = IntStream.rangeClosed(1, 20).mapToObj(new Schedule.Generator(1, SLOTS, PROCESSES)::round).toList();
    List<Schedule.Round> two = IntStream.rangeClosed(1, 20).mapToObj(new Schedule.Generator(2, SLOTS, PROCESSES)::round).toList();
    assertThat(one).isNotEqualTo(two);
  }

  @Test
  void round_fiveHundredRounds_everyFaultKindAndFlapsAppear_withinTheRoundsWindow() {
    Schedule.Generator g = new Schedule.Generator(7, SLOTS, PROCESSES);
    Set<Schedule.FaultKind> seen = EnumSet.noneOf(Schedule.FaultKind.class);
    int flaps = 0;
    int combined = 0;
    for (int n = 1; n <= 500; n++) {
      Schedule.Round r = g.round(n);
      assertThat(r.flag()).isNotEmpty();
      assertThat(r.flag().get(0).away()).as("every round starts by moving the flag away").isTrue();
      assertThat(r.faults()).hasSizeLessThanOrEqualTo(3);
      for (Schedule.Fault f : r.faults()) {
        seen.add(f.kind());
        assertThat(f.at()).isBetween(0L, r.flag().get(0).at() + 2500);
        assertThat(f.duration()).isBetween(0L, 5000L);
      }
      flaps += r.flag().size() > 1 ? 1 : 0;
      combined += r.faults().size() > 1 ? 1 : 0;
      assertThat(r.endsAt()).isLessThan(10_000);
    }
    assertThat(seen).containsExactlyInAnyOrder(Schedule.FaultKind.values());
    assertThat(flaps).isBetween(50, 150);
    assertThat(combined).isBetween(150, 300);
  }

  @Test
  void round_kindsLeftOut_neverPlayed() {
    Schedule.Generator g = new Schedule.Generator(7, SLOTS, PROCESSES,
        EnumSet.complementOf(EnumSet.of(Schedule.FaultKind.KILL_SERVER, Schedule.FaultKind.CRASH_BACKEND)));
    for (int n = 1; n <= 300; n++) {
      assertThat(g.round(n).faults()).noneMatch(f -> f.kind() == Schedule.FaultKind.KILL_SERVER
          || f.kind() == Schedule.FaultKind.CRASH_BACKEND);
    }
  }

  @Test
  void round_withoutSeparateJvms_neverKillsAnApplication() {
    Schedule.Generator g = new Schedule.Generator(7, List.of("i0", "i1"), List.of());
    for (int n = 1; n <= 300; n++) {
      assertThat(g.round(n).faults()).noneMatch(f -> f.kind() == Schedule.FaultKind.KILL_APP);
    }
  }
}
