package io.sluice.config;

import java.time.Duration;

/**
 * Per-listener protection limits ({@code limits}); every field has a default ({@link #DEFAULTS},
 * the values the README's "Configuration walkthrough" shows).
 *
 * @param maxConnectionsPerIp 0 = unlimited
 * @param requestBodyTimeout the whole request body must arrive within this time after its headers
 *     (slow POST); 408 otherwise
 * @param maxSessionMemory all stream sessions' buffered events together (resume, long polling);
 *     beyond it the sessions that would expire soonest are evicted
 */
public record LimitsConfig(
    long maxRequestBody,
    int maxHeaderSize,
    int maxUriLength,
    Duration requestHeaderTimeout,
    int maxConnections,
    int maxConnectionsPerIp,
    Duration idleTimeout,
    Duration requestBodyTimeout,
    long maxSessionMemory) {

  /** The body timeout's default, 60 s: generous for a prompt, short for a trickle attack. */
  public static final Duration DEFAULT_REQUEST_BODY_TIMEOUT = Duration.ofSeconds(60);
  /** The session memory cap's default, 256 MiB. */
  public static final long DEFAULT_MAX_SESSION_MEMORY = 256L * 1024 * 1024;

  public static final LimitsConfig DEFAULTS =
      new LimitsConfig(
          10L * 1024 * 1024,
          16 * 1024,
          8 * 1024,
          Duration.ofSeconds(10),
          100_000,
          0,
          Duration.ofMinutes(5),
          DEFAULT_REQUEST_BODY_TIMEOUT,
          DEFAULT_MAX_SESSION_MEMORY);

  /** The limits without {@code request-body-timeout} and {@code max-session-memory} (their defaults). */
  public LimitsConfig(long maxRequestBody, int maxHeaderSize, int maxUriLength, Duration requestHeaderTimeout,
      int maxConnections, int maxConnectionsPerIp, Duration idleTimeout) {
    this(maxRequestBody, maxHeaderSize, maxUriLength, requestHeaderTimeout, maxConnections, maxConnectionsPerIp,
        idleTimeout, DEFAULT_REQUEST_BODY_TIMEOUT, DEFAULT_MAX_SESSION_MEMORY);
  }
}
