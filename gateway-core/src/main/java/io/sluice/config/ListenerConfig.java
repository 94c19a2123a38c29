package io.sluice.config;

import java.util.List;

/**
 * One client-facing listener ({@code listeners[]}).
 *
 * @param port 0 binds an ephemeral port (tests)
 * @param proxyProtocol the peer is an L4 balancer that sends a PROXY v1/v2 header first
 * @param trustedProxies networks whose {@code X-Forwarded-For} is believed (validated CIDRs)
 * @param tls null = plaintext
 * @param http2 ALPN {@code h2} on a TLS listener; h2c with prior knowledge on a plaintext one
 */
public record ListenerConfig(String name, String host, int port, boolean proxyProtocol, List<String> trustedProxies,
    TlsConfig tls, boolean http2) {
  public ListenerConfig {
    trustedProxies = List.copyOf(trustedProxies);
  }

  /** A plaintext HTTP/1.1 listener. */
  public ListenerConfig(String name, String host, int port, boolean proxyProtocol, List<String> trustedProxies) {
    this(name, host, port, proxyProtocol, trustedProxies, null, false);
  }

  /** A plain listener: no PROXY protocol, no trusted proxies. */
  public ListenerConfig(String name, String host, int port) {
    this(name, host, port, false, List.of());
  }
}
