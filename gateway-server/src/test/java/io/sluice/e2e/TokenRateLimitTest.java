package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RedisServer;
import io.sluice.testing.TestGateway;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code ai-token-ratelimit} end to end (gateway-plugins/docs/ai-token-ratelimit.md): with
 * {@code tokens-per-minute: 300} and requests reserving about 100 tokens each (no
 * {@code max_tokens}: {@code default-max-tokens: 100} plus a one-token prompt), the 4th request in
 * a minute is refused before it reaches the upstream — on one gateway, and across two gateways
 * sharing Redis. The relay does not report usage yet, so reservations stand as the charge. Tests
 * start early enough in a minute not to straddle a window.
 */
class TokenRateLimitTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final String PROMPT = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi!\"}]}";
  private TestGateway a;
  private TestGateway b;
  private RedisServer redis;

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateways = GatewayExtension.withUpstream();

  /** After the gateways, which the extension stops right after the test method. */
  @AfterEach
  void stopRedis() throws Exception {
    if (redis != null) {
      redis.close();
    }
  }

  private String config(String store) {
    return "upstreams: [ { name: models, endpoints: [ { url: '${upstream}' } ] } ]\n"
        + "routes:\n"
        + "  - name: chat\n"
        + "    match: { path-prefix: /v1 }\n"
        + "    upstream: models\n"
        + "    plugins:\n"
        + "      ai-token-ratelimit:\n"
        + "        rules: [ { limit-by: ip, tokens-per-minute: 300 } ]\n"
        + "        default-max-tokens: 100\n"
        + "        store: " + store + "\n";
  }

  /** Waits for the next minute when less than 20 s are left in this one. */
  private static void startEarlyInAMinute() throws InterruptedException {
    long intoMinute = Instant.now().toEpochMilli() % 60_000;
    if (intoMinute > 40_000) {
      Thread.sleep(60_000 - intoMinute + 50);
    }
  }

  /** Sends a chat request; when it reaches the upstream, answers it with a small completion. */
  private HttpResponse<String> chat(TestGateway g) throws Exception {
    CompletableFuture<HttpResponse<String>> response = HTTP.sendAsync(
        HttpRequest.newBuilder(URI.create(g.url("/v1/chat/completions")))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(PROMPT)).build(),
        HttpResponse.BodyHandlers.ofString());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!response.isDone() && System.nanoTime() < deadline) {
      FakeUpstream.Call call = gateways.upstream().poll();
      if (call != null) {
        // Usage equal to the reservation (1 prompt token by the plugin's estimate + 100 default
        // max tokens), so reconciliation leaves each request's charge where it was.
        call.respond(200, "application/json", "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[],"
            + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":100,\"total_tokens\":101}}");
      } else {
        Thread.sleep(5);
      }
    }
    return response.get(5, TimeUnit.SECONDS);
  }

  private static void assertAdmitted(HttpResponse<String> r, String remaining) {
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("300");
    assertThat(r.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue(remaining);
    assertThat(r.headers().firstValue("x-ratelimit-reset-tokens")).isPresent();
  }

  private void assertRefused(HttpResponse<String> r) {
    assertThat(r.statusCode()).isEqualTo(429);
    assertThat(r.body()).contains("\"type\":\"rate_limit_error\"").contains("\"code\":\"token_rate_limited\"");
    long retryAfter = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
    assertThat(retryAfter).isBetween(1L, 60L);
    assertThat(r.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("300");
    assertThat(r.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("0");
    assertThat(Long.parseLong(r.headers().firstValue("x-ratelimit-reset-tokens").orElseThrow())).isEqualTo(retryAfter);
    assertThat(gateways.upstream().poll()).as("a refused request never reaches the upstream").isNull();
  }

  @Test
  void refusesTheFourthRequestOfAMinuteBeforeTheUpstream() throws Exception {
    a = gateways.start(config("local"));
    startEarlyInAMinute();
    assertAdmitted(chat(a), "199");
    assertAdmitted(chat(a), "98");
    assertAdmitted(chat(a), "0");
    assertRefused(chat(a));
    assertThat(a.admin("/metrics").body())
        .contains("sluice_ratelimit_rejections_total{plugin=\"ai-token-ratelimit\",route=\"chat\"} 1.0");
  }

  @Test
  void twoGatewaysSharingRedisShareTheBudget() throws Exception {
    redis = RedisServer.start();
    a = gateways.start(config(redis.uri()));
    b = gateways.start(config(redis.uri()));
    startEarlyInAMinute();
    assertAdmitted(chat(a), "199");
    assertAdmitted(chat(b), "98");
    assertAdmitted(chat(a), "0");
    assertRefused(chat(b));
    assertRefused(chat(a));
    assertThat(b.admin("/metrics").body()).contains("sluice_ratelimit_store_degraded").doesNotContain(
        "sluice_ratelimit_store_degraded{store=\"redis://127.0.0.1:" + redis.port() + "\"} 1.0");
  }
}
