package dev.cutover.replicator;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A connection's socket that knows whether a read or a write of the client's is waiting on it now,
 * and since when: what {@link SilenceWatch} sets against what the server's backend is doing. Each
 * read or write of PgJDBC's (a buffer at a time, not a byte) costs a clock reading and two volatile
 * writes. PgJDBC reads and writes a connection's socket from one thread at a time (a cancel request
 * has a socket of its own), so one field tells both.
 */
final class WaitingSocket extends java.net.Socket {
  /** {@link #waitingSince} when no read or write is under way. */
  static final long NOT_WAITING = Long.MIN_VALUE;

  private volatile long waitingSince = NOT_WAITING;
  private InputStream input;
  private OutputStream output;

  /**
   * When the read or write under way began ({@link System#nanoTime}), which also tells one call
   * from the next; {@link #NOT_WAITING} when none is.
   */
  long waitingSince() {
    return waitingSince;
  }

  /** Ends whatever waits on this socket now, as a lost network would. */
  void cut() {
    try {
      close();
    } catch (IOException e) {
      // Closing a socket that is going anyway: its waiting call fails, which is what was asked.
    }
  }

  @Override
  public synchronized InputStream getInputStream() throws IOException {
    if (input == null) {
      input = new FilterInputStream(super.getInputStream()) {
        @Override
        public int read() throws IOException {
          waitingSince = System.nanoTime();
          try {
            return in.read();
          } finally {
            waitingSince = NOT_WAITING;
          }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          waitingSince = System.nanoTime();
          try {
            return in.read(b, off, len);
          } finally {
            waitingSince = NOT_WAITING;
          }
        }
      };
    }
    return input;
  }

  @Override
  public synchronized OutputStream getOutputStream() throws IOException {
    if (output == null) {
      output = new FilterOutputStream(super.getOutputStream()) {
        @Override
        public void write(int b) throws IOException {
          waitingSince = System.nanoTime();
          try {
            out.write(b);
          } finally {
            waitingSince = NOT_WAITING;
          }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          waitingSince = System.nanoTime();
          try {
            out.write(b, off, len);
          } finally {
            waitingSince = NOT_WAITING;
          }
        }

        @Override
        public void flush() throws IOException {
          out.flush();
        }
      };
    }
    return output;
  }
}
