package io.sluice.e2e;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.core.Options;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import io.sluice.testing.UpstreamFake;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the upstream receives, and what comes back: header rules ({@code ProxyHeaders}), paths,
 * bodies, routing.
 */
class RequestForwardingTest {
  private static final String JSON_BODY = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[]}";
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static WireMockServer wm;

  @RegisterExtension
  final GatewayExtension<UpstreamFake> gateway = GatewayExtension.withoutUpstream();

  @BeforeAll
  static void startWireMock() {
    wm = new WireMockServer(options().dynamicPort()
        .useChunkedTransferEncoding(Options.ChunkedEncodingPolicy.NEVER));
    wm.start();
  }

  @AfterAll
  static void stopWireMock() {
    wm.stop();
  }

  @BeforeEach
  void stubEverything() {
    wm.resetAll();
    wm.stubFor(any(anyUrl()).willReturn(aResponse().withStatus(200)
        .withHeader("Content-Type", "application/json")
        .withHeader("Server", "model-server/1.0")
        .withHeader("X-Upstream", "yes")
        .withBody(JSON_BODY)));
  }

  private String upstreamUrl() {
    return "http://127.0.0.1:" + wm.port();
  }

  /** One route {@code /v1} (any method) to one upstream at the WireMock server. */
  private void startSimpleGateway() throws Exception {
    gateway.start("""
        upstreams:
          - name: models
            endpoints: [ { url: "%s" } ]
        routes:
          - name: api
            match: { path-prefix: /v1 }
            upstream: models
        """.formatted(upstreamUrl()));
  }

  private static LoggedRequest onlyRequest() {
    List<LoggedRequest> all = wm.findAll(anyRequestedFor(anyUrl()));
    assertThat(all).as("requests that reached the upstream").hasSize(1);
    return all.get(0);
  }

  /** Sends {@code GET path} with these extra header lines on a fresh connection; returns the head. */
  private RawHttp.Head rawGet(String path, String... headers) throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      StringBuilder req = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: gateway.test\r\n");
      for (String h : headers) {
        req.append(h).append("\r\n");
      }
      client.send(req.append("\r\n").toString());
      RawHttp.Head head = client.readHead();
      client.readToEnd();
      return head;
    }
  }

  // ---- Host and X-Forwarded-* -------------------------------------------------------------------

  @Test
  void sendsTheEndpointsHostAndTheClientsHostAsForwardedHost() throws Exception {
    startSimpleGateway();
    rawGet("/v1/models");
    LoggedRequest req = onlyRequest();
    assertThat(req.getHeader("Host")).isEqualTo("127.0.0.1:" + wm.port());
    assertThat(req.getHeader("X-Forwarded-Host")).isEqualTo("gateway.test");
  }

  @Test
  void appendsTheClientAddressToXForwardedForAndSetsProto() throws Exception {
    startSimpleGateway();
    rawGet("/v1/models", "X-Forwarded-For: 203.0.113.7");
    LoggedRequest req = onlyRequest();
    assertThat(req.getHeader("X-Forwarded-For")).isEqualTo("203.0.113.7, 127.0.0.1");
    assertThat(req.getHeader("X-Forwarded-Proto")).isEqualTo("http");
  }

  @Test
  void setsXForwardedForToTheClientAddressWhenAbsent() throws Exception {
    startSimpleGateway();
    rawGet("/v1/models");
    assertThat(onlyRequest().getHeader("X-Forwarded-For")).isEqualTo("127.0.0.1");
  }

  // ---- X-Request-Id -----------------------------------------------------------------------------

  @Test
  void keepsAValidRequestIdAndEchoesIt() throws Exception {
    startSimpleGateway();
    String id = "Req-1.2_3-" + "a".repeat(118); // 128 chars, every allowed character class
    assertThat(id).hasSize(128);
    RawHttp.Head head = rawGet("/v1/models", "X-Request-Id: " + id);
    assertThat(onlyRequest().getHeader("X-Request-Id")).isEqualTo(id);
    assertThat(head.header("x-request-id")).isEqualTo(id);
  }

  @Test
  void replacesAnInvalidRequestIdWithAGeneratedOneAndEchoesThat() throws Exception {
    startSimpleGateway();
    for (String invalid : List.of("has space", "semi;colon", "a".repeat(129), "ünïcode")) {
      wm.resetRequests();
      RawHttp.Head head = rawGet("/v1/models", "X-Request-Id: " + invalid);
      String forwarded = onlyRequest().getHeader("X-Request-Id");
      assertThat(forwarded).as("for '%s'", invalid).isNotEqualTo(invalid).matches("[A-Za-z0-9._-]{1,128}");
      assertThat(head.header("x-request-id")).as("echoed id for '%s'", invalid).isEqualTo(forwarded);
    }
  }

  @Test
  void generatesARequestIdWhenNoneWasSent() throws Exception {
    startSimpleGateway();
    RawHttp.Head first = rawGet("/v1/models");
    String forwarded = onlyRequest().getHeader("X-Request-Id");
    assertThat(forwarded).matches("[A-Za-z0-9._-]{1,128}");
    assertThat(first.header("x-request-id")).isEqualTo(forwarded);
    RawHttp.Head second = rawGet("/v1/models");
    assertThat(second.header("x-request-id")).as("a fresh id per request").isNotEqualTo(forwarded);
  }

  // ---- hop-by-hop and pass-through headers ------------------------------------------------------

  @Test
  void removesHopByHopRequestHeadersIncludingThoseConnectionNames() throws Exception {
    startSimpleGateway();
    rawGet("/v1/models",
        "Connection: keep-alive, X-Hop-Secret",
        "X-Hop-Secret: do-not-forward",
        "Keep-Alive: timeout=5",
        "TE: trailers",
        "Upgrade: h2c",
        "Proxy-Authorization: Basic dXNlcjpwYXNz",
        "Proxy-Connection: keep-alive",
        "X-End-To-End: kept");
    LoggedRequest req = onlyRequest();
    for (String hop : List.of("Connection", "X-Hop-Secret", "Keep-Alive", "TE", "Upgrade",
        "Proxy-Authorization", "Proxy-Connection", "Transfer-Encoding")) {
      assertThat(req.containsHeader(hop)).as("%s reached the upstream", hop).isFalse();
    }
    assertThat(req.getHeader("X-End-To-End")).isEqualTo("kept");
  }

  @Test
  void forwardsAChunkedRequestBodyWithAContentLengthInsteadOfTransferEncoding() throws Exception {
    startSimpleGateway();
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("POST /v1/embeddings HTTP/1.1\r\nHost: gateway.test\r\nContent-Type: application/json\r\n"
          + "Transfer-Encoding: chunked\r\n\r\n"
          + "5\r\n{\"a\":\r\n" + "3\r\n12}\r\n" + "0\r\n\r\n");
      assertThat(client.readHead().status()).isEqualTo(200);
      client.readToEnd();
    }
    LoggedRequest req = onlyRequest();
    assertThat(req.containsHeader("Transfer-Encoding")).isFalse();
    assertThat(req.getHeader("Content-Length")).isEqualTo("8");
    assertThat(req.getBodyAsString()).isEqualTo("{\"a\":12}");
  }

  @Test
  void passesTraceparentThrough() throws Exception {
    startSimpleGateway();
    String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    rawGet("/v1/models", "traceparent: " + traceparent, "tracestate: vendor=abc");
    LoggedRequest req = onlyRequest();
    assertThat(req.getHeader("traceparent")).isEqualTo(traceparent);
    assertThat(req.getHeader("tracestate")).isEqualTo("vendor=abc");
  }

  @Test
  void setsTheUpstreamsCredentialHeaderOverTheClientsOwn() throws Exception {
    gateway.start("""
        upstreams:
          - name: models
            endpoints: [ { url: "%s" } ]
            headers:
              Authorization: "Bearer ${PROVIDER_KEY}"
              OpenAI-Organization: org-sluice
        routes:
          - name: api
            match: { path-prefix: /v1 }
            upstream: models
        """.formatted(upstreamUrl()), Map.of("PROVIDER_KEY", "sk-provider-secret-123"));
    rawGet("/v1/models", "Authorization: Bearer client-key");
    LoggedRequest req = onlyRequest();
    assertThat(req.header("Authorization").values()).containsExactly("Bearer sk-provider-secret-123");
    assertThat(req.getHeader("OpenAI-Organization")).isEqualTo("org-sluice");
  }

  @Test
  void appliesRouteRequestAndResponseHeaderRules() throws Exception {
    gateway.start("""
        upstreams:
          - name: models
            endpoints: [ { url: "%s" } ]
        routes:
          - name: api
            match: { path-prefix: /v1 }
            upstream: models
            request-headers: { set: { x-origin: sluice }, remove: [ x-debug ] }
            response-headers: { set: { x-served-by: sluice }, remove: [ server ] }
        """.formatted(upstreamUrl()));
    RawHttp.Head head = rawGet("/v1/models", "X-Debug: 1", "X-Origin: client-says");
    LoggedRequest req = onlyRequest();
    assertThat(req.containsHeader("x-debug")).isFalse();
    assertThat(req.header("x-origin").values()).containsExactly("sluice");
    assertThat(head.header("server")).isNull();
    assertThat(head.header("x-served-by")).isEqualTo("sluice");
    assertThat(head.header("x-upstream")).as("other upstream headers pass").isEqualTo("yes");
  }

  // ---- paths ------------------------------------------------------------------------------------

  @Test
  void prefixesTheEndpointsBasePath() throws Exception {
    gateway.start("""
        upstreams:
          - name: models
            endpoints: [ { url: "%s/base" } ]
        routes:
          - name: api
            match: { path-prefix: /v1 }
            upstream: models
        """.formatted(upstreamUrl()));
    rawGet("/v1/models?limit=2");
    assertThat(onlyRequest().getUrl()).isEqualTo("/base/v1/models?limit=2");
  }

  @Test
  void rewritesTheMatchedPrefixOfAPathPrefixRoute() throws Exception {
    gateway.start("""
        upstreams:
          - name: models
            endpoints: [ { url: "%s" } ]
        routes:
          - name: openai
            match: { path-prefix: /openai }
            upstream: models
            rewrite-path: /v1
        """.formatted(upstreamUrl()));
    rawGet("/openai/chat/completions?x=1");
    assertThat(onlyRequest().getUrl()).isEqualTo("/v1/chat/completions?x=1");
  }

  @Test
  void rewritesTheWholePathOfAnExactRoute() throws Exception {
    gateway.start("""
        upstreams:
          - name: models
            endpoints: [ { url: "%s/base" } ]
        routes:
          - name: chat
            match: { path: /chat }
            upstream: models
            rewrite-path: /v1/chat/completions
        """.formatted(upstreamUrl()));
    rawGet("/chat?stream=false");
    assertThat(onlyRequest().getUrl()).isEqualTo("/base/v1/chat/completions?stream=false");
  }

  @Test
  void preservesTheQueryStringExactly() throws Exception {
    startSimpleGateway();
    rawGet("/v1/models?limit=5&after=a%20b&empty=&flag&q=%2F%2e");
    assertThat(onlyRequest().getUrl()).isEqualTo("/v1/models?limit=5&after=a%20b&empty=&flag&q=%2F%2e");
  }

  @Test
  void forwardsTheNormalisedPath() throws Exception {
    startSimpleGateway();
    rawGet("/v1//chat/./completions");
    assertThat(onlyRequest().getUrl()).isEqualTo("/v1/chat/completions");
    wm.resetRequests();
    rawGet("/v1/models/../chat/completions");
    assertThat(onlyRequest().getUrl()).isEqualTo("/v1/chat/completions");
  }

  // ---- bodies and connections -------------------------------------------------------------------

  @Test
  void passesANonStreamedJsonResponseWithItsContentLength() throws Exception {
    startSimpleGateway();
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"m\",\"messages\":[]}");
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("content-type")).isEqualTo("application/json");
      assertThat(head.header("content-length")).isEqualTo(Integer.toString(JSON_BODY.length()));
      assertThat(head.header("transfer-encoding")).isNull();
      assertThat(client.readToEnd()).isEqualTo(JSON_BODY);
    }
  }

  @Test
  void forwardsAPostBodyByteForByte() throws Exception {
    startSimpleGateway();
    byte[] body = new byte[70_000];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 31 + 7); // every byte value, not valid UTF-8
    }
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(gateway.url("/v1/files")))
            .header("Content-Type", "application/octet-stream")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    LoggedRequest req = onlyRequest();
    assertThat(req.getMethod().getName()).isEqualTo("POST");
    assertThat(req.getBody()).isEqualTo(body);
    assertThat(req.getHeader("Content-Length")).isEqualTo(Integer.toString(body.length));
    assertThat(req.getHeader("Content-Type")).isEqualTo("application/octet-stream");
  }

  @Test
  void servesTwoRequestsOnOneKeptAliveClientConnection() throws Exception {
    startSimpleGateway();
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      for (int i = 0; i < 2; i++) {
        client.post("/v1/chat/completions", "{\"n\":" + i + "}");
        RawHttp.Head head = client.readHead();
        assertThat(head.status()).isEqualTo(200);
        assertThat(head.header("connection")).isNotEqualToIgnoringCase("close");
        assertThat(client.readToEnd()).isEqualTo(JSON_BODY);
      }
    }
    List<LoggedRequest> all = wm.findAll(anyRequestedFor(anyUrl()));
    assertThat(all).extracting(LoggedRequest::getBodyAsString).containsExactlyInAnyOrder("{\"n\":0}", "{\"n\":1}");
  }

  // ---- routing ----------------------------------------------------------------------------------

  @Test
  void routesByTheBodysModelToDifferentUpstreams() throws Exception {
    gateway.start("""
        upstreams:
          - name: qwen-pool
            endpoints: [ { url: "%1$s/qwen" } ]
          - name: openai
            endpoints: [ { url: "%1$s/openai" } ]
        routes:
          - name: qwen
            match: { path-prefix: /v1/chat/completions, models: [ "qwen-*" ] }
            upstream: qwen-pool
          - name: gpt
            match: { path-prefix: /v1/chat/completions, models: [ gpt-4o ] }
            upstream: openai
        """.formatted(upstreamUrl()));
    assertThat(postChat("{\"messages\":[],\"model\":\"qwen-max\"}").statusCode()).isEqualTo(200);
    assertThat(onlyRequest().getUrl()).isEqualTo("/qwen/v1/chat/completions");
    wm.resetRequests();
    assertThat(postChat("{\"model\":\"gpt-4o\",\"messages\":[]}").statusCode()).isEqualTo(200);
    assertThat(onlyRequest().getUrl()).isEqualTo("/openai/v1/chat/completions");
    wm.resetRequests();
    for (String model : List.of("llama-3", "gpt-4o-mini")) {
      HttpResponse<String> miss = postChat("{\"model\":\"" + model + "\",\"messages\":[]}");
      assertThat(miss.statusCode()).as(model).isEqualTo(404);
      assertThat(miss.body()).contains("\"type\":\"not_found_error\"", "\"code\":\"route_not_found\"");
    }
    assertThat(wm.findAll(anyRequestedFor(anyUrl()))).isEmpty();
  }

  @Test
  void routesByRequestHeaders() throws Exception {
    gateway.start("""
        upstreams:
          - name: acme
            endpoints: [ { url: "%1$s/acme" } ]
          - name: shared
            endpoints: [ { url: "%1$s/shared" } ]
        routes:
          - name: acme-chat
            match: { path-prefix: /v1/chat/completions, headers: { x-tenant: acme } }
            upstream: acme
          - name: chat
            match: { path-prefix: /v1/chat/completions }
            upstream: shared
        """.formatted(upstreamUrl()));
    assertThat(postChat("{}", "X-Tenant", "acme").statusCode()).isEqualTo(200);
    assertThat(onlyRequest().getUrl()).isEqualTo("/acme/v1/chat/completions");
    wm.resetRequests();
    assertThat(postChat("{}", "X-Tenant", "other").statusCode()).isEqualTo(200);
    assertThat(onlyRequest().getUrl()).isEqualTo("/shared/v1/chat/completions");
    wm.resetRequests();
    assertThat(postChat("{}").statusCode()).isEqualTo(200);
    assertThat(onlyRequest().getUrl()).isEqualTo("/shared/v1/chat/completions");
  }

  @Test
  void answersRouteNotFoundWhenNoRoutesHeadersMatch() throws Exception {
    gateway.start("""
        upstreams:
          - name: acme
            endpoints: [ { url: "%1$s" } ]
        routes:
          - name: acme-chat
            match: { path-prefix: /v1/chat/completions, headers: { x-tenant: acme } }
            upstream: acme
        """.formatted(upstreamUrl()));
    HttpResponse<String> miss = postChat("{}", "X-Tenant", "other");
    assertThat(miss.statusCode()).isEqualTo(404);
    assertThat(miss.body()).contains("\"code\":\"route_not_found\"");
    assertThat(wm.findAll(anyRequestedFor(anyUrl()))).isEmpty();
  }

  private HttpResponse<String> postChat(String json, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions")))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
