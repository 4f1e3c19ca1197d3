package dev.cutover.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The one duration syntax every module reads: the driver's settings, the flag sources', the CLIs'. */
class DurationsTest {

  @Test
  void parse_bareNumber_isMilliseconds() {
    assertThat(Durations.parse("k", "5000")).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void parse_units_readAsWritten() {
    assertThat(Durations.parse("k", "250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Durations.parse("k", "5s")).isEqualTo(Duration.ofSeconds(5));
    assertThat(Durations.parse("k", "1.5m")).isEqualTo(Duration.ofSeconds(90));
    assertThat(Durations.parse("k", " 1H ")).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void parse_notADuration_namesKeyValueAndSyntax() {
    assertThatThrownBy(() -> Durations.parse("cutover.drain.timeout", "soon"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.drain.timeout=soon is not a duration").hasMessageContaining(Durations.SYNTAX);
    assertThatThrownBy(() -> Durations.parse("k", "-5s")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Durations.parse("k", "1.5")).hasMessageContaining("a bare number is whole milliseconds");
  }

  @Test
  void positive_zero_isRefused() {
    assertThatThrownBy(() -> Durations.positive("cutover.gate.max-pause", "0ms"))
        .hasMessageContaining("cutover.gate.max-pause=0ms must be a positive duration");
  }

  @Test
  void format_parsedBack_isTheSameDuration() {
    for (Duration d : new Duration[] {Duration.ofMillis(250), Duration.ofSeconds(5), Duration.ofMinutes(2)}) {
      assertThat(Durations.parse("k", Durations.format(d))).isEqualTo(d);
    }
  }
}
