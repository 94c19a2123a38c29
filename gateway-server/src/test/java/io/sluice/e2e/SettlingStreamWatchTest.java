package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.HeldSettlePlugin;
import io.sluice.testing.RawHttp;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A stream whose whole answer came in one read while a plugin still settles its usage: its end
 * waits for the settling, and the stream is watched meanwhile — heartbeats go on as for any
 * silent stream (the relay arms its silence watch when a read leaves the stream open, or the end
 * waits; a short answer that ends within its read needs none).
 */
class SettlingStreamWatchTest {
  private static final String CONTENT = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
  private static final String USAGE = "data: {\"id\":\"c\",\"choices\":[],"
      + "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":4,\"total_tokens\":14}}\n\n";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions }
          upstream: models
          sse: { heartbeat: 200ms }
          plugins:
            %s: {}
      """.formatted(HeldSettlePlugin.NAME));

  @Test
  void pingsWhileTheEndOfAnAnswerReadWholeWaitsForTheSettling() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions",
          "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}");
      gateway.upstream().next().respondSseAtOnce(CONTENT + USAGE + "data: [DONE]\n\n");
      HeldSettlePlugin.Settle settle = HeldSettlePlugin.nextSettle(Duration.ofSeconds(10));
      assertThat(client.readHead().status()).isEqualTo(200);
      assertThat(client.readUntil(CONTENT)).isEqualTo(CONTENT);
      // The end is held for the settling; the stream is not silent for the client meanwhile.
      String held = client.readUntil(": ping\n\n");
      assertThat(held.replace(USAGE, "")).isEqualTo(": ping\n\n");
      settle.complete();
      assertThat(client.readToEnd().replace(": ping\n\n", "").replace(USAGE, "")).isEqualTo("data: [DONE]\n\n");
      assertThat(client.endedCleanly()).isTrue();
    }
  }
}
