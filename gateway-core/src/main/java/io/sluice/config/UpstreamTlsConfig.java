package io.sluice.config;

import java.nio.file.Path;

/**
 * How the gateway checks an {@code https://} upstream ({@code upstreams[].tls}).
 *
 * @param ca PEM file of trusted certificates, absolute (a relative name in the config was resolved
 *     against the config file's folder); null = the JDK trust store
 * @param verify false skips certificate and hostname checks (never for production)
 */
public record UpstreamTlsConfig(Path ca, boolean verify) {
  /** The default: JDK trust store, full verification. */
  public static final UpstreamTlsConfig DEFAULT = new UpstreamTlsConfig(null, true);
}
