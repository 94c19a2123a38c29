package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code ai-token-ratelimit} with {@code enforce: mid-stream}
 * (gateway-plugins/docs/ai-token-ratelimit.md): a stream that runs past its window's budget is
 * ended cleanly with {@code event: error} {@code token_rate_limited} and its generation stopped —
 * instead of being charged only at its end, as other gateways do.
 *
 * <p>A day window of 60 tokens and a stream of 300 one-token deltas: even if the window rolls over
 * during the test (midnight UTC), a fresh window cannot hold the whole stream, so the stop always
 * comes.
 */
class MidStreamTokenLimitTest {
  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  private void start(String enforce) throws Exception {
    gateway.start("""
        upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions }
            upstream: models
            plugins:
              ai-token-ratelimit:
                rules: [ { limit-by: ip, tokens-per-day: 60 } ]
                default-max-tokens: 10
                enforce: %s
        """.formatted(enforce));
  }

  /** A streamed chat request, and 300 one-token deltas from the upstream (then [DONE] if asked). */
  private static FakeUpstream.Call stream300(FakeUpstream upstream, RawHttp client, boolean done) throws Exception {
    client.post("/v1/chat/completions",
        "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    FakeUpstream.Call call = upstream.next().startSse();
    StringBuilder stream = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      stream.append("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" w").append(i).append("\"}}]}\n\n");
    }
    if (done) {
      call.send(stream.append("data: [DONE]\n\n").toString()).end();
    } else {
      call.send(stream.toString());
    }
    return call;
  }

  @Test
  void aStreamThatRunsPastTheBudgetIsEndedWithAnErrorEvent() throws Exception {
    start("mid-stream");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      FakeUpstream.Call call = stream300(gateway.upstream(), client, false);
      assertThat(client.readHead().status()).isEqualTo(200);
      String body = client.readToEnd();
      assertThat(client.endedCleanly()).isTrue();
      assertThat(body).contains("event: error").contains("\"code\":\"token_rate_limited\"")
          .contains(" w0\"").doesNotContain(" w299\"");
      assertThat(body.indexOf("event: error")).as("the error is the last event").isGreaterThan(body.lastIndexOf("w"));
      assertThat(call.awaitClosed(Duration.ofSeconds(10))).as("the generation is stopped").isTrue();
      assertThat(gateway.admin("/metrics").body()).contains("outcome=\"cancelled\"");
    }
  }

  @Test
  void atEndStreamsRunToTheirEnd() throws Exception {
    start("at-end");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      stream300(gateway.upstream(), client, true);
      client.readHead();
      assertThat(client.readToEnd()).contains(" w299\"").doesNotContain("event: error");
    }
  }
}
