package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** Small helpers shared by the upstream fault, health and balancer tests. */
final class UpstreamFixtures {
  static final String CHAT = "/v1/chat/completions";
  static final String STREAM_BODY = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}";
  static final String PLAIN_BODY = "{\"model\":\"m\",\"messages\":[]}";
  static final String OK_JSON = "{\"id\":\"c1\",\"choices\":[]}";
  private static final ObjectMapper JSON = new ObjectMapper();

  private UpstreamFixtures() {}

  /** Sockets holding the refused ports until the test JVM exits. */
  private static final List<Socket> RESERVED_PORTS = new CopyOnWriteArrayList<>();

  /**
   * A port nothing listens on, and nothing can start listening on: a bound socket that never
   * listens holds it, so a connection is refused (RST), and it stays held for the JVM's life. A
   * port released at once could be handed to the next ephemeral listener — the gateway's own
   * admin port once answered the "dead" endpoint with 404 on a loaded machine.
   */
  static int refusedPort() throws IOException {
    Socket holder = new Socket();
    holder.setReuseAddress(false);
    holder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    RESERVED_PORTS.add(holder);
    return holder.getLocalPort();
  }

  /** {@link #refusedPort} for a static initializer. */
  static int refusedPortOrFail() {
    try {
      return refusedPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A whole response as the client saw it. */
  record Reply(RawHttp.Head head, String body) {
    int status() {
      return head.status();
    }
  }

  /** Reads the next whole response on {@code client}. */
  static Reply read(RawHttp client) throws IOException {
    RawHttp.Head head = client.readHead();
    return new Reply(head, client.readToEnd());
  }

  /** Sends a non-streamed chat request on a fresh connection and reads the whole answer. */
  static Reply post(TestGateway gateway) throws IOException {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post(CHAT, PLAIN_BODY);
      return read(client);
    }
  }

  /** Asserts an OpenAI-style gateway error with this status and code. */
  static void assertGatewayError(Reply reply, int status, String code) throws IOException {
    assertThat(reply.status()).as("status of %s", reply.body()).isEqualTo(status);
    assertThat(reply.head().header("content-type")).startsWith("application/json");
    JsonNode error = JSON.readTree(reply.body()).path("error");
    assertThat(error.path("type").asText()).isEqualTo("upstream_error");
    assertThat(error.path("code").asText()).isEqualTo(code);
    assertThat(error.path("message").asText()).isNotBlank();
  }

  /**
   * Asserts a gateway error's message. It names the upstream and nothing of its endpoints — no
   * address, no port: those and the OS's errors stay in the gateway's debug log.
   */
  static void assertErrorMessage(String body, String expected, int endpointPort) throws IOException {
    assertThat(JSON.readTree(body).path("error").path("message").asText()).isEqualTo(expected);
    assertThat(body).doesNotContain("127.0.0.1", "localhost", "http://", String.valueOf(endpointPort));
  }

  /** Which fake received the next request, and the request. */
  record Arrival(int index, FakeUpstream.Call call) {}

  /** Waits (up to 10 s) for a request to reach any of {@code fakes}. */
  static Arrival nextArrival(FakeUpstream... fakes) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      for (int i = 0; i < fakes.length; i++) {
        FakeUpstream.Call call = fakes[i].poll();
        if (call != null) {
          return new Arrival(i, call);
        }
      }
      Thread.sleep(5); // polling for an arrival, not waiting for a timer
    }
    throw new AssertionError("no request reached any fake upstream within 10s");
  }

  /** The {@code /admin/upstreams} entry of the endpoint with this URL. */
  static JsonNode endpointState(TestGateway gateway, String url) throws Exception {
    JsonNode upstreams = JSON.readTree(gateway.admin("/admin/upstreams").body());
    for (JsonNode u : upstreams) {
      for (JsonNode e : u.path("endpoints")) {
        if (e.path("url").asText().equals(url)) {
          return e;
        }
      }
    }
    throw new AssertionError("endpoint " + url + " not in /admin/upstreams: " + upstreams);
  }

  /** The value of {@code sluice_upstream_requests_total} with these labels, if the series exists. */
  static Optional<Double> upstreamRequests(String metrics, String upstream, String endpoint, String outcome) {
    return Arrays.stream(metrics.split("\n"))
        .filter(l -> l.startsWith("sluice_upstream_requests_total{"))
        .filter(l -> l.contains("upstream=\"" + upstream + "\"") && l.contains("endpoint=\"" + endpoint + "\"")
            && l.contains("outcome=\"" + outcome + "\""))
        .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .findFirst();
  }

  static boolean healthy(TestGateway gateway, String url) throws Exception {
    return endpointState(gateway, url).path("healthy").asBoolean();
  }

  /** Polls {@code condition} until it holds or {@code timeout} passes. */
  static void await(String what, Duration timeout, CheckedCondition condition) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + timeout + ": " + what);
      }
      Thread.sleep(20); // polling with a deadline
    }
  }

  @FunctionalInterface
  interface CheckedCondition {
    boolean holds() throws Exception;
  }

  /**
   * A TCP server that answers every connection with {@code reply} (not HTTP) and closes it,
   * after reading whatever request bytes arrived first.
   */
  static final class GarbageServer implements AutoCloseable {
    private final ServerSocket server;
    private final Thread thread;

    GarbageServer(String reply) throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      thread = new Thread(() -> {
        while (!server.isClosed()) {
          try (Socket s = server.accept()) {
            s.setSoTimeout(2_000);
            InputStream in = s.getInputStream();
            in.read(new byte[8192]); // the request head, or part of it
            OutputStream out = s.getOutputStream();
            out.write(reply.getBytes(StandardCharsets.US_ASCII));
            out.flush();
          } catch (IOException e) {
            // closed, or the peer went away: next connection
          }
        }
      }, "garbage-server");
      thread.setDaemon(true);
      thread.start();
    }

    String url() {
      return "http://127.0.0.1:" + port();
    }

    int port() {
      return server.getLocalPort();
    }

    @Override
    public void close() throws Exception {
      server.close();
      thread.join(5_000);
    }
  }
}
