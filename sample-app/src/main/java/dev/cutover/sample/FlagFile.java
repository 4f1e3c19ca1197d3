package dev.cutover.sample;

import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * The routing flag as a text file that every instance's driver watches ({@code
 * cutover.flag.provider=file}): the operator's switch in a rehearsal, flipped by the rehearsal.
 */
final class FlagFile implements FlagControl {
  private final Path directory;
  private final Path file;

  private FlagFile(Path directory) {
    this.directory = directory;
    this.file = directory.resolve("routing.flag");
  }

  /** Creates the file in a new temporary folder, saying {@code initial}. */
  static FlagFile create(Target initial) {
    try {
      FlagFile flag = new FlagFile(Files.createTempDirectory("cutover-rehearsal-"));
      flag.set(initial);
      return flag;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the rehearsal's flag file in " + System.getProperty("java.io.tmpdir"), e);
    }
  }

  @Override
  public Map<String, String> driverSettings() {
    return Map.of(RoutingFlags.PROVIDER, "file", RoutingFlags.FILE, file.toString());
  }

  @Override
  public long flip(int number, Target to) {
    return set(to);
  }

  /**
   * Points the flag at {@code target} and returns the moment it did (System.nanoTime). The word is
   * written to a temporary file and moved over the flag, so no reader ever sees half of it.
   */
  long set(Target target) {
    try {
      Path next = Files.writeString(directory.resolve("routing.flag.next"), target.value() + "\n", StandardCharsets.UTF_8);
      long at = System.nanoTime();
      Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return at;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the flag file " + file, e);
    }
  }

  @Override
  public String describe() {
    return "flag file " + file + ", flipped by the rehearsal";
  }

  @Override
  public void close() {
    try {
      Files.deleteIfExists(directory.resolve("routing.flag.next"));
      Files.deleteIfExists(file);
      Files.deleteIfExists(directory);
    } catch (IOException e) {
      // A leftover temporary folder harms nothing.
    }
  }
}
