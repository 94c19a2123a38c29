package io.sluice.upstream;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.sluice.config.PemFiles;
import io.sluice.config.UpstreamConfig;
import io.sluice.config.UpstreamTlsConfig;
import io.sluice.net.SslProviders;
import java.io.UncheckedIOException;
import java.io.IOException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLException;

/**
 * The client TLS context of an upstream with {@code https://} endpoints: TLS 1.3/1.2, SNI and
 * hostname verification ({@code HTTPS} endpoint identification) against the JDK trust store or
 * the configured {@code ca} (read with {@link PemFiles}, like {@code --check} read it);
 * {@code verify: false} turns both checks off.
 */
final class UpstreamTls {
  private UpstreamTls() {}

  /** Null when no endpoint of the upstream is {@code https}. */
  static SslContext forUpstream(UpstreamConfig config) {
    boolean https = config.endpoints().stream().anyMatch(e -> "https".equals(e.scheme()));
    if (!https) {
      return null;
    }
    UpstreamTlsConfig tls = config.tls();
    try {
      SslContextBuilder b = SslContextBuilder.forClient()
          .sslProvider(SslProviders.preferred())
          .protocols("TLSv1.3", "TLSv1.2");
      if (!tls.verify()) {
        b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
      } else {
        b.endpointIdentificationAlgorithm("HTTPS");
        if (tls.ca() != null) {
          // The reader --check used, not Netty's: the same file is read the same way.
          b.trustManager(PemFiles.certificates(tls.ca()).toArray(X509Certificate[]::new));
        }
      }
      return b.build();
    } catch (SSLException e) {
      throw new UncheckedIOException("upstream '" + config.name() + "': cannot build its TLS context", e);
    } catch (PemFiles.PemException e) {
      // The loader read the file moments ago; it changed since.
      throw new UncheckedIOException(new IOException("upstream '" + config.name() + "': tls.ca: " + e.getMessage(), e));
    } catch (RuntimeException e) {
      throw new UncheckedIOException(new IOException("upstream '" + config.name() + "': " + e.getMessage(), e));
    }
  }
}
