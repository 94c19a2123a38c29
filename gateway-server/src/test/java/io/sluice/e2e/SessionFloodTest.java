package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A flood of abandoned resumable streams: the sessions' memory stays under
 * {@code limits.max-session-memory}, the sessions pushed out have their generations stopped
 * (their upstream connections closed), and the gateway keeps serving.
 */
class SessionFloodTest {
  private static final int STREAMS = 200;
  private static final long CAP = 128 * 1024;

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      limits: { max-session-memory: 128KiB }
      upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ], max-connections-per-endpoint: 10000 } ]
      routes:
        - name: chat
          match: { path-prefix: /v1/chat }
          upstream: models
          sse: { heartbeat: 0s, resume: { enabled: true, buffer-events: 64 } }
      """);

  @Test
  void theMemoryCapHoldsAndEvictedGenerationsStop() throws Exception {
    String chunk = "data: " + "x".repeat(2000) + "\n\n";
    List<FakeUpstream.Call> calls = new ArrayList<>();
    for (int i = 0; i < STREAMS; i++) {
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post("/v1/chat", "{}");
        FakeUpstream.Call call = gateway.upstream().next().startSse().send(chunk).send(chunk);
        calls.add(call);
        client.readHead();
        client.readUntil("x\n\n");
      } // abandoned: the generation runs on into its session
    }
    String metrics = gateway.admin("/metrics").body();
    assertThat(gauge(metrics, "sluice_stream_session_memory_bytes")).isLessThanOrEqualTo(CAP);
    double evicted = gauge(metrics, "sluice_stream_sessions_evicted_total\\{cause=\"size\",route=\"chat\"}");
    assertThat(evicted).isGreaterThan(STREAMS - 40);
    // The first streams were pushed out long ago: their generations were stopped.
    int stopped = 0;
    for (FakeUpstream.Call call : calls.subList(0, STREAMS / 2)) {
      stopped += call.awaitClosed(Duration.ofSeconds(5)) ? 1 : 0;
    }
    assertThat(stopped).isEqualTo(STREAMS / 2);
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat", "{}");
      gateway.upstream().next().startSse().send("data: still serving\n\n").end();
      assertThat(client.readHead().status()).isEqualTo(200);
      assertThat(client.readToEnd()).contains("data: still serving");
    }
  }

  private static double gauge(String metrics, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(metrics);
    assertThat(m.find()).as("%s in /metrics", name).isTrue();
    return Double.parseDouble(m.group(1));
  }
}
