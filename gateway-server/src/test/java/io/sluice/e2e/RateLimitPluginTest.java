package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code rate-limit} over real sockets (gateway-plugins/docs/rate-limit.md): a burst passes, the
 * next request gets 429 {@code request_rate_limited} with {@code Retry-After} and never reaches the
 * upstream, the {@code x-ratelimit-*-requests} headers are on every response, and keys get their
 * own buckets. Rates are one request per 100 s, so nothing refills while a test runs (no sleeping).
 */
class RateLimitPluginTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      consumers:
        - { name: alice, api-keys: [ "${ALICE_KEY}" ] }
        - { name: bob, api-keys: [ "${BOB_KEY}" ] }
      upstreams:
        - name: models
          endpoints: [ { url: "${upstream}" } ]
      routes:
        - name: chat
          match: { path-prefix: /v1/chat }
          upstream: models
          plugins: { rate-limit: { limit-by: ip, requests-per-second: 0.01, burst: 3 } }
        - name: users
          match: { path-prefix: /v1/users }
          upstream: models
          plugins: { rate-limit: { limit-by: "header:x-user", requests-per-second: 0.01, burst: 1 } }
        - name: keyed
          match: { path-prefix: /v1/keyed }
          upstream: models
          plugins:
            key-auth: {}
            rate-limit: { limit-by: consumer, requests-per-second: 0.01, burst: 1 }
      """)
      .env(Map.of("ALICE_KEY", "sk-alice-rl", "BOB_KEY", "sk-bob-rl"));

  private HttpRequest get(String path, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway.url(path))).GET();
    if (headers.length > 0) {
      b.headers(headers);
    }
    return b.build();
  }

  /** A request the gateway forwards; the upstream answers 200. */
  private HttpResponse<String> admitted(HttpRequest request) throws Exception {
    CompletableFuture<HttpResponse<String>> response = HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    gateway.upstream().next().respond(200, "application/json", "{\"ok\":true}");
    HttpResponse<String> r = response.get(10, TimeUnit.SECONDS);
    assertThat(r.statusCode()).isEqualTo(200);
    return r;
  }

  /** A request the gateway refuses with 429 without contacting the upstream. */
  private HttpResponse<String> limited(HttpRequest request) throws Exception {
    int connections = gateway.upstream().connections();
    HttpResponse<String> r = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("status; body: %s", r.body()).isEqualTo(429);
    JsonNode error = JSON.readTree(r.body()).get("error");
    assertThat(error.get("type").asText()).isEqualTo("rate_limit_error");
    assertThat(error.get("code").asText()).isEqualTo("request_rate_limited");
    assertThat(gateway.upstream().poll()).isNull();
    assertThat(gateway.upstream().connections()).as("no new upstream connection").isEqualTo(connections);
    return r;
  }

  private static String header(HttpResponse<?> r, String name) {
    assertThat(r.headers().allValues(name)).as(name).hasSize(1);
    return r.headers().firstValue(name).orElseThrow();
  }

  @Test
  void admitsTheBurstThenRefusesWithRetryAfter() throws Exception {
    for (int remaining = 2; remaining >= 0; remaining--) {
      HttpResponse<String> ok = admitted(get("/v1/chat/completions"));
      assertThat(header(ok, "x-ratelimit-limit-requests")).isEqualTo("3");
      assertThat(header(ok, "x-ratelimit-remaining-requests")).isEqualTo(Integer.toString(remaining));
      assertThat(Long.parseLong(header(ok, "x-ratelimit-reset-requests"))).isBetween(1L, 300L);
    }
    HttpResponse<String> refused = limited(get("/v1/chat/completions"));
    assertThat(Long.parseLong(header(refused, "Retry-After"))).isBetween(90L, 100L);
    assertThat(header(refused, "x-ratelimit-limit-requests")).isEqualTo("3");
    assertThat(header(refused, "x-ratelimit-remaining-requests")).isEqualTo("0");
    assertThat(Long.parseLong(header(refused, "x-ratelimit-reset-requests"))).isBetween(290L, 300L);
    limited(get("/v1/chat/completions"));

    assertThat(gateway.admin("/metrics").body().lines()
            .filter(l -> l.startsWith("sluice_ratelimit_rejections_total{")
                && l.contains("route=\"chat\"") && l.contains("plugin=\"rate-limit\"")))
        .singleElement().satisfies(l -> assertThat(l).endsWith(" 2.0"));
  }

  @Test
  void givesEachHeaderValueItsOwnBucketAndRequestsWithoutItOneSharedBucket() throws Exception {
    admitted(get("/v1/users", "x-user", "ann"));
    limited(get("/v1/users", "x-user", "ann"));
    admitted(get("/v1/users", "x-user", "ben"));
    limited(get("/v1/users", "x-user", "ben"));
    admitted(get("/v1/users"));
    limited(get("/v1/users")); // leaving the header out does not escape the limit
    assertThat(header(limited(get("/v1/users", "x-user", "ann")), "x-ratelimit-limit-requests")).isEqualTo("1");
  }

  @Test
  void limitsEachConsumerKeyAuthNamedAndSpendsNothingOnRefusedCredentials() throws Exception {
    HttpResponse<String> unauthenticated = HTTP.send(get("/v1/keyed", "x-api-key", "sk-wrong"),
        HttpResponse.BodyHandlers.ofString());
    assertThat(unauthenticated.statusCode()).isEqualTo(401);
    assertThat(unauthenticated.headers().firstValue("x-ratelimit-limit-requests")).isEmpty();
    admitted(get("/v1/keyed", "x-api-key", "sk-alice-rl"));
    limited(get("/v1/keyed", "Authorization", "Bearer sk-alice-rl"));
    admitted(get("/v1/keyed?api_key=sk-bob-rl"));
    limited(get("/v1/keyed", "x-api-key", "sk-bob-rl"));
    assertThat(gateway.upstream().poll()).isNull();
  }
}
