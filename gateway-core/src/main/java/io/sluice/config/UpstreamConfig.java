package io.sluice.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A pool of model-server endpoints ({@code upstreams[]}).
 *
 * @param retries further attempts, only after a connect failure (to another endpoint) or a reset
 *     before any response byte (to another endpoint, else on a new connection to the same one)
 * @param headers set on every request to this upstream (provider credentials); values are secrets
 * @param tls how {@code https://} endpoints are verified
 * @param provider the preset: base URL, where {@code apiKey} goes, paths, API style
 * @param apiKey the provider's API key, put where the preset says; null = none (a secret)
 * @param apiVersion Azure OpenAI's {@code api-version} query parameter, else null
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
    Map<String, Secret> headers,
    UpstreamTlsConfig tls,
    Provider provider,
    Secret apiKey,
    String apiVersion) {

  public UpstreamConfig {
    endpoints = List.copyOf(endpoints);
    headers = Map.copyOf(headers);
  }

  /** An upstream without a provider preset ({@code openai-compatible}, no key). */
  public UpstreamConfig(String name, List<EndpointConfig> endpoints, Balancer balancer, Duration connectTimeout,
      Duration firstByteTimeout, Duration streamIdleTimeout, int maxConnectionsPerEndpoint, int retries,
      HealthCheckConfig healthCheck, Duration dnsRefresh, Map<String, Secret> headers, UpstreamTlsConfig tls) {
    this(name, endpoints, balancer, connectTimeout, firstByteTimeout, streamIdleTimeout, maxConnectionsPerEndpoint,
        retries, healthCheck, dnsRefresh, headers, tls, Provider.OPENAI_COMPATIBLE, null, null);
  }

  /** An upstream with the default TLS settings (JDK trust store, verification on). */
  public UpstreamConfig(String name, List<EndpointConfig> endpoints, Balancer balancer, Duration connectTimeout,
      Duration firstByteTimeout, Duration streamIdleTimeout, int maxConnectionsPerEndpoint, int retries,
      HealthCheckConfig healthCheck, Duration dnsRefresh, Map<String, Secret> headers) {
    this(name, endpoints, balancer, connectTimeout, firstByteTimeout, streamIdleTimeout, maxConnectionsPerEndpoint,
        retries, healthCheck, dnsRefresh, headers, UpstreamTlsConfig.DEFAULT);
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
