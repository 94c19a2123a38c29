package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.sluice.testing.FakeRealtimeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.H2WsClient;
import io.sluice.testing.TestPki;
import io.sluice.testing.WsFrame;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * WebSocket over HTTP/2 (RFC 8441 extended CONNECT) through the gateway, over real sockets: Netty's
 * HTTP/2 client on h2c (prior knowledge) and TLS + ALPN listeners, a raw-frame fake upstream that
 * gets an ordinary HTTP/1.1 upgrade.
 */
class WebSocketHttp2Test {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KEY = "sk-alice-h2ws-0001";
  private static final int MiB = 1024 * 1024;
  private static final Duration WAIT = Duration.ofSeconds(10);
  @TempDir Path dir;
  private final TestPki pki = TestPki.create("H2 WS Test CA");

  @RegisterExtension
  final GatewayExtension<FakeRealtimeUpstream> gateway = GatewayExtension.withUpstream(FakeRealtimeUpstream::start);

  private int deadPort; // the only endpoint of upstream 'nowhere': connections to it are refused

  @BeforeEach
  void start() throws Exception {
    deadPort = UpstreamFixtures.refusedPort();
    // The TLS listener's certificate files are made in the test's @TempDir, so the config is made here.
    TestPki.Files2 files = pki.issue("localhost").write(dir, "server");
    gateway.start("""
        listeners:
          - { name: public, host: 127.0.0.1, port: 0, http2: true }
          - name: tls
            host: 127.0.0.1
            port: 0
            tls: { certificate: "%s", private-key: "%s" }
        shutdown: { drain-timeout: 1s }
        consumers: [ { name: alice, api-keys: [ "${ALICE_KEY}" ] } ]
        upstreams:
          - name: realtime-pool
            endpoints: [ { url: "${upstream}" } ]
            first-byte-timeout: 2s
            retries: 0
          - name: nowhere
            endpoints: [ { url: "http://127.0.0.1:%d" } ]
            retries: 0
        routes:
          - name: realtime
            match: { path-prefix: /v1/realtime }
            upstream: realtime-pool
            websocket: { enabled: true, max-frame-size: 1MiB, ping-interval: 0s }
          - name: keyed
            match: { path-prefix: /v1/keyed }
            upstream: realtime-pool
            rewrite-path: /v1/realtime
            websocket: { enabled: true }
            plugins: { key-auth: {} }
          - name: chat
            match: { path-prefix: /v1/chat }
            upstream: realtime-pool
          - name: dead
            match: { path-prefix: /v1/dead }
            upstream: nowhere
            websocket: { enabled: true }
        """.formatted(files.certificate(), files.key(), deadPort), Map.of("ALICE_KEY", KEY));
  }

  @Test
  void advertisesExtendedConnectOnH2cAndTlsListeners() throws Exception {
    try (H2WsClient h2c = H2WsClient.connect(gateway.port());
        H2WsClient tls = H2WsClient.connectTls(gateway.sluice().port("tls"), pki.caCertificate())) {
      assertThat(h2c.serverSettings().connectProtocolEnabled()).isTrue();
      assertThat(tls.serverSettings().connectProtocolEnabled()).isTrue();
    }
  }

  @Test
  void relaysFramesBothWaysOnAnH2cStreamAndEndsItAfterTheCloseHandshake() throws Exception {
    gateway.upstream().accept("realtime-v1", null);
    try (H2WsClient client = H2WsClient.connect(gateway.port())) {
      H2WsClient.Stream ws = client.connect("/v1/realtime?model=gpt-rt", "sec-websocket-protocol: realtime-v1, other");
      assertThat(ws.status()).isEqualTo(200);
      assertThat(ws.header("sec-websocket-protocol")).isEqualTo("realtime-v1");
      assertThat(ws.header("sec-websocket-accept")).as("an HTTP/1.1 handshake detail").isNull();
      assertThat(ws.header("x-request-id")).isNotBlank();

      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      assertThat(s.uri).isEqualTo("/v1/realtime?model=gpt-rt");
      assertThat(s.headers.get("sec-websocket-protocol")).isEqualTo("realtime-v1, other");
      assertThat(s.headers.get("sec-websocket-version")).isEqualTo("13");
      assertThat(s.headers.get("sec-websocket-key")).as("the gateway's own key").hasSize(24);
      assertThat(s.headers.get("x-forwarded-proto")).isEqualTo("http");
      assertThat(s.headers.get("x-forwarded-host")).isEqualTo("127.0.0.1:" + gateway.port());
      assertThat(s.headers.names()).noneMatch(n -> n.toLowerCase().startsWith("x-http2"));

      ws.send(WsFrame.text("{\"type\":\"session.update\"}", true));
      assertThat(s.next().text()).isEqualTo("{\"type\":\"session.update\"}");
      ws.send(WsFrame.text("he", false)).send(WsFrame.continuation("llo", true))
          .send(WsFrame.binary(new byte[] {1, 2, 3}, true, 0))
          .send(new PingWebSocketFrame(Unpooled.copiedBuffer("are you there", StandardCharsets.UTF_8)));
      assertThat(List.of(s.next(), s.next(), s.next(), s.next())).map(WsFrame::toString)
          .containsExactly("text(more) 'he'", "continuation 'llo'", "binary '\u0001\u0002\u0003'", "ping 'are you there'");

      s.send(WsFrame.text("{\"type\":\"session.updated\"}", true));
      assertThat(ws.next().text()).isEqualTo("{\"type\":\"session.updated\"}");
      s.send(WsFrame.binary(new byte[] {9, 8}, false, 0)).send(WsFrame.continuation("x", true));
      assertThat(ws.next().toString()).isEqualTo("binary(more) '\t\b'");
      assertThat(ws.next().toString()).isEqualTo("continuation 'x'");

      ws.send(WsFrame.close(4000, "bye now"));
      WsFrame close = s.next();
      assertThat(close.closeCode()).isEqualTo(4000);
      assertThat(close.closeReason()).isEqualTo("bye now");
      s.send(WsFrame.close(4000, "bye now"));
      WsFrame answer = ws.next();
      assertThat(answer.closeCode()).isEqualTo(4000);
      assertThat(answer.closeReason()).isEqualTo("bye now");
      assertThat(ws.awaitEndStream(WAIT)).as("the gateway ends its side with END_STREAM").isTrue();
      assertThat(s.awaitClosed(WAIT)).isTrue();
      assertThat(ws.awaitClosed(WAIT)).isTrue();
    }
    assertThat(gateway.admin("/metrics").body())
        .contains("sluice_requests_total{route=\"realtime\",status=\"200\"} 1.0")
        .contains("sluice_active_streams{route=\"realtime\",transport=\"websocket\"} 0.0");
  }

