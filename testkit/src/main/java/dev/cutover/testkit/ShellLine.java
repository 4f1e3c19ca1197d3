package dev.cutover.testkit;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** What a POSIX shell makes of a command line a tool printed for an operator to paste. */
public final class ShellLine {
  private ShellLine() {}

  /**
   * The words bash makes of {@code line}, as {@code printf '%s\0'} receives them: a name the line
   * failed to quote comes out split, and a {@code $(…)} left unquoted in it would run (its output,
   * or its side effect, is what a test then sees).
   */
  public static List<String> words(String line) throws Exception {
    Process p = new ProcessBuilder("bash", "-c", "printf '%s\\0' " + line).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new AssertionError("bash could not read the line: " + out);
    }
    return List.of(out.substring(0, Math.max(0, out.length() - 1)).split("\0", -1));
  }
}
