package io.sluice.config;

import java.util.List;

/**
 * One client-facing listener ({@code listeners[]}). Plaintext HTTP/1.1 for now: {@code tls} and
 * {@code http2} are rejected by the loader until their issue lands.
 *
 * @param port 0 binds an ephemeral port (tests)
 * @param proxyProtocol the peer is an L4 balancer that sends a PROXY v1/v2 header first
 * @param trustedProxies networks whose {@code X-Forwarded-For} is believed (validated CIDRs)
 */
public record ListenerConfig(String name, String host, int port, boolean proxyProtocol, List<String> trustedProxies) {
  public ListenerConfig {
    trustedProxies = List.copyOf(trustedProxies);
  }

  /** A plain listener: no PROXY protocol, no trusted proxies. */
  public ListenerConfig(String name, String host, int port) {
    this(name, host, port, false, List.of());
  }
}
