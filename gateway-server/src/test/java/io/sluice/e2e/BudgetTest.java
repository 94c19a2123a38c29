package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.MovableClock;
import io.sluice.testing.RedisServer;
import io.sluice.testing.TestGateway;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code ai-budget} over real sockets (gateway-plugins/docs/ai-budget.md), with the pricing table
 * (gateway-core/docs/usage.md) and a clock the test moves: a USD budget per consumer with an
 * override, a tokens budget per header, period rollover, two gateways sharing Redis, and the 429
 * an OpenAI SDK reads as its quota error. A refused request never reaches the upstream.
 */
class BudgetTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final ObjectMapper JSON = new ObjectMapper();
  /** 100 prompt + 50 completion tokens of gpt-4.1: 100 × 2 + 50 × 8 = 600 per million = 0.0006 USD. */
  private static final String USAGE = "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":50,\"total_tokens\":150}";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateways = GatewayExtension.withUpstream();

  private final MovableClock clock = new MovableClock(Instant.parse("2026-03-31T22:00:00Z"));
  private final AtomicInteger answered = new AtomicInteger();
  private FakeUpstream.Answering answering;
  private RedisServer redis;

  @AfterEach
  void stopAll() throws Exception {
    if (answering != null) {
      answering.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  private String config(String store) {
    return """
        pricing:
          - { model: "gpt-4.1*", input: 2.00, cached-input: 0.50, output: 8.00 }
        consumers:
          - { name: alice, api-keys: [ "alice-key-0123456789" ] }
          - { name: bob, api-keys: [ "bob-key-0123456789" ] }
        upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: models
            plugins:
              key-auth: {}
              ai-budget:
                rules:
                  - { limit-by: consumer, period: month, usd: 0.001, overrides: { bob: 0.0015 } }
                  - { limit-by: "header:x-team", period: day, tokens: 400 }
                store: %s
        """.formatted(store);
  }

  private TestGateway start(String store) throws Exception {
    TestGateway g = gateways.start(config(store), clock);
    if (answering == null) {
      answering = gateways.upstream().answerEach(this::answer);
    }
    return g;
  }

  /** The fake model: 150 tokens of gpt-4.1 per answer, streamed when asked. */
  private void answer(FakeUpstream.Call call) {
    answered.incrementAndGet();
    if (call.body.contains("\"stream\":true")) {
      call.startSse().send("data: {\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"
          + "data: {\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[]," + USAGE + "}\n\ndata: [DONE]\n\n").end();
    } else {
      call.respond(200, "application/json", "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4.1-2025-04-14\","
          + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
          + USAGE + "}");
    }
  }

  private HttpResponse<String> chat(TestGateway g, String key, String team, boolean stream) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(g.url("/v1/chat/completions")))
        .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4.1\",\"stream\":" + stream
            + ",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi!\"}]}"));
    if (team != null) {
      b.header("x-team", team);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The 429 of a spent budget, as an OpenAI SDK reads it (status 429, error.type / error.code). */
  private void assertBudgetExceeded(HttpResponse<String> r, long retryAfter, int answeredBefore) throws Exception {
    assertThat(r.statusCode()).isEqualTo(429);
    JsonNode error = JSON.readTree(r.body()).get("error");
    assertThat(error.get("type").asText()).isEqualTo("insufficient_quota");
    assertThat(error.get("code").asText()).isEqualTo("budget_exceeded");
    assertThat(error.get("message").asText()).isNotBlank();
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
    assertThat(r.headers().firstValue("Retry-After")).hasValue(Long.toString(retryAfter));
    assertThat(r.headers().firstValue("x-sluice-budget-remaining")).isPresent();
    assertThat(answered).as("a refused request never reaches the upstream").hasValue(answeredBefore);
  }

  @Test
  void aUsdBudgetPerConsumerIsSpentThenRenewsWithTheMonth() throws Exception {
    TestGateway g = start("local");
    // Each request reserves 1 × 2 + 10 × 8 = 82 per million (0.000082) and costs 0.0006.
    HttpResponse<String> first = chat(g, "alice-key-0123456789", "alice-team", false);
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("x-sluice-budget-remaining")).hasValue("0.000918");
    HttpResponse<String> second = chat(g, "alice-key-0123456789", "alice-team", true);
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(second.headers().firstValue("x-sluice-budget-remaining")).hasValue("0.000318"); // 0.001 − 0.0006 − 0.000082
    int before = answered.get();
    // 0.0012 spent of 0.001; two hours to 1 April 00:00 UTC
    assertBudgetExceeded(chat(g, "alice-key-0123456789", "alice-team", false), 7200, before);

    // bob's override: 0.0015 — two answers (0.0012) leave room for a third (each consumer has its own
    // team, so the 400-token day of the tokens rule is not what refuses)
    for (int i = 0; i < 3; i++) {
      assertThat(chat(g, "bob-key-0123456789", "bob-team", i % 2 == 0).statusCode()).isEqualTo(200);
    }
    assertBudgetExceeded(chat(g, "bob-key-0123456789", "bob-team", false), 7200, answered.get());

    clock.advance(Duration.ofHours(2)); // April: a new period
    assertThat(chat(g, "alice-key-0123456789", "alice-team", false).headers().firstValue("x-sluice-budget-remaining"))
        .hasValue("0.000918");
    String metrics = g.admin("/metrics").body();
    // alice: 3 × 0.0006, bob: 3 × 0.0006
    assertThat(metrics).contains("sluice_cost_usd_total{consumer=\"alice\",model=\"gpt-4.1-2025-04-14\",route=\"chat\"} 0.0018")
        .contains("sluice_cost_usd_total{consumer=\"bob\",model=\"gpt-4.1-2025-04-14\",route=\"chat\"} 0.0018")
        .contains("sluice_budget_remaining{key=\"alice\",route=\"chat\",rule=\"0:consumer:month\",unit=\"usd\"}")
        .contains("sluice_ratelimit_rejections_total{plugin=\"ai-budget\",route=\"chat\"} 2.0");
  }

  @Test
  void aTokensBudgetPerHeaderRenewsAtMidnightUtc() throws Exception {
    TestGateway g = start("local");
    clock.advance(Duration.ofDays(1)); // 2026-04-01T22:00Z, alice's USD budget fresh
    // 150 tokens per answer, 400 per day: the third request still passes (300 < 400), the fourth not.
    // bob's USD rule (0.0015 − 0.000082: 94.5 % left) is tighter than the tokens rule (389 of 400: 97 %)
    assertThat(chat(g, "bob-key-0123456789", "red", true).headers().firstValue("x-sluice-budget-remaining"))
        .hasValue("0.001418");
    assertThat(chat(g, "bob-key-0123456789", "red", false).statusCode()).isEqualTo(200);
    assertThat(chat(g, "alice-key-0123456789", "red", true).statusCode()).isEqualTo(200);
    assertBudgetExceeded(chat(g, "alice-key-0123456789", "red", false), 7200, answered.get());
    assertThat(chat(g, "alice-key-0123456789", "blue", false).statusCode()).as("another team").isEqualTo(200);
    clock.advance(Duration.ofHours(2));
    assertThat(chat(g, "bob-key-0123456789", "red", false).statusCode()).isEqualTo(200);
  }

  @Test
  void twoGatewaysSharingRedisShareTheBudget() throws Exception {
    redis = RedisServer.start();
    TestGateway a = start(redis.uri());
    TestGateway b = start(redis.uri());
    assertThat(chat(a, "alice-key-0123456789", null, false).statusCode()).isEqualTo(200);
    HttpResponse<String> onB = chat(b, "alice-key-0123456789", null, true);
    assertThat(onB.statusCode()).isEqualTo(200);
    assertThat(onB.headers().firstValue("x-sluice-budget-remaining")).as("b sees a's spending").hasValue("0.000318");
    assertBudgetExceeded(chat(a, "alice-key-0123456789", null, false), 7200, answered.get());
    assertBudgetExceeded(chat(b, "alice-key-0123456789", null, false), 7200, answered.get());
    // nano-dollars in Redis: 2 × 600,000, keyed by the period's start (1 March 2026)
    assertThat(redis.command("GET sluice:budget:{chat}:0:=alice:" + Instant.parse("2026-03-01T00:00:00Z").toEpochMilli()))
        .isEqualTo("1200000");
  }
}