  @Test
  void relaysOnTlsWithAlpnH2AndPassesTheUpstreamsCloseCodeToTheClient() throws Exception {
    try (H2WsClient client = H2WsClient.connectTls(gateway.sluice().port("tls"), pki.caCertificate())) {
      H2WsClient.Stream ws = client.connect("/v1/realtime");
      assertThat(ws.status()).isEqualTo(200);
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      assertThat(s.headers.get("x-forwarded-proto")).isEqualTo("https");
      ws.send(WsFrame.text("over tls", true));
      assertThat(s.next().text()).isEqualTo("over tls");
      s.send(WsFrame.close(4001, "session expired"));
      WsFrame close = ws.next();
      assertThat(close.closeCode()).isEqualTo(4001);
      assertThat(close.closeReason()).isEqualTo("session expired");
      ws.send(WsFrame.close(4001, "session expired"));
      assertThat(s.next().closeCode()).isEqualTo(4001);
      assertThat(s.awaitClosed(WAIT)).isTrue();
      assertThat(ws.awaitEndStream(WAIT)).isTrue();
    }
  }

  @Test
  void carriesTwoSessionsOnOneConnectionIndependently() throws Exception {
    try (H2WsClient client = H2WsClient.connect(gateway.port())) {
      H2WsClient.Stream a = client.connect("/v1/realtime?n=a");
      FakeRealtimeUpstream.Session sa = gateway.upstream().next();
      H2WsClient.Stream b = client.connect("/v1/realtime?n=b");
      FakeRealtimeUpstream.Session sb = gateway.upstream().next();
      assertThat(List.of(sa.uri, sb.uri)).containsExactly("/v1/realtime?n=a", "/v1/realtime?n=b");
      sb.send(WsFrame.text("to b", true));
      sa.send(WsFrame.text("to a", true));
      assertThat(a.next().text()).isEqualTo("to a");
      assertThat(b.next().text()).isEqualTo("to b");
      a.reset();
      assertThat(sa.next().closeCode()).as("a's upstream is told its client went away").isEqualTo(1001);
      b.send(WsFrame.text("b lives on", true));
      assertThat(sb.next().text()).isEqualTo("b lives on");
    }
  }

  @Test
  void deliversAFrameTheClientSentBeforeItsAnswer() throws Exception {
    try (H2WsClient client = H2WsClient.connect(gateway.port())) {
      H2WsClient.Stream ws = client.connectEagerly("/v1/realtime", WsFrame.text("sent at once", true));
      assertThat(ws.status()).isEqualTo(200);
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      assertThat(s.next().text()).isEqualTo("sent at once");
      ws.send(WsFrame.text("and then", true));
      assertThat(s.next().text()).isEqualTo("and then");
    }
  }

  @Test
  void refusesAMissingKeyWith401BeforeAnyUpstreamConnection() throws Exception {
    try (H2WsClient client = H2WsClient.connect(gateway.port())) {
      H2WsClient.Stream refused = client.connect("/v1/keyed");
      assertThat(refused.status()).isEqualTo(401);
      JsonNode error = JSON.readTree(refused.body()).path("error");
      assertThat(error.path("type").asText()).isEqualTo("authentication_error");
      assertThat(error.path("code").asText()).isEqualTo("missing_credentials");
      assertThat(client.connect("/v1/keyed", "authorization: Bearer wrong-key").status()).isEqualTo(401);
      assertThat(gateway.upstream().connections()).isZero();

      H2WsClient.Stream ws = client.connect("/v1/keyed?api_key=" + KEY);
      assertThat(ws.status()).isEqualTo(200);
      assertThat(gateway.upstream().next().uri).as("the key never reaches the upstream").isEqualTo("/v1/realtime");
    }
  }

