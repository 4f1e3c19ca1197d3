package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * What {@link SilenceWatch} takes for a lost connection: a read or write that failed, but not
 * PgJDBC's 1 ms look for a message already there (a replication stream's poll), after which the
 * connection goes on; a session left running is ended by the watch only for a lost one.
 */
class WaitingSocketTest {

  @Test
  void failed_onlyAfterAReadLongerThanThePeekTimesOutOrThePeerResets() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()); WaitingSocket socket = new WaitingSocket()) {
      socket.connect(new InetSocketAddress(server.getInetAddress(), server.getLocalPort()));
      try (Socket peer = server.accept()) {
        InputStream in = socket.getInputStream();

        socket.setSoTimeout(1);
        assertThatThrownBy(in::read).isInstanceOf(SocketTimeoutException.class);
        assertThat(socket.failed()).as("PgJDBC's peek").isFalse();

        socket.setSoTimeout(50);
        assertThatThrownBy(() -> in.read(new byte[8], 0, 8)).isInstanceOf(SocketTimeoutException.class);
        assertThat(socket.failed()).as("a read limit").isTrue();
      }
    }
  }

  @Test
  void failed_afterThePeerResets() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()); WaitingSocket socket = new WaitingSocket()) {
      socket.connect(new InetSocketAddress(server.getInetAddress(), server.getLocalPort()));
      try (Socket peer = server.accept()) {
        peer.setSoLinger(true, 0);
      }
      assertThatThrownBy(() -> socket.getInputStream().read()).isInstanceOf(java.io.IOException.class);
      assertThat(socket.failed()).isTrue();
    }
  }
}
