package io.sluice.config;

import java.net.URI;
import java.time.Duration;

/**
 * OpenTelemetry traces ({@code telemetry}, docs/telemetry.md): off unless an OTLP/HTTP endpoint
 * is given.
 *
 * @param otlpEndpoint the collector's OTLP/HTTP base URL ({@code http://collector:4318}); spans go
 *     to its {@code /v1/traces}. Null: tracing is off and no SDK is started.
 * @param sampleRatio the share of new traces recorded, 0..1 (a trace the client already started
 *     follows the client's sampled flag)
 * @param serviceName the {@code service.name} resource attribute of every span
 * @param queueSize spans waiting for export at most; more are dropped and counted
 * @param exportDelay the longest a finished span waits in the queue before a batch is sent
 */
public record TelemetryConfig(URI otlpEndpoint, double sampleRatio, String serviceName, int queueSize,
    Duration exportDelay) {
  public static final TelemetryConfig OFF = new TelemetryConfig(null, 1.0, "sluice", 2048, Duration.ofSeconds(5));

  /** Whether traces are exported at all. */
  public boolean tracing() {
    return otlpEndpoint != null;
  }

  /** Where spans are posted: the endpoint's path + {@code /v1/traces}, as OTLP/HTTP defines. */
  public String tracesUrl() {
    String base = otlpEndpoint.toString();
    return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/v1/traces";
  }
}
