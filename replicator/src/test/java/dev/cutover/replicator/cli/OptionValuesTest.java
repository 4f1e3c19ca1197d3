package dev.cutover.replicator.cli;

import static dev.cutover.replicator.cli.CliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** A bad option value is a usage error: exit code 2, the problem and the command's usage, no stack trace. */
class OptionValuesTest {
  private static final String[] URLS = {"--old-url", "jdbc:postgresql://127.0.0.1:1/app", "--new-url",
      "jdbc:postgresql://127.0.0.1:1/app"};

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "start --jobs 0|--jobs must be between 1 and 64, not 0",
      "start --jobs 65|--jobs must be between 1 and 64, not 65",
      "start --chunk-size 10|--chunk-size must be at least 8kB",
      "start --maintenance-work-mem lots|--maintenance-work-mem",
      "status --watch --interval 0|--interval must be longer than 0",
      "status --count -1|--count must not be negative",
      "status --network-timeout 0|--network-timeout must be longer than 0",
      "switch-status --network-timeout 0s|--network-timeout must be longer than 0",
      "check --network-timeout 0|--network-timeout must be longer than 0",
      "sequences --network-timeout 0ms|--network-timeout must be longer than 0",
      "switch-abort --service s --network-timeout 0|--network-timeout must be longer than 0",
      "switch-force --service s on --network-timeout 0|--network-timeout must be longer than 0",
      "verify --jobs 0|--jobs must be at least 1, not 0",
      "verify --chunk-rows 0|--chunk-rows must be at least 1",
      "catch-up --timeout 0s|--timeout must be longer than 0",
      "heartbeat --interval 0|--interval must be longer than 0",
      "reverse --drain-timeout 0|--drain-timeout must be longer than 0",
      "sequences --margin -5|--margin must not be negative",
      "switch-force --service s maybe|switch-force takes on or off",
      "start --jobs many|Invalid value for option '--jobs'"})
  void badValue_exitsTwoWithUsageAndNoTrace(String command, String message) {
    CliTest.Run r = run(CliTest.with(command.split(" "), URLS));

    assertThat(r.code()).as(r.err()).isEqualTo(2);
    String name = command.split(" ")[0];
    assertThat(r.err()).contains(message).contains("Usage: cutover-replicator " + name)
        .doesNotContain("report it").doesNotContain("\tat ");
  }

  /**
   * r26: {@code switch-force --service "booking " --not-started on} exited 0 and stored the force
   * under {@code booking } with its blank, while the driver reads {@code cutover.service} trimmed, as
   * {@code booking}: the force never applied. A name the driver would read otherwise is refused now,
   * before anything is set, naming the name the driver uses.
   */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {"'booking '|on", "' booking'|off", "'booking\t'|on"})
  void switchForce_serviceWithBlanksAtItsEnds_refusedNamingTheTrimmedName(String service, String mode) {
    CliTest.Run r = run(CliTest.with(new String[] {"switch-force", "--service", service, "--not-started", mode}, URLS));

    assertThat(r.code()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).contains("--service '" + service + "' has white space at its ends").contains("as 'booking'")
        .contains("give --service booking").contains("Usage: cutover-replicator switch-force").doesNotContain("\tat ");
  }

  @Test
  void duration_bareNumber_isMillisecondsAsInTheDriver() {
    HeartbeatCommand heartbeat = new HeartbeatCommand();
    new CommandLine(heartbeat).parseArgs(CliTest.with(new String[] {"--interval", "5000", "--duration", "1.5m"}, URLS));

    assertThat(heartbeat.interval).isEqualTo(Duration.ofSeconds(5));
    assertThat(heartbeat.duration).isEqualTo(Duration.ofSeconds(90));
  }

  /**
   * A connection string that does not parse is named by its option and its fault, never echoed; a
   * URL password holding {@code ;} is masked whole. Before, check printed most of each password
   * after "password=***" and said "is not a PostgreSQL JDBC URL" for a missing quote (r26).
   */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "host=127.0.0.1 port=1 dbname=kl user=admin password='correct horse battery SECRET|old: --old-url does not parse (key=value connection string: the value of password has no closing quote",
      "host=127.0.0.1 port=1 dbname=kl user=admin password=correct\\ horse\\ SECRET sslmode|old: --old-url does not parse (key=value connection string: the word after the value of password has no '='",
      "host=127.0.0.1 port=1 dbname=kl user=admin password=ab;cd&SECRET sslmode|old: --old-url does not parse (key=value connection string: the word after the value of password has no '='",
      "jdbc:postgresql://127.0.0.1:1/kl?user=semi&password=abc;defSECRET|old: cannot connect to jdbc:postgresql://127.0.0.1:1/kl?user=semi&password=*** (Connection"})
  void oldUrl_secretInAStringThatFailsOrDoesNotConnect_neverShown(String url, String message) {
    CliTest.Run r = run("check", "--old-url", url, "--new-url", "jdbc:postgresql://127.0.0.1:1/app");

    assertThat(r.code()).as(r.err()).isNotZero();
    assertThat(r.err()).contains(message).doesNotContain("SECRET").doesNotContain("horse").doesNotContain("cd&");
  }
}
