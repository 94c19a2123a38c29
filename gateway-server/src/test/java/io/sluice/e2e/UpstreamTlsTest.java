package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestPki;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code https://} upstream endpoints: SNI, certificate and hostname checks, 502 when they fail. */
class UpstreamTlsTest {
  private static final String CHAT = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}";
  @TempDir Path dir;
  private final TestPki pki = TestPki.create("Upstream CA");

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway =
      GatewayExtension.withUpstream(() -> FakeUpstream.startTls(pki.issue("model.test")));

  private void startGateway(String tls) throws Exception {
    gateway.start("""
        upstreams:
          - name: models
            endpoints: [ { url: "${upstream}" } ]
            retries: 0
            %s
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
        """.formatted(tls));
  }

  @Test
  void streamsFromAnHttpsUpstreamTrustedThroughTheConfiguredCa() throws Exception {
    Path ca = pki.writeCa(dir.resolve("ca.pem"));
    startGateway("tls: { ca: '" + ca + "' }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      FakeUpstream.Call call = gateway.upstream().next().startSse();
      assertThat(call.headers.get("host")).isEqualTo("localhost:" + gateway.upstream().port());
      assertThat(client.readHead().status()).isEqualTo(200);
      call.send("data: one\n\n");
      assertThat(client.readUntil("\n\n")).isEqualTo("data: one\n\n");
      call.send("data: [DONE]\n\n").end();
      assertThat(client.readToEnd()).isEqualTo("data: [DONE]\n\n");
    }
  }

  @Test
  void answers502WhenTheUpstreamCertificateIsNotTrusted() throws Exception {
    Path wrongCa = TestPki.create("Some Other CA").writeCa(dir.resolve("other-ca.pem"));
    startGateway("tls: { ca: '" + wrongCa + "' }");
    assertBadGateway();
  }

  @Test
  void answers502WithTheJdkTrustStoreForAPrivateCa() throws Exception {
    startGateway("");
    assertBadGateway();
  }

  @Test
  void answers502WhenTheHostnameDoesNotMatch() throws Exception {
    // Signed by the trusted CA, but for another name than the endpoint's host (localhost).
    gateway.startUpstream(GatewayExtension.UPSTREAM, () -> FakeUpstream.startTls(pki.issueForName("other.example")));
    Path ca = pki.writeCa(dir.resolve("ca.pem"));
    startGateway("tls: { ca: '" + ca + "' }");
    assertBadGateway();
  }

  @Test
  void skipsChecksWhenVerifyIsOff() throws Exception {
    startGateway("tls: { verify: false }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      gateway.upstream().next().startSse().send("data: x\n\n").end();
      assertThat(client.readHead().status()).isEqualTo(200);
      assertThat(client.readToEnd()).isEqualTo("data: x\n\n");
    }
  }

  private void assertBadGateway() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(502);
      // The handshake failure is logged (warn) for the operator; the client learns no endpoint address.
      assertThat(client.readToEnd()).contains("\"code\":\"upstream_failed\"").doesNotContain(gateway.upstream().url());
    }
    assertThat(gateway.upstream().poll()).isNull();
  }
}
