package io.sluice.config;

import java.time.Duration;

/**
 * Active and passive health checking of an upstream's endpoints ({@code upstreams[].health-check}).
 *
 * <p>Passive checks always run: connect errors, resets and 502/503/504 answers count as failures.
 * Active probes run only when {@code path} is set. Without them an endpoint ejected by passive
 * failures is given traffic again after {@code interval}, on probation (one failure ejects it again).
 *
 * @param path probe path, or null for passive checks only
 */
public record HealthCheckConfig(
    String path, Duration interval, Duration timeout, int unhealthyAfter, int healthyAfter) {

  public static final HealthCheckConfig PASSIVE_ONLY =
      new HealthCheckConfig(null, Duration.ofSeconds(5), Duration.ofSeconds(2), 3, 2);

  public boolean activeProbes() {
    return path != null;
  }
}
