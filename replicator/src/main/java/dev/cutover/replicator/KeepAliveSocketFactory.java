package dev.cutover.replicator;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketOption;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.SocketFactory;
import jdk.net.ExtendedSocketOptions;

/**
 * The sockets of the replicator's connections (PgJDBC's {@code socketFactory}): TCP keepalive
 * probes after {@link #IDLE} without traffic, every {@link #INTERVAL}, the connection given up after
 * {@link #COUNT} unanswered. Without them (PgJDBC leaves keepalive off) a read waits for ever when
 * the peer's host is gone or the network between was cut while a statement ran, and a NAT or firewall that drops
 * idle mappings (often after 4 to 10 minutes) cuts a connection left idle through a long copy. A
 * live server answers probes from its kernel, so a statement that runs for hours is never cut by
 * them; a peer that keeps the TCP connection but forwards nothing is, which the commands' socket
 * timeouts ({@code --network-timeout}) are for. Options the platform does not offer are left as
 * they are.
 *
 * <p>A connection that {@link Endpoint} names by {@link #SOCKET} gets a {@link WaitingSocket}, which
 * Endpoint {@linkplain #claim claims} once PgJDBC connected, for a {@link SilenceWatch}.
 */
public final class KeepAliveSocketFactory extends SocketFactory {
  public static final Duration IDLE = Duration.ofSeconds(30);
  public static final Duration INTERVAL = Duration.ofSeconds(10);
  public static final int COUNT = 3;

  /** The connection property naming the connection's socket, to be {@linkplain #claim claimed}; not one of PgJDBC's. */
  static final String SOCKET = "cutoverSocket";
  /** Factories of connections being opened, by {@link #SOCKET}. */
  private static final Map<String, KeepAliveSocketFactory> OPENING = new ConcurrentHashMap<>();

  /** The last socket made before the claim (PgJDBC may try again with a new one); later ones (a cancel request's) are not kept. */
  private volatile WaitingSocket made;
  private volatile boolean claimed;

  /** PgJDBC makes one per connection, by this constructor, with the connection's properties. */
  public KeepAliveSocketFactory(Properties info) {
    String name = info.getProperty(SOCKET);
    if (name != null) {
      OPENING.put(name, this);
    }
  }

  /** The socket made for the connection named {@code name}; null when none was. */
  static WaitingSocket claim(String name) {
    KeepAliveSocketFactory f = OPENING.remove(name);
    if (f == null) {
      return null;
    }
    f.claimed = true;
    return f.made;
  }

  @Override
  public Socket createSocket() throws IOException {
    if (claimed) {
      return keptAlive(new Socket());
    }
    WaitingSocket s = new WaitingSocket();
    made = s;
    return keptAlive(s);
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return keptAlive(new Socket(host, port));
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
    return keptAlive(new Socket(host, port, localHost, localPort));
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return keptAlive(new Socket(host, port));
  }

  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
    return keptAlive(new Socket(address, port, localAddress, localPort));
  }

  private static Socket keptAlive(Socket s) throws IOException {
    s.setKeepAlive(true);
    set(s, ExtendedSocketOptions.TCP_KEEPIDLE, (int) IDLE.toSeconds());
    set(s, ExtendedSocketOptions.TCP_KEEPINTERVAL, (int) INTERVAL.toSeconds());
    set(s, ExtendedSocketOptions.TCP_KEEPCOUNT, COUNT);
    return s;
  }

  private static void set(Socket s, SocketOption<Integer> option, int value) throws IOException {
    if (s.supportedOptions().contains(option)) {
      s.setOption(option, value);
    }
  }
}
