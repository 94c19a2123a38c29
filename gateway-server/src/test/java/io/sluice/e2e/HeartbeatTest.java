package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** `: ping` comments keep a silent stream alive, from the upstream's headers on. */
class HeartbeatTest {
  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ], stream-idle-timeout: 30s } ]
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions }
          upstream: models
          sse: { heartbeat: 300ms }
      """);

  @Test
  void pingsWhileTheUpstreamThinksAndBetweenTokens() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{\"stream\":true}");
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      client.readHead();
      // Before the first token (a reasoning model thinking): pings, each a whole comment event.
      assertThat(client.readUntil("\n\n")).isEqualTo(": ping\n\n");
      assertThat(client.readUntil("\n\n")).isEqualTo(": ping\n\n");
      call.send("data: token\n\n");
      String next = client.readUntil("data: token\n\n");
      assertThat(next.replace(": ping\n\n", "")).isEqualTo("data: token\n\n");
      // Silence again after a token: pings again.
      assertThat(client.readUntil("\n\n")).isEqualTo(": ping\n\n");
      call.send("data: [DONE]\n\n").end();
      assertThat(client.readToEnd().replace(": ping\n\n", "")).isEqualTo("data: [DONE]\n\n");
    }
  }
}
