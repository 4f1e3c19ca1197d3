package dev.cutover.testkit;

import dev.cutover.common.Threads;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay on loopback in front of a server, whose link a test can slow down, silence or cut:
 * the network faults that a database client meets in production and that a killed server does not
 * reproduce.
 *
 * <ul>
 *   <li>{@link #delay(Duration)} holds every chunk of bytes that long before passing it on, in both
 *       directions (a slow link).
 *   <li>{@link #stall()} stops passing bytes in both directions while every socket stays open: no
 *       FIN, no RST, as when packets are dropped on the way; an end or a reset from either side is
 *       held as bytes are. New connections are accepted, but
 *       nothing they send arrives. {@link #resume()} lets the held bytes through again.
 *   <li>{@link #stallOpen()} does the same to the connections open now only, while new ones are
 *       relayed as before: one flow dropped (a NAT or load balancer entry lost) on a network that
 *       still works.
 *   <li>{@link #cut()} resets every open connection (RST), as a dead peer or a restarted middlebox.
 *   <li>{@link #refuse(boolean)} resets each new connection at once, as a server that is down.
 * </ul>
 *
 * <p>Each connection is relayed by two daemon threads, one per direction; a thread holds at most
 * one chunk while the link is stalled or delayed. Safe to use from any thread.
 */
public final class TcpProxy implements AutoCloseable {
  private static final int CHUNK = 64 * 1024;

  private final String targetHost;
  private final int targetPort;
  private final ServerSocket listener;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final Object flow = new Object();
  private final AtomicLong accepted = new AtomicLong();
  private volatile boolean stalled;
  private volatile boolean refusing;
  private volatile long delayNanos;
  private volatile boolean closed;

  private TcpProxy(String targetHost, int targetPort) throws IOException {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Threads.start("tcp-proxy-" + listener.getLocalPort() + "-accept", this::acceptLoop);
  }

  /** Starts relaying from a free loopback port to {@code host:port}. */
  public static TcpProxy start(String host, int port) throws IOException {
    return new TcpProxy(host, port);
  }

  /** Starts relaying to {@code server}. */
  public static TcpProxy in(PostgresServer server) throws IOException {
    return start(server.host(), server.port());
  }

  /** The host clients connect to instead of the server's. */
  public String host() {
    return listener.getInetAddress().getHostAddress();
  }

  /** The port clients connect to instead of the server's. */
  public int port() {
    return listener.getLocalPort();
  }

  /** {@code url} (a JDBC or libpq-style URL naming the server's {@code host:port}) pointed at this proxy. */
  public String redirect(String url) {
    return url.replace(targetHost + ":" + targetPort, host() + ":" + port());
  }

  /** Holds every chunk of bytes this long before passing it on; zero for none. */
  public void delay(Duration delay) {
    delayNanos = delay.toNanos();
  }

  /** Stops passing bytes in both directions; sockets stay open and silent. */
  public void stall() {
    stalled = true;
  }

  /** Stops passing bytes on the connections open now, in both directions; new connections pass. */
  public void stallOpen() {
    for (Link link : links) {
      link.stalled = true;
    }
  }

  /** Passes bytes again, those held during the stall first. */
  public void resume() {
    synchronized (flow) {
      stalled = false;
      links.forEach(link -> link.stalled = false);
      flow.notifyAll();
    }
  }

  public boolean isStalled() {
    return stalled;
  }

  /** Resets every open connection (RST on both sides); new connections are relayed as before. */
  public void cut() {
    for (Link link : links) {
      link.reset();
    }
  }

  /**
   * Resets each new connection as soon as it is accepted, as a server that is down or restarting;
   * {@code false} relays them again. Open connections are left as they are.
   */
  public void refuse(boolean refuse) {
    refusing = refuse;
  }

  /** Connections relayed now. */
  public int openConnections() {
    return links.size();
  }

  /** Connections accepted since the start. */
  public long acceptedConnections() {
    return accepted.get();
  }

  /** Stops listening and resets every connection. */
  @Override
  public void close() {
    closed = true;
    try {
      listener.close();
    } catch (IOException e) {
      // closing anyway
    }
    resume();
    cut();
  }

  @Override
  public String toString() {
    return "TcpProxy[" + host() + ":" + port() + " -> " + targetHost + ":" + targetPort
        + (stalled ? ", stalled" : "") + (delayNanos > 0 ? ", delay " + TimeUnit.NANOSECONDS.toMillis(delayNanos) + " ms" : "")
        + "]";
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return; // closed
      }
      accepted.incrementAndGet();
      if (refusing) {
        resetQuietly(client);
        continue;
      }
      try {
        Socket server = new Socket();
        server.connect(new InetSocketAddress(targetHost, targetPort), 10_000);
        Link link = new Link(client, server);
        links.add(link);
        link.start();
      } catch (IOException e) {
        resetQuietly(client);
      }
    }
  }

  /** Blocks while {@code link} is stalled, then waits out the delay; false once the proxy is closed. */
  private boolean mayPass(Link link) throws InterruptedException {
    synchronized (flow) {
      while ((stalled || link.stalled) && !closed) {
        flow.wait();
      }
    }
    long delay = delayNanos;
    if (delay > 0) {
      TimeUnit.NANOSECONDS.sleep(delay);
    }
    return !closed;
  }

  private static void resetQuietly(Socket socket) {
    try {
      socket.setSoLinger(true, 0);
      socket.close();
    } catch (IOException e) {
      // already gone
    }
  }

  /** One relayed connection: a client socket, a server socket and a pump per direction. */
  private final class Link {
    private final Socket client;
    private final Socket server;
    /** Stalled alone ({@link #stallOpen()}). */
    private volatile boolean stalled;

    Link(Socket client, Socket server) throws SocketException {
      this.client = client;
      this.server = server;
      client.setTcpNoDelay(true);
      server.setTcpNoDelay(true);
    }

    void start() throws IOException {
      pump(client.getInputStream(), server.getOutputStream(), "up");
      pump(server.getInputStream(), client.getOutputStream(), "down");
    }

    private void pump(InputStream in, OutputStream out, String direction) {
      Threads.start("tcp-proxy-" + port() + "-" + direction, () -> {
        byte[] buffer = new byte[CHUNK];
        try {
          int n;
          while ((n = in.read(buffer)) >= 0) {
            if (!mayPass(this)) {
              break;
            }
            out.write(buffer, 0, n);
            out.flush();
          }
          // an orderly end on one side is passed on as an orderly end, as bytes are: not while stalled
          if (mayPass(this)) {
            (direction.equals("up") ? server : client).shutdownOutput();
          }
        } catch (IOException e) {
          endWhenPassing();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          reset();
        }
        if (client.isClosed() || (client.isOutputShutdown() && server.isOutputShutdown())) {
          reset();
        }
      });
    }

    /** A reset, passed on as bytes are: not while the link is stalled (a silent network carries no RST either). */
    private void endWhenPassing() {
      try {
        mayPass(this);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      reset();
    }

    void reset() {
      links.remove(this);
      resetQuietly(client);
      resetQuietly(server);
    }
  }
}
