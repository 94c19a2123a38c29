package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.sluice.testing.TestPki;
import io.sluice.testing.TestPki.KeyFormat;
import io.sluice.testing.TestPki.KeyType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code listeners[].tls}, {@code upstreams[].tls} and {@code compression} with real PEM files:
 * each key format, the refusals path-qualified, relative paths against the config file's folder.
 */
class TlsConfigTest {
  @TempDir Path dir;
  private final TestPki pki = TestPki.create("Test CA");
  private final ConfigLoader loader = new ConfigLoader(Map.<String, String>of()::get, PluginCatalog.NONE);

  private String listener(Path cert, Path key, String extra) {
    return "listeners: [ { name: public, port: 8443, tls: { certificate: '" + cert + "', private-key: '" + key + "'"
        + extra + " } } ]\n";
  }

  private List<String> problems(String yaml) {
    return catchThrowableOfType(ConfigException.class, () -> loader.parse(yaml, dir)).errors();
  }

  @Test
  void readsAValidPairWithTls13ByDefault() throws Exception {
    TestPki.Files2 f = pki.issue("gw").write(dir, "gw");
    ListenerConfig l = loader.parse(listener(f.certificate(), f.key(), ""), dir).listeners().get(0);
    assertThat(l.tls()).isEqualTo(new TlsConfig(f.certificate(), f.key(), List.of("TLSv1.3")));
    assertThat(l.http2()).isTrue(); // ALPN h2 by default on TLS listeners
    assertThat(loader.parse(listener(f.certificate(), f.key(), "").replace("} } ]", "}, http2: false } ]"), dir)
        .listeners().get(0).http2()).isFalse();
    assertThat(loader.parse("listeners: [ { name: p, port: 1, http2: true } ]\n", dir).listeners().get(0).http2())
        .isTrue();
    assertThat(loader.parse(listener(f.certificate(), f.key(), ", protocols: [TLSv1.3, TLSv1.2]"), dir)
        .listeners().get(0).tls().protocols()).containsExactly("TLSv1.3", "TLSv1.2");
  }

  @Test
  void refusesAKeyThatDoesNotMatchTheCertificate() throws Exception {
    TestPki.Files2 a = pki.issue("a").write(dir, "a");
    TestPki.Files2 b = pki.issue("b").write(dir, "b");
    assertThat(problems(listener(a.certificate(), b.key(), ""))).containsExactly(
        "listeners[0].tls: the private key " + b.key() + " does not match the certificate " + a.certificate());
  }

  @Test
  void refusesAnExpiredCertificate() throws Exception {
    Instant end = Instant.parse("2024-01-01T00:00:00Z");
    TestPki.Files2 old = pki.issue("old", end.minus(Duration.ofDays(90)), end).write(dir, "old");
    assertThat(problems(listener(old.certificate(), old.key(), ""))).containsExactly(
        "listeners[0].tls: the certificate " + old.certificate() + " expired on 2024-01-01T00:00:00Z");
  }

  @Test
  void refusesAnEncryptedKeyAndAFileThatIsNotPemNamingTheirKeys() throws Exception {
    Path encrypted = Files.writeString(dir.resolve("enc.key"), pki.issue("gw").keyPem(KeyFormat.ENCRYPTED_PKCS8));
    Path junk = Files.writeString(dir.resolve("junk.crt"), "hello\n");
    assertThat(problems(listener(junk, encrypted, ""))).containsExactly(
        "listeners[0].tls.certificate: no PEM certificate in " + junk,
        "listeners[0].tls.private-key: encrypted private keys are not supported: " + encrypted
            + " (store it unencrypted, readable only by the gateway; openssl pkey -in ENCRYPTED -out PLAIN decrypts it)");
  }

