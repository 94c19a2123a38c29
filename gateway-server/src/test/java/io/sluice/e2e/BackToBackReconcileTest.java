package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RedisServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The reservation of {@code ai-token-ratelimit} is reconciled before the client receives the last
 * byte (gateway-plugins/docs/ai-token-ratelimit.md): each request reserves 8,001 tokens against a
 * daily limit of 5,000 but really uses 50, so a request sent the moment the previous one ended
 * would get 429 if that reservation still stood. 60 requests, streamed or not in a seeded order,
 * each sent as soon as the previous response was read to its end: never a 429. With Redis the
 * counter is read right after each response: it already holds the real usage.
 */
class BackToBackReconcileTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final int REQUESTS = 60;
  private static final int USED = 50; // 10 prompt + 40 completion tokens per answer

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  private RedisServer redis;
  private FakeUpstream.Answering answering;

  @AfterEach
  void stopAll() throws Exception {
    if (answering != null) {
      answering.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  private void start(String store) throws Exception {
    gateway.start("""
        upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: models
            plugins:
              ai-token-ratelimit:
                rules: [ { limit-by: ip, tokens-per-day: 5000 } ]
                default-max-tokens: 8000
                store: %s
        """.formatted(store));
    answering = gateway.upstream().answerEach(this::answer);
  }

  /** The fake model: every request answered at once with 50 tokens of usage, streamed when asked. */
  private void answer(FakeUpstream.Call call) {
    String usage = "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":40,\"total_tokens\":50}";
    if (call.body.contains("\"stream\":true")) {
      call.startSse().send("data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"
          + "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
      call.send("data: {\"id\":\"c\",\"choices\":[]," + usage + "}\n\ndata: [DONE]\n\n").end();
    } else {
      call.respond(200, "application/json",
          "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
              + "{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}]," + usage + "}");
    }
  }

  private HttpResponse<String> chat(boolean stream) throws Exception {
    String body = "{\"model\":\"m\",\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    return HTTP.send(HttpRequest.newBuilder(URI.create(gateway.url("/v1/chat/completions")))
        .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private void runBackToBack(long seed) throws Exception {
    Random order = new Random(seed);
    long day = System.currentTimeMillis() / 86_400_000L;
    for (int i = 0; i < REQUESTS; i++) {
      boolean stream = order.nextBoolean();
      HttpResponse<String> r = chat(stream);
      assertThat(r.statusCode()).as("request %d (%s), sent right after the previous one ended", i,
          stream ? "streamed" : "not streamed").isEqualTo(200);
      assertThat(r.body()).contains(stream ? "data: [DONE]" : "\"finish_reason\":\"stop\"");
      if (redis != null && System.currentTimeMillis() / 86_400_000L == day) {
        // Read the moment the client has the whole response: the real usage, never the reservation.
        String key = "sluice:tl:{chat}:0:=127.0.0.1:" + day * 86_400_000L;
        assertThat(redis.command("GET " + key)).as("the counter after response %d", i)
            .isEqualTo(Long.toString((long) USED * (i + 1)));
      }
    }
  }

  @Test
  void backToBackRequestsAreJudgedOnRealUsageWithTheLocalStore() throws Exception {
    start("local");
    runBackToBack(18);
  }

  @Test
  void backToBackRequestsAreJudgedOnRealUsageWithRedis() throws Exception {
    redis = RedisServer.start();
    start(redis.uri());
    runBackToBack(1818);
  }
}
