package dev.cutover.flags.launchdarkly;

import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.FLAG_KEY;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.patch;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.put;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.stringFlag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import dev.cutover.flags.FlagHealth;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The real LaunchDarkly SDK on a stream that stays open, as in production: changes arrive as
 * {@code patch} events pushed down the open connection.
 */
class LaunchDarklyHeldStreamTest {
  private static final String SDK_KEY = "sdk-held-stream-secret-0004";

  private final List<Target> heard = new CopyOnWriteArrayList<>();
  private final List<Long> heardAtNanos = new CopyOnWriteArrayList<>();
  private SseStandIn standIn;
  private LaunchDarklyFlag flag;

  @BeforeEach
  void start() throws IOException {
    standIn = new SseStandIn(put(stringFlag(1, "old")));
    Map<String, String> settings = new HashMap<>();
    settings.put(RoutingFlags.PROVIDER, "launchdarkly");
    settings.put(RoutingFlags.KEY, FLAG_KEY);
    settings.put(RoutingFlags.LD_SDK_KEY, SDK_KEY);
    settings.put(RoutingFlags.LD_STREAM_URI, standIn.baseUrl());
    settings.put(RoutingFlags.LD_EVENTS, "false");
    settings.put(RoutingFlags.LD_START_WAIT, "3000");
    flag = (LaunchDarklyFlag) RoutingFlags.open(settings);
    flag.addListener(
        target -> {
          heardAtNanos.add(System.nanoTime());
          heard.add(target);
        });
  }

  @AfterEach
  void stop() {
    if (flag != null) {
      flag.close();
    }
    standIn.close();
  }

  @Test
  void patch_changesToNew_listenerHearsNewQuickly() throws IOException {
    assertThat(flag.target()).isEqualTo(Target.OLD);
    assertThat(flag.health()).isEqualTo(FlagHealth.VALID);

    long sentAt = System.nanoTime();
    standIn.send(patch(stringFlag(2, "new")));

    await().atMost(Duration.ofSeconds(5)).until(() -> heard.contains(Target.NEW));
    System.out.printf(
        "LaunchDarkly stand-in (held-open stream, patch event): change reached the listener in"
            + " %.1f ms%n",
        (heardAtNanos.get(0) - sentAt) / 1e6);
    assertThat(heard).containsExactly(Target.NEW);
    assertThat(flag.health()).isEqualTo(FlagHealth.VALID);
    assertThat(standIn.authorizations()).containsOnly(SDK_KEY);
  }

  @Test
  void patch_flapsOldNewOld_lastValueDeliveredAndStays() throws IOException {
    standIn.send(patch(stringFlag(2, "new")) + patch(stringFlag(3, "old")));

    // Both patches land; whatever the listener heard in between, the last word is old.
    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(3))
        .until(() -> flag.target() == Target.OLD && (heard.isEmpty() || last(heard) == Target.OLD));
    System.out.println("held stream, old -> new -> old: the listener heard " + heard);

    standIn.send(patch(stringFlag(4, "new")));
    await().atMost(Duration.ofSeconds(10)).until(() -> last(heard) == Target.NEW);
  }

  @Test
  void patch_olderVersion_ignored() throws IOException {
    standIn.send(patch(stringFlag(2, "new")));
    await().atMost(Duration.ofSeconds(10)).until(() -> flag.target() == Target.NEW);

    standIn.send(patch(stringFlag(1, "old")));

    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(2))
        .until(() -> flag.target() == Target.NEW);
    assertThat(heard).containsExactly(Target.NEW);
  }

  @Test
  void target_steadyState_allocatesNothing() {
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long thread = Thread.currentThread().getId();
    Target seen = null;
    for (int i = 0; i < 100_000; i++) { // warm up
      seen = flag.target();
    }

    long before = threads.getThreadAllocatedBytes(thread);
    for (int i = 0; i < 1_000_000; i++) {
      seen = flag.target();
    }
    long allocated = threads.getThreadAllocatedBytes(thread) - before;

    assertThat(seen).isEqualTo(Target.OLD);
    assertThat(allocated).as("bytes allocated by 1,000,000 calls of target()").isLessThan(1_024);
  }

  private static Target last(List<Target> targets) {
    return targets.isEmpty() ? null : targets.get(targets.size() - 1);
  }
}
