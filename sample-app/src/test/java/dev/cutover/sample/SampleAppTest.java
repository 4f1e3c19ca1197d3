package dev.cutover.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import dev.cutover.replicator.cli.Units;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.TypeConversionException;

/** The command line's contract: exit codes, defaults, option validation and wiring, without running a rehearsal. */
class SampleAppTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private RehearseCommand command(Map<String, String> env, String... args) {
    RehearseCommand command = new RehearseCommand(print(out), print(err), env);
    new CommandLine(command).parseArgs(args);
    return command;
  }

  private int run(Map<String, String> env, String... args) {
    return new CommandLine(new RehearseCommand(print(out), print(err), env)).execute(args);
  }

  private static PrintStream print(ByteArrayOutputStream bytes) {
    return new PrintStream(bytes, true, StandardCharsets.UTF_8);
  }

  private String errors() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void run_oldUrlWithoutNewUrl_exitsUsageError() {
    assertThat(run(Map.of(), "--old-url", "jdbc:postgresql://db:5432/app")).isEqualTo(RehearseCommand.USAGE);
    assertThat(errors()).contains("--old-url needs --new-url");
  }

  @Test
  void run_cutoverUrlGiven_exitsUsageErrorNamingTheOption() {
    assertThat(run(Map.of(), "--old-url", "jdbc:cutover:postgresql://db/app", "--new-url", "jdbc:postgresql://db2/app"))
        .isEqualTo(RehearseCommand.USAGE);
    assertThat(errors()).contains("--old-url", "not a plain PostgreSQL JDBC URL");
  }

  @Test
  void run_versionWithGivenUrls_exitsUsageError() {
    assertThat(run(Map.of(), "--old-url", "jdbc:postgresql://a/app", "--new-url", "jdbc:postgresql://b/app", "--old-version", "13"))
        .isEqualTo(RehearseCommand.USAGE);
    assertThat(errors()).contains("--old-version applies to embedded servers only");
  }

  @Test
  void run_allowExistingWithoutUrls_exitsUsageError() {
    assertThat(run(Map.of(), "--allow-existing")).isEqualTo(RehearseCommand.USAGE);
  }

  @Test
  void plan_givenUrls_takeCredentialsFromTheEnvironmentAndMaskThem() {
    Map<String, String> env = Map.of("CUTOVER_REPLICATOR_OLD_USER", "admin", "CUTOVER_REPLICATOR_OLD_PASSWORD", "old-secret",
        "CUTOVER_REPLICATOR_NEW_PASSWORD", "new-secret");
    RehearsalPlan plan = command(env, "--old-url", "jdbc:postgresql://old-host:5432/app", "--new-url",
        "jdbc:postgresql://new-host:5432/app", "--new-user", "owner", "--allow-existing").plan();

    RehearsalPlan.Given given = (RehearsalPlan.Given) plan.databases();
    assertThat(given.old()).isEqualTo(new RehearsalPlan.Login("jdbc:postgresql://old-host:5432/app", "admin", "old-secret"));
    assertThat(given.nw()).isEqualTo(new RehearsalPlan.Login("jdbc:postgresql://new-host:5432/app", "owner", "new-secret"));
    assertThat(given.allowExisting()).isTrue();
    assertThat(plan.toString()).doesNotContain("old-secret", "new-secret").contains("password=***");
  }

  @Test
  void plan_noUrls_embeddedAtTheGivenVersions() {
    RehearsalPlan plan = command(Map.of(), "--old-version", "14", "--new-version", "18").plan();
    assertThat(plan.databases()).isEqualTo(new RehearsalPlan.Embedded(14, 18));
    assertThat(plan.flag()).isInstanceOf(RehearsalPlan.FlagSource.File.class);
  }

  @Test
  void plan_oldVersion96WithTriggerCapture_embeddedNineAndTheEngine() {
    RehearsalPlan plan = command(Map.of(), "--old-version", "9.6", "--capture", "triggers").plan();
    assertThat(plan.databases()).isEqualTo(new RehearsalPlan.Embedded(9, 17));
    assertThat(plan.capture()).isEqualTo(dev.cutover.replicator.capture.Capture.TRIGGERS);
    assertThatThrownBy(() -> new RehearseCommand.MajorVersionConverter().convert("9.5"))
        .isInstanceOf(TypeConversionException.class).hasMessageContaining("write 9.6, or 10 to 18");
  }

  @Test
  void plan_ldFlagKeyWithSdkKeyFromEnvironment_wiresLaunchDarklyThroughTheRelay() {
    RehearsalPlan plan = command(Map.of("LD_SDK_KEY", "sdk-from-env"), "--ld-flag-key", "app-db-cutover",
        "--ld-base-uri", "http://relay.internal:8030", "--flip-timeout", "90s").plan();

    RehearsalPlan.FlagSource.LaunchDarkly ld = (RehearsalPlan.FlagSource.LaunchDarkly) plan.flag();
    assertThat(ld.flagKey()).isEqualTo("app-db-cutover");
    assertThat(ld.sdkKey()).isEqualTo("sdk-from-env");
    assertThat(ld.baseUri()).isEqualTo(URI.create("http://relay.internal:8030"));
    assertThat(ld.flipTimeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(LaunchDarklyOperator.driverSettings(ld)).containsExactlyInAnyOrderEntriesOf(Map.of(
        RoutingFlags.PROVIDER, "launchdarkly",
        RoutingFlags.KEY, "app-db-cutover",
        RoutingFlags.LD_SDK_KEY, "sdk-from-env",
        RoutingFlags.LD_RELAY_URI, "http://relay.internal:8030"));
    assertThat(plan.toString()).doesNotContain("sdk-from-env");
  }

  @Test
  void plan_ldSdkKeyOption_winsOverTheEnvironment() {
    RehearsalPlan plan = command(Map.of("LD_SDK_KEY", "sdk-from-env"), "--ld-flag-key", "f", "--ld-sdk-key", "sdk-option").plan();
    assertThat(((RehearsalPlan.FlagSource.LaunchDarkly) plan.flag()).sdkKey()).isEqualTo("sdk-option");
  }

  @Test
  void run_ldFlagKeyWithoutSdkKey_exitsUsageErrorNamingTheVariable() {
    assertThat(run(Map.of(), "--ld-flag-key", "app-db-cutover")).isEqualTo(RehearseCommand.USAGE);
    assertThat(errors()).contains("LD_SDK_KEY");
  }

  @Test
  void run_ldSdkKeyWithoutFlagKey_exitsUsageError() {
    assertThat(run(Map.of(), "--ld-sdk-key", "sdk-secret")).isEqualTo(RehearseCommand.USAGE);
    assertThat(errors()).contains("--ld-flag-key").doesNotContain("sdk-secret");
  }

  @Test
  void flip_operatorMovesTheFlag_returnsOnceItSaysNew() throws Exception {
    ManualFlag flag = ManualFlag.named("rehearsal-" + UUID.randomUUID());
    LaunchDarklyOperator operator = new LaunchDarklyOperator(
        new RehearsalPlan.FlagSource.LaunchDarkly("app-db-cutover", "sdk", null, Duration.ofSeconds(30)), flag, print(out));
    operator.requireOld();

    CompletableFuture<Long> flipped = CompletableFuture.supplyAsync(() -> {
      try {
        return operator.flip(1, Target.NEW);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    Thread.sleep(200);
    assertThat(flipped).isNotDone();
    flag.set(Target.NEW);

    assertThat(flipped.get(5, TimeUnit.SECONDS)).isPositive();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("flip 1: set LaunchDarkly flag app-db-cutover to \"new\" (or true)");
    assertThat(operator.closingAdvice(Target.NEW)).contains("set it back to old");
    assertThatThrownBy(operator::requireOld).isInstanceOf(RehearsalException.class).hasMessageContaining("says new");
  }

  @Test
  void flip_operatorDoesNotFlip_timesOutNamingTheOption() {
    ManualFlag flag = ManualFlag.named("rehearsal-" + UUID.randomUUID());
    LaunchDarklyOperator operator = new LaunchDarklyOperator(
        new RehearsalPlan.FlagSource.LaunchDarkly("app-db-cutover", "sdk", null, Duration.ofSeconds(1)), flag, print(out));
    assertThatThrownBy(() -> operator.flip(1, Target.NEW)).isInstanceOf(TimeoutException.class)
        .hasMessageContaining("--flip-timeout");
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
    Units.DurationConverter converter = new Units.DurationConverter();
    assertThat(converter.convert("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(converter.convert("1500ms")).isEqualTo(Duration.ofMillis(1500));
    assertThat(converter.convert("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(converter.convert("7")).isEqualTo(Duration.ofMillis(7));
    assertThatThrownBy(() -> converter.convert("soon")).isInstanceOf(TypeConversionException.class).hasMessageContaining("soon");
  }

  @Test
  void plan_phaseTooShort_namesTheOption() {
    assertThatThrownBy(() -> new RehearsalPlan(new RehearsalPlan.Embedded(12, 17), new RehearsalPlan.FlagSource.File(), 10, 10,
        1, 1, 10, 1, Duration.ofMillis(10), Path.of("x"), 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--duration-per-phase");
  }

  @Test
  void plan_defaults_matchTheIssue() {
    RehearsalPlan plan = RehearsalPlan.defaults();
    assertThat(plan.databases()).isEqualTo(new RehearsalPlan.Embedded(12, 17));
    assertThat(plan.instances()).isEqualTo(4);
    assertThat(plan.flips()).isEqualTo(2);
  }
}
