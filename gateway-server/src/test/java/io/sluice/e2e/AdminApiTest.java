package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The admin listener (SECURITY.md, "Admin listener"): health, readiness, Prometheus metrics, the
 * admin API and its token.
 */
class AdminApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN_TOKEN = "adm-tok-5f1c9e7a";
  private static final String PROVIDER_KEY = "sk-provider-77d0c3b2";
  private static final String INLINE_HEADER_SECRET = "inline-org-9a8b7c";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  private static final String ROUTES = """
      upstreams:
        - name: models
          endpoints: [ { url: "%s" } ]
          headers:
            Authorization: "Bearer ${PROVIDER_KEY}"
            OpenAI-Organization: %s
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions, methods: [POST] }
          upstream: models
      """;

  private void startWithoutToken() throws Exception {
    gateway.start(ROUTES.formatted(gateway.upstream().url(), INLINE_HEADER_SECRET),
        Map.of("PROVIDER_KEY", PROVIDER_KEY));
  }

  private void startWithToken() throws Exception {
    gateway.start("admin: { host: 127.0.0.1, port: 0, token: \"${ADMIN_TOKEN}\" }\n"
            + ROUTES.formatted(gateway.upstream().url(), INLINE_HEADER_SECRET),
        Map.of("PROVIDER_KEY", PROVIDER_KEY, "ADMIN_TOKEN", ADMIN_TOKEN));
  }

  /** One streamed chat completion through the gateway, to its clean end. */
  private void proxyOneStream() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"m\",\"stream\":true,\"messages\":[]}");
      gateway.upstream().next().startSse().send("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n")
          .send("data: [DONE]\n\n").end();
      assertThat(client.readHead().status()).isEqualTo(200);
      client.readToEnd();
      assertThat(client.endedCleanly()).isTrue();
    }
  }

  /**
   * Scrapes until the text contains every line; the exchange is counted on the gateway's event
   * loop right after its last byte was written, so the first scrape can just precede it.
   */
  private String scrapeContaining(String... expected) throws Exception {
    String text = "";
    for (int i = 0; i < 500; i++) {
      HttpResponse<String> r = gateway.admin("/metrics");
      assertThat(r.statusCode()).isEqualTo(200);
      text = r.body();
      String current = text;
      if (List.of(expected).stream().allMatch(current::contains)) {
        return text;
      }
      Thread.sleep(20); // polling a measurement, not waiting for a timer
    }
    assertThat(text).contains(expected);
    return text;
  }

  private static JsonNode assertJsonError(HttpResponse<String> r, int status, String type, String code)
      throws Exception {
    assertThat(r.statusCode()).as("status; body %s", r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(
        v -> assertThat(v).startsWith("application/json"));
    JsonNode error = JSON.readTree(r.body()).get("error");
    assertThat(error).as("error object in %s", r.body()).isNotNull();
    assertThat(error.get("type").asText()).isEqualTo(type);
    assertThat(error.get("code").asText()).isEqualTo(code);
    assertThat(error.get("message").asText()).isNotBlank();
    return error;
  }

  // ---- health -----------------------------------------------------------------------------------

  @Test
  void reportsHealthyAndReadyOnceStarted() throws Exception {
    startWithoutToken();
    assertThat(gateway.admin("/healthz").statusCode()).isEqualTo(200);
    assertThat(gateway.admin("/readyz").statusCode()).isEqualTo(200);
  }

  // ---- metrics ----------------------------------------------------------------------------------

  @Test
  void exposesPrometheusTextWithGatewayJvmAndNettyMetrics() throws Exception {
    startWithoutToken();
    proxyOneStream();
    String text = scrapeContaining("sluice_requests_total{route=\"chat\",status=\"200\"} 1.0");
    HttpResponse<String> r = gateway.admin("/metrics");
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(
        v -> assertThat(v).startsWith("text/plain").contains("version=0.0.4"));
    assertThat(text)
        .contains("# TYPE sluice_requests_total counter")
        .contains("sluice_request_duration_seconds_bucket{route=\"chat\",le=\"300.0\"}")
        .contains("sluice_request_duration_seconds_count{route=\"chat\"} 1")
        .contains("# TYPE sluice_active_streams gauge")
        .contains("sluice_active_streams{route=\"chat\",transport=\"sse\"} 0.0")
        .contains("sluice_upstream_requests_total{endpoint=\"" + gateway.upstream().url()
            + "\",outcome=\"success\",upstream=\"models\"} 1.0")
        .contains("jvm_memory_used_bytes")
        .containsPattern("(?m)^netty_\\w+");
    // Every sample line is "name{labels} value" or "name value" (no stray text in the exposition).
    for (String line : text.split("\n")) {
      if (!line.isEmpty() && !line.startsWith("#")) {
        assertThat(line).matches("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{.*\\})? \\S+");
      }
    }
  }

  @Test
  void countsAnUnroutedRequestUnderRouteNone() throws Exception {
    startWithoutToken();
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /nowhere HTTP/1.1\r\nHost: gateway.test\r\n\r\n");
      assertThat(client.readHead().status()).isEqualTo(404);
      client.readToEnd();
    }
    scrapeContaining("sluice_requests_total{route=\"none\",status=\"404\"} 1.0");
  }

  @Test
  void showsAStreamInProgressInActiveStreams() throws Exception {
    startWithoutToken();
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"m\",\"stream\":true}");
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      assertThat(client.readHead().status()).isEqualTo(200);
      // Headers reached the client, so the stream is counted already.
      assertThat(gateway.admin("/metrics").body())
          .contains("sluice_active_streams{route=\"chat\",transport=\"sse\"} 1.0");
      call.send("data: [DONE]\n\n").end();
      client.readToEnd();
    }
    scrapeContaining("sluice_active_streams{route=\"chat\",transport=\"sse\"} 0.0");
  }

  // ---- admin API --------------------------------------------------------------------------------

  @Test
  void redactsSecretsInTheRunningConfig() throws Exception {
    startWithToken();
    HttpResponse<String> r = gateway.admin("/admin/config", "Authorization", "Bearer " + ADMIN_TOKEN);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).doesNotContain(ADMIN_TOKEN, PROVIDER_KEY, INLINE_HEADER_SECRET);
    JsonNode config = JSON.readTree(r.body());
    assertThat(config.at("/admin/token").asText()).isEqualTo("<redacted>");
    JsonNode headers = config.at("/upstreams/0/headers");
    assertThat(headers.get("Authorization").asText()).isEqualTo("<redacted>");
    assertThat(headers.get("OpenAI-Organization").asText()).isEqualTo("<redacted>");
    // The rest is the config as written.
    assertThat(config.at("/routes/0/name").asText()).isEqualTo("chat");
    assertThat(config.at("/upstreams/0/endpoints/0/url").asText()).isEqualTo(gateway.upstream().url());
  }

  @Test
  void listsUpstreamEndpointsWithHealth() throws Exception {
    startWithoutToken();
    HttpResponse<String> r = gateway.admin("/admin/upstreams");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode upstreams = JSON.readTree(r.body());
    assertThat(upstreams.isArray()).isTrue();
    assertThat(upstreams.get(0).get("name").asText()).isEqualTo("models");
    JsonNode endpoint = upstreams.get(0).get("endpoints").get(0);
    assertThat(endpoint.get("url").asText()).isEqualTo(gateway.upstream().url());
    assertThat(endpoint.get("healthy").asBoolean()).isTrue();
    assertThat(r.body()).doesNotContain(PROVIDER_KEY);
  }

  @Test
  void listsRoutes() throws Exception {
    startWithoutToken();
    HttpResponse<String> r = gateway.admin("/admin/routes");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode routes = JSON.readTree(r.body());
    assertThat(routes.isArray()).isTrue();
    assertThat(routes).hasSize(1);
    assertThat(routes.get(0).get("name").asText()).isEqualTo("chat");
    assertThat(routes.get(0).get("upstream").asText()).isEqualTo("models");
    assertThat(routes.get(0).has("plugins")).isTrue();
  }

  @Test
  void answersNotFoundForAnUnknownAdminPath() throws Exception {
    startWithoutToken();
    assertJsonError(gateway.admin("/admin/nothing"), 404, "not_found_error", "not_found");
    assertJsonError(gateway.admin("/nothing"), 404, "not_found_error", "not_found");
  }

  // ---- admin token ------------------------------------------------------------------------------

  @Test
  void refusesTheAdminApiWithoutTheToken() throws Exception {
    startWithToken();
    for (String path : List.of("/admin/config", "/admin/routes", "/admin/upstreams", "/admin/nothing")) {
      HttpResponse<String> missing = gateway.admin(path);
      assertJsonError(missing, 401, "authentication_error", "missing_credentials");
      assertThat(missing.headers().firstValue("www-authenticate")).hasValueSatisfying(
          v -> assertThat(v).startsWith("Bearer"));
      assertThat(missing.body()).doesNotContain(ADMIN_TOKEN);
    }
  }

  @Test
  void refusesTheAdminApiWithAWrongToken() throws Exception {
    startWithToken();
    for (String wrong : List.of("Bearer nope", "Bearer " + ADMIN_TOKEN + "x", ADMIN_TOKEN,
        "Basic " + ADMIN_TOKEN)) {
      HttpResponse<String> r = gateway.admin("/admin/config", "Authorization", wrong);
      assertJsonError(r, 401, "authentication_error", "invalid_token");
      assertThat(r.body()).doesNotContain(ADMIN_TOKEN);
    }
  }

  @Test
  void servesTheAdminApiWithTheRightToken() throws Exception {
    startWithToken();
    for (String path : List.of("/admin/config", "/admin/routes", "/admin/upstreams")) {
      assertThat(gateway.admin(path, "Authorization", "Bearer " + ADMIN_TOKEN).statusCode())
          .as(path).isEqualTo(200);
    }
    assertJsonError(gateway.admin("/admin/nothing", "Authorization", "Bearer " + ADMIN_TOKEN),
        404, "not_found_error", "not_found");
  }

  @Test
  void servesHealthAndMetricsWithoutTheToken() throws Exception {
    startWithToken();
    assertThat(gateway.admin("/healthz").statusCode()).isEqualTo(200);
    assertThat(gateway.admin("/readyz").statusCode()).isEqualTo(200);
    HttpResponse<String> metrics = gateway.admin("/metrics");
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("jvm_memory_used_bytes").doesNotContain(ADMIN_TOKEN, PROVIDER_KEY);
  }
}
