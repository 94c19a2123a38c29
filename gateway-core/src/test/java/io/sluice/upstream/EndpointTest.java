package io.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.EndpointConfig;
import io.sluice.config.HealthCheckConfig;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class EndpointTest {
  private static final Duration INTERVAL = Duration.ofSeconds(5);
  private static final HealthCheckConfig PASSIVE =
      new HealthCheckConfig(null, INTERVAL, Duration.ofSeconds(2), 3, 2);
  private static final HealthCheckConfig ACTIVE =
      new HealthCheckConfig("/health", INTERVAL, Duration.ofSeconds(2), 3, 2);

  private final AtomicLong clock = new AtomicLong(1_000_000_000L);

  private Endpoint endpoint(HealthCheckConfig health) {
    return new Endpoint("llm", new EndpointConfig("http://10.0.0.1:8000", "http", "10.0.0.1", 8000, "", 1),
        health, clock::get);
  }

  private void advance(Duration d) {
    clock.addAndGet(d.toNanos());
  }

  private static void fail(Endpoint e, int times) {
    for (int i = 0; i < times; i++) {
      e.recordFailure("test");
    }
  }

  @Test
  void becomesUnhealthyAfterUnhealthyAfterConsecutiveFailures() {
    Endpoint e = endpoint(PASSIVE);
    assertThat(e.healthy()).isTrue();
    assertThat(e.available()).isTrue();
    fail(e, 2);
    assertThat(e.healthy()).isTrue();
    e.recordFailure("third");
    assertThat(e.healthy()).isFalse();
    assertThat(e.available()).isFalse();
  }

  @Test
  void aSuccessResetsTheFailureCount() {
    Endpoint e = endpoint(PASSIVE);
    fail(e, 2);
    e.recordSuccess(false);
    fail(e, 2);
    assertThat(e.healthy()).isTrue();
    e.recordFailure("third in a row");
    assertThat(e.healthy()).isFalse();
  }

  @Test
  void passiveOnlyEndpointIsOnProbationAfterTheInterval() {
    Endpoint e = endpoint(PASSIVE);
    fail(e, 3);
    advance(INTERVAL.minusNanos(1));
    assertThat(e.available()).isFalse();
    advance(Duration.ofNanos(1));
    assertThat(e.available()).isTrue();
    assertThat(e.healthy()).isFalse();

    e.recordSuccess(false);
    assertThat(e.healthy()).isTrue();
    assertThat(e.available()).isTrue();
  }

  @Test
  void oneFailureOnProbationEjectsAgainForAFullInterval() {
    Endpoint e = endpoint(PASSIVE);
    fail(e, 3);
    advance(INTERVAL);
    assertThat(e.available()).isTrue();

    e.recordFailure("failed on probation");
    assertThat(e.healthy()).isFalse();
    assertThat(e.available()).isFalse();
    advance(INTERVAL.minusNanos(1));
    assertThat(e.available()).isFalse();
    advance(Duration.ofNanos(1));
    assertThat(e.available()).isTrue();
  }

  @Test
  void healthyAgainAfterProbationNeedsUnhealthyAfterFailuresToBeEjected() {
    Endpoint e = endpoint(PASSIVE);
    fail(e, 3);
    advance(INTERVAL);
    e.recordSuccess(false);
    fail(e, 2);
    assertThat(e.healthy()).isTrue();
    e.recordFailure("third");
    assertThat(e.healthy()).isFalse();
  }

  @Test
  void withActiveProbesAnUnhealthyEndpointStaysUnavailableWhateverTheTime() {
    Endpoint e = endpoint(ACTIVE);
    fail(e, 3);
    assertThat(e.healthy()).isFalse();
    advance(INTERVAL.multipliedBy(100));
    assertThat(e.available()).isFalse();
  }

  @Test
  void withActiveProbesHealthyAfterConsecutiveSuccessfulProbesBringItBack() {
    Endpoint e = endpoint(ACTIVE);
    fail(e, 3);
    e.recordSuccess(true);
    assertThat(e.healthy()).isFalse();
    e.recordSuccess(true);
    assertThat(e.healthy()).isTrue();
    assertThat(e.available()).isTrue();
  }

  @Test
  void withActiveProbesAFailedProbeRestartsTheSuccessCount() {
    Endpoint e = endpoint(ACTIVE);
    fail(e, 3);
    e.recordSuccess(true);
    e.recordFailure("probe failed");
    e.recordSuccess(true);
    assertThat(e.healthy()).isFalse();
    e.recordSuccess(true);
    assertThat(e.healthy()).isTrue();
  }

  @Test
  void withActiveProbesOnlyProbesBringItBack() {
    Endpoint e = endpoint(ACTIVE);
    fail(e, 3);
    // Requests that were in flight when it was ejected still finish; they are not probes.
    e.recordSuccess(false);
    e.recordSuccess(false);
    e.recordSuccess(false);
    assertThat(e.healthy()).isFalse();
    assertThat(e.available()).isFalse();
  }
}
