package io.sluice.config;

/**
 * One client-facing listener ({@code listeners[]}). Plaintext HTTP/1.1 for now: {@code tls},
 * {@code http2}, {@code proxy-protocol} and {@code trusted-proxies} are rejected by the loader
 * until their issues land.
 *
 * @param port 0 binds an ephemeral port (tests)
 */
public record ListenerConfig(String name, String host, int port) {}