  @Test
  void refusesGarbageAsAKeyNamingItsKey() throws Exception {
    TestPki.Files2 f = pki.issue("gw").write(dir, "gw");
    Path garbage = Files.writeString(dir.resolve("garbage.key"),
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
    assertThat(problems(listener(f.certificate(), garbage, ""))).containsExactly(
        "listeners[0].tls.private-key: corrupt EC PRIVATE KEY block in " + garbage
            + " (ECPrivateKey: expected SEQUENCE, found tag 0x00)");
  }

  /** cert-manager's defaults: PKCS#1 for RSA, SEC1 for ECDSA. */
  @ParameterizedTest(name = "{0} as {1}")
  @CsvSource({"RSA_2048, PKCS1", "EC_P256, SEC1", "EC_P384, SEC1", "EC_P256, PKCS8"})
  void acceptsEachKeyFormat(KeyType type, KeyFormat format) throws Exception {
    TestPki.Files2 f = pki.issue("gw", type).write(dir, "gw", format);
    assertThat(loader.parse(listener(f.certificate(), f.key(), ""), dir).listeners().get(0).tls())
        .isEqualTo(new TlsConfig(f.certificate(), f.key(), List.of("TLSv1.3")));
  }

  /**
   * Like every file the config names: {@code tls/server.crt} in {@code /etc/sluice/gateway.yaml}
   * is {@code /etc/sluice/tls/server.crt}, whatever folder the gateway was started from.
   */
  @Test
  void resolvesRelativeTlsPathsAgainstTheConfigFilesFolder() throws Exception {
    Path folder = Files.createDirectories(dir.resolve("etc/sluice"));
    Path tls = Files.createDirectories(folder.resolve("tls"));
    TestPki.Files2 f = pki.issue("gw", KeyType.RSA_2048).write(tls, "server", KeyFormat.PKCS1);
    Path ca = pki.writeCa(tls.resolve("ca.pem"));
    Path config = Files.writeString(folder.resolve("gateway.yaml"), """
        listeners: [ { name: public, port: 8443, tls: { certificate: tls/server.crt, private-key: ./tls/../tls/server.key } } ]
        upstreams:
          - { name: secure, endpoints: [ { url: 'https://models.internal' } ], tls: { ca: tls/ca.pem } }
        """);

    GatewayConfig loaded = loader.load(config);
    assertThat(loaded.listeners().get(0).tls())
        .isEqualTo(new TlsConfig(f.certificate(), f.key(), List.of("TLSv1.3")));
    assertThat(loaded.upstream("secure").tls()).isEqualTo(new UpstreamTlsConfig(ca, true));
    // parse(yaml, baseDir) resolves against the folder it is given, as load does with the file's.
    assertThat(loader.parse(Files.readString(config), folder).listeners().get(0).tls().certificate())
        .isEqualTo(f.certificate());
  }

  @Test
  void namesTheResolvedFileWhenARelativeOneIsMissing() throws Exception {
    Path folder = Files.createDirectories(dir.resolve("conf"));
    Path config = Files.writeString(folder.resolve("gateway.yaml"), """
        listeners: [ { name: public, port: 8443, tls: { certificate: tls/server.crt, private-key: tls/server.key } } ]
        upstreams: [ { name: secure, endpoints: [ { url: 'https://models.internal' } ], tls: { ca: ca.pem } } ]
        """);
    assertThat(catchThrowableOfType(ConfigException.class, () -> loader.load(config)).errors()).containsExactly(
        "listeners[0].tls.certificate: cannot read " + folder.resolve("tls/server.crt") + " (no such file)",
        "listeners[0].tls.private-key: cannot read " + folder.resolve("tls/server.key") + " (no such file)",
        "upstreams[0].tls.ca: cannot read " + folder.resolve("ca.pem") + " (no such file)");
  }

  @Test
  void readsUpstreamTlsAndHttpsEndpoints() throws Exception {
    Path ca = pki.writeCa(dir.resolve("ca.pem"));
    GatewayConfig c = loader.parse("""
        listeners: [ { name: public, port: 8080 } ]
        upstreams:
          - name: secure
            endpoints: [ { url: 'https://models.internal' }, { url: 'https://10.0.0.1:8443/base' } ]
            tls: { ca: '%s', verify: true }
          - name: plain
            endpoints: [ { url: 'http://a' } ]
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: secure
            compression: { gzip: true, min-size: 1KiB }
        """.formatted(ca), dir);
    UpstreamConfig secure = c.upstream("secure");
    assertThat(secure.tls()).isEqualTo(new UpstreamTlsConfig(ca, true));
    assertThat(secure.endpoints()).containsExactly(
        new EndpointConfig("https://models.internal", "https", "models.internal", 443, "", 1),
        new EndpointConfig("https://10.0.0.1:8443/base", "https", "10.0.0.1", 8443, "/base", 1));
    assertThat(secure.endpoints().get(0).hostHeader()).isEqualTo("models.internal");
    assertThat(c.upstream("plain").tls()).isEqualTo(UpstreamTlsConfig.DEFAULT);
    assertThat(c.routes().get(0).compression()).isEqualTo(new CompressionConfig(true, 1024));
  }
}
