package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.ssl.OpenSsl;
import io.sluice.net.SslProviders;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import io.sluice.testing.SystemBinary;
import io.sluice.testing.TestPki;
import io.sluice.testing.TestPki.KeyFormat;
import io.sluice.testing.TestPki.KeyType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * TLS termination on a listener over real sockets: SSE over TLS 1.3, PKCS#1 and SEC1 keys, paths
 * relative to the config file, old protocols refused, reload.
 */
class TlsListenerTest {
  private static final String CHAT = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}";
  @TempDir Path dir;
  private final TestPki pki = TestPki.create("Sluice Test CA");
  private TestPki.Files2 files;

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  @BeforeEach
  void writeCertificate() throws Exception {
    files = pki.issue("gateway.test").write(dir, "server");
  }

  private void startGateway(String protocols) throws Exception {
    gateway.start("""
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            tls: { certificate: "%s", private-key: "%s"%s }
        upstreams:
          - name: models
            endpoints: [ { url: "${upstream}" } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
        """.formatted(files.certificate(), files.key(), protocols == null ? "" : ", protocols: " + protocols));
  }

  private SSLSocket tlsSocket(String... protocols) throws Exception {
    SSLSocket s = (SSLSocket) pki.clientContext().getSocketFactory().createSocket("127.0.0.1", gateway.port());
    if (protocols.length > 0) {
      s.setEnabledProtocols(protocols);
    }
    s.startHandshake();
    return s;
  }

  @Test
  void streamsEachSseEventOverTls13BeforeTheNextIsSent() throws Exception {
    startGateway(null);
    SSLSocket socket = tlsSocket();
    assertThat(socket.getSession().getProtocol()).isEqualTo("TLSv1.3");
    assertThat(socket.getApplicationProtocol()).isEqualTo("");
    try (RawHttp client = RawHttp.over(socket)) {
      client.post("/v1/chat/completions", CHAT);
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      assertThat(call.headers.get("x-forwarded-proto")).isEqualTo("https");
      assertThat(client.readHead().status()).isEqualTo(200);
      for (int i = 0; i < 5; i++) {
        String event = "data: {\"choices\":[{\"delta\":{\"content\":\"tok" + i + "\"}}]}\n\n";
        call.send(event);
        assertThat(client.readUntil("\n\n")).isEqualTo(event);
      }
      call.send("data: [DONE]\n\n").end();
      assertThat(client.readToEnd()).isEqualTo("data: [DONE]\n\n");
    }
  }

  /** cert-manager's defaults (PKCS#1 for RSA, SEC1 for ECDSA), over a real handshake and a stream. */
  @ParameterizedTest(name = "{0} key as {1}")
  @CsvSource({"RSA_2048, PKCS1", "EC_P256, SEC1", "EC_P384, SEC1"})
  void servesWithAKeyInTheFormatCertManagerWrites(KeyType type, KeyFormat format) throws Exception {
    TestPki.Issued issued = pki.issue("gateway.test", type);
    files = issued.write(dir, "server", format);
    assertThat(Files.readString(files.key())).startsWith(format == KeyFormat.PKCS1
        ? "-----BEGIN RSA PRIVATE KEY-----" : "-----BEGIN EC PRIVATE KEY-----");
    startGateway(null);
    SSLSocket socket = tlsSocket();
    assertThat(socket.getSession().getPeerCertificates()[0]).isEqualTo(issued.certificate());
    assertStreams(socket);
  }

  /**
   * A config file in its own folder names its certificate and key relative to that folder; the
   * test's working directory is another one, so only resolution against the config file finds
   * them. A reload that names an encrypted key is refused with the key's config path, and the
   * running pair keeps serving.
   */
  @Test
  void readsTlsFilesRelativeToTheConfigFileAndRefusesAnEncryptedKeyAtReload() throws Exception {
    Path folder = Files.createDirectories(dir.resolve("etc/sluice"));
    TestPki.Issued issued = pki.issue("gateway.test", KeyType.RSA_2048);
    issued.write(Files.createDirectories(folder.resolve("tls")), "server", KeyFormat.PKCS1);
    assertThat(Path.of("tls/server.crt")).doesNotExist();
    String config = """
        admin: { host: 127.0.0.1, port: 0 }
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            tls: { certificate: tls/server.crt, private-key: %s }
        upstreams:
          - name: models
            endpoints: [ { url: "${upstream}" } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
        """;
    Path file = Files.writeString(folder.resolve("gateway.yaml"), gateway.resolve(config.formatted("tls/server.key")));
    gateway.startFromFile(file);
    SSLSocket socket = tlsSocket();
    assertThat(socket.getSession().getPeerCertificates()[0]).isEqualTo(issued.certificate());
    assertStreams(socket);

    Path encrypted = Files.writeString(folder.resolve("tls/encrypted.key"), issued.keyPem(KeyFormat.ENCRYPTED_PKCS8));
    Files.writeString(file, gateway.resolve(config.formatted("tls/encrypted.key")));
    var reload = gateway.gateway().sluice().reload();
    assertThat(reload.applied()).isFalse();
    assertThat(reload.errors()).containsExactly("listeners[0].tls.private-key: encrypted private keys are not supported: "
        + encrypted + " (store it unencrypted, readable only by the gateway; openssl pkey -in ENCRYPTED -out PLAIN"
        + " decrypts it)");
    SSLSocket after = tlsSocket();
    assertThat(after.getSession().getPeerCertificates()[0]).isEqualTo(issued.certificate());
    after.close();
  }

  private void assertStreams(SSLSocket socket) throws Exception {
    try (RawHttp client = RawHttp.over(socket)) {
      client.post("/v1/chat/completions", CHAT);
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      assertThat(client.readHead().status()).isEqualTo(200);
      call.send("data: one\n\n");
      assertThat(client.readUntil("\n\n")).isEqualTo("data: one\n\n");
      call.send("data: [DONE]\n\n").end();
      assertThat(client.readToEnd()).isEqualTo("data: [DONE]\n\n");
    }
  }

  @Test
  void servesTheJdkHttpClientWithAlpnHttp11() throws Exception {
    startGateway("[TLSv1.3, TLSv1.2]");
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(pki.clientContext()).build();
    var pending = http.sendAsync(HttpRequest.newBuilder(URI.create("https://localhost:" + gateway.port()
            + "/v1/chat/completions")).POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
        HttpResponse.BodyHandlers.ofString());
    gateway.upstream().next().startSse().send("data: a\n\n").send("data: [DONE]\n\n").end();
    HttpResponse<String> response = pending.get(10, TimeUnit.SECONDS);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(response.body()).isEqualTo("data: a\n\ndata: [DONE]\n\n");
  }

  @Test
  void refusesTls12WhenOnlyTls13IsConfigured() throws Exception {
    startGateway(null);
    assertThatThrownBy(() -> tlsSocket("TLSv1.2")).isInstanceOf(SSLException.class);
  }

  @Test
  void acceptsTls12WithAStrongCipherWhenConfigured() throws Exception {
    startGateway("[TLSv1.2]");
    SSLSocket socket = tlsSocket("TLSv1.2");
    assertThat(socket.getSession().getProtocol()).isEqualTo("TLSv1.2");
    assertThat(socket.getSession().getCipherSuite()).startsWith("TLS_ECDHE_").containsAnyOf("_GCM_", "CHACHA20");
    socket.close();
  }

  /**
   * The JDK and Debian's OpenSSL do not offer TLS 1.0/1.1 by default, so a "refused" result means
   * nothing unless the client really offers them: {@code openssl s_client -tls1 -cipher
   * DEFAULT@SECLEVEL=0} does, and the server must answer with a protocol alert.
   */
  @ParameterizedTest
  @ValueSource(strings = {"-tls1", "-tls1_1"})
  void refusesOldProtocolsOfferedByARealClient(String flag) throws Exception {
    startGateway("[TLSv1.3, TLSv1.2]");
    String out = sClient(flag, "-cipher", "DEFAULT@SECLEVEL=0");
    assertThat(out).contains("CONNECTED");
    // The client offered the old version; the server answered with an alert, no session was made.
    assertThat(out).contains("tlsv1 alert protocol version"); // alert 70, sent by the server
    assertThat(out).doesNotContain("BEGIN CERTIFICATE");
  }

  @Test
  void refusesAWeakCipherOfferedByARealClient() throws Exception {
    startGateway("[TLSv1.2]");
    String out = sClient("-tls1_2", "-cipher", "AES128-SHA:DES-CBC3-SHA@SECLEVEL=0");
    assertThat(out).contains("CONNECTED").contains("alert handshake failure"); // alert 40, sent by the server
    assertThat(out).doesNotContain("BEGIN CERTIFICATE");
  }

  private String sClient(String... args) throws Exception {
    Path openssl = SystemBinary.require("openssl");
    var cmd = new ArrayList<String>(List.of(openssl.toString(), "s_client", "-connect",
        "127.0.0.1:" + gateway.port(), "-servername", "localhost", "-showcerts"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    System.out.println("openssl s_client " + String.join(" ", args) + ":\n" + out);
    return out;
  }

  @Test
  void reloadsAChangedCertificateForNewConnectionsOnly() throws Exception {
    startGateway(null);
    SSLSocket before = tlsSocket();
    X509Certificate first = (X509Certificate) before.getSession().getPeerCertificates()[0];

    TestPki.Files2 next = pki.issue("renewed.test").write(dir, "next");
    Files.copy(next.certificate(), files.certificate(), StandardCopyOption.REPLACE_EXISTING);
    Files.copy(next.key(), files.key(), StandardCopyOption.REPLACE_EXISTING);
    FileTime later = FileTime.from(Instant.now().plusSeconds(5));
    Files.setLastModifiedTime(files.certificate(), later);
    Files.setLastModifiedTime(files.key(), later);
    assertThat(gateway.sluice().reloadTls()).isTrue();

    SSLSocket after = tlsSocket();
    X509Certificate second = (X509Certificate) after.getSession().getPeerCertificates()[0];
    assertThat(first.getSubjectX500Principal().getName()).isEqualTo("CN=gateway.test");
    assertThat(second.getSubjectX500Principal().getName()).isEqualTo("CN=renewed.test");

    // The connection made before the reload still works.
    try (RawHttp client = RawHttp.over(before)) {
      client.post("/v1/chat/completions", CHAT);
      gateway.upstream().next().startSse().send("data: x\n\n").end();
      assertThat(client.readHead().status()).isEqualTo(200);
      assertThat(client.readToEnd()).isEqualTo("data: x\n\n");
    }
    after.close();
  }

  @Test
  void keepsTheOldCertificateWhenTheNewPairDoesNotMatch() throws Exception {
    startGateway(null);
    TestPki.Files2 other = pki.issue("other.test").write(dir, "other");
    Files.copy(other.key(), files.key(), StandardCopyOption.REPLACE_EXISTING);
    Files.setLastModifiedTime(files.key(), FileTime.from(Instant.now().plusSeconds(5)));
    assertThat(gateway.sluice().reloadTls()).isFalse();
    SSLSocket s = tlsSocket();
    assertThat(((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName())
        .isEqualTo("CN=gateway.test");
    s.close();
  }

  @Test
  void choosesOpenSslWhenItLoads() {
    // Not an assertion on the log text: the provider choice follows OpenSsl.isAvailable().
    assertThat(SslProviders.preferred().name()).isEqualTo(OpenSsl.isAvailable() ? "OPENSSL" : "JDK");
  }

  @Test
  void plainHttpOnATlsPortIsClosed() throws Exception {
    startGateway(null);
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      assertThat(client.closedByPeer()).isTrue();
    }
  }
}
