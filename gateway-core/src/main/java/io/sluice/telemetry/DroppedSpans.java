package io.sluice.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.metrics.MeterProvider;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.CollectionRegistration;
import io.opentelemetry.sdk.metrics.export.MetricReader;

/**
 * The batch span processor's own count of the spans it dropped (its {@code processedSpans}
 * counter with {@code dropped=true}), read when {@code /metrics} is scraped. The SDK counts
 * through a meter provider; this one exists only to be read here, so nothing else is exported.
 */
final class DroppedSpans implements MetricReader {
  private static final String PROCESSED = "processedSpans";
  private static final AttributeKey<Boolean> DROPPED = AttributeKey.booleanKey("dropped");

  // Declared first: building the provider below registers this reader (sets the field).
  private volatile CollectionRegistration registration = CollectionRegistration.noop();
  private final SdkMeterProvider meters = SdkMeterProvider.builder().registerMetricReader(this).build();

  MeterProvider meterProvider() {
    return meters;
  }

  /** Spans dropped so far (a double: what a Micrometer function counter reads). */
  double count() {
    long dropped = 0;
    for (MetricData metric : registration.collectAllMetrics()) {
      if (!metric.getName().equals(PROCESSED)) {
        continue;
      }
      for (LongPointData point : metric.getLongSumData().getPoints()) {
        if (Boolean.TRUE.equals(point.getAttributes().get(DROPPED))) {
          dropped += point.getValue();
        }
      }
    }
    return dropped;
  }

  @Override
  public void register(CollectionRegistration registration) {
    this.registration = registration;
  }

  @Override
  public AggregationTemporality getAggregationTemporality(InstrumentType instrumentType) {
    return AggregationTemporality.CUMULATIVE;
  }

  @Override
  public CompletableResultCode forceFlush() {
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public CompletableResultCode shutdown() {
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public void close() {
    meters.close();
  }
}
