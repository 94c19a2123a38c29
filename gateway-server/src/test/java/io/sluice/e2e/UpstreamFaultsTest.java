package io.sluice.e2e;

import static io.sluice.e2e.UpstreamFixtures.CHAT;
import static io.sluice.e2e.UpstreamFixtures.OK_JSON;
import static io.sluice.e2e.UpstreamFixtures.PLAIN_BODY;
import static io.sluice.e2e.UpstreamFixtures.STREAM_BODY;
import static io.sluice.e2e.UpstreamFixtures.assertErrorMessage;
import static io.sluice.e2e.UpstreamFixtures.assertGatewayError;
import static io.sluice.e2e.UpstreamFixtures.nextArrival;
import static io.sluice.e2e.UpstreamFixtures.post;
import static io.sluice.e2e.UpstreamFixtures.read;
import static io.sluice.e2e.UpstreamFixtures.refusedPort;
import static io.sluice.e2e.UpstreamFixtures.upstreamRequests;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.HttpHeaders;
import io.sluice.e2e.UpstreamFixtures.Arrival;
import io.sluice.e2e.UpstreamFixtures.GarbageServer;
import io.sluice.e2e.UpstreamFixtures.Reply;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Upstream failures over real sockets: refused connections, resets, timeouts, garbage, exhausted
 * pools and 5xx answers, and what the client sees for each (README, "Configuration walkthrough" for
 * {@code upstreams}, "Errors").
 */
class UpstreamFaultsTest {

  private static String config(String endpoints, String upstreamExtra, String routeExtra) {
    return """
        upstreams:
          - name: models
            endpoints: [ %s ]
            balancer: round-robin
            connect-timeout: 2s
        %s
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
        %s
        """.formatted(endpoints, indent(upstreamExtra, 4), indent(routeExtra, 4));
  }

  private static String indent(String text, int n) {
    return text.isEmpty() ? "" : text.indent(n).stripTrailing();
  }

  private static String endpoint(String url) {
    return "{ url: \"" + url + "\" }";
  }

  // ---- connect failures -----------------------------------------------------------------------

  @Test
  void answers502UpstreamFailedWhenTheOnlyEndpointRefusesConnections() throws Exception {
    int port = refusedPort();
    String dead = "http://127.0.0.1:" + port;
    try (TestGateway gateway = TestGateway.start(config(endpoint(dead), "", ""))) {
      Reply reply = post(gateway);
      assertGatewayError(reply, 502, "upstream_failed");
      assertErrorMessage(reply.body(), "upstream 'models' failed before responding", port);
    }
  }

