package io.sluice.observe;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A latency histogram family labelled by route and model ({@code sluice_time_to_first_token_seconds},
 * {@code sluice_inter_token_latency_seconds}), recorded into {@link LatencyHistogram}s and exported
 * when Prometheus scrapes: a collector on the registry Micrometer writes to, so the series sit in
 * the same {@code /metrics} as every other meter, with the names, buckets and help text the
 * Micrometer timers they replace had ({@code LatencyHistogramsTest} compares the two expositions).
 *
 * <p>Threading: thread-safe; a stream looks its series up once and records into it.
 */
final class LatencyHistograms implements MultiCollector {
  private final String name; // the Prometheus name, with the _seconds unit
  private final String help;
  private final long[] boundsNanos;
  private final double[] boundsSeconds;
  private final LongSupplier nanoTime;
  private final Map<Labels, LatencyHistogram> series = new ConcurrentHashMap<>();
  /**
   * The same series by route, then model: a stream's lookup reads two maps keyed by strings it
   * already has. {@code Labels.of} validates and sorts its names each time (a UTF-8 encoder and
   * buffers per call), ~1.7 KB per request with two lookups per stream, so it runs once per series.
   */
  private final Map<String, Map<String, LatencyHistogram>> byRoute = new ConcurrentHashMap<>();

  LatencyHistograms(String name, String help, Duration[] buckets, LongSupplier nanoTime) {
    this.name = name;
    this.help = help;
    this.nanoTime = nanoTime;
    boundsNanos = new long[buckets.length];
    boundsSeconds = new double[buckets.length + 1];
    for (int i = 0; i < buckets.length; i++) {
      boundsNanos[i] = buckets[i].toNanos();
      boundsSeconds[i] = boundsNanos[i] / 1e9;
    }
    boundsSeconds[buckets.length] = Double.POSITIVE_INFINITY;
  }

  /** Exports the family on {@code registry} (the one under Micrometer's Prometheus registry). */
  LatencyHistograms registerOn(PrometheusRegistry registry) {
    registry.register(this);
    return this;
  }

  /** The series of a route and model label, created on first use. */
  LatencyHistogram series(String route, String model) {
    Map<String, LatencyHistogram> byModel = byRoute.get(route);
    if (byModel == null) {
      byModel = byRoute.computeIfAbsent(route, r -> new ConcurrentHashMap<>());
    }
    LatencyHistogram h = byModel.get(model);
    if (h == null) {
      h = byModel.computeIfAbsent(model, m -> series.computeIfAbsent(Labels.of("model", m, "route", route),
          labels -> new LatencyHistogram(boundsNanos, nanoTime.getAsLong())));
    }
    return h;
  }

  @Override
  public MetricSnapshots collect() {
    if (series.isEmpty()) {
      return new MetricSnapshots(); // like a meter never registered: no empty family in the text
    }
    long now = nanoTime.getAsLong();
    HistogramSnapshot.Builder histogram = HistogramSnapshot.builder().name(name).help(help);
    GaugeSnapshot.Builder max = GaugeSnapshot.builder().name(name + "_max").help(help);
    series.forEach((labels, h) -> {
      LatencyHistogram.Snapshot s = h.snapshot(now);
      histogram.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
          .labels(labels)
          .classicHistogramBuckets(ClassicHistogramBuckets.of(boundsSeconds, s.bucketCounts()))
          .sum(s.sumNanos() / 1e9)
          .build());
      max.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(labels).value(s.maxNanos() / 1e9).build());
    });
    return new MetricSnapshots(histogram.build(), max.build());
  }

  @Override
  public List<String> getPrometheusNames() {
    return List.of(name, name + "_max");
  }
}
