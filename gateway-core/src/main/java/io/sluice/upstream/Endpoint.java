package io.sluice.upstream;

import io.sluice.config.EndpointConfig;
import io.sluice.config.HealthCheckConfig;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One endpoint of an upstream: its address, load and health.
 *
 * <p>Threading: shared by all event loops; counters are atomic and the health flag volatile.
 * Health transitions are rare, so they synchronise on the endpoint.
 *
 * <p>Health: {@code unhealthy-after} consecutive failures (active probes, and passive ones: connect
 * errors, resets, 502/503/504) eject the endpoint; {@code healthy-after} consecutive successful
 * probes bring it back. Without active probes an ejected endpoint gets traffic again after
 * {@code interval}, on probation: its next success restores it, its next failure ejects it again.
 */
public final class Endpoint {
  private static final Logger log = LoggerFactory.getLogger(Endpoint.class);

  private final String upstreamName;
  private final EndpointConfig config;
  private final HealthCheckConfig health;
  private final LongSupplier nanoClock;
  private final AtomicInteger activeRequests = new AtomicInteger();
  private final AtomicInteger openConnections = new AtomicInteger();
  private volatile boolean healthy = true;
  private volatile long ejectedAtNanos;
  private int consecutiveFailures;
  private int consecutiveSuccesses;
  int swrrCurrent; // smooth weighted round-robin state, guarded by the balancer

  public Endpoint(String upstreamName, EndpointConfig config, HealthCheckConfig health, LongSupplier nanoClock) {
    this.upstreamName = upstreamName;
    this.config = config;
    this.health = health;
    this.nanoClock = nanoClock;
  }

  public EndpointConfig config() {
    return config;
  }

  public String url() {
    return config.url();
  }

  public int weight() {
    return config.weight();
  }

  public boolean healthy() {
    return healthy;
  }

  /** Whether the balancer may send a request here now. */
  public boolean available() {
    if (healthy) {
      return true;
    }
    return !health.activeProbes() && nanoClock.getAsLong() - ejectedAtNanos >= health.interval().toNanos();
  }

  public AtomicInteger activeRequests() {
    return activeRequests;
  }

  AtomicInteger openConnections() {
    return openConnections;
  }

  public int openConnectionCount() {
    return openConnections.get();
  }

  /** A request or probe succeeded. */
  public synchronized void recordSuccess(boolean probe) {
    consecutiveFailures = 0;
    if (healthy) {
      return;
    }
    if (health.activeProbes() && !probe) {
      return; // with active probes only probes bring it back, not requests still in flight
    }
    if (!health.activeProbes() || ++consecutiveSuccesses >= health.healthyAfter()) {
      healthy = true;
      consecutiveSuccesses = 0;
      log.info("upstream {} endpoint {} is healthy again", upstreamName, config.url());
    }
  }

  /** A request or probe failed in a way that says the endpoint is unwell. */
  public synchronized void recordFailure(String reason) {
    consecutiveSuccesses = 0;
    if (!healthy) {
      if (!health.activeProbes()) {
        ejectedAtNanos = nanoClock.getAsLong(); // failed on probation: eject again
      }
      return;
    }
    if (++consecutiveFailures >= health.unhealthyAfter()) {
      healthy = false;
      consecutiveFailures = 0;
      ejectedAtNanos = nanoClock.getAsLong();
      log.warn("upstream {} endpoint {} marked unhealthy ({})", upstreamName, config.url(), reason);
    }
  }

  @Override
  public String toString() {
    return config.url();
  }
}
