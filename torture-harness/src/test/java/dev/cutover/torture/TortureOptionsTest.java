package dev.cutover.torture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command line's durations: the driver's syntax, a bare number of milliseconds included. */
class TortureOptionsTest {
  @Test
  void parse_bareNumberAndUnit_readAsTheDriverReadsThem() {
    Torture torture = new Torture();
    new CommandLine(torture).parseArgs("--drain", "5000", "--barrier", "1.5s");

    assertThat(torture.drain).isEqualTo(Duration.ofSeconds(5));
    assertThat(torture.barrier).isEqualTo(Duration.ofMillis(1500));
  }

  @Test
  void parse_noDurations_defaultsToOneAndThreeSeconds() {
    Torture torture = new Torture();
    new CommandLine(torture).parseArgs();

    assertThat(torture.drain).isEqualTo(Duration.ofSeconds(1));
    assertThat(torture.barrier).isEqualTo(Duration.ofSeconds(3));
  }

  @Test
  void parse_notADuration_refused() {
    assertThatThrownBy(() -> new CommandLine(new Torture()).parseArgs("--drain", "PT5S"))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("'PT5S' is not a duration");
  }
}
