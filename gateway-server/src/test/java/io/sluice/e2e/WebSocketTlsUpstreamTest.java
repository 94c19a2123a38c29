package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeRealtimeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.TestPki;
import io.sluice.testing.WsClient;
import io.sluice.testing.WsFrame;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A WebSocket session to a {@code wss} (https endpoint) upstream, verified against a configured CA. */
class WebSocketTlsUpstreamTest {
  @TempDir Path dir;
  private final TestPki pki = TestPki.create("Realtime CA");

  @RegisterExtension
  final GatewayExtension<FakeRealtimeUpstream> gateway =
      GatewayExtension.withUpstream(() -> FakeRealtimeUpstream.startTls(pki.issue("realtime.test")));

  private void start(String tls) throws Exception {
    gateway.start("""
        upstreams:
          - name: realtime-pool
            endpoints: [ { url: "${upstream}" } ]
            retries: 0
            %s
        routes:
          - name: realtime
            match: { path-prefix: /v1/realtime }
            upstream: realtime-pool
            websocket: { enabled: true }
        """.formatted(tls));
  }

  @Test
  void relaysFramesToAWssUpstream() throws Exception {
    start("tls: { ca: '" + pki.writeCa(dir.resolve("ca.pem")) + "' }");
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      assertThat(client.status()).isEqualTo(101);
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      client.send(WsFrame.text("over tls", true));
      assertThat(s.next().text()).isEqualTo("over tls");
      s.send(WsFrame.text("back over tls", true));
      assertThat(client.next().text()).isEqualTo("back over tls");
    }
  }

  @Test
  void anUntrustedUpstreamCertificateIsA502BeforeTheUpgrade() throws Exception {
    start("tls: { ca: '" + TestPki.create("Some Other CA").writeCa(dir.resolve("other.pem")) + "' }");
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      assertThat(client.status()).isEqualTo(502);
      assertThat(client.body()).contains("upstream_failed");
    }
  }
}
