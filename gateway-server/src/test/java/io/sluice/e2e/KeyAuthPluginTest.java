package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code key-auth} over real sockets (gateway-plugins/docs/key-auth.md): the three key sources,
 * refusals with the documented status/type/code and {@code WWW-Authenticate}, the key never
 * reaching the upstream while the provider credential does, and refused requests never opening an
 * upstream connection.
 */
class KeyAuthPluginTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final String ALICE_KEY = "sk-alice-e2e-0001";
  private static final String BOB_KEY = "sk-bob-e2e-0002";
  private static final String PROVIDER_KEY = "sk-provider-upstream";
  private static final String BODY = "{\"model\":\"m\",\"messages\":[]}";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      consumers:
        - { name: alice, api-keys: [ "${ALICE_KEY}" ] }
        - { name: bob, api-keys: [ "${BOB_KEY}" ] }
      upstreams:
        - name: models
          endpoints: [ { url: "${upstream}" } ]
          headers: { Authorization: "Bearer ${PROVIDER_KEY}" }
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions, methods: [POST] }
          upstream: models
          plugins: { key-auth: {} }
        - name: vip
          match: { path-prefix: /v1/vip }
          upstream: models
          plugins: { key-auth: { allow: [alice] } }
      """)
      .env(Map.of("ALICE_KEY", ALICE_KEY, "BOB_KEY", BOB_KEY, "PROVIDER_KEY", PROVIDER_KEY));

  private HttpRequest.Builder post(String pathAndQuery) {
    return HttpRequest.newBuilder(URI.create(gateway.url(pathAndQuery)))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(BODY));
  }

  /** Sends a request the gateway should forward; answers it upstream and returns what the upstream saw. */
  private FakeUpstream.Call forwarded(HttpRequest request) throws Exception {
    CompletableFuture<HttpResponse<String>> response = HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    FakeUpstream.Call call = gateway.upstream().next();
    call.respond(200, "application/json", "{\"ok\":true}");
    HttpResponse<String> r = response.get(10, TimeUnit.SECONDS);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("{\"ok\":true}");
    return call;
  }

  /** Sends a request the gateway should refuse; checks the error shape and that nothing went upstream. */
  private HttpResponse<String> refused(HttpRequest request, int status, String type, String code) throws Exception {
    HttpResponse<String> r = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("status; body: %s", r.body()).isEqualTo(status);
    JsonNode error = JSON.readTree(r.body()).get("error");
    assertThat(error.get("type").asText()).isEqualTo(type);
    assertThat(error.get("code").asText()).isEqualTo(code);
    assertThat(r.body()).doesNotContain(ALICE_KEY).doesNotContain(BOB_KEY);
    assertThat(gateway.upstream().poll()).isNull();
    assertThat(gateway.upstream().connections()).as("upstream connections").isZero();
    return r;
  }

  private static void assertNoClientKey(FakeUpstream.Call call) {
    assertThat(call.headers.contains("x-api-key")).isFalse();
    assertThat(call.uri).doesNotContain("api_key");
    call.headers.forEach(h -> assertThat(h.getValue()).doesNotContain(ALICE_KEY).doesNotContain(BOB_KEY));
    assertThat(call.headers.getAll("Authorization")).containsExactly("Bearer " + PROVIDER_KEY);
  }

  @Test
  void forwardsABearerKeyRequestWithTheProviderCredentialInsteadOfTheKey() throws Exception {
    FakeUpstream.Call call = forwarded(post("/v1/chat/completions").header("Authorization", "Bearer " + ALICE_KEY).build());
    assertNoClientKey(call);
    assertThat(call.body).isEqualTo(BODY);
  }

  @Test
  void forwardsAnXApiKeyRequestWithoutTheHeader() throws Exception {
    FakeUpstream.Call call = forwarded(post("/v1/chat/completions").header("x-api-key", BOB_KEY).build());
    assertNoClientKey(call);
  }

  @Test
  void forwardsAnApiKeyQueryRequestWithoutTheParameterButWithTheOthers() throws Exception {
    FakeUpstream.Call call = forwarded(post("/v1/chat/completions?user=u1&api_key=" + ALICE_KEY + "&x=2").build());
    assertNoClientKey(call);
    assertThat(call.uri).isEqualTo("/v1/chat/completions?user=u1&x=2");
  }

  @Test
  void refusesARequestWithoutAKey() throws Exception {
    HttpResponse<String> r = refused(post("/v1/chat/completions").build(), 401, "authentication_error", "missing_credentials");
    assertThat(r.headers().allValues("WWW-Authenticate")).containsExactly("Bearer realm=\"sluice\"");
  }

  @Test
  void refusesAWrongKeyAndCountsIt() throws Exception {
    HttpResponse<String> r = refused(post("/v1/chat/completions").header("Authorization", "Bearer sk-wrong").build(),
        401, "authentication_error", "invalid_api_key");
    assertThat(r.headers().allValues("WWW-Authenticate"))
        .containsExactly("Bearer realm=\"sluice\", error=\"invalid_token\"");
    refused(post("/v1/chat/completions?api_key=sk-wrong").build(), 401, "authentication_error", "invalid_api_key");

    String metrics = gateway.admin("/metrics").body();
    assertThat(metrics.lines().filter(l -> l.startsWith("sluice_auth_failures_total{")
            && l.contains("route=\"chat\"") && l.contains("plugin=\"key-auth\"")
            && l.contains("reason=\"invalid_api_key\"")))
        .singleElement().satisfies(l -> assertThat(l).endsWith(" 2.0"));
  }

  @Test
  void refusesAConsumerOutsideTheAllowList() throws Exception {
    HttpResponse<String> r = refused(post("/v1/vip").header("x-api-key", BOB_KEY).build(),
        403, "permission_error", "consumer_not_allowed");
    assertThat(r.headers().firstValue("WWW-Authenticate")).isEmpty();
    assertThat(gateway.admin("/metrics").body()).contains("reason=\"consumer_not_allowed\"");
  }

  @Test
  void admitsAConsumerOnTheAllowList() throws Exception {
    assertNoClientKey(forwarded(post("/v1/vip").header("x-api-key", ALICE_KEY).build()));
  }
}
