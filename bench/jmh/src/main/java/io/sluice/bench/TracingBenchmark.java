package io.sluice.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.sluice.config.TelemetryConfig;
import io.sluice.telemetry.ExchangeTrace;
import io.sluice.telemetry.GenAiRequest;
import io.sluice.telemetry.Tracing;
import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What tracing costs the event loop per request: every call the gateway makes on an exchange's
 * trace, in order — the server span continuing the client's {@code traceparent}, one upstream
 * attempt's client span and its {@code traceparent} on the upstream request, the status, the
 * first-token event, and the end with the GenAI attributes — for tracing {@code off} (no
 * {@code telemetry} block), {@code unsampled} (on, sample-ratio 0, a new trace) and
 * {@code sampled} (sample-ratio 1: every span recorded and queued for export).
 *
 * <p>The exporter is a no-op on the batch processor's own thread, so this is the relay's side
 * only (building spans and queueing them); serialising and sending to a collector happens on the
 * exporter's threads. The queue has the default size (2048); spans dropped because the exporter's
 * thread fell behind are printed at the end (a drop costs less than a queued span, so a run with
 * many drops understates the cost).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TracingBenchmark {
  @Param({"off", "unsampled", "sampled"})
  public String mode;

  private static final GenAiRequest GEN_AI = new GenAiRequest("chat", "openai", "qwen-7b");
  private static final ExchangeTrace.ExchangeEnd END = new ExchangeTrace.ExchangeEnd("chat", "/v1/chat/completions",
      200, "ok", GEN_AI, "qwen-7b-0613", 120, 80);

  private Tracing tracing;
  private final LongAdder exported = new LongAdder();
  private final Function<String, String> headers = Map.of(
      "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")::get;
  private final Function<String, String> noHeaders = Map.<String, String>of()::get;

  @Setup(Level.Trial)
  public void start() {
    if (mode.equals("off")) {
      tracing = Tracing.off();
      return;
    }
    TelemetryConfig config = new TelemetryConfig(URI.create("http://collector.invalid:4318"),
        mode.equals("sampled") ? 1.0 : 0.0, "bench", TelemetryConfig.OFF.queueSize(), Duration.ofMillis(100));
    tracing = Tracing.start(config, new SpanExporter() {
      @Override
      public CompletableResultCode export(Collection<SpanData> spans) {
        exported.add(spans.size());
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode flush() {
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode shutdown() {
        return CompletableResultCode.ofSuccess();
      }
    }, new SimpleMeterRegistry());
  }

  @TearDown(Level.Trial)
  public void stop() {
    tracing.flush();
    System.out.println("\n" + mode + ": exported " + exported.sum() + " spans, dropped " + tracing.droppedSpans());
    tracing.close();
  }

  /** One exchange's trace, start to end, as the gateway drives it. */
  @Benchmark
  public void exchange(Blackhole bh) {
    // sampled: the client's traceparent says sampled; unsampled: a new trace at ratio 0.
    ExchangeTrace trace = tracing.begin("POST", "/v1/chat/completions", mode.equals("sampled") ? headers : noHeaders);
    trace.attemptStarted("models", "10.0.0.7", 8000, GEN_AI);
    trace.inject((name, value) -> bh.consume(value));
    trace.attemptStatus(200);
    trace.attemptOutcome("success");
    trace.firstToken();
    trace.attemptEnded();
    trace.end(END);
    bh.consume(trace.traceId());
  }
}
