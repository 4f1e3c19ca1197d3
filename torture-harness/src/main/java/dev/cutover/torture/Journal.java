package dev.cutover.torture;

import dev.cutover.driver.SwitchEvent;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * What an application instance tells the harness, one line per fact, appended to a file that the
 * harness reads while the instance runs: acknowledged operations, failed transactions, switch
 * events and invariant violations the instance saw itself.
 *
 * <p>An acknowledgement is written only after {@code commit()} returned, each line with one
 * {@code write} of an unbuffered append-mode stream, so the operating system has it as soon as the
 * call returns: a {@code kill -9} of the instance can lose the record of a commit (the line not yet
 * written), never invent one, and never leaves more than a torn last line, which the reader skips.
 *
 * <p>Thread-safe: the instance's workers share one journal.
 */
final class Journal implements AutoCloseable {
  static final String FILE = "journal.log";

  /** Where a failed transaction stood when it failed: before commit it cannot have committed. */
  enum Phase { BEFORE_COMMIT, AT_COMMIT }

  private final FileOutputStream out;

  Journal(Path directory) {
    try {
      this.out = new FileOutputStream(directory.resolve(FILE).toFile(), true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the journal in " + directory, e);
    }
  }

  /** An operation whose transaction committed: commit() returned. */
  void ack(long op, String kind, long id, long tick, long ticket, String origin) {
    line("A", op, kind, id, tick, ticket, origin);
  }

  /**
   * A transaction that failed, with the {@code ops} operations it carried from {@code firstOp};
   * {@code lastSwitch} is the instance's latest switch event when the transaction began.
   */
  void failure(long firstOp, int ops, String kind, String sqlState, Phase phase, String lastSwitch, String message) {
    line("F", firstOp, ops, kind, sqlState, phase, lastSwitch, message);
  }

  void violation(String invariant, String detail) {
    line("V", invariant, detail);
  }

  /** Something worth a look that breaks no invariant. */
  void finding(String detail) {
    line("N", detail);
  }

  void event(SwitchEvent e) {
    line("E", e.id(), e.from().value(), e.to().value(), e.outcome().name(), e.reason(), e.leader(),
        e.gateWaitMax().toNanos() / 1000, e.total().toMillis(), e.rolledBack());
  }

  private void line(Object... fields) {
    StringBuilder b = new StringBuilder(96);
    for (int i = 0; i < fields.length; i++) {
      if (i > 0) {
        b.append('\t');
      }
      b.append(clean(String.valueOf(fields[i])));
    }
    b.append('\n');
    byte[] bytes = b.toString().getBytes(StandardCharsets.UTF_8);
    synchronized (this) {
      try {
        out.write(bytes);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot append to the journal", e);
      }
    }
  }

  /** One field: no tabs or line breaks, at most 400 characters. */
  static String clean(String s) {
    String one = s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
    return one.length() > 400 ? one.substring(0, 400) : one;
  }

  @Override
  public void close() {
    synchronized (this) {
      try {
        out.close();
      } catch (IOException e) {
        // the instance is ending; what was written is on disk
      }
    }
  }
}
