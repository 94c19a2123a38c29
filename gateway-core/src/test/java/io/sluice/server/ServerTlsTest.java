package io.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import io.sluice.config.TlsConfig;
import io.sluice.testing.TestPki;
import io.sluice.testing.TestPki.KeyFormat;
import io.sluice.testing.TestPki.KeyType;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A listener's TLS context with each key format a user may have, on both engines (BoringSSL and
 * the JDK's), over a real socket, and a renewal that changes the key's format.
 *
 * <p>Bouncy Castle is on the test class path, and with it Netty would read PKCS#1 and SEC1 files
 * itself; at run time it is not, and Netty reads PKCS#8 only ("algid parse error, not a
 * sequence"). So these tests cannot tell whether the engine got the key {@code PemFiles} read or
 * the file: {@code TlsFilesIT}, which runs the packaged jar, is the test that does.
 */
class ServerTlsTest {
  @TempDir Path dir;
  private final TestPki pki = TestPki.create("Test CA");
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

  @AfterEach
  void stop() throws Exception {
    group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
  }

  @ParameterizedTest(name = "{0} key as {1} with {2}")
  @CsvSource({
      "RSA_2048, PKCS1, JDK", "EC_P256, SEC1, JDK", "EC_P384, SEC1, JDK", "RSA_2048, PKCS8, JDK",
      "RSA_2048, PKCS1, OPENSSL", "EC_P256, SEC1, OPENSSL", "EC_P384, SEC1, OPENSSL", "RSA_2048, PKCS8, OPENSSL"})
  void handshakesWithEachKeyFormat(KeyType type, KeyFormat format, SslProvider provider) throws Exception {
    requireEngine(provider);
    TestPki.Issued issued = pki.issue("gw", type);
    TestPki.Files2 files = issued.write(dir, "gw", format);
    ServerTls tls = ServerTls.create("t", new TlsConfig(files.certificate(), files.key(), List.of("TLSv1.3")), false,
        provider);
    int port = echoServer(tls);

    try (SSLSocket socket = handshake(port)) {
      assertThat(socket.getSession().getProtocol()).isEqualTo("TLSv1.3");
      assertThat(socket.getSession().getPeerCertificates()[0]).isEqualTo(issued.certificate());
      assertEchoes(socket);
    }
  }

  @ParameterizedTest
  @EnumSource(value = SslProvider.class, names = {"JDK", "OPENSSL"})
  void reloadsToARenewedPairWhoseKeyIsPkcs1AndKeepsServingWhenTheNextIsEncrypted(SslProvider provider)
      throws Exception {
    requireEngine(provider);
    TestPki.Files2 files = pki.issue("first.test", KeyType.EC_P256).write(dir, "gw", KeyFormat.SEC1);
    ServerTls tls = ServerTls.create("t", new TlsConfig(files.certificate(), files.key(), List.of("TLSv1.3")), false,
        provider);
    int port = echoServer(tls);

    TestPki.Issued renewed = pki.issue("renewed.test", KeyType.RSA_2048);
    renewed.write(dir, "gw", KeyFormat.PKCS1); // the same two file names, as cert-manager renews
    touch(files, 5);
    assertThat(tls.reloadIfChanged()).isTrue();
    try (SSLSocket socket = handshake(port)) {
      assertThat(socket.getSession().getPeerCertificates()[0]).isEqualTo(renewed.certificate());
      assertEchoes(socket);
    }

    Files.writeString(files.key(), renewed.keyPem(KeyFormat.ENCRYPTED_PKCS8));
    touch(files, 10);
    assertThat(tls.reloadIfChanged()).isFalse();
    try (SSLSocket socket = handshake(port)) {
      assertThat(((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName())
          .isEqualTo("CN=renewed.test");
    }
  }

  /** OpenSSL (netty-tcnative) ships for the platforms CI runs on; elsewhere its cases are skipped. */
  private static void requireEngine(SslProvider provider) {
    if (provider == SslProvider.OPENSSL && !"true".equals(System.getenv("CI"))) {
      Assumptions.assumeTrue(OpenSsl.isAvailable(), "netty-tcnative does not load here");
    }
  }

  private static void touch(TestPki.Files2 files, long seconds) throws Exception {
    // Modification times are what the reload polls; move them on explicitly rather than wait for
    // the file system's clock granularity.
    FileTime later = FileTime.from(Instant.now().plusSeconds(seconds));
    Files.setLastModifiedTime(files.certificate(), later);
    Files.setLastModifiedTime(files.key(), later);
  }

  private int echoServer(ServerTls tls) throws Exception {
    Channel server = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(tls.newHandler(ch.alloc()), new SimpleChannelInboundHandler<ByteBuf>() {
              @Override
              protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                ctx.writeAndFlush(msg.retain());
              }
            });
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  private SSLSocket handshake(int port) throws Exception {
    SSLSocket socket = (SSLSocket) pki.clientContext().getSocketFactory().createSocket("127.0.0.1", port);
    socket.setSoTimeout(10_000);
    socket.startHandshake();
    return socket;
  }

  private static void assertEchoes(SSLSocket socket) throws Exception {
    socket.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
    InputStream in = socket.getInputStream();
    assertThat(new String(in.readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("ping");
  }
}
