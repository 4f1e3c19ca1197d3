package dev.cutover.replicator;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketException;
import java.net.SocketTimeoutException;

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
  /** Whether a read or write failed: the connection is lost here, and its server session may live on. */
  private volatile boolean failed;
  private InputStream input;
  private OutputStream output;

  /**
   * When the read or write under way began ({@link System#nanoTime}), which also tells one call
   * from the next; {@link #NOT_WAITING} when none is.
   */
  long waitingSince() {
    return waitingSince;
  }

  /**
   * Whether a read or write of the client's failed (a read limit, a reset, a cut): the connection
   * was lost rather than closed, and its server session may still be running.
   */
  boolean failed() {
    return failed;
  }

  /**
   * Notes a failed read as the connection lost, but for a timeout of 1 ms: PgJDBC's look for a
   * message already there (a replication stream's poll), after which it goes on.
   */
  private void readFailed(IOException e) {
    try {
      if (!(e instanceof SocketTimeoutException) || getSoTimeout() > 1) {
        failed = true;
      }
    } catch (SocketException closed) {
      failed = true;
    }
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
          } catch (IOException e) {
            readFailed(e);
            throw e;
          } finally {
            waitingSince = NOT_WAITING;
          }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          waitingSince = System.nanoTime();
          try {
            return in.read(b, off, len);
          } catch (IOException e) {
            readFailed(e);
            throw e;
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
          } catch (IOException e) {
            failed = true;
            throw e;
          } finally {
            waitingSince = NOT_WAITING;
          }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          waitingSince = System.nanoTime();
          try {
            out.write(b, off, len);
          } catch (IOException e) {
            failed = true;
            throw e;
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
