package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * Failover between the targets of a model alias, over real sockets: every fault before content
 * moves the request to the next target, and the client's bytes are exactly the serving target's
 * — a raw recording client, not an SDK that might hide stray bytes.
 */
class FailoverTest {
  /** Target a (priority 1) fails in the way each test says; target b (priority 2) serves. */
  private static final String CONFIG = """
      upstreams:
        - { name: a, endpoints: [ { url: "${upstream.a}" } ], retries: 0, first-byte-timeout: 2s }
        - { name: b, endpoints: [ { url: "${upstream.b}" } ] }
      models:
        - name: smart
          targets:
            - { upstream: a, model: model-a, priority: 1 }
            - { upstream: b, model: model-b, priority: 2 }
      routes:
        - name: chat
          match: { path: /v1/chat/completions }
          api: openai-chat
          models: [smart]
          failover: { max-attempts: 2, first-event-timeout: 2s, cooldown: 0s }
          sse: { heartbeat: 0s }
      """;

  private static final String REQUEST = """
      {"model":"smart","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""";

  /** What b streams: OpenAI's real sequence (role-only first delta, content, finish, usage, [DONE]). */
  private static final String B_STREAM = chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null")
      + chunk("{\"content\":\"from b\"}", "null")
      + chunk("{}", "\"stop\"")
      + "data: {\"id\":\"c-b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"model-b\",\"choices\":[],"
      + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n"
      + "data: [DONE]\n\n";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstreams("a", "b");

  private final ListAppender<ILoggingEvent> accessLines = new ListAppender<>();
  private final Logger access = (Logger) LoggerFactory.getLogger("sluice.access");

  @BeforeEach
  void captureAccessLog() {
    accessLines.start();
    access.addAppender(accessLines);
  }

  @AfterEach
  void releaseAccessLog() {
    access.detachAppender(accessLines);
  }

