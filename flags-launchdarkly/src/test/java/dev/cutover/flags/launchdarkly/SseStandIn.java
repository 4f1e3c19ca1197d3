package dev.cutover.flags.launchdarkly;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A LaunchDarkly streaming stand-in that, unlike WireMock, holds {@code GET /all} open: each
 * connection gets {@code put} with the current flag, then every event {@link #send}s, as
 * LaunchDarkly's own service does. Loopback only. Public (and in the flags test-jar) so that the
 * driver's end-to-end tests can drive a live pool through it.
 */
public final class SseStandIn implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final List<OutputStream> streams = new CopyOnWriteArrayList<>();
  private final CountDownLatch closed = new CountDownLatch(1);
  private volatile String initialPut;
  private final List<String> authorizations = new CopyOnWriteArrayList<>();

  public SseStandIn(String initialPut) throws IOException {
    this.initialPut = initialPut;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(threads);
    server.createContext("/all", this::stream);
    server.start();
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public List<String> authorizations() {
    return authorizations;
  }

  /**
   * The streams open now. A client that went away is noticed when a comment line written to it
   * fails ({@link #ping}), as LaunchDarkly's own keep-alive comments would.
   */
  public int openStreams() {
    ping();
    return streams.size();
  }

  /** Writes an SSE comment to every stream and drops those whose client is gone. */
  private void ping() {
    for (OutputStream out : streams) {
      try {
        synchronized (out) {
          out.write(":\n".getBytes(StandardCharsets.UTF_8));
          out.flush();
        }
      } catch (IOException gone) {
        streams.remove(out);
      }
    }
  }

  /** Sends one SSE event to every open stream. */
  public void send(String event) throws IOException {
    byte[] bytes = event.getBytes(StandardCharsets.UTF_8);
    for (OutputStream out : streams) {
      synchronized (out) {
        out.write(bytes);
        out.flush();
      }
    }
  }

  private void stream(HttpExchange exchange) throws IOException {
    authorizations.add(exchange.getRequestHeaders().getFirst("Authorization"));
    exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
    exchange.sendResponseHeaders(200, 0); // chunked, open-ended
    OutputStream out = exchange.getResponseBody();
    // Listed before the put is flushed, under the stream's lock: once the SDK has the put (and the
    // test may send), every send reaches this stream, and none can overtake the put.
    synchronized (out) {
      streams.add(out);
      out.write(initialPut.getBytes(StandardCharsets.UTF_8));
      out.flush();
    }
    try {
      closed.await(); // hold the stream open until the stand-in closes
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      streams.remove(out);
      exchange.close();
    }
  }

  @Override
  public void close() {
    closed.countDown();
    server.stop(0);
    threads.shutdownNow();
  }
}
