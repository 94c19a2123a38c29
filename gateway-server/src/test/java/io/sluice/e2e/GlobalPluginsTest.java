package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.app.Sluice;
import io.sluice.plugin.PluginChain;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The top-level {@code plugins} block over real sockets (gateway-plugins/docs/global-plugins.md):
 * a global {@code key-auth} guards every route that does not say otherwise, a route's own
 * {@code key-auth} replaces the global settings, {@code key-auth: off} opens a route; the admin API
 * and the start log show each route's resolved chain; and a reload that changes only the global
 * block changes the running routes that inherit it, and only those.
 */
class GlobalPluginsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  // Inline keys: a reloadable gateway reads its file without an environment (TestGateway.startFromFile).
  private static final String ALICE_KEY = "sk-alice-global-0001";
  private static final String BOB_KEY = "sk-bob-global-0002";

  @TempDir Path dir;
  private Path file;

  private final ListAppender<ILoggingEvent> startLog = new ListAppender<>();
  private final Logger sluiceLog = (Logger) LoggerFactory.getLogger(Sluice.class);
  private Level sluiceLevel;

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  /**
   * Four routes under one global key-auth: two inherit it, {@code model-list} turns it off,
   * {@code vip} brings its own settings.
   */
  private String config(String globalPlugins) {
    return """
        listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
        admin: { host: 127.0.0.1, port: 0 }
        consumers:
          - { name: alice, api-keys: [ %s ] }
          - { name: bob, api-keys: [ %s ] }
        upstreams:
          - name: models
            endpoints: [ { url: "%s" } ]
        %s
        routes:
          - { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models }
          - { name: embeddings, match: { path-prefix: /v1/embeddings }, upstream: models }
          - { name: model-list, match: { path: /v1/models }, upstream: models, plugins: { key-auth: off } }
          - name: vip
            match: { path-prefix: /v1/vip }
            upstream: models
            plugins: { key-auth: { allow: [alice] } }
        """.formatted(ALICE_KEY, BOB_KEY, gateway.upstream().url(), globalPlugins);
  }

  @BeforeEach
  void start() throws Exception {
    sluiceLevel = sluiceLog.getLevel();
    sluiceLog.setLevel(Level.INFO);
    startLog.start();
    sluiceLog.addAppender(startLog);
    file = dir.resolve("gateway.yaml");
    Files.writeString(file, config("plugins: { key-auth: {} }"));
    gateway.startFromFile(file);
  }

  @AfterEach
  void release() {
    sluiceLog.detachAppender(startLog);
    sluiceLog.setLevel(sluiceLevel);
  }

  private HttpRequest.Builder request(String path, String key) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway.url(path)));
    if (path.equals("/v1/models")) {
      b.GET();
    } else {
      b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\"}"));
    }
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    return b;
  }

  /** Sends a request the gateway should forward; answers it upstream and checks the 200. */
  private void forwarded(String path, String key) throws Exception {
    CompletableFuture<HttpResponse<String>> response =
        HTTP.sendAsync(request(path, key).build(), HttpResponse.BodyHandlers.ofString());
    FakeUpstream.Call call = gateway.upstream().next();
    assertThat(call.uri).isEqualTo(path);
    call.respond(200, "application/json", "{\"ok\":true}");
    HttpResponse<String> r = response.get(10, TimeUnit.SECONDS);
    assertThat(r.statusCode()).as("%s with %s", path, key).isEqualTo(200);
    assertThat(r.body()).isEqualTo("{\"ok\":true}");
  }

  /** Sends a request the gateway should refuse; checks the error and that nothing went upstream. */
  private void refused(String path, String key, int status, String code) throws Exception {
    HttpResponse<String> r = HTTP.send(request(path, key).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("%s with %s; body: %s", path, key, r.body()).isEqualTo(status);
    assertThat(JSON.readTree(r.body()).get("error").get("code").asText()).isEqualTo(code);
    assertThat(gateway.upstream().poll()).as("nothing reaches the upstream").isNull();
  }

  /** {@code GET /admin/routes}: each route's plugin names, in the order they run. */
  private Map<String, List<String>> adminChains() throws Exception {
    HttpResponse<String> r = gateway.admin("/admin/routes");
    assertThat(r.statusCode()).isEqualTo(200);
    Map<String, List<String>> chains = new LinkedHashMap<>();
    for (JsonNode route : JSON.readTree(r.body())) {
      List<String> names = new ArrayList<>();
      route.get("plugins").forEach(p -> names.add(p.get("name").asText()));
      chains.put(route.get("name").asText(), names);
    }
    return chains;
  }

  @Test
  void aGlobalKeyAuthGuardsEveryRouteThatDoesNotSayOtherwise() throws Exception {
    refused("/v1/chat/completions", null, 401, "missing_credentials");
    refused("/v1/embeddings", null, 401, "missing_credentials");
    refused("/v1/embeddings", "sk-wrong", 401, "invalid_api_key");
    forwarded("/v1/chat/completions", BOB_KEY);
    forwarded("/v1/embeddings", ALICE_KEY);
  }

  @Test
  void aRouteThatTurnsTheGlobalPluginOffAnswersWithoutAKey() throws Exception {
    forwarded("/v1/models", null);
  }

  @Test
  void aRouteWithItsOwnSettingsReplacesTheGlobalOnes() throws Exception {
    refused("/v1/vip", null, 401, "missing_credentials");
    refused("/v1/vip", BOB_KEY, 403, "consumer_not_allowed");
    forwarded("/v1/vip", ALICE_KEY);
  }

  @Test
  void theAdminApiAndTheStartLogShowEachRoutesResolvedChain() throws Exception {
    assertThat(adminChains()).containsExactly(
        Map.entry("chat", List.of("key-auth")),
        Map.entry("embeddings", List.of("key-auth")),
        Map.entry("model-list", List.of()),
        Map.entry("vip", List.of("key-auth")));
    assertThat(startLog.list).extracting(ILoggingEvent::getFormattedMessage)
        .filteredOn(m -> m.startsWith("route '"))
        .containsExactly(
            "route 'chat' plugins: [AUTHN:key-auth(1000)]",
            "route 'embeddings' plugins: [AUTHN:key-auth(1000)]",
            "route 'vip' plugins: [AUTHN:key-auth(1000)]");
  }

  @Test
  void changingOnlyTheGlobalBlockChangesTheRunningRoutesThatInheritIt() throws Exception {
    Sluice sluice = gateway.sluice();
    PluginChain chatBefore = sluice.chain("chat");
    PluginChain vipBefore = sluice.chain("vip");
    PluginChain modelListBefore = sluice.chain("model-list");
    forwarded("/v1/chat/completions", ALICE_KEY);

    Files.writeString(file, config("plugins: { key-auth: { allow: [bob] }, rate-limit: { limit-by: consumer, "
        + "requests-per-second: 100 } }"));
    HttpResponse<String> reload = gateway.adminPost("/admin/reload");
    assertThat(reload.statusCode()).as(reload.body()).isEqualTo(200);

    // The inheriting routes run the new global settings: alice is no longer allowed, bob is.
    refused("/v1/chat/completions", ALICE_KEY, 403, "consumer_not_allowed");
    refused("/v1/embeddings", ALICE_KEY, 403, "consumer_not_allowed");
    forwarded("/v1/embeddings", BOB_KEY);
    // The global rate-limit reaches every route, the opted-out and the overriding one too.
    assertThat(adminChains()).containsExactly(
        Map.entry("chat", List.of("key-auth", "rate-limit")),
        Map.entry("embeddings", List.of("key-auth", "rate-limit")),
        Map.entry("model-list", List.of("rate-limit")),
        Map.entry("vip", List.of("key-auth", "rate-limit")));
    forwarded("/v1/models", null);
    forwarded("/v1/vip", ALICE_KEY);
    assertThat(sluice.chain("chat")).isNotSameAs(chatBefore);
    assertThat(sluice.chain("vip")).isNotSameAs(vipBefore);
    assertThat(sluice.chain("model-list")).isNotSameAs(modelListBefore);

    // Changing the global key-auth alone leaves the routes that override or turn it off running
    // the very plugins they had (their rate-limit buckets too).
    PluginChain vipKept = sluice.chain("vip");
    PluginChain modelListKept = sluice.chain("model-list");
    Files.writeString(file, config("plugins: { key-auth: { allow: [alice, bob] }, rate-limit: { limit-by: consumer, "
        + "requests-per-second: 100 } }"));
    reload = gateway.adminPost("/admin/reload");
    assertThat(reload.statusCode()).as(reload.body()).isEqualTo(200);
    assertThat(sluice.chain("vip")).isSameAs(vipKept);
    assertThat(sluice.chain("model-list")).isSameAs(modelListKept);
    forwarded("/v1/chat/completions", ALICE_KEY);
  }

  @Test
  void aReloadThatLeavesAnOffWithNothingToTurnOffIsRejectedAndTheOldConfigKeepsServing() throws Exception {
    Files.writeString(file, config(""));
    HttpResponse<String> reload = gateway.adminPost("/admin/reload");
    assertThat(reload.statusCode()).isEqualTo(400);
    List<String> errors = new ArrayList<>();
    JSON.readTree(reload.body()).get("errors").forEach(e -> errors.add(e.asText()));
    assertThat(errors).containsExactly(
        "routes[2].plugins.key-auth: off turns off a global plugin, but key-auth is not one "
            + "(no global plugins are configured)");
    refused("/v1/chat/completions", null, 401, "missing_credentials");
    forwarded("/v1/models", null);
  }
}
