package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code cors} over real sockets: preflights answered by the gateway before method matching, auth
 * and the upstream; CORS headers on streamed responses and on the gateway's own refusals.
 */
class CorsPluginTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String APP = "https://app.example";
  private static final String CHAT = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}";
  private static final String EXPOSED = "X-Request-Id, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, "
      + "x-ratelimit-reset-tokens, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, "
      + "x-ratelimit-reset-requests, Retry-After";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams:
        - name: models
          endpoints: [ { url: "${upstream}" } ]
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions, methods: [POST] }
          upstream: models
          plugins:
            cors: { allow-origins: [ "https://app.example" ] }
        - name: events
          match: { path-prefix: /v1/events, methods: [GET] }
          upstream: models
          plugins:
            cors: { allow-origins: [ "https://app.example", "http://localhost:3000" ], allow-credentials: true }
        - name: guarded
          match: { path-prefix: /v1/guarded, methods: [POST] }
          upstream: models
          plugins:
            ip-restriction: { deny: [ 127.0.0.1 ] }
            cors: { allow-origins: [ "https://app.example" ] }
        - name: plain
          match: { path-prefix: /v1/plain, methods: [POST] }
          upstream: models
      """);

  private static String preflight(String path, String origin, String method, String requestHeaders) {
    return "OPTIONS " + path + " HTTP/1.1\r\nHost: gateway.test\r\nOrigin: " + origin + "\r\n"
        + "Access-Control-Request-Method: " + method + "\r\n"
        + (requestHeaders == null ? "" : "Access-Control-Request-Headers: " + requestHeaders + "\r\n") + "\r\n";
  }

  private static JsonNode error(String body) throws Exception {
    return JSON.readTree(body).get("error");
  }

  private void assertUpstreamUntouched() {
    assertThat(gateway.upstream().connections()).isZero();
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void answersAPreflightForAPostOnlyRouteWithoutTheUpstream() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(preflight("/v1/chat/completions", APP, "POST", "authorization, content-type"));
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(204);
      assertThat(head.header("access-control-allow-origin")).isEqualTo(APP);
      assertThat(head.header("vary")).isEqualTo("Origin");
      assertThat(head.header("access-control-allow-methods")).isEqualTo("GET, POST, OPTIONS");
      assertThat(head.header("access-control-allow-headers"))
          .isEqualTo("Authorization, Content-Type, Last-Event-ID, X-Request-Id");
      assertThat(head.header("access-control-max-age")).isEqualTo("600");
      assertThat(head.header("access-control-allow-credentials")).isNull();
      assertThat(head.header("x-request-id")).isNotBlank();
      assertThat(client.readToEnd()).isEmpty();

      // Kept alive: a second preflight on the same connection is answered the same way.
      client.send(preflight("/v1/chat/completions", APP, "POST", null));
      assertThat(client.readHead().status()).isEqualTo(204);
    }
    assertUpstreamUntouched();
  }

  @Test
  void refusesAPreflightFromAnUnlistedOrigin() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(preflight("/v1/chat/completions", "https://evil.example", "POST", "authorization"));
      RawHttp.Head head = client.readHead();
      String body = client.readToEnd();
      assertThat(head.status()).as(body).isEqualTo(403);
      assertThat(head.header("access-control-allow-origin")).isNull();
      JsonNode error = error(body);
      assertThat(error.get("type").asText()).isEqualTo("permission_error");
      assertThat(error.get("code").asText()).isEqualTo("origin_not_allowed");
    }
    assertUpstreamUntouched();
  }

  @Test
  void aPreflightOnARouteWithoutCorsIsStillA405() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(preflight("/v1/plain", APP, "POST", null));
      RawHttp.Head head = client.readHead();
      String body = client.readToEnd();
      assertThat(head.status()).isEqualTo(405);
      assertThat(head.header("allow")).isEqualTo("POST");
      assertThat(head.header("access-control-allow-origin")).isNull();
      assertThat(error(body).get("code").asText()).isEqualTo("method_not_allowed");
    }
    assertUpstreamUntouched();
  }

  @Test
  void aPreflightForAMethodTheRouteDoesNotTakeIsA405() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(preflight("/v1/chat/completions", APP, "DELETE", null));
      RawHttp.Head head = client.readHead();
      client.readToEnd();
      assertThat(head.status()).isEqualTo(405);
    }
    assertUpstreamUntouched();
  }

  @Test
  void addsCorsHeadersToAStreamedSseResponse() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT, "Origin: " + APP);
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.headers.get("origin")).isEqualTo(APP);
      call.startSse();
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("content-type")).isEqualTo("text/event-stream");
      assertThat(head.header("access-control-allow-origin")).isEqualTo(APP);
      assertThat(head.header("vary")).isEqualTo("Origin");
      assertThat(head.header("access-control-expose-headers")).isEqualTo(EXPOSED);
      assertThat(head.header("access-control-allow-credentials")).isNull();
      String event = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n";
      call.send(event);
      assertThat(client.readUntil("\n\n")).isEqualTo(event);
      call.send("data: [DONE]\n\n").end();
      assertThat(client.readToEnd()).isEqualTo("data: [DONE]\n\n");
    }
  }

  @Test
  void replacesTheUpstreamsOwnCorsHeaders() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT, "Origin: https://evil.example");
      gateway.upstream().next().start(200, Map.of("Content-Type", "text/event-stream",
          "Access-Control-Allow-Origin", "*", "Vary", "Accept-Encoding")).send("data: x\n\n").end();
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("access-control-allow-origin")).as("unlisted origin: no CORS headers").isNull();
      assertThat(head.header("vary")).isEqualTo("Accept-Encoding, Origin");
      client.readToEnd();
    }
  }

  @Test
  void allowsEventSourceResumeHeadersWithCredentials() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send(preflight("/v1/events", "http://localhost:3000", "GET", "last-event-id"));
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(204);
      assertThat(head.header("access-control-allow-origin")).isEqualTo("http://localhost:3000");
      assertThat(head.header("access-control-allow-headers")).contains("Last-Event-ID");
      assertThat(head.header("access-control-allow-credentials")).isEqualTo("true");
      assertUpstreamUntouched();

      client.send("GET /v1/events HTTP/1.1\r\nHost: gateway.test\r\nAccept: text/event-stream\r\n"
          + "Origin: http://localhost:3000\r\nLast-Event-ID: 41\r\n\r\n");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.method).isEqualTo("GET");
      assertThat(call.headers.get("last-event-id")).isEqualTo("41");
      call.startSse().send("id: 42\ndata: x\n\n").end();
      head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("access-control-allow-origin")).isEqualTo("http://localhost:3000");
      assertThat(head.header("access-control-allow-credentials")).isEqualTo("true");
      assertThat(client.readToEnd()).isEqualTo("id: 42\ndata: x\n\n");
    }
  }

  @Test
  void answersThePreflightBeforeLaterAccessPluginsAndCarriesCorsOnTheirRefusal() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      // ip-restriction would refuse this client, but a preflight is answered by cors (first in ACCESS).
      client.send(preflight("/v1/guarded", APP, "POST", "authorization"));
      assertThat(client.readHead().status()).isEqualTo(204);

      // The real request is refused by ip-restriction, and the browser may read why.
      client.post("/v1/guarded", CHAT, "Origin: " + APP);
      RawHttp.Head head = client.readHead();
      String body = client.readToEnd();
      assertThat(head.status()).isEqualTo(403);
      assertThat(error(body).get("code").asText()).isEqualTo("ip_denied");
      assertThat(head.header("access-control-allow-origin")).isEqualTo(APP);
      assertThat(head.header("access-control-expose-headers")).isEqualTo(EXPOSED);
      assertThat(head.header("vary")).isEqualTo("Origin");
    }
    assertUpstreamUntouched();
  }

  @Test
  void aPlainOptionsWithoutPreflightHeadersIsMatchedAsBefore() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: gateway.test\r\nOrigin: " + APP + "\r\n\r\n");
      RawHttp.Head head = client.readHead();
      client.readToEnd();
      assertThat(head.status()).isEqualTo(405);
    }
    assertUpstreamUntouched();
  }
}
