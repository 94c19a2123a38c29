package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import io.sluice.testing.UpstreamFake;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The admin listener against web pages and leaks (SECURITY.md): no answer to a request carrying
 * {@code Origin} (CSRF on {@code POST /admin/reload}), no answer under a foreign {@code Host}
 * without a token (DNS rebinding), path tricks that never bypass the token, and secrets that never
 * appear in {@code /admin/config}.
 */
class AdminSecurityTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ROUTES = """
      upstreams:
        - name: models
          endpoints: [ { url: "http://127.0.0.1:9" } ]
          headers: { Authorization: "Bearer ${PROVIDER_KEY}" }
      consumers:
        - { name: alice, api-keys: [ "${ALICE_KEY}" ] }
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions }
          upstream: models
          plugins:
            key-auth: {}
            jwt-auth: { keys: [ { algorithm: HS256, secret: "${JWT_SECRET}" } ] }
      """;
  private static final Map<String, String> ENV = Map.of("PROVIDER_KEY", "sk-provider-secret-1", "ALICE_KEY",
      "alice-secret-key-2", "JWT_SECRET", "jwt-secret-0123456789abcdef0123456789", "ADMIN_TOKEN", "admin-tok-3");

  @RegisterExtension
  final GatewayExtension<UpstreamFake> gateway = GatewayExtension.withoutUpstream();

  private RawHttp.Head adminRaw(String request) throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.adminPort())) {
      client.send(request);
      RawHttp.Head head = client.readHead();
      String body = client.readToEnd();
      if (head.status() >= 400) {
        assertThat(JSON.readTree(body).path("error").path("code").asText()).isNotBlank();
      }
      return new RawHttp.Head(head.status(), Map.of("body", body));
    }
  }

  @Test
  void refusesAReloadPostedByAWebPage() throws Exception {
    gateway.start(ROUTES, ENV);
    RawHttp.Head head = adminRaw("POST /admin/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n"
        + "Content-Length: 0\r\n\r\n");
    assertThat(head.status()).isEqualTo(403);
    assertThat(head.header("body")).contains("\"code\":\"admin_forbidden\"");
  }

  @ParameterizedTest
  @ValueSource(strings = {"evil.example", "evil.example:9901", "127.0.0.1.nip.io"})
  void refusesAForeignHostWithoutATokenAgainstDnsRebinding(String host) throws Exception {
    gateway.start(ROUTES, ENV);
    assertThat(adminRaw("GET /admin/config HTTP/1.1\r\nHost: " + host + "\r\n\r\n").status()).isEqualTo(403);
  }

  @ParameterizedTest
  @ValueSource(strings = {"localhost", "localhost:9901", "127.0.0.1:9901", "[::1]:9901", "10.1.2.3"})
  void servesLocalhostAndAddressHostsWithoutAToken(String host) throws Exception {
    gateway.start(ROUTES, ENV);
    assertThat(adminRaw("GET /admin/routes HTTP/1.1\r\nHost: " + host + "\r\n\r\n").status()).isEqualTo(200);
  }

  @Test
  void servesHealthAndMetricsToAnyHost() throws Exception {
    gateway.start(ROUTES, ENV);
    assertThat(adminRaw("GET /metrics HTTP/1.1\r\nHost: sluice-admin.monitoring.svc:9901\r\n\r\n").status())
        .isEqualTo(200);
    assertThat(adminRaw("GET /readyz HTTP/1.1\r\nHost: pod.internal\r\n\r\n").status()).isEqualTo(200);
  }

  @ParameterizedTest
  @ValueSource(strings = {"//admin/config", "/admin/../admin/config", "/admin/./config", "/ADMIN/config",
      "/admin/config/", "/admin/%63onfig", "http://127.0.0.1/admin/config"})
  void pathTricksNeverReachTheConfigWithoutTheToken(String path) throws Exception {
    gateway.start("admin: { host: 127.0.0.1, port: 0, token: \"${ADMIN_TOKEN}\" }\n" + ROUTES, ENV);
    RawHttp.Head head = adminRaw("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assertThat(head.status()).as(path).isIn(401, 404);
    assertThat(head.header("body")).doesNotContain("models", "sk-provider");
  }

  @Test
  void theRunningConfigHoldsNoSecret() throws Exception {
    gateway.start("admin: { host: 127.0.0.1, port: 0, token: \"${ADMIN_TOKEN}\" }\n" + ROUTES, ENV);
    RawHttp.Head head = adminRaw("GET /admin/config HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer admin-tok-3"
        + "\r\n\r\n");
    assertThat(head.status()).isEqualTo(200);
    String body = head.header("body");
    JsonNode config = JSON.readTree(body);
    assertThat(config.isObject()).isTrue();
    for (String secret : ENV.values()) {
      assertThat(body).as("no secret in /admin/config").doesNotContain(secret);
    }
  }
}
