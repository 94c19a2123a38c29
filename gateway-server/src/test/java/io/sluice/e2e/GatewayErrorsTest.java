package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Errors the gateway produces itself (README, "Errors"): exact status, OpenAI-style JSON body
 * with the documented type and code, and an {@code X-Request-Id} on every one.
 */
class GatewayErrorsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  /** A request the gateway answers itself and keeps the connection open after. */
  private static final String KEEP_ALIVE_405 = "GET /v1/chat/completions HTTP/1.1\r\nHost: gateway.test\r\n\r\n";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  /** A chat route (POST only) with these extra top-level config lines. */
  private void startGateway(String extra) throws Exception {
    gateway.start(extra + """

        upstreams:
          - name: models
            endpoints: [ { url: "${upstream}" } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
        """);
  }

  /** Asserts an error response of the documented shape; returns its message. */
  private static String assertError(RawHttp.Head head, String body, int status, String type, String code)
      throws Exception {
    assertThat(head.status()).as("status; body: %s", body).isEqualTo(status);
    assertThat(head.header("content-type")).startsWith("application/json");
    assertThat(head.header("x-request-id")).as("X-Request-Id").isNotBlank();
    return assertErrorBody(body, type, code);
  }

  private static String assertErrorBody(String body, String type, String code) throws Exception {
    JsonNode json = JSON.readTree(body);
    assertThat(json.size()).as("only 'error' at the top: %s", body).isEqualTo(1);
    JsonNode error = json.get("error");
    assertThat(error).as("'error' object in %s", body).isNotNull();
    assertThat(error.get("type").asText()).isEqualTo(type);
    assertThat(error.get("code").asText()).isEqualTo(code);
    assertThat(error.get("message").isTextual()).isTrue();
    assertThat(error.get("message").asText()).isNotBlank();
    return error.get("message").asText();
  }

  /** Sends raw bytes on a fresh connection and checks the error that comes back. */
  private void assertRawError(String raw, int status, String type, String code) throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(raw);
      RawHttp.Head head = client.readHead();
      assertError(head, client.readToEnd(), status, type, code);
    }
  }

  @Test
  void answersRouteNotFoundForAnUnknownPath() throws Exception {
    startGateway("");
    assertRawError("GET /v2/nothing-here HTTP/1.1\r\nHost: gateway.test\r\n\r\n",
        404, "not_found_error", "route_not_found");
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void echoesTheClientsRequestIdOnAnError() throws Exception {
    startGateway("");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /nope HTTP/1.1\r\nHost: gateway.test\r\nX-Request-Id: err-7\r\n\r\n");
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(404);
      assertThat(head.header("x-request-id")).isEqualTo("err-7");
      client.readToEnd();
    }
  }

  @Test
  void answersMethodNotAllowedWithAnAllowHeader() throws Exception {
    startGateway("");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /v1/chat/completions HTTP/1.1\r\nHost: gateway.test\r\n\r\n");
      RawHttp.Head head = client.readHead();
      assertError(head, client.readToEnd(), 405, "invalid_request_error", "method_not_allowed");
      assertThat(head.header("allow")).isEqualTo("POST");
    }
    assertThat(gateway.upstream().poll()).isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "/v1/chat%2Fcompletions",
      "/v1/chat%2fcompletions",
      "/v1/%2e%2e/admin/config",
      "/v1/%2E%2E/chat/completions",
      "/../v1/chat/completions",
      "/v1/../../chat/completions"})
  void refusesEncodedSeparatorsAndClimbingAboveTheRootAsBadPath(String path) throws Exception {
    startGateway("");
    assertRawError("POST " + path + " HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 0\r\n\r\n",
        400, "invalid_request_error", "bad_path");
    assertThat(gateway.upstream().poll()).isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "GARBAGE\r\n\r\n",
      "this is not http\r\n\r\n",
      "GET / HTTP/1.1\r\nHost x\r\n\r\n"})
  void answersMalformedRequestForGarbage(String raw) throws Exception {
    startGateway("");
    assertRawError(raw, 400, "invalid_request_error", "malformed_request");
  }

  @Test
  void refusesADeclaredBodyOverTheLimitBeforeReadingIt() throws Exception {
    startGateway("limits: { max-request-body: 1KiB }");
    // Headers only: the gateway must answer from the Content-Length, not wait for 2 KiB.
    assertRawError("POST /v1/chat/completions HTTP/1.1\r\nHost: gateway.test\r\n"
            + "Content-Type: application/json\r\nContent-Length: 2048\r\n\r\n",
        413, "invalid_request_error", "body_too_large");
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void refusesAChunkedBodyThatGrowsOverTheLimit() throws Exception {
    startGateway("limits: { max-request-body: 1KiB }");
    String chunk = "x".repeat(600);
    // No terminating chunk: the second chunk alone crosses the limit.
    assertRawError("POST /v1/chat/completions HTTP/1.1\r\nHost: gateway.test\r\n"
            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "258\r\n" + chunk + "\r\n" + "258\r\n" + chunk + "\r\n",
        413, "invalid_request_error", "body_too_large");
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void acceptsABodyExactlyAtTheLimit() throws Exception {
    startGateway("limits: { max-request-body: 1KiB }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{\"p\":\"" + "x".repeat(1024 - 8) + "\"}");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.body).hasSize(1024);
      call.respond(200, "application/json", "{}");
      assertThat(client.readHead().status()).isEqualTo(200);
      client.readToEnd();
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1030, 4000})
  void answersUriTooLongOverTheLimit(int uriLength) throws Exception {
    // 1030 is within the codec's request-line slack, 4000 beyond it: both are the same error.
    startGateway("limits: { max-uri-length: 1KiB }");
    String uri = "/v1/chat/completions?q=" + "a".repeat(uriLength - 23);
    assertThat(uri).hasSize(uriLength);
    assertRawError("POST " + uri + " HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 0\r\n\r\n",
        414, "invalid_request_error", "uri_too_long");
  }

  @Test
  void answersHeadersTooLargeOverTheLimit() throws Exception {
    startGateway("limits: { max-header-size: 1KiB }");
    assertRawError("POST /v1/chat/completions HTTP/1.1\r\nHost: gateway.test\r\n"
            + "X-Big: " + "b".repeat(2048) + "\r\nContent-Length: 0\r\n\r\n",
        431, "invalid_request_error", "headers_too_large");
  }

  @Test
  void answersRequestTimeoutWhenHeadersDoNotArriveInTime() throws Exception {
    startGateway("limits: { request-header-timeout: 300ms }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("POST /v1/chat/compl"); // half a request line, then nothing
      RawHttp.Head head = client.readHead();
      assertError(head, client.readToEnd(), 408, "invalid_request_error", "request_timeout");
      assertThat(head.header("connection")).isEqualToIgnoringCase("close");
      assertThat(client.closedByPeer()).isTrue();
    }
  }

  @Test
  void refusesAConnectionOverMaxConnectionsWith503() throws Exception {
    startGateway("limits: { max-connections: 1 }");
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      // A full exchange on the first connection proves the gateway has counted it; a 405 is
      // answered after the (empty) body was read, so the connection stays open.
      first.send(KEEP_ALIVE_405);
      assertThat(first.readHead().status()).isEqualTo(405);
      first.readToEnd();
      try (RawHttp second = RawHttp.connect(gateway.port())) {
        RawHttp.Head head = second.readHead();
        assertError(head, second.readToEnd(), 503, "upstream_error", "too_many_connections");
        assertThat(second.closedByPeer()).isTrue();
      }
      // The first connection still works.
      first.send(KEEP_ALIVE_405);
      assertThat(first.readHead().status()).isEqualTo(405);
      first.readToEnd();
    }
  }

  @Test
  void closesAConnectionIdleForIdleTimeout() throws Exception {
    startGateway("limits: { idle-timeout: 300ms }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(KEEP_ALIVE_405);
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(405);
      assertThat(head.header("connection")).as("kept alive after the answer").isNull();
      client.readToEnd();
      // Nothing more either way: the gateway closes (not the 10 s read timeout of RawHttp).
      assertThat(client.closedByPeer()).isTrue();
    }
  }

  @Test
  void answersErrorsWithJsonThroughAStandardClientToo() throws Exception {
    startGateway("");
    HttpResponse<String> response = HTTP.send(
        HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions"))).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(405);
    assertThat(response.headers().firstValue("allow")).hasValue("POST");
    assertThat(response.headers().firstValue("x-request-id")).isPresent();
    assertErrorBody(response.body(), "invalid_request_error", "method_not_allowed");
  }
}
