package io.sluice.plugins.jwt;

import static io.sluice.plugins.jwt.JwtFixtures.ED;
import static io.sluice.plugins.jwt.JwtFixtures.EC;
import static io.sluice.plugins.jwt.JwtFixtures.NOW;
import static io.sluice.plugins.jwt.JwtFixtures.RSA;
import static io.sluice.plugins.jwt.JwtFixtures.RSA_OTHER;
import static io.sluice.plugins.jwt.JwtFixtures.SECRET;
import static io.sluice.plugins.jwt.JwtFixtures.b64;
import static io.sluice.plugins.jwt.JwtFixtures.claims;
import static io.sluice.plugins.jwt.JwtFixtures.jwk;
import static io.sluice.plugins.jwt.JwtFixtures.jwks;
import static io.sluice.plugins.jwt.JwtFixtures.plugin;
import static io.sluice.plugins.jwt.JwtFixtures.writePem;
import static org.assertj.core.api.Assertions.assertThat;

import io.jsonwebtoken.Jwts;
import io.sluice.plugin.Decision;
import io.sluice.plugin.Plugin;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JwtAuthPluginTest {
  private static final String JWKS_URL = "https://idp.example/.well-known/jwks.json";
  private static final SecretKeySpec HS256 = new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256");

  @TempDir Path dir;
  private final FakeServices services = new FakeServices().wallClock(NOW);
  private Path rsaPem;
  private Path ecPem;
  private Path edPem;

  @BeforeEach
  void writeKeys() throws Exception {
    rsaPem = writePem(dir, "rs.pem", RSA.getPublic());
    ecPem = writePem(dir, "ec.pem", EC.getPublic());
    edPem = writePem(dir, "ed.pem", ED.getPublic());
  }

  private Plugin allKeys() throws Exception {
    return plugin("""
        issuer: https://idp.example
        audiences: [other, sluice]
        keys:
          - { algorithm: HS256, secret: "%s" }
          - { public-key: "%s" }
          - { public-key: "%s" }
          - { public-key: "%s" }
        """.formatted(SECRET, rsaPem, ecPem, edPem), services);
  }

  private static Decision decide(Plugin plugin, FakeRequest request) {
    CompletableFuture<Decision> f = plugin.onRequest(request).toCompletableFuture();
    assertThat(f).as("decided without waiting").isDone();
    return f.join();
  }

  private static FakeRequest bearer(String token) {
    return new FakeRequest().header("Authorization", "Bearer " + token);
  }

  private static void assertRefused(Decision d, int status, String type, String code) {
    assertThat(d).isInstanceOf(Decision.Reject.class);
    Decision.Reject r = (Decision.Reject) d;
    assertThat(r.status()).isEqualTo(status);
    assertThat(r.type()).isEqualTo(type);
    assertThat(r.code()).isEqualTo(code);
  }

  private static void assertInvalidToken(Decision d, String message) {
    assertRefused(d, 401, "authentication_error", "invalid_token");
    Decision.Reject r = (Decision.Reject) d;
    assertThat(r.message()).isEqualTo(message);
    assertThat(r.headers()).containsEntry("WWW-Authenticate", "Bearer error=\"invalid_token\"");
  }

  private void assertAccepted(Plugin plugin, String token, String consumer) {
    FakeRequest request = bearer(token);
    assertThat(decide(plugin, request)).isEqualTo(Decision.PROCEED);
    assertThat(request.consumer()).isEqualTo(consumer);
    assertThat(request.removedHeaders).containsExactly("Authorization");
  }

  // ------------------------------------------------------------------ algorithms

  @Test
  void acceptsTokensOfEveryKeyKindAndNamesTheConsumer() throws Exception {
    Plugin plugin = allKeys();
    assertAccepted(plugin, claims("bob-sub").signWith(HS256, Jwts.SIG.HS256).compact(), "bob");
    assertAccepted(plugin, claims("bob-sub").signWith(RSA.getPrivate(), Jwts.SIG.RS256).compact(), "bob");
    assertAccepted(plugin, claims("alice-sub").signWith(RSA.getPrivate(), Jwts.SIG.PS256).compact(), "alice");
    assertAccepted(plugin, claims("bob-sub").signWith(RSA.getPrivate(), Jwts.SIG.RS512).compact(), "bob");
    assertAccepted(plugin, claims("bob-sub").signWith(EC.getPrivate(), Jwts.SIG.ES256).compact(), "bob");
    assertAccepted(plugin, claims("bob-sub").signWith(ED.getPrivate(), Jwts.SIG.EdDSA).compact(), "bob");
    assertThat(services.authFailures).isEmpty();
  }

  @Test
  void hs512SecretVerifiesOnlyHs512Tokens() throws Exception {
    String secret = "x".repeat(64);
    SecretKeySpec key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA512");
    Plugin plugin = plugin("keys: [ { algorithm: HS512, secret: \"" + secret + "\" } ]", services);
    assertAccepted(plugin, claims("bob-sub").signWith(key, Jwts.SIG.HS512).compact(), "bob");
    assertInvalidToken(decide(plugin, bearer(claims("bob-sub").signWith(key, Jwts.SIG.HS256).compact())),
        "no configured key verifies this token");
  }

  @Test
  void refusesAKeyRestrictedToAnotherAlgorithm() throws Exception {
    Plugin plugin = plugin("keys: [ { public-key: \"" + rsaPem + "\", algorithm: RS256 } ]", services);
    assertAccepted(plugin, claims("bob-sub").signWith(RSA.getPrivate(), Jwts.SIG.RS256).compact(), "bob");
    assertInvalidToken(decide(plugin, bearer(claims("bob-sub").signWith(RSA.getPrivate(), Jwts.SIG.PS256).compact())),
        "no configured key verifies this token");
  }

  @Test
  void refusesATokenSignedWithAnotherKey() throws Exception {
    Plugin plugin = allKeys();
    assertInvalidToken(decide(plugin, bearer(claims("bob-sub").signWith(RSA_OTHER.getPrivate(), Jwts.SIG.RS256)
        .compact())), "token signature does not verify");
    SecretKeySpec otherSecret = new SecretKeySpec("another-secret-of-32-bytes-long!".getBytes(StandardCharsets.UTF_8),
        "HmacSHA256");
    assertInvalidToken(decide(plugin, bearer(claims("bob-sub").signWith(otherSecret, Jwts.SIG.HS256).compact())),
        "token signature does not verify");
    assertThat(services.authFailures).containsExactly("chat/jwt-auth/invalid_token", "chat/jwt-auth/invalid_token");
  }

  @Test
  void refusesAnUnsignedAlgNoneToken() throws Exception {
    Plugin plugin = allKeys();
    String unsigned = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "."
        + b64("{\"sub\":\"bob-sub\",\"iss\":\"https://idp.example\",\"aud\":\"sluice\",\"exp\":"
            + (NOW.getEpochSecond() + 300) + "}") + ".";
    assertInvalidToken(decide(plugin, bearer(unsigned)), "token algorithm 'none' is not accepted");
    String noneUpper = b64("{\"alg\":\"None\"}") + "." + b64("{\"sub\":\"bob-sub\"}") + ".";
    assertInvalidToken(decide(plugin, bearer(noneUpper)), "token algorithm 'None' is not accepted");
  }

  @Test
  void refusesAnHmacTokenKeyedWithTheRsaPublicKey() throws Exception {
    // The classic confusion attack: HS256 "signed" with the public key's bytes, sent to a route
    // that only knows that RSA public key.
    Plugin plugin = plugin("keys: [ { public-key: \"" + rsaPem + "\" } ]", services);
    for (byte[] keyBytes : List.of(Files.readAllBytes(rsaPem), RSA.getPublic().getEncoded())) {
      String forged = claims("bob-sub").signWith(new SecretKeySpec(keyBytes, "HmacSHA256"), Jwts.SIG.HS256).compact();
      FakeRequest request = bearer(forged);
      assertInvalidToken(decide(plugin, request), "no configured key verifies this token");
      assertThat(request.consumer()).isNull();
      assertThat(request.removedHeaders).isEmpty();
    }
  }

  // ------------------------------------------------------------------ claims

  @Test
  void refusesAnExpiredTokenBeyondTheClockSkew() throws Exception {
    Plugin plugin = allKeys();
    String token = claims("bob-sub").expiration(Date.from(NOW.minusSeconds(31))).signWith(HS256).compact();
    assertInvalidToken(decide(plugin, bearer(token)), "token expired");
  }

  @Test
  void acceptsAnExpiredTokenWithinTheClockSkew() throws Exception {
    Plugin plugin = allKeys();
    String token = claims("bob-sub").expiration(Date.from(NOW.minusSeconds(29))).signWith(HS256).compact();
    assertAccepted(plugin, token, "bob");
  }

  @Test
  void expiryFollowsTheGatewayClock() throws Exception {
    Plugin plugin = allKeys();
    String token = claims("bob-sub").signWith(HS256).compact(); // exp = NOW + 300s
    assertAccepted(plugin, token, "bob");
    services.advance(Duration.ofSeconds(300 + 31));
    assertInvalidToken(decide(plugin, bearer(token)), "token expired");
  }

  @Test
  void aRecentlyVerifiedTokenStillExpiresOnTime() throws Exception {
    // No skew, exp in 5 s: the second request comes from the verified-token cache (TTL 30 s), and
    // is refused once the gateway's clock passes exp, as a fresh verification would be.
    Plugin plugin = plugin("{ clock-skew: 0s, keys: [ { algorithm: HS256, secret: \"" + SECRET + "\" } ] }", services);
    String token = claims("bob-sub").expiration(Date.from(NOW.plusSeconds(5))).signWith(HS256).compact();
    assertAccepted(plugin, token, "bob");
    services.advance(Duration.ofSeconds(4));
    assertAccepted(plugin, token, "bob");
    services.advance(Duration.ofSeconds(2));
    assertInvalidToken(decide(plugin, bearer(token)), "token expired");
  }

  @Test
  void aRecentlyVerifiedTokenIsStillCheckedForIssuerAndAudience() throws Exception {
    Plugin lax = plugin("{ keys: [ { algorithm: HS256, secret: \"" + SECRET + "\" } ] }", services);
    Plugin strict = allKeys();
    String token = claims("bob-sub").issuer("https://evil.example").signWith(HS256).compact();
    assertAccepted(lax, token, "bob");
    assertAccepted(lax, token, "bob"); // from the cache
    assertInvalidToken(decide(strict, bearer(token)), "token issuer is not accepted");
    assertInvalidToken(decide(strict, bearer(token)), "token issuer is not accepted");
  }

  @Test
  void refusesANotYetValidTokenBeyondTheClockSkew() throws Exception {
    Plugin plugin = allKeys();
    String early = claims("bob-sub").notBefore(Date.from(NOW.plusSeconds(60))).signWith(HS256).compact();
    assertInvalidToken(decide(plugin, bearer(early)), "token not valid yet (nbf)");
    String justEarly = claims("bob-sub").notBefore(Date.from(NOW.plusSeconds(20))).signWith(HS256).compact();
    assertAccepted(plugin, justEarly, "bob");
  }

  @Test
  void clockSkewIsConfigurable() throws Exception {
    Plugin plugin = plugin("{ clock-skew: 0s, keys: [ { algorithm: HS256, secret: \"" + SECRET + "\" } ] }", services);
    String token = claims("bob-sub").expiration(Date.from(NOW.minusSeconds(1))).signWith(HS256).compact();
    assertInvalidToken(decide(plugin, bearer(token)), "token expired");
  }

  @Test
  void refusesAWrongIssuer() throws Exception {
    Plugin plugin = allKeys();
    assertInvalidToken(decide(plugin, bearer(claims("bob-sub").issuer("https://evil.example").signWith(HS256)
        .compact())), "token issuer is not accepted");
    String noIssuer = Jwts.builder().subject("bob-sub").audience().add("sluice").and().signWith(HS256).compact();
    assertInvalidToken(decide(plugin, bearer(noIssuer)), "token issuer is not accepted");
  }

  @Test
  void refusesAWrongAudienceAndAcceptsAnyListedOne() throws Exception {
    Plugin plugin = allKeys();
    String wrong = Jwts.builder().subject("bob-sub").issuer(JwtFixtures.ISSUER).audience().add("billing").and()
        .signWith(HS256).compact();
    assertInvalidToken(decide(plugin, bearer(wrong)), "token audience is not accepted");
    String noAud = Jwts.builder().subject("bob-sub").issuer(JwtFixtures.ISSUER).signWith(HS256).compact();
    assertInvalidToken(decide(plugin, bearer(noAud)), "token audience is not accepted");
    String several = Jwts.builder().subject("bob-sub").issuer(JwtFixtures.ISSUER).audience().add("billing")
        .add("other").and().signWith(HS256).compact();
    assertAccepted(plugin, several, "bob");
  }

  @Test
  void withoutIssuerOrAudiencesAnyAreAccepted() throws Exception {
    Plugin plugin = plugin("keys: [ { algorithm: HS256, secret: \"" + SECRET + "\" } ]", services);
    assertAccepted(plugin, Jwts.builder().subject("bob-sub").signWith(HS256).compact(), "bob");
  }

  @Test
  void theConsumerClaimIsConfigurable() throws Exception {
    Plugin plugin = plugin("{ consumer-claim: client_id, keys: [ { algorithm: HS256, secret: \"" + SECRET + "\" } ] }",
        services);
    assertAccepted(plugin, Jwts.builder().subject("nobody").claim("client_id", "alice-sub").signWith(HS256).compact(),
        "alice");
    assertInvalidToken(decide(plugin, bearer(Jwts.builder().subject("bob-sub").signWith(HS256).compact())),
        "token has no string 'client_id' claim");
  }

  // ------------------------------------------------------------------ consumers

  @Test
  void refusesAnUndeclaredConsumer() throws Exception {
    Plugin plugin = allKeys();
    FakeRequest request = bearer(claims("mallory").signWith(HS256).compact());
    Decision d = decide(plugin, request);
    assertRefused(d, 401, "authentication_error", "undeclared_consumer");
    assertThat(((Decision.Reject) d).headers()).containsEntry("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    assertThat(request.consumer()).isNull();
    assertThat(services.authFailures).containsExactly("chat/jwt-auth/undeclared_consumer");
  }

  @Test
  void allowUndeclaredNamesTheConsumerByTheClaimValue() throws Exception {
    Plugin plugin = plugin("{ allow-undeclared: true, keys: [ { algorithm: HS256, secret: \"" + SECRET + "\" } ] }",
        services);
    assertAccepted(plugin, claims("mallory").signWith(HS256).compact(), "mallory");
    assertAccepted(plugin, claims("bob-sub").signWith(HS256).compact(), "bob");
  }

  @Test
  void theAllowListAdmitsOnlyItsConsumers() throws Exception {
    Plugin plugin = plugin("{ allow: [alice], keys: [ { algorithm: HS256, secret: \"" + SECRET + "\" } ] }", services);
    assertAccepted(plugin, claims("alice-sub").signWith(HS256).compact(), "alice");
    FakeRequest bob = bearer(claims("bob-sub").signWith(HS256).compact());
    assertRefused(decide(plugin, bob), 403, "permission_error", "consumer_not_allowed");
    assertThat(bob.consumer()).isNull();
    assertThat(services.authFailures).containsExactly("chat/jwt-auth/consumer_not_allowed");
  }

  // ------------------------------------------------------------------ where the token comes from

  @Test
  void noTokenIsMissingCredentialsWithARealmChallenge() throws Exception {
    Plugin plugin = allKeys();
    for (FakeRequest request : List.of(new FakeRequest(), new FakeRequest().header("Authorization", "Basic Ym9iOng="),
        new FakeRequest().header("Authorization", "Bearer "), new FakeRequest().query("access_token",
            claims("bob-sub").signWith(HS256).compact()))) {
      Decision d = decide(plugin, request);
      assertRefused(d, 401, "authentication_error", "missing_credentials");
      assertThat(((Decision.Reject) d).headers()).containsEntry("WWW-Authenticate", "Bearer realm=\"sluice\"");
    }
    assertThat(services.authFailures).hasSize(4).containsOnly("chat/jwt-auth/missing_credentials");
  }

  @Test
  void aGarbageBearerValueIsAnInvalidToken() throws Exception {
    Plugin plugin = allKeys();
    assertInvalidToken(decide(plugin, bearer("sk-not-a-jwt")),
        "malformed token (expected a signed JWT: header.payload.signature)");
    assertInvalidToken(decide(plugin, bearer("a.b.c")), "malformed token (the header is not base64url JSON)");
    assertInvalidToken(decide(plugin, bearer(b64("[1]") + ".e30.x")), "malformed token (the header names no alg)");
    String tampered = claims("bob-sub").signWith(HS256).compact();
    String[] parts = tampered.split("\\.");
    assertInvalidToken(decide(plugin, bearer(parts[0] + "." + b64("{\"sub\":\"alice-sub\"}") + "." + parts[2])),
        "token signature does not verify");
  }

  @Test
  void aWebSocketUpgradeMayCarryTheTokenInTheQuery() throws Exception {
    Plugin plugin = allKeys();
    FakeRequest request = new FakeRequest().method("GET").header("Upgrade", "websocket")
        .query("access_token", claims("bob-sub").signWith(HS256).compact()).query("model", "x");
    assertThat(decide(plugin, request)).isEqualTo(Decision.PROCEED);
    assertThat(request.consumer()).isEqualTo("bob");
    assertThat(request.removedQueryParams).containsExactly("access_token");
    assertThat(request.queryParam("model")).isEqualTo("x");
    assertThat(request.removedHeaders).isEmpty();
  }

  @Test
  void theBearerSchemeIsCaseInsensitive() throws Exception {
    Plugin plugin = allKeys();
    FakeRequest request = new FakeRequest().header("Authorization", "bearer " + claims("bob-sub").signWith(HS256)
        .compact());
    assertThat(decide(plugin, request)).isEqualTo(Decision.PROCEED);
  }

  @Test
  void aKidSelectsTheStaticKey() throws Exception {
    String other = "y".repeat(32);
    Plugin plugin = plugin("""
        keys:
          - { algorithm: HS256, secret: "%s", kid: one }
          - { algorithm: HS256, secret: "%s", kid: two }
        """.formatted(SECRET, other), services);
    SecretKeySpec two = new SecretKeySpec(other.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    assertAccepted(plugin, claims("bob-sub").header().keyId("two").and().signWith(two).compact(), "bob");
    assertAccepted(plugin, claims("bob-sub").signWith(two).compact(), "bob"); // no kid: each key is tried
    assertInvalidToken(decide(plugin, bearer(claims("bob-sub").header().keyId("one").and().signWith(two).compact())),
        "token signature does not verify");
  }

  // ------------------------------------------------------------------ JWKS

  private Plugin jwksPlugin() throws Exception {
    return plugin("keys: [ { jwks-uri: \"" + JWKS_URL + "\" } ]", services);
  }

  private static String rs256(String kid, PrivateKey key) {
    return claims("bob-sub").header().keyId(kid).and().signWith(key, Jwts.SIG.RS256).compact();
  }

  private void answer(String json) {
    services.fetchAnswers.put(JWKS_URL, CompletableFuture.completedFuture(json));
  }

  @Test
  void verifiesWithAKeyFromTheJwks() throws Exception {
    answer(jwks(jwk(RSA.getPublic(), "A"), jwk(EC.getPublic(), "E")));
    Plugin plugin = jwksPlugin();
    assertAccepted(plugin, rs256("A", RSA.getPrivate()), "bob");
    assertAccepted(plugin, claims("bob-sub").header().keyId("E").and().signWith(EC.getPrivate()).compact(), "bob");
    assertAccepted(plugin, claims("bob-sub").signWith(RSA.getPrivate()).compact(), "bob"); // no kid
    assertThat(services.fetched).containsExactly(JWKS_URL);
  }

  @Test
  void anUnknownKidRefetchesAtMostEveryThirtySeconds() throws Exception {
    answer(jwks(jwk(RSA.getPublic(), "A")));
    Plugin plugin = jwksPlugin();
    assertAccepted(plugin, rs256("A", RSA.getPrivate()), "bob");
    assertThat(services.fetched).hasSize(1);

    // The identity provider rotates: B appears next to A.
    answer(jwks(jwk(RSA.getPublic(), "A"), jwk(RSA_OTHER.getPublic(), "B")));
    assertAccepted(plugin, rs256("B", RSA_OTHER.getPrivate()), "bob");
    assertThat(services.fetched).hasSize(2);

    // Another unknown kid within 30 s: no new fetch, refused.
    services.advance(Duration.ofSeconds(29));
    assertInvalidToken(decide(plugin, bearer(rs256("C", RSA_OTHER.getPrivate()))),
        "no configured key verifies this token");
    assertThat(services.fetched).hasSize(2);
    assertAccepted(plugin, rs256("B", RSA_OTHER.getPrivate()), "bob"); // known kids still work

    // 30 s after the last refetch, an unknown kid may refetch again.
    services.advance(Duration.ofSeconds(1));
    assertInvalidToken(decide(plugin, bearer(rs256("C", RSA_OTHER.getPrivate()))),
        "no configured key verifies this token");
    assertThat(services.fetched).hasSize(3);
  }

  @Test
  void concurrentRequestsShareOneFetch() throws Exception {
    CompletableFuture<String> pending = new CompletableFuture<>();
    services.fetchAnswers.put(JWKS_URL, pending);
    Plugin plugin = jwksPlugin();
    FakeRequest first = bearer(rs256("A", RSA.getPrivate()));
    FakeRequest second = bearer(rs256("A", RSA.getPrivate()));
    CompletableFuture<Decision> a = plugin.onRequest(first).toCompletableFuture();
    CompletableFuture<Decision> b = plugin.onRequest(second).toCompletableFuture();
    assertThat(a).isNotDone();
    assertThat(b).isNotDone();
    assertThat(first.consumer()).isNull();
    assertThat(services.fetched).hasSize(1);

    pending.complete(jwks(jwk(RSA.getPublic(), "A")));
    assertThat(a).isCompletedWithValue(Decision.PROCEED);
    assertThat(b).isCompletedWithValue(Decision.PROCEED);
    assertThat(first.consumer()).isEqualTo("bob");
    assertThat(second.consumer()).isEqualTo("bob");
    assertThat(services.fetched).hasSize(1);
  }

  @Test
  void unknownKidsDuringOneRefetchShareIt() throws Exception {
    answer(jwks(jwk(RSA.getPublic(), "A")));
    Plugin plugin = jwksPlugin();
    assertAccepted(plugin, rs256("A", RSA.getPrivate()), "bob");
    CompletableFuture<String> pending = new CompletableFuture<>();
    services.fetchAnswers.put(JWKS_URL, pending);
    CompletableFuture<Decision> a = plugin.onRequest(bearer(rs256("B", RSA_OTHER.getPrivate()))).toCompletableFuture();
    CompletableFuture<Decision> b = plugin.onRequest(bearer(rs256("B", RSA_OTHER.getPrivate()))).toCompletableFuture();
    assertThat(a).isNotDone();
    assertThat(b).isNotDone();
    pending.complete(jwks(jwk(RSA_OTHER.getPublic(), "B")));
    assertThat(a).isCompletedWithValue(Decision.PROCEED);
    assertThat(b).isCompletedWithValue(Decision.PROCEED);
    assertThat(services.fetched).hasSize(2);
  }

  @Test
  void aFailedFetchWithNoKeysIsAnInvalidTokenNotAServerError() throws Exception {
    services.fetchAnswers.put(JWKS_URL, CompletableFuture.failedFuture(new IOException("connection refused")));
    Plugin plugin = jwksPlugin();
    assertInvalidToken(decide(plugin, bearer(rs256("A", RSA.getPrivate()))), "no configured key verifies this token");
    assertThat(services.fetched).hasSize(1);
    // Not retried at once by every request.
    assertInvalidToken(decide(plugin, bearer(rs256("A", RSA.getPrivate()))), "no configured key verifies this token");
    assertThat(services.fetched).hasSize(1);
    // Retried a little later; the provider is back.
    services.advance(Duration.ofSeconds(5));
    answer(jwks(jwk(RSA.getPublic(), "A")));
    assertAccepted(plugin, rs256("A", RSA.getPrivate()), "bob");
    assertThat(services.fetched).hasSize(2);
  }

  @Test
  void aMalformedJwksIsAFailedFetch() throws Exception {
    answer("<html>not json</html>");
    Plugin plugin = jwksPlugin();
    assertInvalidToken(decide(plugin, bearer(rs256("A", RSA.getPrivate()))), "no configured key verifies this token");
  }

  @Test
  void theKeySetIsRefreshedInTheBackgroundAndAFailedRefreshKeepsTheKeys() throws Exception {
    answer(jwks(jwk(RSA.getPublic(), "A")));
    Plugin plugin = plugin("keys: [ { jwks-uri: \"" + JWKS_URL + "\", refresh: 1m } ]", services);
    assertAccepted(plugin, rs256("A", RSA.getPrivate()), "bob");

    services.advance(Duration.ofSeconds(61));
    services.fetchAnswers.put(JWKS_URL, CompletableFuture.failedFuture(new IOException("down")));
    assertAccepted(plugin, rs256("A", RSA.getPrivate()), "bob"); // stale keys serve; refresh fails
    assertThat(services.fetched).hasSize(2);
    assertAccepted(plugin, rs256("A", RSA.getPrivate()), "bob");

    // A successful refresh replaces the set: A is gone, B is in.
    services.advance(Duration.ofSeconds(61));
    answer(jwks(jwk(RSA_OTHER.getPublic(), "B")));
    decide(plugin, bearer(rs256("A", RSA.getPrivate()))); // triggers the refresh
    assertAccepted(plugin, rs256("B", RSA_OTHER.getPrivate()), "bob");
  }

  @Test
  void jwksKeysAreMatchedToTheAlgorithmFamily() throws Exception {
    // An HS256 token whose kid names the RSA JWK, keyed with that key's bytes: never verified.
    answer(jwks(jwk(RSA.getPublic(), "A")));
    Plugin plugin = jwksPlugin();
    String forged = claims("bob-sub").header().keyId("A").and()
        .signWith(new SecretKeySpec(RSA.getPublic().getEncoded(), "HmacSHA256"), Jwts.SIG.HS256).compact();
    assertInvalidToken(decide(plugin, bearer(forged)), "no configured key verifies this token");
    assertThat(services.fetched).hasSize(1); // a known kid: no refetch
  }

  @Test
  void staticKeysAreTriedBeforeTheJwks() throws Exception {
    Plugin plugin = plugin("""
        keys:
          - { algorithm: HS256, secret: "%s" }
          - { jwks-uri: "%s" }
        """.formatted(SECRET, JWKS_URL), services);
    assertAccepted(plugin, claims("bob-sub").signWith(HS256).compact(), "bob");
    assertThat(services.fetched).isEmpty();
  }

  @Test
  void responseHeadersAreUntouched() throws Exception {
    Plugin plugin = allKeys();
    FakeRequest request = bearer(claims("bob-sub").signWith(HS256).compact());
    decide(plugin, request);
    assertThat(request.responseHeaders).isEqualTo(Map.of());
  }
}
