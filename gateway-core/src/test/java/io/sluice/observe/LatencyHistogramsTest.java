package io.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The cheap token-latency histograms export what the Micrometer timers they replace exported. */
class LatencyHistogramsTest {
  private static final long[] VALUES_NANOS = {0, 400_000, 1_000_000, 1_000_001, 7_000_000, 20_000_000, 20_000_001,
      999_000_000, 4_000_000_000L, 31_000_000_000L, 120_000_000_000L};

  private static List<String> lines(String exposition, String family) {
    return exposition.lines().filter(l -> l.startsWith(family) || l.contains(" " + family + " ")
        || l.contains(" " + family + "_max ")).sorted().collect(Collectors.toList());
  }

  @Test
  void sameExpositionAsAMicrometerTimerWithTheseBuckets() {
    for (var family : List.of(
        new Object[] {"sluice.inter.token.latency", "sluice_inter_token_latency_seconds",
            "Time between consecutive content events of a stream", GatewayMetrics.TOKEN_GAP_BUCKETS},
        new Object[] {"sluice.time.to.first.token", "sluice_time_to_first_token_seconds",
            "Request received to the first event carrying generated content", GatewayMetrics.DURATION_BUCKETS})) {
      Duration[] buckets = (Duration[]) family[3];
      PrometheusMeterRegistry micrometer = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      PrometheusMeterRegistry ours = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      LatencyHistograms histograms = new LatencyHistograms((String) family[1], (String) family[2], buckets, System::nanoTime)
          .registerOn(ours.getPrometheusRegistry());
      for (String model : List.of("gpt-4o", "other")) {
        Timer timer = Timer.builder((String) family[0]).tags("route", "chat", "model", model)
            .description((String) family[2]).serviceLevelObjectives(buckets).register(micrometer);
        LatencyHistogram series = histograms.series("chat", model);
        for (long v : VALUES_NANOS) {
          timer.record(v, TimeUnit.NANOSECONDS);
          series.record(v);
        }
      }
      String expected = micrometer.scrape();
      assertThat(lines(expected, (String) family[1])).hasSizeGreaterThan(20);
      assertThat(lines(ours.scrape(), (String) family[1])).isEqualTo(lines(expected, (String) family[1]));
    }
  }

  @Test
  void nothingRecorded_noFamilyInTheExposition() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new LatencyHistograms("sluice_x_seconds", "x", GatewayMetrics.TOKEN_GAP_BUCKETS, System::nanoTime)
        .registerOn(registry.getPrometheusRegistry());
    assertThat(registry.scrape()).doesNotContain("sluice_x");
  }

  @Test
  void maxIsTheLargestOfTheLastWindows_bucketsAndSumAreCumulativeForever() {
    AtomicLong now = new AtomicLong(1_000);
    LatencyHistograms histograms = new LatencyHistograms("sluice_x_seconds", "x", GatewayMetrics.TOKEN_GAP_BUCKETS, now::get);
    LatencyHistogram h = histograms.series("r", "m");
    h.record(5_000_000);
    h.record(-1); // a clock step: not a value
    assertThat(h.snapshot(now.get()).maxNanos()).isEqualTo(5_000_000);
    now.addAndGet(LatencyHistogram.MAX_WINDOW_NANOS); // one window later: still within the last windows
    assertThat(h.snapshot(now.get()).maxNanos()).isEqualTo(5_000_000);
    h.record(2_000_000);
    now.addAndGet(2 * LatencyHistogram.MAX_WINDOW_NANOS); // the 5 ms window has left the ring, the 2 ms one not yet
    assertThat(h.snapshot(now.get()).maxNanos()).isEqualTo(2_000_000);
    now.addAndGet(10 * LatencyHistogram.MAX_WINDOW_NANOS);
    h.record(1_000_000); // recorded just before a scrape that comes after a long quiet time
    LatencyHistogram.Snapshot s = h.snapshot(now.get());
    assertThat(s.maxNanos()).isEqualTo(1_000_000);
    assertThat(s.sumNanos()).isEqualTo(8_000_000);
    assertThat(s.bucketCounts()).containsExactly(1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  }
}
