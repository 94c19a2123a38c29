package io.sluice.server;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.sluice.config.PemFiles;
import io.sluice.config.TlsConfig;
import io.sluice.net.SslProviders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TLS listener's server context, rebuilt when its certificate or key file changes.
 *
 * <p>Provider: OpenSSL (BoringSSL from {@code netty-tcnative-boringssl-static}) when it loads —
 * faster handshakes and none of the JDK engine's buffer growth — else the JDK's engine. The system
 * property {@code sluice.tls.provider=jdk} forces the JDK one (measurements, troubleshooting).
 *
 * <p>Ciphers: only AEAD suites with forward secrecy (Netty's HTTP/2 list: the TLS 1.3 suites and
 * ECDHE with AES-GCM or ChaCha20-Poly1305 for TLS 1.2); protocols only TLSv1.3 / TLSv1.2.
 *
 * <p>Reload: {@link #reloadIfChanged()} is called every few seconds off the event loops (see
 * {@link GatewayServer}); when a file's modification time changed, the pair is checked like at
 * load and a new context replaces the old one for <em>new</em> connections. Open connections keep
 * the engine they were made with. A broken pair is logged and the old context keeps serving.
 *
 * <p>Threading: {@link #newHandler} runs on event loops and reads one volatile field.
 */
public final class ServerTls {
  private static final Logger log = LoggerFactory.getLogger(ServerTls.class);

  private final String listener;
  private final TlsConfig config;
  private final boolean http2;
  private volatile SslContext context;
  /** The serving certificate's notAfter ({@code sluice_tls_certificate_expiry_seconds}); null if unreadable. */
  private volatile Instant notAfter;
  private FileTime certModified;
  private FileTime keyModified;

  private ServerTls(String listener, TlsConfig config, boolean http2) {
    this.listener = listener;
    this.config = config;
    this.http2 = http2;
  }

  /** Builds the first context; throws when the files cannot be used. */
  public static ServerTls create(String listener, TlsConfig config, boolean http2) throws SSLException {
    ServerTls tls = new ServerTls(listener, config, http2);
    tls.certModified = modified(config.certificate().toString());
    tls.keyModified = modified(config.privateKey().toString());
    tls.context = tls.build();
    tls.notAfter = tls.leafNotAfter();
    log.info("listener '{}': TLS {} with {} ({})", listener, config.protocols(), SslProviders.preferred(),
        SslProviders.preferred() == SslProvider.OPENSSL ? OpenSsl.versionString() : "JDK " + Runtime.version());
    return tls;
  }

  /** A handler for a new connection, from the current context. */
  public SslHandler newHandler(ByteBufAllocator alloc) {
    return context.newHandler(alloc);
  }

  /** The current context (tests). */
  SslContext context() {
    return context;
  }

  /** When the certificate new connections get stops being valid; null when it could not be read. */
  public Instant notAfter() {
    return notAfter;
  }

  private Instant leafNotAfter() {
    try {
      return PemFiles.certificates(config.certificate()).get(0).getNotAfter().toInstant();
    } catch (PemFiles.PemException | RuntimeException e) {
      // The context was just built from the same file, so this is a swap in between: no series
      // rather than a wrong one, until the next reload reads it again.
      log.warn("listener '{}': cannot read the certificate's expiry: {}", listener, e.getMessage());
      return null;
    }
  }

  /** Rebuilds the context when a file changed; returns whether a new one is in use. */
  public boolean reloadIfChanged() {
    FileTime cert = modified(config.certificate().toString());
    FileTime key = modified(config.privateKey().toString());
    if (cert == null || key == null || (cert.equals(certModified) && key.equals(keyModified))) {
      return false;
    }
    certModified = cert;
    keyModified = key;
    try {
      X509Certificate leaf = PemFiles.checkPair(config.certificate(), config.privateKey(), Instant.now());
      context = build();
      notAfter = leaf.getNotAfter().toInstant();
      log.info("listener '{}': reloaded certificate {} (new connections use it)", listener, config.certificate());
      return true;
    } catch (PemFiles.PemException | SSLException | RuntimeException e) {
      log.warn("listener '{}': not reloading TLS files, keeping the previous certificate: {}", listener,
          e.getMessage());
      return false;
    }
  }

  private SslContext build() throws SSLException {
    List<String> alpn = new ArrayList<>();
    if (http2) {
      alpn.add(ApplicationProtocolNames.HTTP_2);
    }
    alpn.add(ApplicationProtocolNames.HTTP_1_1);
    return SslContextBuilder.forServer(config.certificate().toFile(), config.privateKey().toFile())
        .sslProvider(SslProviders.preferred())
        .protocols(config.protocols())
        .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
        .applicationProtocolConfig(new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            alpn))
        .build();
  }

  private static FileTime modified(String file) {
    try {
      return Files.getLastModifiedTime(Path.of(file));
    } catch (IOException e) {
      return null; // mid-swap (a ConfigMap update): look again at the next tick
    }
  }
}
