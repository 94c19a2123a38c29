package io.sluice.e2e;

import static io.sluice.e2e.UpstreamFixtures.CHAT;
import static io.sluice.e2e.UpstreamFixtures.OK_JSON;
import static io.sluice.e2e.UpstreamFixtures.PLAIN_BODY;
import static io.sluice.e2e.UpstreamFixtures.STREAM_BODY;
import static io.sluice.e2e.UpstreamFixtures.assertGatewayError;
import static io.sluice.e2e.UpstreamFixtures.healthy;
import static io.sluice.e2e.UpstreamFixtures.nextArrival;
import static io.sluice.e2e.UpstreamFixtures.post;
import static io.sluice.e2e.UpstreamFixtures.read;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.e2e.UpstreamFixtures.Arrival;
import io.sluice.e2e.UpstreamFixtures.Reply;
import io.sluice.testing.FakeDns;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import io.sluice.upstream.DnsServers;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Upstream faults beyond {@link UpstreamFaultsTest}: DNS (through a loopback fake DNS server, so
 * no lookup leaves the machine), a 5xx storm that passive health must contain to its endpoint
 * without retries or harm to other routes, and garbage after a stream's headers.
 */
class UpstreamChaosTest {

  @AfterEach
  void unpinDns() {
    System.clearProperty(DnsServers.PROPERTY);
  }

  private static String config(String endpoints) {
    return """
        upstreams:
          - name: models
            endpoints: [ %s ]
            connect-timeout: 2s
            first-byte-timeout: 30s
            stream-idle-timeout: 30s
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
        """.formatted(endpoints);
  }

  // ---- DNS --------------------------------------------------------------------------------------

  @Test
  void resolvesAHostnameEndpointThroughThePinnedDnsServer() throws Exception {
    try (FakeDns dns = new FakeDns(Map.of("model.test", "127.0.0.1"));
        FakeUpstream upstream = FakeUpstream.start()) {
      System.setProperty(DnsServers.PROPERTY, dns.address());
      try (TestGateway gateway = TestGateway.start(config("{ url: \"http://model.test:" + upstream.port() + "\" }"));
          RawHttp client = RawHttp.connect(gateway.port())) {
        client.post(CHAT, PLAIN_BODY);
        FakeUpstream.Call call = upstream.next();
        assertThat(call.headers.get("host")).isEqualTo("model.test:" + upstream.port());
        call.respond(200, "application/json", OK_JSON);
        assertThat(read(client).status()).isEqualTo(200);
      }
      assertThat(dns.queries()).contains("model.test");
    }
  }

