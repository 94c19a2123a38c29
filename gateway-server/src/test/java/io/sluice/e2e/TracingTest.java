package io.sluice.e2e;

import static io.sluice.e2e.UpstreamFixtures.nextArrival;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.opentelemetry.proto.trace.v1.Span.SpanKind;
import io.opentelemetry.proto.trace.v1.Status.StatusCode;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.OtlpReceiver;
import io.sluice.testing.OtlpReceiver.Received;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * Traces over OTLP/HTTP, received by a collector on a real socket ({@link OtlpReceiver}): the
 * server span continuing the client's {@code traceparent}, a client span per upstream attempt
 * whose id the upstream gets in its own {@code traceparent}, the first-token event, the GenAI and
 * HTTP attributes, sampling, and the trace id in the access log.
 */
class TracingTest {
  private static final String TRACE = "0af7651916cd43dd8448eb211c80319c";
  private static final String CLIENT_SPAN = "b7ad6b7169203331";
  private static final Pattern TRACEPARENT = Pattern.compile("00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})");
  private static final String STREAM_BODY = "{\"model\":\"qwen-7b\",\"stream\":true,\"messages\":[]}";
  private static final String ROLE = "data: {\"model\":\"qwen-7b-0613\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
  private static final String TOKEN = "data: {\"model\":\"qwen-7b-0613\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
  private static final String USAGE = "data: {\"model\":\"qwen-7b-0613\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13}}\n\n";
  private static final String DONE = "data: [DONE]\n\n";
  private static final String JSON_ANSWER = "{\"model\":\"qwen-7b-0613\",\"choices\":[{\"index\":0,\"message\":"
      + "{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
      + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}";
  private static final Duration WAIT = Duration.ofSeconds(15);

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstreams("a", "b");

  private final ListAppender<ILoggingEvent> accessLines = new ListAppender<>();
  private final Logger access = (Logger) LoggerFactory.getLogger("sluice.access");
  private OtlpReceiver collector;

  @BeforeEach
  void start() throws Exception {
    collector = OtlpReceiver.start();
    accessLines.start();
    access.addAppender(accessLines);
  }

  @AfterEach
  void stop() {
    access.detachAppender(accessLines);
    collector.close();
  }

  private TestGateway gatewayWith(String sampleRatio, String endpoints) throws Exception {
    return gateway.start("""
        telemetry: { otlp-endpoint: "%s", sample-ratio: %s, service-name: sluice-test, export-delay: 20ms }
        upstreams: [ { name: models, retries: 1, endpoints: [ %s ] } ]
        routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
        """.formatted(collector.url(), sampleRatio, endpoints));
  }

  @Test
  void aStreamIsAServerSpanInTheClientsTraceWithAClientSpanPerAttempt() throws Exception {
    TestGateway gw = gatewayWith("1.0", "{ url: \"${upstream.a}\" }");
    String upstreamTraceparent;
    try (RawHttp client = RawHttp.connect(gw.port())) {
      client.post("/v1/chat/completions", STREAM_BODY, "traceparent: 00-" + TRACE + "-" + CLIENT_SPAN + "-01");
      FakeUpstream.Call call = gateway.upstream("a").next();
      upstreamTraceparent = call.headers.get("traceparent");
      call.startSse().send(ROLE).send(TOKEN).send(USAGE).send(DONE).end();
      client.readHead();
      assertThat(client.readToEnd()).isEqualTo(ROLE + TOKEN + DONE);
    }
    Matcher forwarded = TRACEPARENT.matcher(upstreamTraceparent);
    assertThat(forwarded.matches()).as(upstreamTraceparent).isTrue();
    assertThat(forwarded.group(1)).isEqualTo(TRACE);
    assertThat(sampled(forwarded)).isTrue();

    List<Received> spans = collector.takeUntil(s -> s.span().getKind() == SpanKind.SPAN_KIND_SERVER, WAIT);
    Received server = spans.get(spans.size() - 1);
    assertThat(server.traceId()).isEqualTo(TRACE);
    assertThat(server.parentSpanId()).isEqualTo(CLIENT_SPAN);
    assertThat(server.span().getName()).isEqualTo("POST /v1/chat/completions");
    assertThat(server.resourceAttribute("service.name")).isEqualTo("sluice-test");
    assertThat(server.attribute("http.request.method")).isEqualTo("POST");
    assertThat(server.attribute("http.route")).isEqualTo("/v1/chat/completions");
    assertThat(server.attribute("http.response.status_code")).isEqualTo("200");
    assertThat(server.attribute("sluice.route")).isEqualTo("chat");
    assertThat(server.attribute("gen_ai.operation.name")).isEqualTo("chat");
    assertThat(server.attribute("gen_ai.provider.name")).isEqualTo("openai");
    assertThat(server.attribute("gen_ai.request.model")).isEqualTo("qwen-7b");
    assertThat(server.attribute("gen_ai.response.model")).isEqualTo("qwen-7b-0613");
    assertThat(server.attribute("gen_ai.usage.input_tokens")).isEqualTo("12");
    assertThat(server.attribute("gen_ai.usage.output_tokens")).isEqualTo("1");
    assertThat(server.eventNames()).containsExactly("gen_ai.first_token");
    assertThat(server.span().getStatus().getCode()).isNotEqualTo(StatusCode.STATUS_CODE_ERROR);

    List<Received> attempts = spans.stream().filter(s -> s.span().getKind() == SpanKind.SPAN_KIND_CLIENT).toList();
    assertThat(attempts).hasSize(1);
    Received attempt = attempts.get(0);
    assertThat(attempt.traceId()).isEqualTo(TRACE);
    assertThat(attempt.parentSpanId()).isEqualTo(server.spanId());
    assertThat(attempt.spanId()).as("the upstream's parent is the attempt's span").isEqualTo(forwarded.group(2));
    assertThat(attempt.span().getName()).isEqualTo("chat qwen-7b");
    assertThat(attempt.attribute("server.address")).isEqualTo("127.0.0.1");
    assertThat(attempt.attribute("server.port")).isEqualTo(Integer.toString(gateway.upstream("a").port()));
    assertThat(attempt.attribute("sluice.upstream")).isEqualTo("models");
    assertThat(attempt.attribute("http.response.status_code")).isEqualTo("200");
    assertThat(attempt.attribute("gen_ai.request.model")).isEqualTo("qwen-7b");
    assertThat(attempt.attribute("gen_ai.response.model")).isEqualTo("qwen-7b-0613");
    assertThat(attempt.attribute("gen_ai.usage.input_tokens")).isEqualTo("12");
    assertThat(attempt.attribute("gen_ai.usage.output_tokens")).isEqualTo("1");
    assertThat(attempt.eventNames()).containsExactly("gen_ai.first_token");
    assertThat(attempt.span().getStartTimeUnixNano()).isGreaterThanOrEqualTo(server.span().getStartTimeUnixNano());
    assertThat(attempt.span().getEndTimeUnixNano()).isLessThanOrEqualTo(server.span().getEndTimeUnixNano());

    String line = awaitAccessLine();
    assertThat(line).contains("trace_id=" + TRACE);
    assertThat(gw.admin("/metrics").body()).contains("sluice_trace_spans_dropped_total 0.0");
  }

  @Test
  void aRetriedConnectionIsTwoClientSpansUnderOneServerSpan() throws Exception {
    TestGateway gw = gatewayWith("1.0", "{ url: \"${upstream.a}\" }, { url: \"${upstream.b}\" }");
    FakeUpstream[] fakes = {gateway.upstream("a"), gateway.upstream("b")};
    int served;
    try (RawHttp client = RawHttp.connect(gw.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"qwen-7b\",\"messages\":[]}");
      UpstreamFixtures.Arrival first = nextArrival(fakes);
      first.call().reset();
      served = 1 - first.index();
      fakes[served].next().respond(200, "application/json", JSON_ANSWER);
      assertThat(client.readHead().status()).isEqualTo(200);
      assertThat(client.readToEnd()).isEqualTo(JSON_ANSWER);
    }
    List<Received> spans = collector.takeUntil(s -> s.span().getKind() == SpanKind.SPAN_KIND_SERVER, WAIT);
    Received server = spans.get(spans.size() - 1);
    List<Received> attempts = spans.stream().filter(s -> s.span().getKind() == SpanKind.SPAN_KIND_CLIENT).toList();
    assertThat(attempts).hasSize(2);
    assertThat(attempts).allSatisfy(a -> {
      assertThat(a.traceId()).isEqualTo(server.traceId());
      assertThat(a.parentSpanId()).isEqualTo(server.spanId());
    });
    Received reset = attempts.get(0);
    Received ok = attempts.get(1);
    assertThat(reset.attribute("sluice.attempt")).isEqualTo("1");
    assertThat(reset.attribute("sluice.outcome")).isEqualTo("reset");
    assertThat(reset.attribute("error.type")).isEqualTo("reset");
    assertThat(reset.span().getStatus().getCode()).isEqualTo(StatusCode.STATUS_CODE_ERROR);
    assertThat(reset.attribute("server.port")).isEqualTo(Integer.toString(fakes[1 - served].port()));
    assertThat(ok.attribute("sluice.attempt")).isEqualTo("2");
    assertThat(ok.attribute("sluice.outcome")).isEqualTo("success");
    assertThat(ok.attribute("server.port")).isEqualTo(Integer.toString(fakes[served].port()));
    assertThat(ok.attribute("gen_ai.usage.output_tokens")).isEqualTo("3");
    assertThat(ok.eventNames()).as("a non-streamed answer has no first-token event").isEmpty();
    assertThat(server.parentSpanId()).as("no traceparent from the client: a new trace").isEmpty();
    assertThat(server.attribute("gen_ai.usage.input_tokens")).isEqualTo("5");
  }

  @Test
  void aFailoverIsAClientSpanPerTargetNamingEachProvider() throws Exception {
    TestGateway gw = gateway.start("""
        telemetry: { otlp-endpoint: "%s", sample-ratio: 1.0, export-delay: 20ms }
        upstreams:
          - { name: first, provider: groq, endpoints: [ { url: "${upstream.a}" } ] }
          - { name: second, provider: mistral, endpoints: [ { url: "${upstream.b}" } ] }
        models:
          - name: smart
            targets: [ { upstream: first, model: m-1, priority: 1 }, { upstream: second, model: m-2, priority: 2 } ]
        routes: [ { name: chat, match: { path: /v1/chat/completions }, api: openai-chat, models: [smart] } ]
        """.formatted(collector.url()));
    try (RawHttp client = RawHttp.connect(gw.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"smart\",\"messages\":[]}");
      gateway.upstream("a").next().respond(503, "application/json", "{\"error\":{\"message\":\"down\"}}");
      gateway.upstream("b").next().respond(200, "application/json", JSON_ANSWER);
      assertThat(client.readHead().status()).isEqualTo(200);
      client.readToEnd();
    }
    List<Received> spans = collector.takeUntil(s -> s.span().getKind() == SpanKind.SPAN_KIND_SERVER, WAIT);
    Received server = spans.get(spans.size() - 1);
    List<Received> attempts = spans.stream().filter(s -> s.span().getKind() == SpanKind.SPAN_KIND_CLIENT).toList();
    assertThat(attempts).hasSize(2);
    assertThat(attempts.get(0).attribute("sluice.upstream")).isEqualTo("first");
    assertThat(attempts.get(0).attribute("gen_ai.provider.name")).isEqualTo("groq");
    assertThat(attempts.get(0).attribute("http.response.status_code")).isEqualTo("503");
    assertThat(attempts.get(1).attribute("sluice.upstream")).isEqualTo("second");
    assertThat(attempts.get(1).attribute("gen_ai.provider.name")).isEqualTo("mistral_ai");
    assertThat(server.attribute("gen_ai.provider.name")).isEqualTo("mistral_ai");
  }

  @Test
  void anUnsampledTraceIsPropagatedButNeverExported() throws Exception {
    TestGateway gw = gatewayWith("0", "{ url: \"${upstream.a}\" }");
    String unsampledTrace;
    try (RawHttp client = RawHttp.connect(gw.port())) {
      // sample-ratio 0 and no traceparent: not sampled, yet the upstream gets the ids.
      client.post("/v1/chat/completions", "{\"model\":\"qwen-7b\"}");
      FakeUpstream.Call first = gateway.upstream("a").next();
      Matcher m = TRACEPARENT.matcher(String.valueOf(first.headers.get("traceparent")));
      assertThat(m.matches()).as(first.headers.get("traceparent")).isTrue();
      assertThat(sampled(m)).isFalse();
      unsampledTrace = m.group(1);
      first.respond(200, "application/json", JSON_ANSWER);
      client.readHead();
      client.readToEnd();
      // The client's sampled flag decides for its trace (parent-based), whatever the ratio.
      client.post("/v1/chat/completions", "{\"model\":\"qwen-7b\"}", "traceparent: 00-" + TRACE + "-" + CLIENT_SPAN + "-01");
      gateway.upstream("a").next().respond(200, "application/json", JSON_ANSWER);
      client.readHead();
      client.readToEnd();
    }
    // The first exchange ended before the second began: had it been exported, its spans would
    // have been queued before the second's.
    List<Received> spans = collector.takeUntil(s -> s.span().getKind() == SpanKind.SPAN_KIND_SERVER, WAIT);
    assertThat(spans).extracting(Received::traceId).containsOnly(TRACE);
    assertThat(collector.drain()).extracting(Received::traceId).doesNotContain(unsampledTrace);
  }

  @Test
  void aCollectorThatDoesNotAnswerCostsDroppedSpansNotRequests() throws Exception {
    collector.holdExports(); // every export hangs until the end of the test
    TestGateway gw = gateway.start("""
        telemetry: { otlp-endpoint: "%s", queue-size: 1, export-delay: 1ms }
        upstreams: [ { name: models, endpoints: [ { url: "${upstream.a}" } ] } ]
        routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
        """.formatted(collector.url()));
    try (RawHttp client = RawHttp.connect(gw.port())) {
      for (int i = 0; i < 5; i++) {
        client.post("/v1/chat/completions", STREAM_BODY);
        gateway.upstream("a").next().startSse().send(ROLE).send(TOKEN).send(USAGE).send(DONE).end();
        assertThat(client.readHead().status()).isEqualTo(200);
        assertThat(client.readToEnd()).isEqualTo(ROLE + TOKEN + DONE);
      }
    }
    String dropped = "";
    Pattern counter = Pattern.compile("(?m)^sluice_trace_spans_dropped_total (\\S+)$");
    for (int i = 0; i < 1000 && !dropped.matches("[1-9][0-9]*\\.0"); i++) {
      Thread.sleep(5); // the exchange's spans end just after its last byte
      Matcher m = counter.matcher(gw.admin("/metrics").body());
      dropped = m.find() ? m.group(1) : "";
    }
    assertThat(dropped).as("10 spans, one export hanging, a queue of 1").matches("[1-9][0-9]*\\.0");
    collector.answerExports();
  }

  @Test
  void withoutATelemetryBlockTheClientsTraceparentPassesUntouched() throws Exception {
    TestGateway gw = gateway.start("""
        upstreams: [ { name: models, endpoints: [ { url: "${upstream.a}" } ] } ]
        routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
        """);
    String traceparent = "00-" + TRACE + "-" + CLIENT_SPAN + "-01";
    try (RawHttp client = RawHttp.connect(gw.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"qwen-7b\"}", "traceparent: " + traceparent);
      FakeUpstream.Call call = gateway.upstream("a").next();
      assertThat(call.headers.get("traceparent")).isEqualTo(traceparent);
      call.respond(200, "application/json", JSON_ANSWER);
      client.readHead();
      client.readToEnd();
    }
    assertThat(awaitAccessLine()).contains("trace_id=-");
    assertThat(gw.admin("/metrics").body()).doesNotContain("sluice_trace_spans_dropped_total");
    assertThat(collector.requests()).isZero();
  }

  /** The sampled bit of a {@code traceparent}'s flags (0x02 is W3C level 2's "random trace id"). */
  private static boolean sampled(Matcher traceparent) {
    return (Integer.parseInt(traceparent.group(3), 16) & 1) == 1;
  }

  private String awaitAccessLine() throws InterruptedException {
    for (int i = 0; i < 1000 && accessLines.list.isEmpty(); i++) {
      Thread.sleep(5); // the line is written when the exchange ends, just after its last byte
    }
    assertThat(accessLines.list).isNotEmpty();
    return accessLines.list.get(0).getFormattedMessage();
  }
}
