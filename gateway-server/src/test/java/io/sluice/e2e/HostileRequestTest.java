package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile HTTP over raw sockets (issue 10): request smuggling, header injection, path tricks,
 * slowloris and slow POST, connection floods. Each case proves three things: the client gets the
 * gateway's JSON error (README, "Errors"), the connection is closed when its framing can no longer
 * be trusted, and nothing reached the model server — checked by sending one honest request
 * afterwards and asserting it is the first and only one the upstream saw.
 */
class HostileRequestTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT = "/v1/chat/completions";
  private static final String HEAD = "POST " + CHAT + " HTTP/1.1\r\nHost: gateway.test\r\n"
      + "Content-Type: application/json\r\n";
  /** A request on the public listener that a smuggled one could be hidden behind. */
  private static final String SMUGGLED = "GET /admin/config HTTP/1.1\r\nHost: gateway.test\r\n\r\n";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  private void start(String limits) throws Exception {
    gateway.start((limits.isEmpty() ? "" : "limits: { " + limits + " }\n") + """
        consumers:
          - name: alice
            api-keys: [ "${ALICE_KEY}" ]
        upstreams:
          - name: models
            endpoints: [ { url: "${upstream}" } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
          - name: public
            match: { path-prefix: /public }
            upstream: models
          - name: private
            match: { path-prefix: /private }
            upstream: models
            plugins: { key-auth: {} }
        """, Map.of("ALICE_KEY", "alice-key-0123456789"));
  }

  // ---- request smuggling and malformed framing --------------------------------------------------

  static List<Arguments> smuggling() {
    String body = "{\"model\":\"m\"}";
    return List.of(
        Arguments.of("Content-Length with chunked", HEAD + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "0\r\n\r\n" + SMUGGLED),
        Arguments.of("chunked with Content-Length", HEAD + "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n"
            + "0\r\n\r\n" + SMUGGLED),
        Arguments.of("two equal Content-Lengths", HEAD + "Content-Length: 13\r\nContent-Length: 13\r\n\r\n" + body),
        Arguments.of("two different Content-Lengths", HEAD + "Content-Length: 13\r\nContent-Length: 0\r\n\r\n"
            + body),
        Arguments.of("a Content-Length list", HEAD + "Content-Length: 13, 13\r\n\r\n" + body),
        Arguments.of("a signed Content-Length", HEAD + "Content-Length: +13\r\n\r\n" + body),
        Arguments.of("a negative Content-Length", HEAD + "Content-Length: -1\r\n\r\n" + body),
        Arguments.of("gzip, chunked", HEAD + "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        Arguments.of("chunked twice", HEAD + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "0\r\n\r\n"),
        Arguments.of("identity coding", HEAD + "Transfer-Encoding: identity\r\n\r\n" + body),
        Arguments.of("an unknown coding", HEAD + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
        Arguments.of("space before the colon", HEAD + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + SMUGGLED),
        Arguments.of("chunked in HTTP/1.0", "POST " + CHAT + " HTTP/1.0\r\nHost: g\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Arguments.of("a non-hex chunk size", HEAD + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        Arguments.of("a negative chunk size", HEAD + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"),
        Arguments.of("an overflowing chunk size", HEAD + "Transfer-Encoding: chunked\r\n\r\n"
            + "fffffffffffffffff1\r\nhello\r\n0\r\n\r\n"),
        Arguments.of("a 0x chunk size", HEAD + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"),
        Arguments.of("chunk data longer than its size", HEAD + "Transfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhelloXX\r\n0\r\n\r\n" + SMUGGLED),
        Arguments.of("bare LF line ends", "POST " + CHAT + " HTTP/1.1\nHost: g\nContent-Length: 0\n\n"),
        Arguments.of("a bare CR inside a header (injection)", HEAD + "X-A: one\rX-Injected: evil\r\n"
            + "Content-Length: 0\r\n\r\n"),
        Arguments.of("a NUL inside a header", HEAD + "X-A: o\0ne\r\nContent-Length: 0\r\n\r\n"),
        Arguments.of("two Host headers", "POST " + CHAT + " HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
            + "Content-Length: 0\r\n\r\n"),
        Arguments.of("no Host in HTTP/1.1", "POST " + CHAT + " HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("smuggling")
  void refusesAmbiguousFramingWith400AndClosesWithoutForwarding(String name, String raw) throws Exception {
    start("");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(raw);
      RawHttp.Head head = client.readHead();
      assertError(head, client.readToEnd(), 400, "invalid_request_error", "malformed_request");
      assertThat(head.header("connection")).isEqualToIgnoringCase("close");
      assertThat(client.closedByPeer()).as("the connection is closed").isTrue();
    }
    assertNothingWasForwarded();
  }

  @Test
  void namesWhatWasWrongInTheErrorMessage() throws Exception {
    start("");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(HEAD + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
      RawHttp.Head head = client.readHead();
      String message = assertError(head, client.readToEnd(), 400, "invalid_request_error", "malformed_request");
      assertThat(message).isEqualTo("Content-Length cannot be combined with Transfer-Encoding");
    }
  }

  @Test
  void closesTheConnectionAfterAnsweringARequestWhoseBodyItDidNotRead() throws Exception {
    start("");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      // Answered 404 on its headers; the unread rest (a broken chunk, a smuggled request) is never parsed.
      client.send("POST /nowhere HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked\r\n\r\n"
          + "5\r\nhello\r\nzz\r\n" + SMUGGLED);
      RawHttp.Head head = client.readHead();
      assertError(head, client.readToEnd(), 404, "not_found_error", "route_not_found");
      assertThat(client.closedByPeer()).as("the connection is closed, the rest never read").isTrue();
    }
    assertNothingWasForwarded();
  }

  @Test
  void replacesAFoldedHeaderLineWithASpaceSoNoLineIsForwardedAsItsOwnHeader() throws Exception {
    // RFC 9112 §5.2 lets a server reject obs-fold or replace it with spaces; Netty's codec does the
    // latter before any gateway code sees the header, so what is forwarded is one header line.
    start("");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(HEAD + "X-Folded: one\r\n X-Injected: evil\r\nContent-Length: 2\r\n\r\n{}");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.headers.get("x-folded")).isEqualTo("one X-Injected: evil");
      assertThat(call.headers.contains("x-injected")).isFalse();
      call.respond(200, "application/json", "{}");
      assertThat(client.readHead().status()).isEqualTo(200);
      client.readToEnd();
    }
  }

  @Test
  void neverForwardsAnEncodedCrLfInThePathAsAHeader() throws Exception {
    start("");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /public/x%0d%0aX-Injected:%20evil HTTP/1.1\r\nHost: g\r\n\r\n");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.uri).isEqualTo("/public/x%0d%0aX-Injected:%20evil");
      assertThat(call.headers.contains("x-injected")).isFalse();
      call.respond(200, "application/json", "{}");
      assertThat(client.readHead().status()).isEqualTo(200);
      client.readToEnd();
    }
  }

  // ---- paths ------------------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"/public/../private", "/public/./../private/x", "//private", "/public/..//private"})
  void matchesTheNormalisedPathSoDotSegmentsCannotSkipAnotherRoutesAuth(String path) throws Exception {
    start("");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET " + path + " HTTP/1.1\r\nHost: g\r\n\r\n");
      RawHttp.Head head = client.readHead();
      assertError(head, client.readToEnd(), 401, "authentication_error", "missing_credentials");
    }
    assertNothingWasForwarded();
  }

  @ParameterizedTest
  @ValueSource(strings = {"/public/..%2fprivate", "/public/%2e%2e/private", "/public/%2E%2e/%2e%2E/admin/config",
      "/public%2f..%2f..%2fadmin"})
  void refusesEncodedSlashesAndDotsAsBadPath(String path) throws Exception {
    start("");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET " + path + " HTTP/1.1\r\nHost: g\r\n\r\n");
      RawHttp.Head head = client.readHead();
      assertError(head, client.readToEnd(), 400, "invalid_request_error", "bad_path");
    }
    assertNothingWasForwarded();
  }

  @ParameterizedTest
  @ValueSource(strings = {"/admin/config", "/public/../admin/config", "/metrics", "/admin/reload"})
  void neverServesTheAdminApiOnThePublicListener(String path) throws Exception {
    start("");
    for (String target : List.of(path, "http://127.0.0.1:" + gateway.adminPort() + path)) {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + gateway.adminPort() + "\r\n\r\n");
        RawHttp.Head head = client.readHead();
        assertError(head, client.readToEnd(), 404, "not_found_error", "route_not_found");
      }
    }
    assertNothingWasForwarded();
  }

  // ---- slowloris and slow POST ------------------------------------------------------------------

  @Test
  void answers408ToHeadersTrickledSlowerThanTheHeaderTimeout() throws Exception {
    start("request-header-timeout: 500ms");
    try (RawHttp client = RawHttp.connect(gateway.port());
        Trickler trickle = new Trickler(client, HEAD, "X-Slow: %d\r\n")) {
      RawHttp.Head head = client.readHead(); // arrives while header lines keep coming
      assertError(head, client.readToEnd(), 408, "invalid_request_error", "request_timeout");
      assertThat(head.header("connection")).isEqualToIgnoringCase("close");
      assertThat(trickle.linesSent()).as("the client was still sending").isGreaterThan(1);
    }
    assertNothingWasForwarded();
  }

  @Test
  void answers408ToTheUnfinishedHeadersOfAKeptAliveConnectionsNextRequest() throws Exception {
    start("request-header-timeout: 500ms");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /nowhere HTTP/1.1\r\nHost: gateway.test\r\n\r\n");
      assertThat(client.readHead().status()).isEqualTo(404);
      client.readToEnd();
      client.send("GET /nowhere HTTP/1.1\r\nHost: gateway.test\r\n"); // the blank line never comes
      RawHttp.Head head = client.readHead();
      assertError(head, client.readToEnd(), 408, "invalid_request_error", "request_timeout");
      assertThat(client.closedByPeer()).isTrue();
    }
  }

  @Test
  void closesAKeptAliveConnectionThatStaysSilentForTheIdleTimeout() throws Exception {
    start("idle-timeout: 500ms");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /nowhere HTTP/1.1\r\nHost: gateway.test\r\n\r\n");
      assertThat(client.readHead().status()).isEqualTo(404);
      client.readToEnd();
      // No next request: the header timeout (10 s) does not run between requests, the idle one does.
      assertThat(client.closedByPeer()).as("closed, without an answer").isTrue();
    }
  }

  @Test
  void answers408ToABodyTrickledSlowerThanTheBodyTimeout() throws Exception {
    start("request-body-timeout: 500ms");
    try (RawHttp client = RawHttp.connect(gateway.port());
        Trickler trickle = new Trickler(client, HEAD + "Content-Length: 100000\r\n\r\n{\"p\":\"", "x")) {
      RawHttp.Head head = client.readHead();
      String message = assertError(head, client.readToEnd(), 408, "invalid_request_error", "request_timeout");
      assertThat(message).contains("body");
      assertThat(client.closedByPeer()).isTrue();
      assertThat(trickle.linesSent()).as("the client was still sending").isGreaterThan(1);
    }
    assertNothingWasForwarded();
  }

  @Test
  void doesNotTimeOutABodyThatArrivesInTime() throws Exception {
    start("request-body-timeout: 5s");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(HEAD + "Content-Length: 2\r\n\r\n{");
      client.send("}");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.body).isEqualTo("{}");
      call.respond(200, "application/json", "{}");
      assertThat(client.readHead().status()).isEqualTo(200);
      client.readToEnd();
    }
  }

  // ---- connection flood -------------------------------------------------------------------------

  @Test
  void holdsMaxConnectionsUnderAFloodAndKeepsServing() throws Exception {
    int max = 20;
    int flood = 150;
    start("max-connections: " + max);
    List<RawHttp> clients = new ArrayList<>();
    try {
      for (int i = 0; i < flood; i++) {
        clients.add(RawHttp.connect(gateway.port()));
      }
      int served = 0;
      int refused = 0;
      for (RawHttp client : clients) {
        try {
          client.send("GET /nowhere HTTP/1.1\r\nHost: g\r\n\r\n");
        } catch (IOException e) {
          // already closed by the gateway after its 503: read below
        }
      }
      for (RawHttp client : clients) {
        RawHttp.Head head;
        try {
          head = client.readHead();
        } catch (IOException e) {
          refused++; // reset after the 503 was written: the request bytes hit a closed socket
          continue;
        }
        String body = client.readToEnd();
        if (head.status() == 503) {
          assertError(head, body, 503, "upstream_error", "too_many_connections");
          refused++;
        } else {
          assertThat(head.status()).isEqualTo(404);
          served++;
        }
      }
      assertThat(served).as("exactly max-connections were served").isEqualTo(max);
      assertThat(refused).isEqualTo(flood - max);
    } finally {
      for (RawHttp client : clients) {
        client.close();
      }
    }
    // Once the flood is gone, the gateway serves again (closes are noticed asynchronously).
    UpstreamFixtures.await("a new connection is served", Duration.ofSeconds(10), () -> {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.send("GET /nowhere HTTP/1.1\r\nHost: g\r\n\r\n");
        int status = client.readHead().status();
        client.readToEnd();
        return status == 404;
      } catch (IOException e) {
        return false;
      }
    });
    assertNothingWasForwarded();
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /**
   * Proves nothing from the hostile exchange reached the upstream: an honest request on a new
   * connection must be the first and only one the upstream sees.
   */
  private void assertNothingWasForwarded() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post(CHAT, "{\"honest\":true}");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.body).as("the first request the upstream saw").isEqualTo("{\"honest\":true}");
      call.respond(200, "application/json", "{}");
      assertThat(client.readHead().status()).isEqualTo(200);
      client.readToEnd();
    }
    assertThat(gateway.upstream().poll()).isNull();
  }

  private static String assertError(RawHttp.Head head, String body, int status, String type, String code)
      throws Exception {
    assertThat(head.status()).as("status; body: %s", body).isEqualTo(status);
    assertThat(head.header("content-type")).startsWith("application/json");
    assertThat(head.header("x-request-id")).isNotBlank();
    JsonNode error = JSON.readTree(body).path("error");
    assertThat(error.path("type").asText()).as(body).isEqualTo(type);
    assertThat(error.path("code").asText()).as(body).isEqualTo(code);
    assertThat(error.path("message").asText()).isNotBlank();
    return error.path("message").asText();
  }

  /**
   * Sends {@code first}, then {@code repeat} (formatted with a counter) every 100 ms from its own
   * thread until the socket breaks or it is closed: the pace of a slowloris client. The pace only
   * makes the attack; the test waits on the gateway's answer, not on this timer.
   */
  private static final class Trickler implements AutoCloseable {
    private final Thread thread;
    private final CountDownLatch stop = new CountDownLatch(1);
    private volatile int sent;

    Trickler(RawHttp client, String first, String repeat) throws IOException {
      client.send(first);
      thread = new Thread(() -> {
        try {
          while (!stop.await(100, TimeUnit.MILLISECONDS)) {
            client.send(String.format(repeat, sent));
            sent++;
          }
        } catch (IOException | InterruptedException e) {
          // the gateway closed the connection: the attack is over
        }
      }, "trickler");
      thread.setDaemon(true);
      thread.start();
    }

    int linesSent() {
      return sent;
    }

    @Override
    public void close() throws InterruptedException {
      stop.countDown();
      thread.join(5_000);
    }
  }
}