  /** As on the HTTP path: the client learns which upstream failed, nothing of its endpoints. */
  @Test
  void tellsAClientWhoseUpstreamRefusesConnectionsOnlyTheUpstreamsName() throws Exception {
    try (H2WsClient client = H2WsClient.connect(gateway.port())) {
      H2WsClient.Stream refused = client.connect("/v1/dead");
      assertThat(refused.status()).isEqualTo(502);
      String body = refused.body();
      assertThat(JSON.readTree(body).path("error").path("code").asText()).isEqualTo("upstream_failed");
      UpstreamFixtures.assertErrorMessage(body, "upstream 'nowhere' failed before responding", deadPort);
    }
  }

  @Test
  void refusesAnExtendedConnectOnARouteWithoutWebSocket() throws Exception {
    try (H2WsClient client = H2WsClient.connect(gateway.port())) {
      H2WsClient.Stream refused = client.connect("/v1/chat/completions");
      assertThat(refused.status()).isEqualTo(400);
      assertThat(JSON.readTree(refused.body()).path("error").path("message").asText())
          .contains("does not relay WebSocket");
      H2WsClient.Stream version = client.connect("/v1/realtime", "sec-websocket-version: 8");
      assertThat(version.status()).isEqualTo(400);
      assertThat(gateway.upstream().connections()).isZero();
    }
  }

  @Test
  void refusesAFrameOverTheLimitWith1009AndForwardsNothingOfIt() throws Exception {
    try (H2WsClient client = H2WsClient.connect(gateway.port())) {
      H2WsClient.Stream ws = client.connect("/v1/realtime");
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      ws.send(WsFrame.text("small", true));
      assertThat(s.next().text()).isEqualTo("small");
      ws.send(WsFrame.binary(new byte[MiB + 1], true, 0));
      WsFrame close = ws.next();
      assertThat(close.closeCode()).isEqualTo(1009);
      assertThat(close.closeReason()).contains("max-frame-size");
      WsFrame upstreamSaw = s.next();
      assertThat(upstreamSaw.kind()).as("nothing of the big frame went upstream").isEqualTo("close");
      assertThat(upstreamSaw.closeCode()).isEqualTo(1001);
      assertThat(s.awaitClosed(WAIT)).isTrue();
      assertThat(ws.awaitClosed(WAIT)).isTrue();
    }
  }

  @Test
  void aClientResetClosesTheUpstreamWith1001() throws Exception {
    try (H2WsClient client = H2WsClient.connect(gateway.port())) {
      H2WsClient.Stream ws = client.connect("/v1/realtime");
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      ws.reset();
      WsFrame close = s.next();
      assertThat(close.closeCode()).isEqualTo(1001);
      assertThat(close.closeReason()).isEqualTo("the client went away");
      assertThat(s.awaitClosed(WAIT)).isTrue();
    }
  }

  @Test
  void pausesTheUpstreamWhileTheStreamsFlowControlWindowIsShut() throws Exception {
    try (H2WsClient client = H2WsClient.connect(gateway.port())) {
      H2WsClient.Stream ws = client.connect("/v1/realtime");
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      ws.reading(false);
      CompletableFuture<Void> flood = s.flood(256L * MiB, 16 * 1024);
      long settled = awaitPlateau(s);
      // The stream's 64 KiB window, the gateway's watermark and the upstream socket's buffers.
      assertThat(settled).isLessThan(16L * MiB);
      assertThat(flood).isNotDone();
    }
  }

  @Test
  void drainingClosesSessionsOnH2StreamsWith1001() throws Exception {
    try (H2WsClient client = H2WsClient.connect(gateway.port())) {
      H2WsClient.Stream ws = client.connect("/v1/realtime");
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      Thread drain = new Thread(() -> {
        try {
          gateway.sluice().drain();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      drain.start();
      WsFrame close = ws.next();
      assertThat(close.closeCode()).isEqualTo(1001);
      assertThat(close.closeReason()).isEqualTo("the gateway is shutting down");
      assertThat(s.next().closeCode()).isEqualTo(1001);
      assertThat(s.awaitClosed(WAIT)).isTrue();
      assertThat(client.awaitClosed(WAIT)).as("the connection closes once its streams ended").isTrue();
      drain.join(10_000);
    }
  }

  /** Waits until the upstream's written count stops growing, and returns it. */
  private static long awaitPlateau(FakeRealtimeUpstream.Session s) throws InterruptedException {
    long last = -1;
    int stable = 0;
    for (int i = 0; i < 200 && stable < 5; i++) {
      Thread.sleep(100); // polling a measurement, not waiting for a timer to fire
      long now = s.bytesWritten();
      stable = now == last ? stable + 1 : 0;
      last = now;
    }
    assertThat(stable).as("upstream writes stopped growing").isGreaterThanOrEqualTo(5);
    return last;
  }
}
