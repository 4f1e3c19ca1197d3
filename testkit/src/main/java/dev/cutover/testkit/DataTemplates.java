package dev.cutover.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.stream.Stream;

/**
 * Data directories that initdb made once in this JVM for each major version and side, copied for
 * every embedded server started after. initdb takes seconds of CPU, most of the start of a server,
 * and each test class starts two; copying its result takes a fraction of that.
 *
 * <p>Old and new get a template each, because a copy keeps initdb's system identifier and the
 * rehearsal tells two databases apart by it. The templates live in a folder of their own, not
 * among zonky's data directories, which zonky's start deletes when it finds them unlocked; they are
 * deleted when the JVM exits, and a later JVM deletes those of JVMs that are gone.
 */
final class DataTemplates {

  private static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"), "cutover-pg-templates");
  private static final String PREFIX = ProcessHandle.current().pid() + "-";

  private static final ConcurrentMap<String, Template> TEMPLATES = new ConcurrentHashMap<>();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> TEMPLATES.values().forEach(Template::delete), "cutover-pg-templates-cleaner"));
  }

  /**
   * Fills the empty directory {@code data} with a fresh cluster of {@code major} for {@code side};
   * where the server will run with {@code fsync} on, on disk as initdb leaves it, so that a
   * benchmark's disk does not write the copy back meanwhile.
   */
  static void copyInto(Path data, int major, Provider.Side side) throws IOException {
    Template template = TEMPLATES.computeIfAbsent(major + "-" + side, key -> new Template(key, major));
    Directories.copyContents(template.dir(), data, ServerSettings.fsync().equals("on"));
  }

  /** One version's and side's data directory, made by the first server that asks for it. */
  private static final class Template {
    private final String key;
    private final int major;
    private Path dir;

    Template(String key, int major) {
      this.key = key;
      this.major = major;
    }

    synchronized Path dir() throws IOException {
      if (dir == null) {
        dir = make(key, major);
      }
      return dir;
    }

    synchronized void delete() {
      if (dir != null) {
        Directories.deleteQuietly(dir);
      }
    }
  }

  /**
   * Lets zonky run initdb into a folder of its own and start the server once, which is how zonky
   * initializes, then stops it cleanly and takes away what a running server leaves behind.
   */
  private static Path make(String key, int major) throws IOException {
    Files.createDirectories(ROOT);
    deleteThoseOfGoneJvms();
    Path dir = Files.createTempDirectory(ROOT, PREFIX + key + "-");
    try {
      EmbeddedServer.builder(major, dir).start().close();
      Files.deleteIfExists(dir.resolve("epg-lock"));
      Files.deleteIfExists(dir.resolve("postmaster.opts"));
      return dir;
    } catch (IOException | RuntimeException e) {
      Directories.deleteQuietly(dir);
      throw e;
    }
  }

  private static void deleteThoseOfGoneJvms() throws IOException {
    try (Stream<Path> dirs = Files.list(ROOT)) {
      dirs.filter(d -> !ownerAlive(d.getFileName().toString())).forEach(Directories::deleteQuietly);
    }
  }

  private static boolean ownerAlive(String name) {
    int dash = name.indexOf('-');
    try {
      return dash > 0 && ProcessHandle.of(Long.parseLong(name.substring(0, dash))).isPresent();
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private DataTemplates() {}
}
