package io.sluice.config;

/**
 * The admin listener ({@code admin}): health, readiness, metrics and {@code /admin/*}.
 *
 * @param token bearer token required for {@code /admin/*}; null when the host is loopback and no
 *     token was configured (the loader refuses a non-loopback host without one)
 */
public record AdminConfig(String host, int port, Secret token) {}
