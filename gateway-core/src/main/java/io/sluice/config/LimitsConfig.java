package io.sluice.config;

import java.time.Duration;

/**
 * Per-listener protection limits ({@code limits}); every field has the contract's default.
 *
 * @param maxConnectionsPerIp 0 = unlimited
 * @param requestBodyTimeout the whole request body must arrive within this time after its headers
 *     (slow POST); 408 otherwise
 */
public record LimitsConfig(
    long maxRequestBody,
    int maxHeaderSize,
    int maxUriLength,
    Duration requestHeaderTimeout,
    int maxConnections,
    int maxConnectionsPerIp,
    Duration idleTimeout,
    Duration requestBodyTimeout) {

  /** The body timeout's default, 60 s: generous for a prompt, short for a trickle attack. */
  public static final Duration DEFAULT_REQUEST_BODY_TIMEOUT = Duration.ofSeconds(60);

  public static final LimitsConfig DEFAULTS =
      new LimitsConfig(
          10L * 1024 * 1024,
          16 * 1024,
          8 * 1024,
          Duration.ofSeconds(10),
          100_000,
          0,
          Duration.ofMinutes(5),
          DEFAULT_REQUEST_BODY_TIMEOUT);

  /** The limits without {@code request-body-timeout} (its default). */
  public LimitsConfig(long maxRequestBody, int maxHeaderSize, int maxUriLength, Duration requestHeaderTimeout,
      int maxConnections, int maxConnectionsPerIp, Duration idleTimeout) {
    this(maxRequestBody, maxHeaderSize, maxUriLength, requestHeaderTimeout, maxConnections, maxConnectionsPerIp,
        idleTimeout, DEFAULT_REQUEST_BODY_TIMEOUT);
  }
}
