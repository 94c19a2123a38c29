package io.sluice.e2e;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import io.jsonwebtoken.JwtBuilder;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Jwks;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * jwt-auth over real sockets: tokens through, refusals answered by the gateway alone
 * (gateway-plugins/docs/jwt-auth.md).
 */
class JwtAuthPluginTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "e2e-secret-that-is-32-bytes-long";
  private static final SecretKeySpec HS256 = new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
  private static final String BODY = "{\"model\":\"m\",\"messages\":[]}";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();
  private WireMockServer idp;

  /** After the gateway stopped (the extension stops it right after the test method). */
  @AfterEach
  void stopIdp() {
    if (idp != null) {
      idp.stop();
    }
  }

  private void startGateway(String keysYaml) throws Exception {
    gateway.start("""
        upstreams:
          - name: models
            endpoints: [ { url: "%s" } ]
        consumers:
          - { name: bob, jwt-claim-value: bob-sub }
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions }
            upstream: models
            plugins:
              jwt-auth:
                issuer: https://idp.example
                audiences: [sluice]
                keys: %s
        """.formatted(gateway.upstream().url(), keysYaml), Map.of("JWT_SECRET", SECRET));
  }

  private static JwtBuilder claims(String sub) {
    Instant now = Instant.now();
    return Jwts.builder().subject(sub).issuer("https://idp.example").audience().add("sluice").and()
        .issuedAt(Date.from(now)).expiration(Date.from(now.plusSeconds(300)));
  }

  /** Posts with these header lines; answers 200 from the upstream when a request reaches it. */
  private Response post(String... headers) throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", BODY, headers);
      RawHttp.Head head = client.readHead();
      return new Response(head, client.readToEnd());
    }
  }

  private record Response(RawHttp.Head head, String body) {
    JsonNode error() throws Exception {
      return JSON.readTree(body).get("error");
    }
  }

  /** Sends a request that must reach the upstream; returns what the upstream saw. */
  private FakeUpstream.Call passes(String authorization) throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", BODY, "Authorization: " + authorization);
      FakeUpstream.Call call = gateway.upstream().next();
      call.respond(200, "application/json", "{\"ok\":true}");
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(client.readToEnd()).isEqualTo("{\"ok\":true}");
      return call;
    }
  }

  private void assertRefused(Response r, int status, String code, String challenge) throws Exception {
    assertThat(r.head().status()).isEqualTo(status);
    assertThat(r.error().get("type").asText()).isEqualTo(status == 403 ? "permission_error" : "authentication_error");
    assertThat(r.error().get("code").asText()).isEqualTo(code);
    assertThat(r.head().header("www-authenticate")).isEqualTo(challenge);
  }

  private void assertNothingReachedTheUpstream() {
    assertThat(gateway.upstream().connections()).isZero();
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void aValidTokenReachesTheUpstreamWithoutTheAuthorizationHeader() throws Exception {
    startGateway("[ { algorithm: HS256, secret: \"${JWT_SECRET}\" } ]");
    FakeUpstream.Call call = passes("Bearer " + claims("bob-sub").signWith(HS256).compact());
    assertThat(call.headers.contains("Authorization")).isFalse();
    assertThat(call.uri).isEqualTo("/v1/chat/completions");
    assertThat(call.body).isEqualTo(BODY);
  }

  @Test
  void refusesMissingExpiredAndInvalidTokensWithoutTouchingTheUpstream() throws Exception {
    startGateway("[ { algorithm: HS256, secret: \"${JWT_SECRET}\" } ]");
    assertRefused(post(), 401, "missing_credentials", "Bearer realm=\"sluice\"");

    String expired = claims("bob-sub").expiration(Date.from(Instant.now().minusSeconds(120))).signWith(HS256).compact();
    Response r = post("Authorization: Bearer " + expired);
    assertRefused(r, 401, "invalid_token", "Bearer error=\"invalid_token\"");
    assertThat(r.error().get("message").asText()).isEqualTo("token expired");

    String otherKey = claims("bob-sub").signWith(new SecretKeySpec("another-secret-that-is-32-bytes!".getBytes(
        StandardCharsets.UTF_8), "HmacSHA256")).compact();
    assertRefused(post("Authorization: Bearer " + otherKey), 401, "invalid_token", "Bearer error=\"invalid_token\"");

    String unsigned = b64("{\"alg\":\"none\"}") + "." + b64("{\"sub\":\"bob-sub\",\"iss\":\"https://idp.example\","
        + "\"aud\":\"sluice\"}") + ".";
    assertRefused(post("Authorization: Bearer " + unsigned), 401, "invalid_token", "Bearer error=\"invalid_token\"");

    assertRefused(post("Authorization: Bearer " + claims("mallory").signWith(HS256).compact()), 401,
        "undeclared_consumer", "Bearer error=\"invalid_token\"");
    assertNothingReachedTheUpstream();

    assertThat(gateway.admin("/metrics").body())
        .contains("sluice_auth_failures_total{plugin=\"jwt-auth\",reason=\"invalid_token\",route=\"chat\"} 3.0");
  }

  @Test
  void verifiesWithKeysFromAJwksUrlAndFollowsARotation() throws Exception {
    idp = new WireMockServer(options().dynamicPort());
    idp.start();
    KeyPair a = rsa();
    KeyPair b = rsa();
    serveJwks(jwk(a.getPublic(), "A"));
    startGateway("[ { jwks-uri: \"http://127.0.0.1:" + idp.port() + "/jwks\", refresh: 10m } ]");

    passes("Bearer " + claims("bob-sub").header().keyId("A").and().signWith(a.getPrivate()).compact());
    passes("Bearer " + claims("bob-sub").header().keyId("A").and().signWith(a.getPrivate()).compact());
    idp.verify(1, getRequestedFor(urlEqualTo("/jwks")));

    // The provider rotates: a token signed by the new key B makes the gateway refetch once.
    serveJwks(jwk(a.getPublic(), "A"), jwk(b.getPublic(), "B"));
    passes("Bearer " + claims("bob-sub").header().keyId("B").and().signWith(b.getPrivate()).compact());
    idp.verify(2, getRequestedFor(urlEqualTo("/jwks")));

    // Another unknown kid right after: refused, and no third fetch within 30 s.
    int connections = gateway.upstream().connections();
    Response r = post("Authorization: Bearer "
        + claims("bob-sub").header().keyId("C").and().signWith(b.getPrivate()).compact());
    assertRefused(r, 401, "invalid_token", "Bearer error=\"invalid_token\"");
    idp.verify(2, getRequestedFor(urlEqualTo("/jwks")));
    assertThat(gateway.upstream().connections()).isEqualTo(connections);
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void anUnreachableJwksIsAnInvalidTokenNotAServerError() throws Exception {
    idp = new WireMockServer(options().dynamicPort());
    idp.start();
    idp.stubFor(get(urlEqualTo("/jwks")).willReturn(aResponse().withStatus(503)));
    startGateway("[ { jwks-uri: \"http://127.0.0.1:" + idp.port() + "/jwks\" } ]");
    KeyPair a = rsa();
    Response r = post("Authorization: Bearer " + claims("bob-sub").header().keyId("A").and()
        .signWith(a.getPrivate()).compact());
    assertRefused(r, 401, "invalid_token", "Bearer error=\"invalid_token\"");
    assertNothingReachedTheUpstream();
  }

  private void serveJwks(String... jwks) {
    idp.stubFor(get(urlEqualTo("/jwks")).willReturn(aResponse().withStatus(200)
        .withHeader("Content-Type", "application/json")
        .withBody("{\"keys\":[" + String.join(",", jwks) + "]}")));
  }

  private static String jwk(PublicKey key, String kid) {
    return Jwks.json(Jwks.builder().key(key).id(kid).build());
  }

  private static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  private static String b64(String json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }
}
