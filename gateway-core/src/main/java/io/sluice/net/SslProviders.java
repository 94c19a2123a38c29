package io.sluice.net;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

/**
 * The TLS engine both legs use: OpenSSL (netty-tcnative) when it loads, else the JDK's. The
 * system property {@code sluice.tls.provider=jdk} forces the JDK engine (to compare, or to work
 * around a native library that misbehaves).
 */
public final class SslProviders {
  private SslProviders() {}

  /** The provider new client and server contexts use. */
  public static SslProvider preferred() {
    boolean forceJdk = "jdk".equalsIgnoreCase(System.getProperty("sluice.tls.provider"));
    return !forceJdk && OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
  }
}
