package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** SSE through the gateway over real sockets: event by event, exact wire text, failures, backpressure. */
class StreamingRelayTest {
  private static final String CHAT = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams:
        - name: models
          endpoints: [ { url: "${upstream}" } ]
          stream-idle-timeout: 2s
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions, methods: [POST] }
          upstream: models
      """);

  /**
   * A request pipelined behind a running stream waits (held, reading paused) and is served once
   * the stream ended. Replaying it once spun the event loop forever: each held message was held
   * again behind the rest.
   */
  @Test
  void servesARequestPipelinedBehindAStreamOnceTheStreamEnded() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      FakeUpstream.Call first = gateway.upstream().next().startSse();
      assertThat(client.readHead().status()).isEqualTo(200);
      client.post("/v1/chat/completions", CHAT); // pipelined: the stream is still running
      first.send("data: a\n\n").end();
      assertThat(client.readToEnd()).isEqualTo("data: a\n\n");
      assertThat(client.endedCleanly()).isTrue();

      FakeUpstream.Call second = gateway.upstream().next().startSse();
      assertThat(second.body).startsWith("{\"model\":\"m\",\"stream\":true"); // the pipelined request itself
      assertThat(client.readHead().status()).isEqualTo(200);
      second.send("data: b\n\n").end();
      assertThat(client.readToEnd()).isEqualTo("data: b\n\n");
    }
  }

  @Test
  void relaysEachEventBeforeTheNextIsSent() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      for (int i = 0; i < 5; i++) {
        String event = "data: {\"choices\":[{\"delta\":{\"content\":\"tok" + i + "\"}}]}\n\n";
        call.send(event);
        // The upstream sends the next event only after the client saw this one: a gateway that
        // buffered would make this read time out.
        assertThat(client.readUntil("\n\n")).isEqualTo(event);
      }
      call.send("data: [DONE]\n\n").end();
      assertThat(client.readToEnd()).isEqualTo("data: [DONE]\n\n");
      assertThat(client.endedCleanly()).isTrue();
    }
  }

  @Test
  void passesSseWireTextUnchangedWhateverTheUpstreamSplit() throws Exception {
    String stream = ": ping\r\n\r\nevent: delta\r\ndata: line one\r\ndata: line two\r\nid: 7\r\n\r\n"
        + "data: {\"a\":1}\n\ndata: [DONE]\n\n";
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      client.readHead();
      // Split mid-line, mid-CRLF and mid-event.
      call.send(stream.substring(0, 3)).send(stream.substring(3, 9)).send(stream.substring(9, 40))
          .send(stream.substring(40)).end();
      assertThat(client.readToEnd()).isEqualTo(stream);
    }
  }

  @Test
  void marksSseResponsesUnbufferedAndEchoesTheRequestId() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT, "X-Request-Id: req-42.a_b");
      gateway.upstream().next().startSse().send("data: x\n\n").end();
      RawHttp.Head head = client.readHead();
      assertThat(head.header("cache-control")).isEqualTo("no-cache");
      assertThat(head.header("x-accel-buffering")).isEqualTo("no");
      assertThat(head.header("x-request-id")).isEqualTo("req-42.a_b");
      assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
      client.readToEnd();
    }
  }

  @Test
  void endsWithAnErrorEventWhenTheUpstreamDiesMidStream() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      client.readHead();
      call.send("data: {\"n\":1}\n\ndata: {\"n\":");
      assertThat(client.readUntil("\n\n")).isEqualTo("data: {\"n\":1}\n\n");
      call.reset();
      String rest = client.readToEnd();
      assertThat(rest).startsWith("event: error\ndata: {\"error\":")
          .contains("\"type\":\"upstream_error\"", "\"code\":\"upstream_failed\"")
          .endsWith("\n\n");
      assertThat(client.endedCleanly()).as("the chunked body is terminated, not cut").isTrue();
    }
  }

  @Test
  void endsWithATimeoutEventWhenTheUpstreamFallsSilent() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      client.readHead();
      call.send("data: 1\n\n");
      assertThat(client.readUntil("\n\n")).isEqualTo("data: 1\n\n");
      // stream-idle-timeout is 2s in this config: the gateway gives up and says so.
      assertThat(client.readToEnd()).contains("event: error", "\"code\":\"upstream_timeout\"");
      assertThat(call.awaitClosed(Duration.ofSeconds(5))).isTrue();
    }
  }

  @Test
  void closesTheUpstreamWhenTheClientGoesAway() throws Exception {
    FakeUpstream.Call call;
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      call = gateway.upstream().next().startSse();
      client.readHead();
      call.send("data: 1\n\n");
      client.readUntil("\n\n");
    }
    assertThat(call.awaitClosed(Duration.ofSeconds(5)))
        .as("the generation is cancelled, not left running for nobody").isTrue();
  }

  @Test
  void pausesTheUpstreamWhenTheClientStopsReading() throws Exception {
    long offered = 256L * 1024 * 1024;
    try (RawHttp client = RawHttp.connectSmallBuffer(gateway.port(), 64 * 1024)) {
      client.post("/v1/chat/completions", CHAT);
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      client.readHead();
      CompletableFuture<Void> flood = call.flood(offered, 4096);
      long settled = awaitPlateau(call);
      // Socket buffers on both legs plus the gateway's 64 KiB watermark: a few MiB at most.
      assertThat(settled).isLessThan(16L * 1024 * 1024);
      assertThat(flood).isNotDone();
    }
  }

  @Test
  void retriesOnANewConnectionWhenAKeptAliveOneTurnsOutDead() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{}");
      gateway.upstream().next().respond(200, "application/json", "{\"n\":1}");
      assertThat(client.readHead().status()).isEqualTo(200);
      client.readToEnd();
      // The second request goes out on the pooled connection, which the server then drops
      // before answering: the gateway tries once more on a new connection.
      client.post("/v1/chat/completions", "{}");
      gateway.upstream().next().reset();
      gateway.upstream().next().respond(200, "application/json", "{\"n\":2}");
      assertThat(client.readHead().status()).isEqualTo(200);
      assertThat(client.readToEnd()).isEqualTo("{\"n\":2}");
      assertThat(gateway.upstream().connections()).isEqualTo(2);
    }
  }

  /** Waits until the upstream's written count stops growing, and returns it. */
  private static long awaitPlateau(FakeUpstream.Call call) throws InterruptedException {
    long last = -1;
    int stable = 0;
    for (int i = 0; i < 200 && stable < 5; i++) {
      Thread.sleep(100); // polling a measurement, not waiting for a timer to fire
      long now = call.bytesWritten();
      stable = now == last ? stable + 1 : 0;
      last = now;
    }
    assertThat(stable).as("upstream writes stopped growing").isGreaterThanOrEqualTo(5);
    return last;
  }
}
