package dev.cutover.flags;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileFlagTest {
  @TempDir Path dir;

  private final List<Target> heard = new CopyOnWriteArrayList<>();
  private final List<Long> heardAtNanos = new CopyOnWriteArrayList<>();
  private RoutingFlag flag;

  @AfterEach
  void closeFlag() {
    if (flag != null) {
      flag.close();
    }
  }

  @Test
  void open_fileSaysNew_targetIsNew() throws IOException {
    Path file = write("flag", " NEW\n");

    flag = open(file);

    assertThat(flag).isInstanceOf(FileFlag.class);
    assertThat(flag.target()).isEqualTo(Target.NEW);
    assertThat(flag.health()).isEqualTo(FlagHealth.VALID);
  }

  @Test
  void write_new_listenerHearsNew() throws IOException {
    Path file = write("flag", "old");
    flag = open(file);
    flag.addListener(this::hear);

    long writtenAt = System.nanoTime();
    write("flag", "new\n");

    await().atMost(Duration.ofSeconds(10)).until(() -> heard.contains(Target.NEW));
    System.out.printf(
        "flag file: change reached the listener in %.1f ms%n",
        (heardAtNanos.get(0) - writtenAt) / 1e6);
    assertThat(heard).containsExactly(Target.NEW);
    assertThat(flag.target()).isEqualTo(Target.NEW);
  }

  @Test
  void write_atomicReplace_listenerHearsNew() throws IOException {
    Path file = write("flag", "false");
    flag = open(file);
    flag.addListener(this::hear);

    Path staged = write("flag.tmp", "true");
    Files.move(staged, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

    await().atMost(Duration.ofSeconds(10)).until(() -> heard.contains(Target.NEW));
  }

  @Test
  void write_garbage_keepsTargetAndCountsOnce() throws IOException {
    Path file = write("flag", "new");
    flag = open(file);
    flag.addListener(this::hear);

    write("flag", "neww");

    await().atMost(Duration.ofSeconds(10)).until(() -> flag.rejectedValues() == 1);
    await()
        .during(Duration.ofMillis(600)) // a few fallback polls re-read the same garbage
        .atMost(Duration.ofSeconds(2))
        .until(() -> flag.rejectedValues() == 1 && flag.target() == Target.NEW);
    assertThat(heard).isEmpty();

    write("flag", "old");
    await().atMost(Duration.ofSeconds(10)).until(() -> heard.contains(Target.OLD));
  }

  @Test
  void write_empty_ignoredAsWriteInProgress() throws IOException {
    Path file = write("flag", "new");
    flag = open(file);

    write("flag", "");
    write("flag", "  ");

    await()
        .during(Duration.ofMillis(400))
        .atMost(Duration.ofSeconds(2))
        .until(() -> flag.target() == Target.NEW);
    assertThat(flag.rejectedValues()).isZero();
  }

  @Test
  void delete_file_keepsTargetWhileInterruptedThenFollowsAgain() throws IOException {
    Path file = write("flag", "new");
    flag = open(file);
    flag.addListener(this::hear);

    Files.delete(file);

    await().atMost(Duration.ofSeconds(10)).until(() -> flag.health() == FlagHealth.INTERRUPTED);
    assertThat(flag.target()).isEqualTo(Target.NEW);

    write("flag", "old");
    await().atMost(Duration.ofSeconds(10)).until(() -> flag.health() == FlagHealth.VALID);
    await().atMost(Duration.ofSeconds(10)).until(() -> heard.contains(Target.OLD));
  }

  @Test
  void open_garbageAtStart_defaultKeptAndCounted() throws IOException {
    Path file = write("flag", "maybe");
    Map<String, String> settings = settings(file);
    settings.put(RoutingFlags.DEFAULT, "new");

    flag = RoutingFlags.open(settings);

    assertThat(flag.target()).isEqualTo(Target.NEW);
    assertThat(flag.rejectedValues()).isEqualTo(1);
  }

  @Test
  void open_missingFile_throwsNamingKeyAndPath() {
    Path missing = dir.resolve("nope");

    assertThatThrownBy(() -> open(missing))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(RoutingFlags.FILE)
        .hasMessageContaining(missing.toString());
  }

  @Test
  void close_stopsWatching_offAndLastValueKept() throws IOException {
    Path file = write("flag", "new");
    flag = open(file);
    flag.addListener(this::hear);

    flag.close();
    write("flag", "old");

    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(2))
        .until(() -> flag.target() == Target.NEW);
    assertThat(flag.health()).isEqualTo(FlagHealth.OFF);
    assertThat(heard).isEmpty();
    assertThat(Thread.getAllStackTraces().keySet())
        .noneMatch(t -> t.getName().equals("cutover-flag-file-flag") && t.isAlive());
  }

  private void hear(Target target) {
    heardAtNanos.add(System.nanoTime());
    heard.add(target);
  }

  private Path write(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
  }

  private Map<String, String> settings(Path file) {
    Map<String, String> settings = new HashMap<>();
    settings.put(RoutingFlags.PROVIDER, "file");
    settings.put(RoutingFlags.FILE, file.toString());
    return settings;
  }

  private RoutingFlag open(Path file) {
    return RoutingFlags.open(settings(file));
  }
}
