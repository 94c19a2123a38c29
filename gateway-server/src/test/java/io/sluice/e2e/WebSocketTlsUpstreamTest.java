package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeRealtimeUpstream;
import io.sluice.testing.TestGateway;
import io.sluice.testing.TestPki;
import io.sluice.testing.WsClient;
import io.sluice.testing.WsFrame;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A WebSocket session to a {@code wss} (https endpoint) upstream, verified against a configured CA. */
class WebSocketTlsUpstreamTest {
  @TempDir Path dir;
  private final TestPki pki = TestPki.create("Realtime CA");
  private FakeRealtimeUpstream upstream;
  private TestGateway gateway;

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  private void start(String tls) throws Exception {
    upstream = FakeRealtimeUpstream.startTls(pki.issue("realtime.test"));
    gateway = TestGateway.start("""
        upstreams:
          - name: realtime-pool
            endpoints: [ { url: "%s" } ]
            retries: 0
            %s
        routes:
          - name: realtime
            match: { path-prefix: /v1/realtime }
            upstream: realtime-pool
            websocket: { enabled: true }
        """.formatted(upstream.url(), tls));
  }

  @Test
  void relaysFramesToAWssUpstream() throws Exception {
    start("tls: { ca: '" + pki.writeCa(dir.resolve("ca.pem")) + "' }");
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      assertThat(client.status()).isEqualTo(101);
      FakeRealtimeUpstream.Session s = upstream.next();
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
