package io.sluice.plugins.keyauth;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.ConsumerConfig;
import io.sluice.config.Secret;
import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.Plugin;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code key-auth} decisions, key sources, stripping and failure counting, without Netty. */
class KeyAuthPluginTest {
  private static final String ALICE_KEY = "sk-alice-0123456789";
  private static final String BOB_KEY = "sk-bob-9876543210";
  private static final Plugin.ResponseHeaders NO_HEADERS = new Plugin.ResponseHeaders() {
    @Override
    public String get(String name) {
      return null;
    }

    @Override
    public void set(String name, String value) {}

    @Override
    public void remove(String name) {}
  };

  private final FakeServices services = new FakeServices().consumers(List.of(
      new ConsumerConfig("alice", List.of(new Secret(ALICE_KEY)), null),
      new ConsumerConfig("bob", List.of(new Secret(BOB_KEY), new Secret("sk-bob-second")), "bob"),
      new ConsumerConfig("carol", List.of(), "carol")));

  private KeyAuthPlugin plugin(String... allow) {
    return new KeyAuthPlugin(new KeyAuthSettings(Set.of(allow)), services);
  }

  private static Decision decide(Plugin plugin, FakeRequest request) {
    Decision d = plugin.onRequest(request).toCompletableFuture().join();
    int status = d instanceof Decision.Reject r ? r.status() : 200;
    plugin.onResponseHeaders(request, status, NO_HEADERS);
    plugin.onComplete(request, new ExchangeSummary(status, "ok", 0));
    return d;
  }

  private static Decision.Reject rejected(Decision d) {
    assertThat(d).isInstanceOf(Decision.Reject.class);
    return (Decision.Reject) d;
  }

  @Test
  void acceptsABearerKeyNamesTheConsumerAndStripsTheAuthorizationHeader() {
    FakeRequest request = new FakeRequest().header("Authorization", "Bearer " + ALICE_KEY);
    assertThat(decide(plugin(), request)).isEqualTo(Decision.PROCEED);
    assertThat(request.consumer()).isEqualTo("alice");
    assertThat(request.header("Authorization")).isNull();
    assertThat(services.authFailures).isEmpty();
  }

  @Test
  void acceptsTheBearerSchemeInAnyCase() {
    FakeRequest request = new FakeRequest().header("Authorization", "bearer   " + BOB_KEY + " ");
    assertThat(decide(plugin(), request)).isEqualTo(Decision.PROCEED);
    assertThat(request.consumer()).isEqualTo("bob");
  }

  @Test
  void acceptsTheXApiKeyHeaderAndStripsIt() {
    FakeRequest request = new FakeRequest().header("x-api-key", "sk-bob-second");
    assertThat(decide(plugin(), request)).isEqualTo(Decision.PROCEED);
    assertThat(request.consumer()).isEqualTo("bob");
    assertThat(request.header("x-api-key")).isNull();
    assertThat(request.removedHeaders).containsExactly("x-api-key");
  }

  @Test
  void acceptsTheApiKeyQueryParameterAndStripsIt() {
    FakeRequest request = new FakeRequest().query("api_key", ALICE_KEY).query("user", "u1");
    assertThat(decide(plugin(), request)).isEqualTo(Decision.PROCEED);
    assertThat(request.consumer()).isEqualTo("alice");
    assertThat(request.removedQueryParams).containsExactly("api_key");
    assertThat(request.queryParam("user")).isEqualTo("u1");
  }

  @Test
  void keepsAnAuthorizationHeaderThatDidNotCarryTheKey() {
    FakeRequest request = new FakeRequest().header("Authorization", "Basic dXNlcjpwYXNz")
        .header("x-api-key", ALICE_KEY);
    assertThat(decide(plugin(), request)).isEqualTo(Decision.PROCEED);
    assertThat(request.header("Authorization")).isEqualTo("Basic dXNlcjpwYXNz");
    assertThat(request.header("x-api-key")).isNull();
  }

  @Test
  void takesTheBearerKeyFirstAndStripsEveryOtherKeySource() {
    FakeRequest request = new FakeRequest().header("Authorization", "Bearer " + ALICE_KEY)
        .header("x-api-key", BOB_KEY).query("api_key", BOB_KEY);
    assertThat(decide(plugin(), request)).isEqualTo(Decision.PROCEED);
    assertThat(request.consumer()).isEqualTo("alice");
    assertThat(request.removedHeaders).containsExactlyInAnyOrder("x-api-key", "Authorization");
    assertThat(request.removedQueryParams).containsExactly("api_key");
  }

