package io.sluice.config;

import java.nio.file.Path;
import java.util.List;

/**
 * A listener's TLS settings ({@code listeners[].tls}); the files were checked at load (readable,
 * key matching the certificate, certificate not expired).
 *
 * @param certificate PEM chain, leaf first
 * @param privateKey PEM, PKCS#8 ({@code BEGIN PRIVATE KEY})
 * @param protocols {@code TLSv1.3} and/or {@code TLSv1.2}; default {@code [TLSv1.3]}
 */
public record TlsConfig(Path certificate, Path privateKey, List<String> protocols) {
  /** The protocols a config may name; older ones are refused. */
  public static final List<String> ALLOWED_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

  public TlsConfig {
    protocols = List.copyOf(protocols);
  }
}
