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
  private final SslProvider provider;
  private volatile SslContext context;
  /** The serving certificate's notAfter ({@code sluice_tls_certificate_expiry_seconds}); null if unreadable. */
  private volatile Instant notAfter;
  private FileTime certModified;
  private FileTime keyModified;

  private ServerTls(String listener, TlsConfig config, boolean http2, SslProvider provider) {
    this.listener = listener;
    this.config = config;
    this.http2 = http2;
    this.provider = provider;
  }

  /** Builds the first context; throws when the files cannot be used. */
  public static ServerTls create(String listener, TlsConfig config, boolean http2) throws SSLException {
    return create(listener, config, http2, SslProviders.preferred());
  }

  /** With this engine rather than the preferred one (tests run both). */
  static ServerTls create(String listener, TlsConfig config, boolean http2, SslProvider provider)
      throws SSLException {
    ServerTls tls = new ServerTls(listener, config, http2, provider);
    tls.certModified = modified(config.certificate().toString());
    tls.keyModified = modified(config.privateKey().toString());
    try {
      PemFiles.CertifiedKey pair = PemFiles.checkPair(config.certificate(), config.privateKey(), Instant.now());
      tls.context = tls.build(pair);
      tls.notAfter = pair.chain().get(0).getNotAfter().toInstant();
    } catch (PemFiles.PemException e) {
      // The loader checked the files moments ago; they changed since (a renewal racing the start).
      throw new SSLException("listener '" + listener + "': " + e.getMessage());
    }
    log.info("listener '{}': TLS {} with {} ({})", listener, config.protocols(), provider,
        provider == SslProvider.OPENSSL ? OpenSsl.versionString() : "JDK " + Runtime.version());
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
      PemFiles.CertifiedKey pair = PemFiles.checkPair(config.certificate(), config.privateKey(), Instant.now());
      context = build(pair);
      notAfter = pair.chain().get(0).getNotAfter().toInstant();
      log.info("listener '{}': reloaded certificate {} (new connections use it)", listener, config.certificate());
      return true;
    } catch (PemFiles.PemException | SSLException | RuntimeException e) {
      log.warn("listener '{}': not reloading TLS files, keeping the previous certificate: {}", listener,
          e.getMessage());
      return false;
    }
  }

  /**
   * A context from the pair as read and checked, not from the file names: Netty would read the
   * files again, and it reads PKCS#8 keys only (PKCS#1 and SEC1 only with Bouncy Castle on the
   * class path) — the {@link PemFiles} reader is the one {@code --check} used.
   */
  private SslContext build(PemFiles.CertifiedKey pair) throws SSLException {
    List<String> alpn = new ArrayList<>();
    if (http2) {
      alpn.add(ApplicationProtocolNames.HTTP_2);
    }
    alpn.add(ApplicationProtocolNames.HTTP_1_1);
    return SslContextBuilder.forServer(pair.key(), pair.chain().toArray(X509Certificate[]::new))
        .sslProvider(provider)
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