  @Test
  void answers502ForAHostnameThatDoesNotResolveAndSaysNothingOfTheEndpoint() throws Exception {
    // .invalid never resolves (RFC 6761), and the only name server is the loopback fake.
    try (FakeDns dns = new FakeDns(Map.of())) {
      System.setProperty(DnsServers.PROPERTY, dns.address());
      try (TestGateway gateway = TestGateway.start(config("{ url: \"http://model.invalid:8000\" }"))) {
        long started = System.nanoTime();
        Reply reply = post(gateway);
        assertGatewayError(reply, 502, "upstream_failed");
        assertThat(reply.body()).as("no endpoint address for the client").doesNotContain("model.invalid", "8000");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(9));
        assertThat(post(gateway).status()).as("and again, from the negative cache or a new lookup").isEqualTo(502);
      }
      assertThat(dns.queries()).as("the lookup went to the loopback fake").anyMatch(q -> q.startsWith("model.invalid"));
    }
  }

  // ---- a 5xx storm ------------------------------------------------------------------------------

  @Test
  void a5xxStormEjectsTheSickEndpointWithoutRetriesAndLeavesOtherRoutesServing() throws Exception {
    try (FakeUpstream sick = FakeUpstream.start();
        FakeUpstream well = FakeUpstream.start();
        FakeUpstream other = FakeUpstream.start();
        TestGateway gateway = TestGateway.start("""
            upstreams:
              - name: models
                endpoints: [ { url: "%s" }, { url: "%s" } ]
                balancer: round-robin
                retries: 1
                health-check: { unhealthy-after: 3, interval: 1h }
              - name: embeddings
                endpoints: [ { url: "%s" } ]
            routes:
              - name: chat
                match: { path-prefix: /v1/chat/completions, methods: [POST] }
                upstream: models
              - name: embeddings
                match: { path-prefix: /v1/embeddings, methods: [POST] }
                upstream: embeddings
            """.formatted(sick.url(), well.url(), other.url()))) {
      int storm = 0;
      for (int i = 0; i < 20 && storm < 3; i++) {
        try (RawHttp client = RawHttp.connect(gateway.port())) {
          client.post(CHAT, PLAIN_BODY);
          Arrival arrival = nextArrival(sick, well);
          if (arrival.index() == 0) {
            arrival.call().respond(503, "application/json", "{\"error\":\"overloaded\"}");
            storm++;
            assertThat(read(client).status()).as("the upstream's 503 is relayed, not retried").isEqualTo(503);
            assertThat(well.poll()).as("an answered request is never sent twice").isNull();
          } else {
            arrival.call().respond(200, "application/json", OK_JSON);
            assertThat(read(client).status()).isEqualTo(200);
          }
        }
        // The other route, on its own upstream, is served throughout the storm.
        try (RawHttp client = RawHttp.connect(gateway.port())) {
          client.post("/v1/embeddings", "{\"input\":\"x\"}");
          other.next().respond(200, "application/json", OK_JSON);
          assertThat(read(client).status()).isEqualTo(200);
        }
      }
      assertThat(storm).isEqualTo(3);
      assertThat(healthy(gateway, sick.url())).as("ejected after unhealthy-after failures").isFalse();
      assertThat(healthy(gateway, well.url())).isTrue();
      for (int i = 0; i < 4; i++) {
        try (RawHttp client = RawHttp.connect(gateway.port())) {
          client.post(CHAT, PLAIN_BODY);
          well.next().respond(200, "application/json", OK_JSON);
          assertThat(read(client).status()).isEqualTo(200);
        }
      }
      assertThat(sick.poll()).as("the ejected endpoint gets no traffic").isNull();
      assertThat(other.poll()).isNull();
    }
  }

  // ---- garbage mid-stream -----------------------------------------------------------------------

  @Test
  void endsAStreamWithAnErrorEventWhenTheUpstreamSendsGarbageAfterItsHeaders() throws Exception {
    String head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    String event = "data: 1\n\n";
    String reply = head + Integer.toHexString(event.length()) + "\r\n" + event + "\r\n" + "zz\r\nnot a chunk\r\n";
    try (HoldingServer server = new HoldingServer(reply);
        TestGateway gateway = TestGateway.start(config("{ url: \"" + server.url() + "\" }"));
        RawHttp client = RawHttp.connect(gateway.port())) {
      long started = System.nanoTime();
      client.post(CHAT, STREAM_BODY);
      assertThat(client.readHead().status()).isEqualTo(200);
      assertThat(client.readUntil("\n\n")).isEqualTo(event);
      String rest = client.readToEnd();
      assertThat(rest).startsWith("event: error\ndata: {\"error\":")
          .contains("\"type\":\"upstream_error\"", "\"code\":\"upstream_failed\"");
      assertThat(client.endedCleanly()).as("a clean end, never a silent cut").isTrue();
      // The server holds its socket open: the error came from the garbage, not a close or a timer.
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(9));
    }
  }

  /** Answers the first connection with {@code reply} and then keeps it open until the peer closes. */
  private static final class HoldingServer implements AutoCloseable {
    private final ServerSocket server;
    private final Thread thread;

    HoldingServer(String reply) throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      thread = new Thread(() -> {
        try (Socket s = server.accept()) {
          InputStream in = s.getInputStream();
          in.read(new byte[8192]); // the request (small, one read)
          s.getOutputStream().write(reply.getBytes(StandardCharsets.US_ASCII));
          s.getOutputStream().flush();
          while (in.read() >= 0) {
            // hold the connection until the gateway closes it
          }
        } catch (IOException e) {
          // closed
        }
      }, "holding-server");
      thread.setDaemon(true);
      thread.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getLocalPort();
    }

    @Override
    public void close() throws Exception {
      server.close();
      thread.join(5_000);
    }
  }
}
