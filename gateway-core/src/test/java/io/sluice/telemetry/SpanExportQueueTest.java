package io.sluice.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.sluice.config.TelemetryConfig;
import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * The export queue: ending spans never waits for the collector; what does not fit the bounded
 * queue is dropped and counted in {@code sluice_trace_spans_dropped_total}.
 */
class SpanExportQueueTest {
  private static final TelemetryConfig ONE_SLOT =
      new TelemetryConfig(URI.create("http://collector.invalid:4318"), 1.0, "test", 1, Duration.ofMillis(1));

  /** Holds every export until released, as a collector that stopped answering would. */
  private static final class StuckCollector implements SpanExporter {
    final CountDownLatch release = new CountDownLatch(1);
    final List<SpanData> exported = new CopyOnWriteArrayList<>();

    @Override
    public CompletableResultCode export(Collection<SpanData> spans) {
      CompletableResultCode result = new CompletableResultCode();
      Thread waiter = new Thread(() -> {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        exported.addAll(spans);
        result.succeed();
      }, "stuck-collector");
      waiter.setDaemon(true);
      waiter.start();
      return result;
    }

    @Override
    public CompletableResultCode flush() {
      return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode shutdown() {
      release.countDown();
      return CompletableResultCode.ofSuccess();
    }
  }

  @Test
  @Timeout(30)
  void aFullQueueDropsAndCountsInsteadOfBlocking() {
    ListAppender<ILoggingEvent> sdkLog = new ListAppender<>();
    sdkLog.start();
    ch.qos.logback.classic.Logger sdk = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.opentelemetry");
    sdk.addAppender(sdkLog);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    StuckCollector collector = new StuckCollector();
    Tracing tracing = Tracing.start(ONE_SLOT, collector, registry);
    try {
      for (int i = 0; i < 20; i++) { // returns at once although the collector never answers
        ExchangeTrace trace = tracing.begin("POST", "/v1/chat/completions", Map.<String, String>of()::get);
        trace.end(new ExchangeTrace.ExchangeEnd("chat", "/v1/chat/completions", 200, "ok", null, null, -1, -1));
      }
      long dropped = tracing.droppedSpans();
      assertThat(dropped).as("at most one span exporting and one queued").isGreaterThanOrEqualTo(18);
      assertThat(registry.get("sluice.trace.spans.dropped").functionCounter().count()).isEqualTo(dropped);

      collector.release.countDown();
      tracing.flush();
      assertThat(collector.exported.size() + dropped).isEqualTo(20);
      // The SDK's own warning reaches the gateway's log (SLF4J), not stderr.
      assertThat(sdkLog.list).extracting(ILoggingEvent::getFormattedMessage)
          .anyMatch(line -> line.contains("dropped") && line.contains("queue is full"));
    } finally {
      tracing.close();
      sdk.detachAppender(sdkLog);
    }
  }

  @Test
  void offStartsNothingAndTracesNothing() {
    Tracing off = Tracing.start(TelemetryConfig.OFF, new SimpleMeterRegistry());
    assertThat(off).isSameAs(Tracing.off());
    assertThat(off.enabled()).isFalse();
    ExchangeTrace trace = off.begin("POST", "/", name -> "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assertThat(trace).isSameAs(ExchangeTrace.NONE);
    assertThat(trace.traceId()).isNull();
    StringBuilder headers = new StringBuilder();
    trace.inject((k, v) -> headers.append(k));
    assertThat(headers).isEmpty();
  }
}
