package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code ip-restriction} over real sockets: who gets through, the 403, and the client identity it uses. */
class IpRestrictionPluginTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT = "{\"model\":\"m\",\"messages\":[]}";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  /** A POST chat route with these ip-restriction settings, behind these top-level lines. */
  private void startGateway(String listeners, String settings) throws Exception {
    gateway.start(listeners + """

        upstreams:
          - name: models
            endpoints: [ { url: "%s" } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
            plugins:
              ip-restriction: %s
        """.formatted(gateway.upstream().url(), settings));
  }

  private static void assertIpDenied(RawHttp client) throws Exception {
    RawHttp.Head head = client.readHead();
    String body = client.readToEnd();
    assertThat(head.status()).as("status; body: %s", body).isEqualTo(403);
    assertThat(head.header("content-type")).startsWith("application/json");
    assertThat(head.header("x-request-id")).isNotBlank();
    JsonNode error = JSON.readTree(body).get("error");
    assertThat(error.get("type").asText()).isEqualTo("permission_error");
    assertThat(error.get("code").asText()).isEqualTo("ip_denied");
    assertThat(error.get("message").asText()).isNotBlank();
  }

  private void assertForwarded(RawHttp client) throws Exception {
    FakeUpstream.Call call = gateway.upstream().next();
    assertThat(call.method).isEqualTo("POST");
    call.respond(200, "application/json", "{\"ok\":true}");
    RawHttp.Head head = client.readHead();
    assertThat(head.status()).isEqualTo(200);
    assertThat(client.readToEnd()).isEqualTo("{\"ok\":true}");
  }

  @Test
  void letsAnAllowedClientThrough() throws Exception {
    startGateway("", "{ allow: [127.0.0.0/8] }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      assertForwarded(client);
    }
  }

  @Test
  void refusesADeniedClientWithoutContactingTheUpstream() throws Exception {
    startGateway("", "{ deny: [127.0.0.1] }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      assertIpDenied(client);
    }
    // A bodyless request is refused the same way (and may keep its connection).
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 0\r\n\r\n");
      assertIpDenied(client);
      client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 0\r\n\r\n");
      assertIpDenied(client);
    }
    assertThat(gateway.upstream().connections()).isZero();
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void denyWinsOverAnAllowThatAlsoCoversTheClient() throws Exception {
    startGateway("", "{ allow: [127.0.0.0/8], deny: [127.0.0.1/32] }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      assertIpDenied(client);
    }
    assertThat(gateway.upstream().connections()).isZero();
  }

  @Test
  void acceptsIpv6NetworksInTheConfig() throws Exception {
    startGateway("", "{ allow: ['::1', '2001:db8::/32', 127.0.0.1], deny: ['2001:db8:6::/48', 'fe80::/10'] }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      assertForwarded(client);
    }
  }

  @Test
  void refusesAClientOutsideAnIpv6OnlyAllowList() throws Exception {
    startGateway("", "{ allow: ['2001:db8::/32'] }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      assertIpDenied(client);
    }
    assertThat(gateway.upstream().connections()).isZero();
  }

  @Test
  void judgesTheForwardedClientBehindATrustedProxy() throws Exception {
    startGateway("listeners: [ { name: public, host: 127.0.0.1, port: 0, trusted-proxies: [127.0.0.1/32] } ]",
        "{ deny: [10.6.6.0/24] }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT, "X-Forwarded-For: 10.6.6.7");
      assertIpDenied(client);
    }
    assertThat(gateway.upstream().connections()).isZero();
    assertThat(gateway.upstream().poll()).isNull();

    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT, "X-Forwarded-For: 10.6.7.1");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.headers.get("x-forwarded-for")).startsWith("10.6.7.1");
      call.respond(200, "application/json", "{}");
      assertThat(client.readHead().status()).isEqualTo(200);
      client.readToEnd();
    }
  }

  @Test
  void ignoresXForwardedForFromAnUntrustedPeer() throws Exception {
    // No trusted-proxies: anyone can write X-Forwarded-For, so it must not move the client out of a deny.
    startGateway("", "{ deny: [127.0.0.1] }");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT, "X-Forwarded-For: 10.1.2.3");
      assertIpDenied(client);
    }
    assertThat(gateway.upstream().connections()).isZero();
  }
}
