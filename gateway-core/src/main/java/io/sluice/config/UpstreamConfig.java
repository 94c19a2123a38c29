package io.sluice.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A pool of model-server endpoints ({@code upstreams[]}).
 *
 * @param retries further attempts, each to another endpoint, only after a connect failure or a
 *     reset before any response byte
 * @param headers set on every request to this upstream (provider credentials); values are secrets
 */
public record UpstreamConfig(
    String name,
    List<EndpointConfig> endpoints,
    Balancer balancer,
    Duration connectTimeout,
    Duration firstByteTimeout,
    Duration streamIdleTimeout,
    int maxConnectionsPerEndpoint,
    int retries,
    HealthCheckConfig healthCheck,
    Duration dnsRefresh,
    Map<String, Secret> headers) {

  public UpstreamConfig {
    endpoints = List.copyOf(endpoints);
    headers = Map.copyOf(headers);
  }

  /** How requests are spread over healthy endpoints. */
  public enum Balancer {
    ROUND_ROBIN("round-robin"),
    LEAST_REQUESTS("least-requests"),
    RANDOM("random");

    private final String yamlName;

    Balancer(String yamlName) {
      this.yamlName = yamlName;
    }

    public String yamlName() {
      return yamlName;
    }
  }
}
