package io.sluice.config;

import java.time.Duration;

/**
 * Per-listener protection limits ({@code limits}); every field has the contract's default.
 *
 * @param maxConnectionsPerIp 0 = unlimited
 * @param maxSessionMemory all stream sessions' buffered events together (resume, long polling);
 *     beyond it the least valuable sessions are evicted
 */
public record LimitsConfig(
    long maxRequestBody,
    int maxHeaderSize,
    int maxUriLength,
    Duration requestHeaderTimeout,
    int maxConnections,
    int maxConnectionsPerIp,
    Duration idleTimeout,
    long maxSessionMemory) {

  public static final LimitsConfig DEFAULTS =
      new LimitsConfig(
          10L * 1024 * 1024,
          16 * 1024,
          8 * 1024,
          Duration.ofSeconds(10),
          100_000,
          0,
          Duration.ofMinutes(5),
          256L * 1024 * 1024);
}