  @Test
  void retriesARefusedConnectionOnTheOtherEndpoint() throws Exception {
    String dead = "http://127.0.0.1:" + refusedPort();
    try (FakeUpstream live = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(
            endpoint(dead) + ", " + endpoint(live.url()), "retries: 1", ""))) {
      // Round-robin starts on one of the two; whichever it is, both requests must succeed.
      for (int i = 0; i < 2; i++) {
        try (RawHttp client = RawHttp.connect(gateway.port())) {
          client.post(CHAT, PLAIN_BODY);
          live.next().respond(200, "application/json", OK_JSON);
          Reply reply = read(client);
          assertThat(reply.status()).isEqualTo(200);
          assertThat(reply.body()).isEqualTo(OK_JSON);
        }
      }
      assertThat(live.poll()).isNull();
    }
  }

  @Test
  void doesNotRetryWhenRetriesIsZero() throws Exception {
    String dead = "http://127.0.0.1:" + refusedPort();
    try (FakeUpstream live = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(
            endpoint(dead) + ", " + endpoint(live.url()), "retries: 0", ""))) {
      // Round-robin over two endpoints: one of two consecutive requests goes to the dead one
      // first, and with no retry it must fail instead of moving on.
      int failures = 0;
      for (int i = 0; i < 2; i++) {
        try (RawHttp client = RawHttp.connect(gateway.port())) {
          client.post(CHAT, PLAIN_BODY);
          // Either the dead endpoint was picked (502 at once) or the live one gets the request.
          Reply reply = readOrAnswer(client, live);
          if (reply.status() == 502) {
            assertGatewayError(reply, 502, "upstream_failed");
            failures++;
          } else {
            assertThat(reply.status()).isEqualTo(200);
          }
        }
      }
      assertThat(failures).as("exactly the request that went to the dead endpoint failed").isEqualTo(1);
      assertThat(live.poll()).as("the failed request was not retried on the live endpoint").isNull();
    }
  }

  /** Waits for either the gateway's answer or the live fake receiving the request (then answers it). */
  private static Reply readOrAnswer(RawHttp client, FakeUpstream live) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      FakeUpstream.Call call = live.poll();
      if (call != null) {
        call.respond(200, "application/json", OK_JSON);
        return read(client);
      }
      if (client.hasData()) {
        return read(client);
      }
      Thread.sleep(5); // polling for whichever happens first
    }
    throw new AssertionError("neither an answer nor an upstream request within 10s");
  }

  @Test
  void answers502WhenTheConnectToTheOnlyEndpointTimesOut() throws Exception {
    try (BlackHole hole = BlackHole.open();
        TestGateway gateway = TestGateway.start(config(endpoint(hole.url()), "", "")
            .replace("connect-timeout: 2s", "connect-timeout: 300ms"))) {
      // Without the gateway's connect timeout the kernel retries the SYN for about two minutes,
      // past the client's 10 s read timeout.
      Reply reply = post(gateway);
      assertGatewayError(reply, 502, "upstream_failed");
      assertErrorMessage(reply.body(), "upstream 'models' failed before responding", hole.port());
      String metrics = gateway.admin("/metrics").body();
      assertThat(upstreamRequests(metrics, "models", hole.url(), "connect_error")).contains(1.0);
    }
  }

  /**
   * A listening port whose accept queue is full and never drained: the kernel drops further SYNs
   * (tcp_abort_on_overflow off, Linux's default), so a connect to it neither succeeds nor fails.
   */
  private record BlackHole(ServerSocket server, List<Socket> fillers) implements AutoCloseable {
    static BlackHole open() throws IOException {
      ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
      List<Socket> fillers = new ArrayList<>();
      for (int i = 0; i < 8; i++) { // the queue holds backlog + 1 on Linux; the first connect that hangs says it is full
        Socket s = new Socket();
        fillers.add(s);
        try {
          s.connect(server.getLocalSocketAddress(), 200);
        } catch (SocketTimeoutException full) {
          return new BlackHole(server, fillers);
        }
      }
      throw new IllegalStateException("the accept queue never filled");
    }

    int port() {
      return server.getLocalPort();
    }

    String url() {
      return "http://127.0.0.1:" + port();
    }

    @Override
    public void close() throws IOException {
      for (Socket s : fillers) {
        s.close();
      }
      server.close();
    }
  }

  // ---- resets ---------------------------------------------------------------------------------

  @Test
  void retriesAResetBeforeAnyResponseByteOnTheOtherEndpoint() throws Exception {
    try (FakeUpstream a = FakeUpstream.start();
        FakeUpstream b = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(
            endpoint(a.url()) + ", " + endpoint(b.url()), "retries: 1", ""))) {
      FakeUpstream[] fakes = {a, b};
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post(CHAT, STREAM_BODY);
        Arrival first = nextArrival(a, b);
        first.call().reset();
        FakeUpstream other = fakes[1 - first.index()];
        FakeUpstream.Call retried = other.next();
        assertThat(retried.body).contains("\"model\":\"m\"");
        retried.startSse().send("data: hi\n\n").send("data: [DONE]\n\n").end();
        RawHttp.Head head = client.readHead();
        assertThat(head.status()).isEqualTo(200);
        assertThat(client.readToEnd()).isEqualTo("data: hi\n\ndata: [DONE]\n\n");
        assertThat(client.endedCleanly()).isTrue();
      }
      assertThat(fakes[0].poll()).isNull();
      assertThat(fakes[1].poll()).isNull();
    }
  }

  @Test
  void retriesAResetBeforeAnyResponseByteOnANewConnectionToTheOnlyEndpoint() throws Exception {
    try (FakeUpstream only = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(only.url()), "retries: 1", ""))) {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post(CHAT, PLAIN_BODY);
        only.next().reset(); // the whole request was read, not a byte answered
        FakeUpstream.Call retried = only.next();
        assertThat(retried.body).isEqualTo(PLAIN_BODY);
        retried.respond(200, "application/json", OK_JSON);
        Reply reply = read(client);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.body()).isEqualTo(OK_JSON);
      }
      assertThat(only.connections()).as("the retry went out on a new connection").isEqualTo(2);
      assertThat(only.poll()).isNull();
      String metrics = gateway.admin("/metrics").body();
      assertThat(upstreamRequests(metrics, "models", only.url(), "reset")).contains(1.0);
      assertThat(upstreamRequests(metrics, "models", only.url(), "success")).contains(1.0);
    }
  }

  /**
   * The first attempt sends the forwarded headers themselves, a retry a copy of them as that
   * attempt left them (ForwardRequest.toSend): the retry must still carry exactly the first
   * attempt's headers, in the same order, with nothing doubled.
   */
  @Test
  void aRetrySendsExactlyTheHeadersOfTheFirstAttempt() throws Exception {
    try (FakeUpstream only = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(only.url()), "retries: 1",
            "request-headers: { set: { x-route: r1 }, remove: [ x-drop ] }"))) {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post(CHAT, PLAIN_BODY, "X-Forwarded-For: 203.0.113.9", "X-Drop: gone", "X-Custom: a",
            "X-Custom: b", "Connection: keep-alive, x-hop", "X-Hop: never");
        FakeUpstream.Call first = only.next();
        List<String> sent = lines(first.headers);
        first.reset();
        FakeUpstream.Call retried = only.next();
        assertThat(lines(retried.headers)).isEqualTo(sent);
        assertThat(retried.headers.getAll("x-custom")).containsExactly("a", "b");
        assertThat(retried.headers.getAll("host")).hasSize(1);
        assertThat(retried.headers.get("x-forwarded-for")).isEqualTo("203.0.113.9, 127.0.0.1");
        assertThat(retried.headers.get("x-route")).isEqualTo("r1");
        assertThat(retried.headers.contains("x-drop")).isFalse();
        assertThat(retried.headers.contains("x-hop")).isFalse();
        retried.respond(200, "application/json", OK_JSON);
        assertThat(read(client).status()).isEqualTo(200);
      }
    }
  }

  /** Each header as {@code name: value}, in the order received. */
  private static List<String> lines(HttpHeaders headers) {
    List<String> lines = new ArrayList<>();
    headers.forEach(e -> lines.add(e.getKey() + ": " + e.getValue()));
    return lines;
  }

  @Test
  void retriesAConnectionResetRightAfterTheAcceptOnTheOnlyEndpoint() throws Exception {
    try (FakeUpstream only = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(only.url()), "", ""))) { // default retries: 1
      only.resetNextConnections(1);
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post(CHAT, STREAM_BODY);
        only.next().startSse().send("data: hi\n\n").send("data: [DONE]\n\n").end();
        RawHttp.Head head = client.readHead();
        assertThat(head.status()).isEqualTo(200);
        assertThat(client.readToEnd()).isEqualTo("data: hi\n\ndata: [DONE]\n\n");
        assertThat(client.endedCleanly()).isTrue();
      }
      assertThat(only.connections()).isEqualTo(2);
      String metrics = gateway.admin("/metrics").body();
      assertThat(upstreamRequests(metrics, "models", only.url(), "reset")).contains(1.0);
      assertThat(upstreamRequests(metrics, "models", only.url(), "success")).contains(1.0);
    }
  }

  @Test
  void answers502WhenTheOnlyEndpointResetsTheRetryToo() throws Exception {
    try (FakeUpstream only = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(only.url()), "retries: 1", ""))) {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post(CHAT, PLAIN_BODY);
        only.next().reset();
        only.next().reset();
        Reply reply = read(client);
        assertGatewayError(reply, 502, "upstream_failed");
        assertErrorMessage(reply.body(), "upstream 'models' failed before responding", only.port());
      }
      assertThat(only.poll()).as("retries: 1 allows one retry, no more").isNull();
      String metrics = gateway.admin("/metrics").body();
      assertThat(upstreamRequests(metrics, "models", only.url(), "reset")).contains(2.0);
    }
  }

  @Test
  void doesNotRetryAResetWhenRetriesIsZero() throws Exception {
    try (FakeUpstream only = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(only.url()), "retries: 0", ""))) {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post(CHAT, PLAIN_BODY);
        only.next().reset();
        assertGatewayError(read(client), 502, "upstream_failed");
      }
      assertThat(only.poll()).as("retries: 0 means no retry").isNull();
    }
  }

  // ---- timeouts -------------------------------------------------------------------------------

  @Test
  void answers504AndClosesTheUpstreamWhenNoResponseArrivesWithinFirstByteTimeout() throws Exception {
    try (FakeUpstream silent = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(silent.url()), "first-byte-timeout: 300ms", ""))) {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post(CHAT, STREAM_BODY);
        FakeUpstream.Call call = silent.next(); // and never answered
        assertGatewayError(read(client), 504, "upstream_timeout");
        assertThat(call.awaitClosed(Duration.ofSeconds(5)))
            .as("the gateway closed the upstream connection it gave up on").isTrue();
      }
      assertThat(silent.poll()).as("a timeout is not retried (the model may be generating)").isNull();
    }
  }

  @Test
  void endsAStreamThatOutlivesTheRouteTimeoutWithAnErrorEventAndACleanEnd() throws Exception {
    try (FakeUpstream upstream = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(upstream.url()), "", "timeout: 500ms"))) {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post(CHAT, STREAM_BODY);
        FakeUpstream.Call call = upstream.next().startSse();
        assertThat(client.readHead().status()).isEqualTo(200);
        // The stream keeps going, event after event, until the gateway cuts it.
        String event = "";
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!event.startsWith("event: error") && System.nanoTime() < deadline) {
          call.send("data: {\"choices\":[{\"delta\":{\"content\":\"tick\"}}]}\n\n");
          event = client.readUntil("\n\n");
        }
        assertThat(event).startsWith("event: error\ndata: {\"error\":")
            .contains("\"type\":\"upstream_error\"", "\"code\":\"upstream_timeout\"");
        client.readToEnd();
        assertThat(client.endedCleanly()).as("the chunked body is terminated, not cut").isTrue();
        assertThat(call.awaitClosed(Duration.ofSeconds(5))).as("the generation is stopped").isTrue();
      }
    }
  }

  // ---- pool limits and reuse ------------------------------------------------------------------

  @Test
  void refusesASecondConcurrentStreamWhenTheEndpointHasItsOneConnectionInUse() throws Exception {
    try (FakeUpstream upstream = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(upstream.url()), "max-connections-per-endpoint: 1", ""));
        RawHttp first = RawHttp.connect(gateway.port())) {
      first.post(CHAT, STREAM_BODY);
      FakeUpstream.Call call = upstream.next().startSse().send("data: 1\n\n");
      assertThat(first.readHead().status()).isEqualTo(200);
      assertThat(first.readUntil("\n\n")).isEqualTo("data: 1\n\n");

      try (RawHttp second = RawHttp.connect(gateway.port())) {
        second.post(CHAT, STREAM_BODY);
        assertGatewayError(read(second), 502, "upstream_failed");
      }
      assertThat(upstream.poll()).isNull();
      assertThat(upstream.connections()).isEqualTo(1);

      call.send("data: 2\n\n");
      assertThat(first.readUntil("\n\n")).as("the first stream is unaffected").isEqualTo("data: 2\n\n");
      call.send("data: [DONE]\n\n").end();
      assertThat(first.readToEnd()).isEqualTo("data: [DONE]\n\n");
      assertThat(first.endedCleanly()).isTrue();
    }
  }

  @Test
  void reusesOneKeepAliveUpstreamConnectionForSequentialRequests() throws Exception {
    try (FakeUpstream upstream = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(upstream.url()), "", ""));
        RawHttp client = RawHttp.connect(gateway.port())) {
      for (int i = 0; i < 2; i++) {
        client.post(CHAT, PLAIN_BODY);
        upstream.next().respond(200, "application/json", OK_JSON);
        Reply reply = read(client);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.body()).isEqualTo(OK_JSON);
      }
      assertThat(upstream.connections()).isEqualTo(1);
    }
  }

  @Test
  void doesNotReuseAnUpstreamConnectionWhoseResponseSaidConnectionClose() throws Exception {
    try (FakeUpstream upstream = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(upstream.url()), "", ""));
        RawHttp client = RawHttp.connect(gateway.port())) {
      client.post(CHAT, PLAIN_BODY);
      FakeUpstream.Call first = upstream.next();
      // The fake leaves the socket open: only the header says the connection is done.
      first.start(200, Map.of("Content-Type", "application/json", "Connection", "close"))
          .send(OK_JSON).end();
      Reply reply = read(client);
      assertThat(reply.status()).isEqualTo(200);
      assertThat(reply.body()).isEqualTo(OK_JSON);
      assertThat(first.awaitClosed(Duration.ofSeconds(5)))
          .as("the gateway closes a connection the upstream declared done").isTrue();

      client.post(CHAT, PLAIN_BODY);
      upstream.next().respond(200, "application/json", OK_JSON);
      assertThat(read(client).status()).isEqualTo(200);
      assertThat(upstream.connections()).isEqualTo(2);
    }
  }

  // ---- broken answers -------------------------------------------------------------------------

  @Test
  void answers502WhenTheUpstreamAnswersSomethingThatIsNotHttp() throws Exception {
    try (GarbageServer garbage = new GarbageServer("hello\r\n\r\n");
        TestGateway gateway = TestGateway.start(config(endpoint(garbage.url()), "first-byte-timeout: 30s", ""))) {
      // first-byte-timeout is long: a 502 must come from noticing the garbage, not from a timer.
      long started = System.nanoTime();
      Reply reply = post(gateway);
      assertGatewayError(reply, 502, "upstream_failed");
      assertErrorMessage(reply.body(), "upstream 'models' sent an invalid HTTP response", garbage.port());
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(9));
    }
  }

  @Test
  void relaysAnUpstream5xxAnswerAsItIs() throws Exception {
    String body = "{\"error\":{\"message\":\"model crashed\",\"type\":\"server_error\"}}";
    try (FakeUpstream upstream = FakeUpstream.start();
        TestGateway gateway = TestGateway.start(config(endpoint(upstream.url()), "", ""))) {
      for (int status : new int[] {500, 502}) {
        try (RawHttp client = RawHttp.connect(gateway.port())) {
          client.post(CHAT, PLAIN_BODY);
          upstream.next().respond(status, "application/json", body);
          Reply reply = read(client);
          assertThat(reply.status()).isEqualTo(status);
          assertThat(reply.head().header("content-type")).isEqualTo("application/json");
          assertThat(reply.body()).isEqualTo(body);
        }
      }
      assertThat(upstream.poll()).as("an answered request is never retried").isNull();
    }
  }
}
