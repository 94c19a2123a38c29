package io.sluice.net;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS engine both legs use: OpenSSL (netty-tcnative) when it loads, else the JDK's. The
 * system property {@code sluice.tls.provider=jdk} forces the JDK engine (to compare, or to work
 * around a native library that misbehaves).
 *
 * <p>Failure: when OpenSSL does not load on Linux (the jar ships BoringSSL; most often there is no
 * writable {@code java.io.tmpdir} to unpack it into), TLS still works, on the JDK engine, and the
 * first TLS context built says so with one WARN.
 */
public final class SslProviders {
  private static final Logger log = LoggerFactory.getLogger(SslProviders.class);
  private static final AtomicBoolean WARNED = new AtomicBoolean();

  private SslProviders() {}

  /** The provider new client and server contexts use. */
  public static SslProvider preferred() {
    boolean forceJdk = "jdk".equalsIgnoreCase(System.getProperty("sluice.tls.provider"));
    if (forceJdk) {
      return SslProvider.JDK;
    }
    if (OpenSsl.isAvailable()) {
      return SslProvider.OPENSSL;
    }
    if (NativeFallback.expectedToLoad(System.getProperty("os.name")) && WARNED.compareAndSet(false, true)) {
      log.warn(NativeFallback.message("OpenSSL (netty-tcnative BoringSSL)", "the JDK TLS engine",
          OpenSsl.unavailabilityCause(), NativeFallback.workdir(), "-Dsluice.tls.provider=jdk"));
    }
    return SslProvider.JDK;
  }
}
