package io.sluice.telemetry;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.common.Clock;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.sluice.config.TelemetryConfig;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Logger;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * The gateway's tracer: the OpenTelemetry SDK set up from {@code telemetry} (docs/telemetry.md),
 * or {@link #off()} — then no SDK is built and every exchange gets {@link ExchangeTrace#NONE}.
 *
 * <p>Sampling: parent-based. A request whose {@code traceparent} says sampled (or not) is traced
 * (or not) accordingly; a new trace is sampled with {@code sample-ratio}. Unsampled spans still
 * carry their ids, so the upstream gets a {@code traceparent} either way.
 *
 * <p>Backpressure: finished spans go to a {@link BatchSpanProcessor} with a bounded queue
 * ({@code queue-size}); its own thread exports them over OTLP/HTTP (the JDK HTTP client, its own
 * threads too). An event loop only ever appends to that queue; when the collector is slow or
 * down and the queue is full, spans are dropped — counted in
 * {@code sluice_trace_spans_dropped_total} — instead of slowing the relay.
 *
 * <p>Lifetime: one per process. The block is read at start; a reload that changes it is logged
 * and needs a restart (in-flight spans belong to the running SDK).
 */
public final class Tracing implements AutoCloseable {
  private static final Tracing OFF = new Tracing(null, null, null);
  static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
  /** Held strongly: java.util.logging keeps loggers only weakly, and the handler is set on this one. */
  private static final Logger SDK_LOGGER = Logger.getLogger("io.opentelemetry");

  private static final TextMapGetter<Function<String, String>> HEADERS = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Function<String, String> carrier) {
      return List.of(); // W3C trace context reads the headers it knows by name
    }

    @Override
    public String get(Function<String, String> carrier, String key) {
      return carrier == null ? null : carrier.apply(key);
    }
  };

  private final SdkTracerProvider provider;
  private final Tracer tracer;
  private final DroppedSpans dropped;
  private final Clock clock = Clock.getDefault();

  private Tracing(SdkTracerProvider provider, Tracer tracer, DroppedSpans dropped) {
    this.provider = provider;
    this.tracer = tracer;
    this.dropped = dropped;
  }

  /** No tracing: nothing started, nothing recorded. */
  public static Tracing off() {
    return OFF;
  }

  /**
   * The tracer for {@code config}: {@link #off()} when it names no endpoint, else an SDK exporting
   * to it, with {@code sluice_trace_spans_dropped_total} registered on {@code registry}.
   */
  public static Tracing start(TelemetryConfig config, MeterRegistry registry) {
    if (!config.tracing()) {
      return OFF;
    }
    SpanExporter exporter = OtlpHttpSpanExporter.builder()
        .setEndpoint(config.tracesUrl())
        .setTimeout(Duration.ofSeconds(10))
        .build();
    return start(config, exporter, registry);
  }

  /** As {@link #start(TelemetryConfig, MeterRegistry)}, with another exporter (benchmarks, tests). */
  public static Tracing start(TelemetryConfig config, SpanExporter exporter, MeterRegistry registry) {
    sdkLogsToSlf4j();
    DroppedSpans dropped = new DroppedSpans();
    BatchSpanProcessor batches = BatchSpanProcessor.builder(exporter)
        .setMaxQueueSize(config.queueSize())
        .setMaxExportBatchSize(Math.min(512, config.queueSize()))
        .setScheduleDelay(config.exportDelay())
        .setMeterProvider(dropped.meterProvider())
        .build();
    SdkTracerProvider provider = SdkTracerProvider.builder()
        .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(SERVICE_NAME, config.serviceName()))))
        .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(config.sampleRatio())))
        .addSpanProcessor(batches)
        .build();
    FunctionCounter.builder("sluice.trace.spans.dropped", dropped, DroppedSpans::count)
        .description("Finished spans dropped because the export queue was full (the collector is slow or down)")
        .register(registry);
    return new Tracing(provider, provider.get("io.sluice.gateway"), dropped);
  }

  /**
   * The SDK writes its own warnings (a failed export, spans dropped by a full queue: once per
   * export at most) through {@code java.util.logging}; they go to SLF4J, so they reach the
   * gateway's log in its format ({@code --log-format json} too) under the logger names
   * {@code io.opentelemetry.*}, instead of stderr.
   */
  private static void sdkLogsToSlf4j() {
    synchronized (SDK_LOGGER) {
      if (Arrays.stream(SDK_LOGGER.getHandlers()).noneMatch(SLF4JBridgeHandler.class::isInstance)) {
        SDK_LOGGER.addHandler(new SLF4JBridgeHandler());
        SDK_LOGGER.setUseParentHandlers(false);
      }
    }
  }

  /** Whether spans are recorded and exported at all. */
  public boolean enabled() {
    return provider != null;
  }

  /**
   * The trace of an exchange whose request just arrived, continuing the client's
   * {@code traceparent} when it sent one.
   *
   * @param header the request's header value by name
   */
  public ExchangeTrace begin(String method, String path, Function<String, String> header) {
    if (provider == null) {
      return ExchangeTrace.NONE;
    }
    Context parent = W3CTraceContextPropagator.getInstance().extract(Context.root(), header, HEADERS);
    Span server = tracer.spanBuilder(method).setParent(parent).setSpanKind(SpanKind.SERVER).startSpan();
    if (server.isRecording()) { // after the sampling decision: an unsampled span builds no attributes
      server.setAttribute(SpanTrace.HTTP_METHOD, method);
      server.setAttribute(SpanTrace.URL_PATH, path);
    }
    return new SpanTrace(tracer, clock, server, method);
  }

  /** Spans ended but not exported because the queue was full, so far. */
  public long droppedSpans() {
    return dropped == null ? 0 : (long) dropped.count();
  }

  /** Exports every finished span now; for tests and shutdown. */
  public void flush() {
    if (provider != null) {
      provider.forceFlush().join(10, TimeUnit.SECONDS);
    }
  }

  /** Exports what is queued (bounded by the exporter's timeout) and stops the exporter thread. */
  @Override
  public void close() {
    if (provider != null) {
      provider.shutdown().join(10, TimeUnit.SECONDS);
      dropped.close();
    }
  }
}
