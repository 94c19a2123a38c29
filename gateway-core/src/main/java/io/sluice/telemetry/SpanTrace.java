package io.sluice.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.common.Clock;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The spans of one traced exchange (see {@link ExchangeTrace}): the server span, and the client
 * span of the attempt under way. The attempt that served the answer stays open until the
 * exchange ends — ended then with the time its answer completed — so that the usage and the
 * response model, known only at the end, land on it as the GenAI conventions want.
 *
 * <p>Threading: the exchange's event loop only.
 */
final class SpanTrace implements ExchangeTrace {
  static final AttributeKey<String> HTTP_METHOD = AttributeKey.stringKey("http.request.method");
  static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");
  static final AttributeKey<Long> HTTP_STATUS = AttributeKey.longKey("http.response.status_code");
  static final AttributeKey<String> HTTP_ROUTE = AttributeKey.stringKey("http.route");
  static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
  static final AttributeKey<String> PROVIDER = AttributeKey.stringKey("gen_ai.provider.name");
  static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
  static final AttributeKey<String> RESPONSE_MODEL = AttributeKey.stringKey("gen_ai.response.model");
  static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
  static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
  static final AttributeKey<String> ROUTE = AttributeKey.stringKey("sluice.route");
  static final AttributeKey<String> UPSTREAM = AttributeKey.stringKey("sluice.upstream");
  static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("sluice.outcome");
  static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("sluice.attempt");
  /** The span event at the first event carrying generated content. */
  static final String FIRST_TOKEN = "gen_ai.first_token";
  /** The name of an attempt's span that is not recorded (never exported). */
  private static final String UNSAMPLED = "attempt";

  private final Tracer tracer;
  private final Clock clock;
  private final Span server;
  private final String method;
  private Span attempt; // the attempt under way, or the one that served (until the end)
  private int attempts;
  private boolean attemptOpen;
  private int attemptStatus;
  private String attemptOutcome;
  private long servedEndNanos = -1; // epoch nanos when the serving attempt's answer completed

  SpanTrace(Tracer tracer, Clock clock, Span server, String method) {
    this.tracer = tracer;
    this.clock = clock;
    this.server = server;
    this.method = method;
  }

  @Override
  public String traceId() {
    SpanContext context = server.getSpanContext();
    return context.isValid() ? context.getTraceId() : null;
  }

  @Override
  public void attemptStarted(String upstream, String host, int port, GenAiRequest genAi) {
    if (attemptOpen) {
      closeAttempt(clock.now());
    }
    attempts++;
    attemptOpen = true;
    attemptStatus = 0;
    attemptOutcome = null;
    servedEndNanos = -1;
    Context parent = Context.root().with(server);
    if (!server.isRecording()) {
      // Unsampled: only the span's ids matter (the upstream's traceparent), so no name or attributes.
      attempt = tracer.spanBuilder(UNSAMPLED).setParent(parent).setSpanKind(SpanKind.CLIENT).startSpan();
      return;
    }
    SpanBuilder span = tracer.spanBuilder(genAi == null ? method : genAi.operation() + " " + model(genAi))
        .setParent(parent)
        .setSpanKind(SpanKind.CLIENT)
        .setAttribute(HTTP_METHOD, method)
        .setAttribute(UPSTREAM, upstream)
        .setAttribute(ATTEMPT, (long) attempts)
        .setAttribute(SERVER_ADDRESS, host)
        .setAttribute(SERVER_PORT, (long) port);
    if (genAi != null) {
      span.setAttribute(OPERATION, genAi.operation()).setAttribute(PROVIDER, genAi.provider());
      if (genAi.requestModel() != null) {
        span.setAttribute(REQUEST_MODEL, genAi.requestModel());
      }
    }
    attempt = span.startSpan();
  }

  @Override
  public void attemptStatus(int status) {
    if (attemptOpen) {
      attemptStatus = status;
      attempt.setAttribute(HTTP_STATUS, status);
    }
  }

  @Override
  public void attemptOutcome(String outcome) {
    if (attemptOpen && attemptOutcome == null) {
      attemptOutcome = outcome;
      attempt.setAttribute(OUTCOME, outcome);
    }
  }

  @Override
  public void attemptEnded() {
    if (!attemptOpen) {
      return;
    }
    if (!server.isRecording()) {
      attemptOpen = false; // nothing recorded, nothing to end
      return;
    }
    if ("success".equals(attemptOutcome)) {
      servedEndNanos = clock.now(); // ended with the exchange, which adds the usage
      return;
    }
    closeAttempt(clock.now());
  }

  /** Ends the attempt's span at {@code epochNanos}, marked failed unless it succeeded. */
  private void closeAttempt(long epochNanos) {
    if (!attemptOpen) {
      return;
    }
    attemptOpen = false;
    String outcome = attemptOutcome == null ? "cancelled" : attemptOutcome;
    if (!outcome.equals("success") || attemptStatus >= 500) {
      attempt.setAttribute(ERROR_TYPE, attemptStatus >= 500 ? Integer.toString(attemptStatus) : outcome);
      attempt.setStatus(StatusCode.ERROR);
    }
    attempt.end(epochNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void inject(BiConsumer<String, String> header) {
    Span current = attemptOpen ? attempt : server;
    W3CTraceContextPropagator.getInstance().inject(Context.root().with(current), header, BiConsumer::accept);
  }

  @Override
  public void firstToken() {
    server.addEvent(FIRST_TOKEN);
    if (attemptOpen) {
      attempt.addEvent(FIRST_TOKEN);
    }
  }

  @Override
  public void end(ExchangeEnd end) {
    long now = clock.now();
    if (!server.isRecording()) {
      return; // unsampled: nothing to record or export
    }
    if (attemptOpen) {
      genAiResult(attempt, end);
      closeAttempt(servedEndNanos >= 0 ? servedEndNanos : now);
    }
    server.updateName(end.httpRoute() == null ? method : method + " " + end.httpRoute());
    server.setAttribute(ROUTE, end.route());
    if (end.httpRoute() != null) {
      server.setAttribute(HTTP_ROUTE, end.httpRoute());
    }
    server.setAttribute(HTTP_STATUS, end.status());
    server.setAttribute(OUTCOME, end.outcome());
    GenAiRequest genAi = end.genAi();
    if (genAi != null) {
      server.setAttribute(OPERATION, genAi.operation()).setAttribute(PROVIDER, genAi.provider());
      if (genAi.requestModel() != null) {
        server.setAttribute(REQUEST_MODEL, genAi.requestModel());
      }
      genAiResult(server, end);
    }
    if (end.status() >= 500 || !end.outcome().equals("ok") && !end.outcome().equals("client_closed")) {
      // A 4xx is the client's doing; a server span is failed by 5xx and by a broken stream only.
      server.setAttribute(ERROR_TYPE, end.status() >= 500 ? Integer.toString(end.status()) : end.outcome());
      server.setStatus(StatusCode.ERROR);
    }
    server.end(now, TimeUnit.NANOSECONDS);
  }

  private static void genAiResult(Span span, ExchangeEnd end) {
    if (end.responseModel() != null) {
      span.setAttribute(RESPONSE_MODEL, end.responseModel());
    }
    if (end.inputTokens() >= 0) {
      span.setAttribute(INPUT_TOKENS, end.inputTokens());
    }
    if (end.outputTokens() >= 0) {
      span.setAttribute(OUTPUT_TOKENS, end.outputTokens());
    }
  }

  private static String model(GenAiRequest genAi) {
    return genAi.requestModel() == null ? "unknown" : genAi.requestModel();
  }
}
