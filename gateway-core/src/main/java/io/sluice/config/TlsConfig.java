package io.sluice.config;

import java.nio.file.Path;
import java.util.List;

/**
 * A listener's TLS settings ({@code listeners[].tls}); the files were checked at load (readable,
 * key matching the certificate, certificate not expired).
 *
 * @param certificate PEM chain, leaf first; absolute (a relative name in the config was resolved
 *     against the config file's folder)
 * @param privateKey PEM: PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1 ({@code BEGIN RSA PRIVATE KEY})
 *     or SEC1 ({@code BEGIN EC PRIVATE KEY}); absolute, like {@code certificate}
 * @param protocols {@code TLSv1.3} and/or {@code TLSv1.2}; default {@code [TLSv1.3]}
 */
public record TlsConfig(Path certificate, Path privateKey, List<String> protocols) {
  /** The protocols a config may name; older ones are refused. */
  public static final List<String> ALLOWED_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

  public TlsConfig {
    protocols = List.copyOf(protocols);
  }
}
