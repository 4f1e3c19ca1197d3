package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.CutoverVersion;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The installable replicator, as an operator gets it: the archive unpacked in an empty folder, run
 * through its script with no Maven repository and no checkout around (HOME points nowhere), with
 * {@code postgres://} and key=value connection strings.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class ReplicatorDistributionIT {
  @TempDir
  static Path unpacked;
  private static Path script;

  @BeforeAll
  static void unpack() throws Exception {
    Path archive = Path.of(System.getProperty("cutover.distribution"));
    assertThat(archive).exists();
    Process tar = new ProcessBuilder("tar", "-xzf", archive.toString(), "-C", unpacked.toString()).inheritIO().start();
    assertThat(tar.waitFor()).isZero();
    script = unpacked.resolve("cutover-replicator-" + CutoverVersion.get()).resolve("cutover-replicator");
    assertThat(script).isExecutable();
    assertThat(script.resolveSibling("cutover-replicator.jar")).exists();
  }

  record Run(int code, String out, String err) {}

  private static Run run(Map<String, String> env, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(script.toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).directory(unpacked.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("CUTOVER_") || k.startsWith("MAVEN"));
    pb.environment().put("HOME", unpacked.resolve("no-home").toString());
    pb.environment().putAll(env);
    Path out = Files.createTempFile(unpacked, "out", ".txt");
    Path err = Files.createTempFile(unpacked, "err", ".txt");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the replicator ended within 120 s").isTrue();
    return new Run(p.exitValue(), read(out), read(err));
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }

  @Test
  void version_fromTheUnpackedArchive_runsWithoutMavenOrCheckout() throws Exception {
    Run r = run(Map.of(), "--version");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("cutover-replicator " + CutoverVersion.get());
  }

  @Test
  void check_postgresUriAndKeyValueString_connectsToBothSides(PostgresPair pair) throws Exception {
    String db = "distribution_check";
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    String old = "postgres://" + pair.oldServer().user() + ":uri-secret-1@" + pair.oldServer().host() + ":"
        + pair.oldServer().port() + "/" + db;
    String nw = "host=" + pair.newServer().host() + " port=" + pair.newServer().port() + " dbname=" + db + " user="
        + pair.newServer().user() + " password='kv secret 2'";

    Run r = run(Map.of(), "check", "--old-url", old, "--new-url", nw, "--json");

    assertThat(r.code()).as(r.err()).isIn(0, 6);
    assertThat(r.out()).startsWith("{").contains("\"findings\"");
    assertThat(r.out() + r.err()).doesNotContain("uri-secret-1").doesNotContain("kv secret 2");
  }

  @Test
  void start_badJobs_exitsTwoWithUsage() throws Exception {
    Run r = run(Map.of(), "start", "--jobs", "0", "--old-url", "jdbc:postgresql://127.0.0.1:1/x", "--new-url",
        "jdbc:postgresql://127.0.0.1:1/x");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--jobs must be between 1 and 64, not 0").contains("Usage: cutover-replicator start");
  }
}
