package dev.cutover.spring.boot;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Configuration snippets as the documentation shows them: fenced blocks of README.md and docs/*.md. */
final class Docs {
  private Docs() {}

  /** The repository's root, from the {@code cutover.docs} property (its docs folder). */
  static Path root() {
    return Path.of(System.getProperty("cutover.docs", "../docs")).getParent();
  }

  /**
   * The fenced code block of {@code page} (relative to the repository's root, such as {@code
   * README.md} or {@code docs/spring-boot.md}) that contains {@code marker}.
   */
  static String snippet(String page, String marker) throws Exception {
    List<String> block = new ArrayList<>();
    boolean inside = false;
    for (String line : Files.readAllLines(root().resolve(page))) {
      if (line.strip().startsWith("```")) {
        if (inside && String.join("\n", block).contains(marker)) {
          return String.join("\n", block) + "\n";
        }
        inside = !inside;
        block.clear();
      } else if (inside) {
        block.add(line);
      }
    }
    throw new AssertionError(page + " has no code block containing " + marker);
  }
}