  @Test
  void refusesARequestWithoutAKeyAsMissingCredentials() {
    FakeRequest request = new FakeRequest();
    Decision.Reject r = rejected(decide(plugin(), request));
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.type()).isEqualTo("authentication_error");
    assertThat(r.code()).isEqualTo("missing_credentials");
    assertThat(r.headers()).containsExactly(Map.entry("WWW-Authenticate", "Bearer realm=\"sluice\""));
    assertThat(request.consumer()).isNull();
    assertThat(services.authFailures).containsExactly("chat/key-auth/missing_credentials");
  }

  @Test
  void treatsAnEmptyBearerOrHeaderAsNoKey() {
    FakeRequest request = new FakeRequest().header("Authorization", "Bearer ").header("x-api-key", " ")
        .query("api_key", "");
    assertThat(rejected(decide(plugin(), request)).code()).isEqualTo("missing_credentials");
  }

  @Test
  void refusesAWrongKeyAsInvalidWithoutEchoingIt() {
    FakeRequest request = new FakeRequest().header("x-api-key", "sk-guess");
    Decision.Reject r = rejected(decide(plugin(), request));
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.type()).isEqualTo("authentication_error");
    assertThat(r.code()).isEqualTo("invalid_api_key");
    assertThat(r.message()).doesNotContain("sk-guess");
    assertThat(r.headers()).containsExactly(
        Map.entry("WWW-Authenticate", "Bearer realm=\"sluice\", error=\"invalid_token\""));
    assertThat(services.authFailures).containsExactly("chat/key-auth/invalid_api_key");
  }

  @Test
  void refusesAKeyThatOnlyPrefixesAValidOne() {
    FakeRequest request = new FakeRequest().header("Authorization", "Bearer " + ALICE_KEY.substring(0, 10));
    assertThat(rejected(decide(plugin(), request)).code()).isEqualTo("invalid_api_key");
    FakeRequest longer = new FakeRequest().header("Authorization", "Bearer " + ALICE_KEY + "x");
    assertThat(rejected(decide(plugin(), longer)).code()).isEqualTo("invalid_api_key");
  }

  @Test
  void keepsTheAuthorizationHeaderWhenItsBearerIsRefused() {
    // It may be a JWT that jwt-auth, the other AUTHN plugin of the route, accepts.
    FakeRequest request = new FakeRequest().header("Authorization", "Bearer eyJhbGciOi.x.y");
    rejected(decide(plugin(), request));
    assertThat(request.header("Authorization")).isEqualTo("Bearer eyJhbGciOi.x.y");
  }

  @Test
  void refusesAConsumerOutsideTheAllowListWith403() {
    FakeRequest request = new FakeRequest().header("x-api-key", BOB_KEY);
    Decision.Reject r = rejected(decide(plugin("alice"), request));
    assertThat(r.status()).isEqualTo(403);
    assertThat(r.type()).isEqualTo("permission_error");
    assertThat(r.code()).isEqualTo("consumer_not_allowed");
    assertThat(r.headers()).isEmpty();
    assertThat(request.consumer()).isNull();
    assertThat(services.authFailures).containsExactly("chat/key-auth/consumer_not_allowed");
  }

  @Test
  void admitsAConsumerOnTheAllowList() {
    FakeRequest request = new FakeRequest().header("x-api-key", ALICE_KEY);
    assertThat(decide(plugin("alice", "bob"), request)).isEqualTo(Decision.PROCEED);
    assertThat(request.consumer()).isEqualTo("alice");
  }

  @Test
  void doesNotCountAFailureWhenAnotherAuthnPluginAcceptedTheRequest() {
    KeyAuthPlugin plugin = plugin();
    FakeRequest request = new FakeRequest().header("Authorization", "Bearer eyJ.jwt.token");
    rejected(plugin.onRequest(request).toCompletableFuture().join());
    request.consumer("carol"); // as jwt-auth would
    plugin.onResponseHeaders(request, 200, NO_HEADERS);
    plugin.onComplete(request, new ExchangeSummary(200, "ok", 0));
    assertThat(services.authFailures).isEmpty();
  }

  @Test
  void countsAFailureOnceEvenWhenTheClientLeftBeforeTheResponse() {
    KeyAuthPlugin plugin = plugin();
    FakeRequest request = new FakeRequest().header("x-api-key", "nope");
    rejected(plugin.onRequest(request).toCompletableFuture().join());
    plugin.onComplete(request, new ExchangeSummary(499, "client_closed", 0));
    plugin.onComplete(request, new ExchangeSummary(499, "client_closed", 0));
    assertThat(services.authFailures).containsExactly("chat/key-auth/invalid_api_key");
  }

  @Test
  void parsesOnlyTheBearerScheme() {
    assertThat(KeyAuthPlugin.bearer("Bearer abc")).isEqualTo("abc");
    assertThat(KeyAuthPlugin.bearer("BEARER\tabc")).isEqualTo("abc");
    assertThat(KeyAuthPlugin.bearer("Bearerabc")).isNull();
    assertThat(KeyAuthPlugin.bearer("Bearer")).isNull();
    assertThat(KeyAuthPlugin.bearer("Basic abc")).isNull();
  }
}
