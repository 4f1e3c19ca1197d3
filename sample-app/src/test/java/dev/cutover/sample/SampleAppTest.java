package dev.cutover.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

/** The command line's contract: exit codes, defaults and option validation, without running a rehearsal. */
class SampleAppTest {

  @Test
  void run_realDatabaseUrls_exitsCannotRun() {
    assertThat(SampleApp.run("--old-url", "jdbc:postgresql://db:5432/app")).isEqualTo(RehearseCommand.CANNOT_RUN);
  }

  @Test
  void run_unknownOption_exitsUsageError() {
    assertThat(SampleApp.run("--no-such-option")).isEqualTo(2);
  }

  @Test
  void run_invalidInstanceCount_exitsUsageError() {
    assertThat(SampleApp.run("--instances", "0")).isEqualTo(2);
  }

  @Test
  void run_help_exitsZero() {
    assertThat(SampleApp.run("--help")).isZero();
  }

  @Test
  void convert_durationForms_readAsWritten() {
    RehearseCommand.DurationConverter converter = new RehearseCommand.DurationConverter();
    assertThat(converter.convert("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(converter.convert("1500ms")).isEqualTo(Duration.ofMillis(1500));
    assertThat(converter.convert("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(converter.convert("7")).isEqualTo(Duration.ofSeconds(7));
    assertThat(converter.convert("PT3S")).isEqualTo(Duration.ofSeconds(3));
    assertThatThrownBy(() -> converter.convert("soon")).isInstanceOf(TypeConversionException.class).hasMessageContaining("soon");
  }

  @Test
  void plan_phaseTooShort_namesTheOption() {
    assertThatThrownBy(() -> new RehearsalPlan(12, 17, 10, 10, 1, 1, 10, 1, Duration.ofMillis(10), Path.of("x"), 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--duration-per-phase");
  }

  @Test
  void plan_defaults_matchTheIssue() {
    RehearsalPlan plan = RehearsalPlan.defaults();
    assertThat(plan.oldVersion()).isEqualTo(12);
    assertThat(plan.newVersion()).isEqualTo(17);
    assertThat(plan.instances()).isEqualTo(4);
    assertThat(plan.flips()).isEqualTo(2);
  }
}
