package dev.cutover.sample;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's Chromium, headless, as a browser that shows a page to a person would: {@code --dump-dom}
 * gives the document after the browser parsed and laid it out, {@code --screenshot} what it drew.
 * Each run gets a fresh profile. A missing Chromium fails the test with the remedy; nothing skips.
 */
final class HeadlessChromium {
  private static final List<String> CANDIDATES = List.of("/usr/bin/chromium", "/usr/bin/chromium-browser",
      "/usr/bin/google-chrome");

  private HeadlessChromium() {}

  static Path binary() {
    for (String c : CANDIDATES) {
      if (Files.isExecutable(Path.of(c))) {
        return Path.of(c);
      }
    }
    throw new AssertionError("headless Chromium is needed to check the report page, and none is installed at "
        + CANDIDATES + ": apt-get install chromium (.ci/run installs it)");
  }

  /** The document as Chromium built it from {@code page}. */
  static String dumpDom(Path page) throws IOException, InterruptedException {
    return run(page, "--dump-dom");
  }

  /** A PNG of {@code page} as Chromium drew it, {@code width} by {@code height} pixels. */
  static void screenshot(Path page, Path png, int width, int height) throws IOException, InterruptedException {
    run(page, "--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height);
    assertThat(png).as("Chromium's screenshot").exists();
  }

  private static String run(Path page, String... what) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory("chromium-profile");
    List<String> command = new ArrayList<>(List.of(binary().toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage", "--user-data-dir=" + profile));
    command.addAll(List.of(what));
    command.add(page.toUri().toString());
    Path out = Files.createTempFile("chromium", ".out");
    Path err = Files.createTempFile("chromium", ".err");
    Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("Chromium did not finish within 60 s: " + Files.readString(err, StandardCharsets.UTF_8));
    }
    assertThat(p.exitValue()).as("Chromium's exit code; its errors: %s", Files.readString(err, StandardCharsets.UTF_8)).isZero();
    return Files.readString(out, StandardCharsets.UTF_8);
  }
}
