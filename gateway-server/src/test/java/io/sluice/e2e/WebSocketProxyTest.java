package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jsonwebtoken.Jwts;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.sluice.testing.FakeRealtimeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.WsClient;
import io.sluice.testing.WsFrame;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * WebSocket sessions through the gateway over real sockets (issue 8;
 * gateway-core/docs/websocket.md): the JDK's own client end to end, and a raw-frame client and
 * upstream that see every frame as sent.
 */
class WebSocketProxyTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KEY = "sk-alice-ws-0001";
  private static final int MiB = 1024 * 1024;
  private static final String JWT_SECRET = "ws-e2e-secret-that-is-32-bytes-long";

  /** The only endpoint of upstream 'nowhere': connections to it are refused. */
  private static final int DEAD_PORT = UpstreamFixtures.refusedPortOrFail();

  @RegisterExtension
  final GatewayExtension<FakeRealtimeUpstream> gateway = GatewayExtension.withUpstream(FakeRealtimeUpstream::start, """
      consumers: [ { name: alice, api-keys: [ "${ALICE_KEY}" ] }, { name: bob, jwt-claim-value: bob-sub } ]
      shutdown: { drain-timeout: 1s }
      upstreams:
        - name: realtime-pool
          endpoints: [ { url: "${upstream}" } ]
          first-byte-timeout: 2s
          retries: 0
        - name: nowhere
          endpoints: [ { url: "http://127.0.0.1:%d" } ]
          connect-timeout: 1s
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
        - name: quiet
          match: { path-prefix: /v1/quiet }
          upstream: realtime-pool
          websocket: { enabled: true, ping-interval: 200ms, idle-timeout: 3s }
        - name: metered
          match: { path-prefix: /v1/metered }
          upstream: realtime-pool
          websocket: { enabled: true }
          plugins:
            ai-token-ratelimit: { rules: [ { limit-by: ip, tokens-per-day: 30 } ], default-max-tokens: 1 }
        - name: jwt
          match: { path-prefix: /v1/jwt }
          upstream: realtime-pool
          rewrite-path: /v1/realtime
          websocket: { enabled: true }
          plugins:
            jwt-auth: { issuer: https://idp.example, audiences: [sluice], keys: [ { algorithm: HS256, secret: "${JWT_SECRET}" } ] }
        - name: short
          match: { path-prefix: /v1/short }
          upstream: realtime-pool
          timeout: 500ms
          websocket: { enabled: true }
        - name: dead
          match: { path-prefix: /v1/dead }
          upstream: nowhere
          websocket: { enabled: true }
      """.formatted(DEAD_PORT))
      .env(Map.of("ALICE_KEY", KEY, "JWT_SECRET", JWT_SECRET));

  @Test
  void aJdkClientHoldsASessionWithFramesRelayedBothWays() throws Exception {
    gateway.upstream().accept("realtime-v1", null);
    JdkListener listener = new JdkListener();
    WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().subprotocols("realtime-v1", "other")
        .buildAsync(URI.create("ws://127.0.0.1:" + gateway.port() + "/v1/realtime?model=gpt-rt"), listener)
        .get(10, TimeUnit.SECONDS);
    FakeRealtimeUpstream.Session s = gateway.upstream().next();
    assertThat(ws.getSubprotocol()).isEqualTo("realtime-v1");
    assertThat(s.uri).isEqualTo("/v1/realtime?model=gpt-rt");
    assertThat(s.headers.get("sec-websocket-protocol")).isEqualTo("realtime-v1, other");
    assertThat(s.headers.get("x-forwarded-for")).isEqualTo("127.0.0.1");

    ws.sendText("{\"type\":\"session.update\"}", true).get(10, TimeUnit.SECONDS);
    assertThat(s.next()).satisfies(f -> {
      assertThat(f.kind()).isEqualTo("text");
      assertThat(f.text()).isEqualTo("{\"type\":\"session.update\"}");
    });
    s.send(WsFrame.text("{\"type\":\"session.updated\"}", true));
    assertThat(listener.next()).isEqualTo("text:{\"type\":\"session.updated\"}");

    ws.sendBinary(ByteBuffer.wrap(new byte[] {1, 2, 3}), true).get(10, TimeUnit.SECONDS);
    assertThat(s.next().payload()).containsExactly(1, 2, 3);
    s.send(WsFrame.binary(new byte[] {9, 8}, true, 0));
    assertThat(listener.next()).isEqualTo("binary:2");

    ws.sendPing(ByteBuffer.wrap("are you there".getBytes(StandardCharsets.UTF_8))).get(10, TimeUnit.SECONDS);
    assertThat(s.next()).satisfies(f -> assertThat(f.kind() + ":" + f.text()).isEqualTo("ping:are you there"));
    s.send(new PingWebSocketFrame(Unpooled.copiedBuffer("upstream ping", StandardCharsets.UTF_8)));
    assertThat(s.next()).satisfies(f -> assertThat(f.kind() + ":" + f.text()).isEqualTo("pong:upstream ping"));

    ws.sendClose(4000, "bye now").get(10, TimeUnit.SECONDS);
    WsFrame close = s.next();
    assertThat(close.kind()).isEqualTo("close");
    assertThat(close.closeCode()).isEqualTo(4000);
    assertThat(close.closeReason()).isEqualTo("bye now");
    s.send(WsFrame.close(4000, "bye now"));
    assertThat(listener.next()).isEqualTo("close:4000:bye now");
    assertThat(s.awaitClosed(Duration.ofSeconds(10))).isTrue();
  }

  @Test
  void keepsFragmentsAndTheirBoundariesAsSent() throws Exception {
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      assertThat(client.status()).isEqualTo(101);
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      client.send(WsFrame.text("he", false)).send(WsFrame.continuation("ll", false))
          .send(new PingWebSocketFrame(Unpooled.copiedBuffer("mid", StandardCharsets.UTF_8)))
          .send(WsFrame.continuation("o", true));
      assertThat(List.of(s.next(), s.next(), s.next(), s.next())).map(WsFrame::toString)
          .containsExactly("text(more) 'he'", "continuation(more) 'll'", "ping 'mid'", "continuation 'o'");

      s.send(WsFrame.binary(new byte[] {1}, false, 0)).send(WsFrame.continuation("x", true));
      assertThat(client.next().toString()).isEqualTo("binary(more) '\u0001'");
      assertThat(client.next().toString()).isEqualTo("continuation 'x'");
    }
  }

  /**
   * Upstream to client, the direction of generated audio. (The other direction crosses the same
   * decoder; it is masked, and masking 16 MiB word by word under the paranoid leak detector the
   * tests run with takes half a minute, so the 1 MiB limit client to upstream is covered by the
   * oversize test and the fragment test.)
   */
  @Test
  void relaysASixteenMiBMessageSentAsOneMiBFramesUnderAOneMiBLimit() throws Exception {
    byte[] frame = new byte[MiB];
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      MessageDigest sent = MessageDigest.getInstance("SHA-256");
      MessageDigest received = MessageDigest.getInstance("SHA-256");
      for (int i = 0; i < 16; i++) {
        Arrays.fill(frame, (byte) i);
        sent.update(frame);
        s.send(i == 0 ? WsFrame.binary(frame.clone(), false, 0)
            : new ContinuationWebSocketFrame(i == 15, 0,
                Unpooled.wrappedBuffer(frame.clone())));
        WsFrame f = client.next();
        assertThat(f.kind()).isEqualTo(i == 0 ? "binary" : "continuation");
        assertThat(f.fin()).isEqualTo(i == 15);
        assertThat(f.payload()).hasSize(MiB);
        received.update(f.payload());
      }
      assertThat(received.digest()).isEqualTo(sent.digest());
      client.send(WsFrame.binary(new byte[64 * 1024], true, 0));
      assertThat(s.next().payload()).hasSize(64 * 1024);
    }
  }

  @Test
  void refusesAFrameOverTheLimitWith1009AndForwardsNothingOfIt() throws Exception {
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      client.send(WsFrame.text("small", true));
      assertThat(s.next().text()).isEqualTo("small");
      client.send(WsFrame.binary(new byte[MiB + 1], true, 0));
      WsFrame close = client.next();
      assertThat(close.kind()).isEqualTo("close");
      assertThat(close.closeCode()).isEqualTo(1009);
      assertThat(close.closeReason()).contains("max-frame-size");
      WsFrame upstreamSaw = s.next();
      assertThat(upstreamSaw.kind()).as("nothing of the big frame went upstream").isEqualTo("close");
      assertThat(upstreamSaw.closeCode()).isEqualTo(1001);
      assertThat(s.awaitClosed(Duration.ofSeconds(10))).isTrue();
      assertThat(client.awaitClosed(Duration.ofSeconds(10))).isTrue();
    }
  }

  @Test
  void passesPermessageDeflateThroughWithRsv1AndTheCompressedBytesUnchanged() throws Exception {
    gateway.upstream().accept("realtime-v1", "permessage-deflate; server_no_context_takeover");
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Protocol: realtime-v1")) {
      assertThat(client.status()).isEqualTo(101);
      assertThat(client.header("sec-websocket-extensions")).isEqualTo("permessage-deflate; server_no_context_takeover");
      assertThat(client.header("sec-websocket-protocol")).isEqualTo("realtime-v1");
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      assertThat(s.headers.get("sec-websocket-extensions")).isEqualTo("permessage-deflate; client_max_window_bits");
      // "Hello" deflated (RFC 7692 §7.2.3.1), as a compressed text message: RSV1 set.
      byte[] deflated = {(byte) 0xf2, 0x48, (byte) 0xcd, (byte) 0xc9, (byte) 0xc9, 0x07, 0x00};
      client.send(new TextWebSocketFrame(true, 4, Unpooled.wrappedBuffer(deflated)));
      WsFrame up = s.next();
      assertThat(up.rsv()).isEqualTo(4);
      assertThat(up.payload()).containsExactly(deflated);
      s.send(WsFrame.binary(deflated.clone(), true, 4));
      WsFrame down = client.next();
      assertThat(down.rsv()).isEqualTo(4);
      assertThat(down.payload()).containsExactly(deflated);
    }
  }

  @Test
  void passesAnUpstreamCloseCodeAndReasonToTheClientAndItsAnswerBack() throws Exception {
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      s.send(WsFrame.close(4001, "session expired"));
      WsFrame close = client.next();
      assertThat(close.closeCode()).isEqualTo(4001);
      assertThat(close.closeReason()).isEqualTo("session expired");
      client.send(WsFrame.close(4001, "session expired"));
      assertThat(s.next().closeCode()).isEqualTo(4001);
      assertThat(client.awaitClosed(Duration.ofSeconds(10))).isTrue();
      assertThat(s.awaitClosed(Duration.ofSeconds(10))).isTrue();
    }
    String log = gateway.admin("/metrics").body();
    assertThat(log).contains("sluice_requests_total{route=\"realtime\",status=\"101\"} 1.0");
  }

  @Test
  void closesBothConnectionsWhenACloseIsNeverAnswered() throws Exception {
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      client.send(WsFrame.close(1000, "done"));
      assertThat(s.next().closeCode()).isEqualTo(1000);
      // The upstream never answers: after the gateway's 5 s grace both connections close.
      assertThat(s.awaitClosed(Duration.ofSeconds(20))).isTrue();
      assertThat(client.awaitClosed(Duration.ofSeconds(20))).isTrue();
    }
  }

  @Test
  void refusesAMissingKeyWith401BeforeAnyUpstreamConnection() throws Exception {
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/keyed")) {
      assertThat(client.status()).isEqualTo(401);
      JsonNode error = JSON.readTree(client.body()).path("error");
      assertThat(error.path("type").asText()).isEqualTo("authentication_error");
      assertThat(error.path("code").asText()).isEqualTo("missing_credentials");
    }
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/keyed", "Authorization: Bearer wrong-key")) {
      assertThat(client.status()).isEqualTo(401);
    }
    assertThat(gateway.upstream().connections()).isZero();
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/keyed?api_key=" + KEY)) {
      assertThat(client.status()).isEqualTo(101);
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      assertThat(s.uri).as("the key never reaches the upstream").isEqualTo("/v1/realtime");
    }
  }

  @Test
  void aBrowserStyleAccessTokenOpensTheSessionAndARefusedOneNeverReachesTheUpstream() throws Exception {
    Instant now = Instant.now();
    String token = Jwts.builder().subject("bob-sub").issuer("https://idp.example")
        .audience().add("sluice").and().issuedAt(Date.from(now))
        .expiration(Date.from(now.plusSeconds(300)))
        .signWith(new SecretKeySpec(JWT_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"))
        .compact();
    HttpClient http = HttpClient.newHttpClient();
    CompletableFuture<WebSocket> refused = http.newWebSocketBuilder()
        .buildAsync(URI.create("ws://127.0.0.1:" + gateway.port() + "/v1/jwt?access_token=" + token + "x"),
            new JdkListener());
    assertThat(refused).failsWithin(Duration.ofSeconds(10)).withThrowableOfType(ExecutionException.class)
        .havingCause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
            e -> assertThat(e.getResponse().statusCode()).isEqualTo(401));
    assertThat(gateway.upstream().connections()).isZero();

    JdkListener listener = new JdkListener();
    WebSocket ws = http.newWebSocketBuilder()
        .buildAsync(URI.create("ws://127.0.0.1:" + gateway.port() + "/v1/jwt?model=m&access_token=" + token), listener)
        .get(10, TimeUnit.SECONDS);
    FakeRealtimeUpstream.Session s = gateway.upstream().next();
    assertThat(s.uri).as("the token is not forwarded").isEqualTo("/v1/realtime?model=m");
    s.send(WsFrame.text("hello bob", true));
    assertThat(listener.next()).isEqualTo("text:hello bob");
    ws.abort();
    assertThat(s.next().closeCode()).as("the client went away").isEqualTo(1001);
  }

  @Test
  void endsASessionAtTheRouteTimeoutWith1001() throws Exception {
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/short")) {
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      WsFrame close = client.next();
      assertThat(close.closeCode()).isEqualTo(1001);
      assertThat(close.closeReason()).isEqualTo("the route's timeout was reached");
      assertThat(s.next().closeCode()).isEqualTo(1001);
    }
  }

  @Test
  void relaysAnUpstreamRefusalAndAnswers502ForGarbageOrNoConnection() throws Exception {
    gateway.upstream().refuse(403, "{\"error\":{\"message\":\"no realtime for you\"}}");
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      assertThat(client.status()).isEqualTo(403);
      assertThat(client.body()).isEqualTo("{\"error\":{\"message\":\"no realtime for you\"}}");
    }
    gateway.upstream().accept(null, null).answerGarbage();
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      assertThat(client.status()).isEqualTo(502);
      assertThat(JSON.readTree(client.body()).path("error").path("code").asText()).isEqualTo("upstream_failed");
      UpstreamFixtures.assertErrorMessage(client.body(),
          "upstream 'realtime-pool' answered 101 with a wrong Sec-WebSocket-Accept", gateway.upstream().port());
    }
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/dead")) {
      assertThat(client.status()).isEqualTo(502);
      assertThat(JSON.readTree(client.body()).path("error").path("type").asText()).isEqualTo("upstream_error");
    }
  }

  /** As on the HTTP path: the client learns which upstream failed, nothing of its endpoints. */
  @Test
  void tellsAClientWhoseUpstreamRefusesConnectionsOnlyTheUpstreamsName() throws Exception {
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/dead")) {
      assertThat(client.status()).isEqualTo(502);
      assertThat(JSON.readTree(client.body()).path("error").path("code").asText()).isEqualTo("upstream_failed");
      UpstreamFixtures.assertErrorMessage(client.body(), "upstream 'nowhere' failed before responding", DEAD_PORT);
    }
  }

  @Test
  void pausesTheUpstreamWhenTheClientStopsReading() throws Exception {
    long offered = 256L * MiB;
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime", 64 * 1024)) {
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      client.reading(false);
      CompletableFuture<Void> flood = s.flood(offered, 16 * 1024);
      long settled = awaitPlateau(s);
      // Socket buffers on both legs plus the gateway's 64 KiB watermark: a few MiB at most.
      assertThat(settled).isLessThan(16L * MiB);
      assertThat(flood).isNotDone();
    }
  }

  @Test
  void countsRealtimeUsageIntoTheTokenMetricsAndTheActiveSessionGauge() throws Exception {
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime?model=gpt-rt")) {
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      assertThat(gateway.admin("/metrics").body())
          .contains("sluice_active_streams{route=\"realtime\",transport=\"websocket\"} 1.0");
      String done = "{\"type\":\"response.done\",\"event_id\":\"e1\",\"response\":{\"id\":\"r1\",\"usage\":"
          + "{\"total_tokens\":19,\"input_tokens\":12,\"output_tokens\":7,"
          + "\"input_token_details\":{\"cached_tokens\":4}}}}";
      s.send(WsFrame.text(done, true));
      assertThat(client.next().text()).isEqualTo(done);
      s.send(WsFrame.text(done.replace("\"output_tokens\":7", "\"output_tokens\":3"), true));
      client.next();
      s.send(WsFrame.close(1000, ""));
      client.next();
      client.send(WsFrame.close(1000, ""));
      assertThat(client.awaitClosed(Duration.ofSeconds(10))).isTrue();
    }
    assertThat(gateway.admin("/metrics").body())
        .contains("sluice_tokens_total{consumer=\"anonymous\",model=\"gpt-rt\",route=\"realtime\",type=\"input\"} 24.0")
        .contains("sluice_tokens_total{consumer=\"anonymous\",model=\"gpt-rt\",route=\"realtime\",type=\"output\"} 10.0")
        .contains("sluice_active_streams{route=\"realtime\",transport=\"websocket\"} 0.0");
  }

  @Test
  void chargesASessionsReportedUsageToTheTokenLimit() throws Exception {
    String done = "{\"type\":\"response.done\",\"response\":{\"usage\":{\"input_tokens\":24,\"output_tokens\":10}}}";
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/metered")) {
      assertThat(client.status()).isEqualTo(101);
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      s.send(WsFrame.text(done, true));
      client.next();
      client.send(WsFrame.close(1000, ""));
      s.next();
      s.send(WsFrame.close(1000, ""));
      assertThat(client.awaitClosed(Duration.ofSeconds(10))).isTrue();
    }
    // 34 tokens of a daily 30 are spent: the next session is refused before the upgrade.
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/metered")) {
      assertThat(client.status()).isEqualTo(429);
      assertThat(JSON.readTree(client.body()).path("error").path("code").asText()).isEqualTo("token_rate_limited");
    }
    assertThat(gateway.upstream().connections()).isEqualTo(1);
  }

  @Test
  void pingsTheClientWhileQuietAndClosesAnIdleSessionWith1001() throws Exception {
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/quiet")) {
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      WsFrame ping = client.next();
      assertThat(ping.kind()).isEqualTo("ping");
      client.send(new PongWebSocketFrame(Unpooled.wrappedBuffer(ping.payload())));
      WsFrame close;
      do {
        close = client.next();
      } while (close.kind().equals("ping"));
      assertThat(close.kind()).isEqualTo("close");
      assertThat(close.closeCode()).isEqualTo(1001);
      assertThat(close.closeReason()).isEqualTo("idle timeout");
      WsFrame upstreamClose = s.next();
      assertThat(upstreamClose.kind()).as("the gateway's pong never went upstream").isEqualTo("close");
      assertThat(upstreamClose.closeCode()).isEqualTo(1001);
      assertThat(client.awaitClosed(Duration.ofSeconds(10))).isTrue();
    }
  }

  @Test
  void drainingClosesOpenSessionsWith1001() throws Exception {
    try (WsClient client = WsClient.connect(gateway.port(), "/v1/realtime")) {
      FakeRealtimeUpstream.Session s = gateway.upstream().next();
      Thread drain = new Thread(() -> {
        try {
          gateway.sluice().drain();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      drain.start();
      WsFrame close = client.next();
      assertThat(close.closeCode()).isEqualTo(1001);
      assertThat(close.closeReason()).isEqualTo("the gateway is shutting down");
      assertThat(s.next().closeCode()).isEqualTo(1001);
      assertThat(client.awaitClosed(Duration.ofSeconds(10))).isTrue();
      assertThat(s.awaitClosed(Duration.ofSeconds(10))).isTrue();
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

  /** Records what the JDK client receives as short strings. */
  private static final class JdkListener implements WebSocket.Listener {
    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final StringBuilder text = new StringBuilder();

    String next() throws InterruptedException {
      String e = events.poll(10, TimeUnit.SECONDS);
      assertThat(e).as("an event within 10 s").isNotNull();
      return e;
    }

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        events.add("text:" + text);
        text.setLength(0);
      }
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
      events.add("binary:" + data.remaining());
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
      events.add("close:" + code + ":" + reason);
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      events.add("error:" + error);
    }
  }
}