  /** The first access-log line (written when the exchange ends, just after the client's last byte). */
  private String awaitAccessLine() throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (accessLines.list.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(10); // polling with a deadline
    }
    assertThat(accessLines.list).as("an access-log line").isNotEmpty();
    return accessLines.list.get(0).getFormattedMessage();
  }

  private static String chunk(String delta, String finish) {
    return "data: {\"id\":\"c-b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"model-b\","
        + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":" + finish + "}]}\n\n";
  }

  private static String aChunk(String delta) {
    return "data: {\"id\":\"c-a\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"model-a\","
        + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":null}]}\n\n";
  }

  /**
   * Sends the request, lets a fail as {@code fault} says, lets b serve, and checks that the
   * client got exactly b's stream, with b named as the server.
   */
  private void failsOverOn(Consumer<FakeUpstream.Call> fault, String reason) throws Exception {
    gateway.start(CONFIG);
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", REQUEST);
      FakeUpstream.Call a = gateway.upstream("a").next();
      assertThat(a.body).contains("\"model\":\"model-a\"");
      fault.accept(a);
      FakeUpstream.Call b = gateway.upstream("b").next();
      assertThat(b.body).contains("\"model\":\"model-b\"").doesNotContain("smart");
      b.startSse().send(B_STREAM).end();
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("x-sluice-upstream")).isEqualTo("b");
      assertThat(head.header("x-sluice-model")).isEqualTo("model-b");
      assertThat(client.readToEnd()).isEqualTo(B_STREAM);
      assertThat(client.endedCleanly()).isTrue();
    }
    assertThat(gateway.upstream("a").poll()).as("a was called once").isNull();
    assertThat(awaitAccessLine()).contains("upstream=b", "model=model-b", "failovers=1", "tokens_out=2");
    assertThat(gateway.admin("/metrics").body())
        .contains("sluice_failovers_total{from_upstream=\"a\",reason=\"" + reason + "\",route=\"chat\"} 1.0")
        .contains("sluice_tokens_total{consumer=\"anonymous\",model=\"model-b\",route=\"chat\",type=\"output\"} 2.0");
  }

  @Test
  void a5xxFailsOver() throws Exception {
    failsOverOn(a -> a.respond(503, "application/json", "{\"error\":{\"message\":\"overloaded\"}}"), "http_5xx");
  }

  @Test
  void a429FailsOver() throws Exception {
    failsOverOn(a -> a.respond(429, "application/json", "{\"error\":{\"message\":\"slow down\"}}"), "http_429");
  }

  @Test
  void aResetBeforeTheResponseFailsOver() throws Exception {
    failsOverOn(FakeUpstream.Call::reset, "connect_error");
  }

  @Test
  void aResetAfterTheHeadersFailsOver() throws Exception {
    failsOverOn(a -> {
      a.startSse().send(aChunk("{\"role\":\"assistant\",\"content\":\"\"}"));
      a.reset();
    }, "reset");
  }

  @Test
  void anErrorEventBeforeContentFailsOver() throws Exception {
    failsOverOn(a -> a.startSse()
        .send("event: error\ndata: {\"error\":{\"message\":\"model crashed\",\"type\":\"server_error\"}}\n\n"),
        "error_event");
  }

  @Test
  void anErrorJsonAfterTheRoleOnlyChunkFailsOver() throws Exception {
    failsOverOn(a -> a.startSse().send(aChunk("{\"role\":\"assistant\",\"content\":\"\"}"))
        .send("data: {\"error\":{\"message\":\"rate limited mid-way\",\"code\":\"rate_limit_exceeded\"}}\n\n"),
        "error_event");
  }

  @Test
  void aMalformedFirstEventFailsOver() throws Exception {
    failsOverOn(a -> a.startSse().send("data: {\"choices\":[{\"delta\":\n\n"), "malformed_event");
  }

  @Test
  void aStreamThatEndsWithoutContentFailsOver() throws Exception {
    failsOverOn(a -> {
      a.startSse().send(aChunk("{\"role\":\"assistant\",\"content\":\"\"}")).send("data: [DONE]\n\n");
      a.end();
    }, "empty_body");
  }

  @Test
  void anEmpty200BodyFailsOver() throws Exception {
    failsOverOn(a -> a.respond(200, "application/json", ""), "empty_body");
  }

  @Test
  void noContentWithinTheFirstEventTimeoutFailsOver() throws Exception {
    failsOverOn(a -> a.startSse().send(aChunk("{\"role\":\"assistant\",\"content\":\"\"}")), "first_event_timeout");
  }

  @Test
  void noAnswerWithinTheFirstByteTimeoutFailsOver() throws Exception {
    failsOverOn(a -> { }, "first_byte_timeout");
  }

  @Test
  void aRefusedConnectionFailsOver() throws Exception {
    gateway.start(CONFIG.replace("${upstream.a}", "http://127.0.0.1:1"));
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", REQUEST);
      gateway.upstream("b").next().startSse().send(B_STREAM).end();
      RawHttp.Head head = client.readHead();
      assertThat(head.header("x-sluice-upstream")).isEqualTo("b");
      assertThat(client.readToEnd()).isEqualTo(B_STREAM);
    }
    assertThat(gateway.admin("/metrics").body())
        .contains("sluice_failovers_total{from_upstream=\"a\",reason=\"connect_error\",route=\"chat\"} 1.0");
  }

  @Test
  void aNonStreamedErrorBodyFailsOverAndTheGoodBodyIsRelayedWhole() throws Exception {
    gateway.start(CONFIG);
    String answer = "{\"id\":\"c-b\",\"object\":\"chat.completion\",\"model\":\"model-b\",\"choices\":[{\"index\":0,"
        + "\"message\":{\"role\":\"assistant\",\"content\":\"from b\"},\"finish_reason\":\"stop\"}],"
        + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}";
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"smart\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      gateway.upstream("a").next().respond(200, "application/json", "{\"error\":{\"message\":\"internal\"}}");
      gateway.upstream("b").next().respond(200, "application/json", answer);
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("x-sluice-upstream")).isEqualTo("b");
      assertThat(client.readToEnd()).isEqualTo(answer);
    }
    assertThat(gateway.admin("/metrics").body())
        .contains("sluice_failovers_total{from_upstream=\"a\",reason=\"error_body\",route=\"chat\"} 1.0");
  }

  @Test
  void whenEveryTargetFailsTheClientGetsTheLastFailureWithItsRetryAfter() throws Exception {
    gateway.start(CONFIG);
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", REQUEST);
      gateway.upstream("a").next().respond(503, "application/json", "{\"error\":{\"message\":\"a down\"}}");
      FakeUpstream.Call b = gateway.upstream("b").next();
      b.start(429, Map.of("content-type", "application/json", "retry-after", "7"));
      b.send("{\"error\":{\"message\":\"b is rate limited\",\"type\":\"rate_limit_error\"}}").end();
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(429);
      assertThat(head.header("retry-after")).isEqualTo("7");
      assertThat(head.header("x-sluice-upstream")).isEqualTo("b");
      assertThat(client.readToEnd()).contains("b is rate limited").doesNotContain("a down");
    }
  }

  @Test
  void aFailureAfterContentEndsTheStreamWithAnErrorEventAndNoFailover() throws Exception {
    gateway.start(CONFIG);
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", REQUEST);
      FakeUpstream.Call a = gateway.upstream("a").next();
      a.startSse().send(aChunk("{\"role\":\"assistant\",\"content\":\"\"}")).send(aChunk("{\"content\":\"from a\"}"));
      RawHttp.Head head = client.readHead();
      assertThat(head.header("x-sluice-upstream")).isEqualTo("a");
      assertThat(client.readUntil("from a")).contains("\"role\":\"assistant\"");
      a.reset();
      String rest = client.readToEnd();
      assertThat(rest).contains("event: error").contains("upstream_failed");
      assertThat(client.endedCleanly()).isTrue();
    }
    assertThat(gateway.upstream("b").poll()).as("no failover after content").isNull();
  }

  @Test
  void aHealthyFirstTargetIsRelayedWithoutWaiting() throws Exception {
    gateway.start(CONFIG);
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", REQUEST);
      FakeUpstream.Call a = gateway.upstream("a").next();
      a.startSse().send(aChunk("{\"role\":\"assistant\",\"content\":\"\"}"));
      assertThat(client.hasDataWithin(Duration.ofMillis(200))).as("held until the first content").isFalse();
      a.send(aChunk("{\"content\":\"tok\"}"));
      RawHttp.Head head = client.readHead();
      assertThat(head.header("x-sluice-model")).isEqualTo("model-a");
      assertThat(client.readUntil("tok")).contains("\"role\":\"assistant\"");
      a.send("data: [DONE]\n\n").end();
      client.readToEnd();
    }
    assertThat(gateway.upstream("b").poll()).isNull();
  }

  @Test
  void aFailedOverStreamIsGzippedAndResumable() throws Exception {
    gateway.start(CONFIG.replace("sse: { heartbeat: 0s }",
        "sse: { heartbeat: 0s, resume: { enabled: true } }\n    compression: { gzip: true, min-size: 1B }"));
    String id;
    FakeUpstream.Call b;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/chat/completions", REQUEST, "Accept-Encoding: gzip");
      gateway.upstream("a").next().respond(503, "application/json", "{\"error\":{\"message\":\"a down\"}}");
      b = gateway.upstream("b").next();
      b.startSse().send(chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null"))
          .send(chunk("{\"content\":\"from b\"}", "null"));
      RawHttp.Head head = first.readHead();
      assertThat(head.header("x-sluice-upstream")).isEqualTo("b");
      assertThat(head.header("content-encoding")).isEqualTo("gzip");
      id = head.header("x-sluice-stream-id");
      assertThat(id).isNotBlank();
      // the client leaves after the first two events (a gzip stream flushed per event)
      GZIPInputStream events = new GZIPInputStream(first.bodyStream());
      String expected = "id: " + id + ".1\n" + chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null")
          + "id: " + id + ".2\n" + chunk("{\"content\":\"from b\"}", "null");
      assertThat(new String(events.readNBytes(expected.length()), StandardCharsets.UTF_8)).isEqualTo(expected);
    }
    b.send(chunk("{}", "\"stop\"")).send("data: [DONE]\n\n").end();
    try (RawHttp second = RawHttp.connect(gateway.port())) {
      second.post("/v1/chat/completions", REQUEST, "Last-Event-ID: " + id + ".2");
      assertThat(second.readHead().status()).isEqualTo(200);
      assertThat(second.readToEnd())
          .isEqualTo("id: " + id + ".3\n" + chunk("{}", "\"stop\"") + "id: " + id + ".4\ndata: [DONE]\n\n");
    }
    assertThat(gateway.upstream("a").poll()).isNull();
    assertThat(gateway.upstream("b").poll()).as("the resume is served from the session").isNull();
  }
}
