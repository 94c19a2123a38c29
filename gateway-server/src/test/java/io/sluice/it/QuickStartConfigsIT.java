package io.sluice.it;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.sluice.config.ConfigLoader;
import io.sluice.config.HealthCheckConfig;
import io.sluice.config.UpstreamConfig;
import io.sluice.plugin.PluginRegistry;
import io.sluice.testing.GatewayProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The configs a newcomer copies (README, "Point it at your model"): {@code config/gateway.yaml}
 * and every {@code config/examples/*.yaml}, each run from the packaged jar as shipped (only the
 * ports set to 0, the environment variables set to fakes) against a fake model server that, like
 * Ollama and the hosted APIs, has no {@code /health}: it answers 404 there, as on every path it
 * does not serve. Each config must answer the whole {@code /v1} surface through the gateway —
 * chat (streamed and not), completions, embeddings, responses, models, and messages where the
 * server speaks Anthropic's API — and must keep answering past the time at which a health probe of
 * a missing path would have ejected the endpoint (the reported failure: 503 {@code
 * no_healthy_upstream} some 15 s after start). {@link #aProbeOfAPathTheServerLacksEjectsIt} shows
 * that this set-up does catch such a probe.
 *
 * <p>The gateways run side by side so that one wait covers them all; the wait is a duration the
 * property is about (how long the endpoint stays in service), not a sleep for ordering.
 */
class QuickStartConfigsIT {
  private static final Path CONFIG = Path.of("..", "config").toAbsolutePath().normalize();
  private static final String PROVIDER_KEY = "sk-test-not-a-real-key";
  private static final String CLIENT_AUTH = "Bearer client-token";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  /**
   * One shipped config: whether it routes {@code /v1/messages}, and the {@code Authorization} the
   * model server must see (null: the client's own, passed through).
   */
  private record Shipped(String file, boolean messages, String upstreamAuthorization) {}

  private static final List<Shipped> SHIPPED = List.of(
      new Shipped("gateway.yaml", true, null),
      new Shipped("examples/openai.yaml", false, "Bearer " + PROVIDER_KEY),
      new Shipped("examples/vllm.yaml", true, null),
      new Shipped("examples/ollama.yaml", true, null));

  /**
   * The provider-preset examples: hosted APIs (their preset's base URL, no fake can stand in) and
   * aliases over several providers. Each must pass {@code --check} as shipped, with its
   * environment variables set; the presets' wire behaviour is proven by ProviderPresetsTest.
   */
  private static final List<String> CHECKED = List.of(
      "examples/anthropic.yaml", "examples/azure-openai.yaml", "examples/failover.yaml", "examples/hosted.yaml");
  private static final Map<String, String> PROVIDER_ENV = Map.of("OPENAI_API_KEY", PROVIDER_KEY,
      "ANTHROPIC_API_KEY", PROVIDER_KEY,
      "AZURE_OPENAI_KEY", PROVIDER_KEY, "GROQ_API_KEY", PROVIDER_KEY, "MISTRAL_API_KEY", PROVIDER_KEY);

  private static final String CHAT_JSON = """
      {"id":"chatcmpl-1","object":"chat.completion","model":"m1","choices":[{"index":0,\
      "message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],\
      "usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}""";
  private static final String CHAT_SSE = """
      data: {"id":"chatcmpl-2","object":"chat.completion.chunk","model":"m1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}

      data: {"id":"chatcmpl-2","object":"chat.completion.chunk","model":"m1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}

      data: [DONE]

      """;
  private static final String COMPLETION_JSON = """
      {"id":"cmpl-1","object":"text_completion","model":"m1","choices":[{"index":0,"text":"Hello",\
      "finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}""";
  private static final String EMBEDDINGS_JSON = """
      {"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.25,-0.5]}],"model":"e1",\
      "usage":{"prompt_tokens":2,"total_tokens":2}}""";
  private static final String RESPONSE_JSON = """
      {"id":"resp_1","object":"response","status":"completed","model":"m1","output":[{"type":"message",\
      "role":"assistant","content":[{"type":"output_text","text":"Hello"}]}],\
      "usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}""";
  private static final String MODELS_JSON = """
      {"object":"list","data":[{"id":"m1","object":"model","owned_by":"fake"}]}""";
  private static final String MODEL_JSON = """
      {"id":"m1","object":"model","owned_by":"fake"}""";
  private static final String MESSAGES_SSE = """
      event: message_start
      data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m1","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

      event: message_delta
      data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}

      event: message_stop
      data: {"type":"message_stop"}

      """;

  @TempDir Path dir;

  private final List<AutoCloseable> running = new ArrayList<>();

  @AfterEach
  void stopAll() throws Exception {
    for (AutoCloseable c : running) {
      c.close();
    }
  }

  @Test
  void everyExampleFileIsCoveredHere() throws Exception {
    List<String> files;
    try (Stream<Path> list = Files.list(CONFIG.resolve("examples"))) {
      files = list.map(p -> "examples/" + p.getFileName()).sorted().toList();
    }
    assertThat(Stream.concat(SHIPPED.stream().map(Shipped::file), CHECKED.stream())
        .filter(f -> f.startsWith("examples/")).sorted().toList())
        .as("config/examples/* and this test's tables (add a new example to SHIPPED or CHECKED)")
        .isEqualTo(files);
  }

  @Test
  void everyProviderExamplePassesCheck() throws Exception {
    for (String file : CHECKED) {
      try (GatewayProcess p = GatewayProcess.startWithEnv(PROVIDER_ENV, List.of(), "--config",
          CONFIG.resolve(file).toString(), "--check")) {
        assertThat(p.awaitExit()).as("%s: %s", file, p.output()).isEqualTo(0);
      }
    }
  }

  @Test
  void everyShippedConfigServesTheV1SurfaceAndKeepsServingWithoutAHealthPath() throws Exception {
    List<Running> gateways = new ArrayList<>();
    for (Shipped shipped : SHIPPED) {
      gateways.add(start(shipped));
    }
    Duration horizon = Duration.ZERO;
    for (Running r : gateways) {
      r.gateway().awaitReady();
      horizon = max(horizon, r.ejectionHorizon());
    }
    long readyAt = System.nanoTime();

    for (Running r : gateways) {
      assertServesTheSurface(r);
    }
    // Requests keep succeeding while a probe of a missing path would have run its course: every
    // interval × unhealthy-after, plus one probe timeout, counted from the last gateway's start.
    long until = readyAt + horizon.plusSeconds(1).toNanos();
    while (System.nanoTime() < until) {
      for (Running r : gateways) {
        HttpResponse<String> chat = send(r, "POST", "/v1/chat/completions", "{\"model\":\"m1\",\"messages\":[]}");
        assertThat(chat.statusCode()).as("%s: chat %.1f s after start: %s", r.shipped().file(),
            (System.nanoTime() - readyAt) / 1e9, chat.body()).isEqualTo(200);
      }
      Thread.sleep(1000); // pacing across the horizon, not ordering
    }
    for (Running r : gateways) {
      assertServesTheSurface(r);
      assertThat(endpointsHealthy(r)).as("%s: /admin/upstreams after %s", r.shipped().file(), horizon).isTrue();
      assertThat(r.fake().findAllUnmatchedRequests())
          .as("%s: requests for paths the model server does not serve (a health probe?)", r.shipped().file())
          .extracting(LoggedRequest::getUrl).isEmpty();
    }
  }

  /** The control: the same fake, probed on /health as the old default config did, is ejected. */
  @Test
  void aProbeOfAPathTheServerLacksEjectsIt() throws Exception {
    WireMockServer fake = fakeModelServer();
    Path config = dir.resolve("probing.yaml");
    Files.writeString(config, """
        listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
        admin: { host: 127.0.0.1, port: 0 }
        upstreams:
          - name: models
            endpoints: [ { url: "http://127.0.0.1:%d" } ]
            health-check: { path: /health, interval: 200ms, timeout: 1s, unhealthy-after: 1 }
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
        """.formatted(fake.port()));
    GatewayProcess gateway = GatewayProcess.start(List.of("-Xmx128m"), "--config", config.toString());
    running.add(gateway);
    gateway.awaitReady();
    Running r = new Running(new Shipped("probing.yaml", false, null), gateway, fake, config, Map.of());

    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    HttpResponse<String> chat;
    do {
      chat = send(r, "POST", "/v1/chat/completions", "{\"model\":\"m1\",\"messages\":[]}");
      if (chat.statusCode() == 503) {
        break;
      }
      Thread.sleep(50); // polling with a deadline
    } while (System.nanoTime() < deadline);
    assertThat(chat.statusCode()).as("chat once /health answered 404").isEqualTo(503);
    assertThat(JSON.readTree(chat.body()).path("error").path("code").asText()).isEqualTo("no_healthy_upstream");
    assertThat(fake.findAllUnmatchedRequests()).extracting(LoggedRequest::getUrl).contains("/health");
  }

  // ------------------------------------------------------------------ the surface

  private void assertServesTheSurface(Running r) throws Exception {
    String file = r.shipped().file();
    int before = r.fake().getAllServeEvents().size();

    HttpResponse<String> stream = send(r, "POST", "/v1/chat/completions",
        "{\"model\":\"m1\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    assertThat(stream.statusCode()).as("%s: streamed chat: %s", file, stream.body()).isEqualTo(200);
    assertThat(stream.headers().firstValue("content-type")).as(file).hasValueSatisfying(
        v -> assertThat(v).startsWith("text/event-stream"));
    assertThat(stream.body()).as("%s: streamed chat", file)
        .contains("\"content\":\"Hel\"").contains("\"content\":\"lo\"").contains("data: [DONE]");

    assertRelayed(r, "POST", "/v1/chat/completions", "{\"model\":\"m1\",\"messages\":[]}", CHAT_JSON);
    assertRelayed(r, "POST", "/v1/completions", "{\"model\":\"m1\",\"prompt\":\"Hi\"}", COMPLETION_JSON);
    assertRelayed(r, "POST", "/v1/embeddings", "{\"model\":\"e1\",\"input\":\"Hi\"}", EMBEDDINGS_JSON);
    assertRelayed(r, "POST", "/v1/responses", "{\"model\":\"m1\",\"input\":\"Hi\"}", RESPONSE_JSON);
    assertRelayed(r, "GET", "/v1/models", null, MODELS_JSON);
    assertRelayed(r, "GET", "/v1/models/m1", null, MODEL_JSON);

    HttpResponse<String> messages = send(r, "POST", "/v1/messages",
        "{\"model\":\"m1\",\"max_tokens\":16,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    if (r.shipped().messages()) {
      assertThat(messages.statusCode()).as("%s: messages: %s", file, messages.body()).isEqualTo(200);
      assertThat(messages.body()).as("%s: messages", file)
          .contains("\"text\":\"Hello\"").contains("event: message_stop");
    } else {
      assertThat(messages.statusCode()).as("%s: no messages route", file).isEqualTo(404);
      assertThat(JSON.readTree(messages.body()).path("error").path("code").asText()).isEqualTo("route_not_found");
    }

    int relayed = r.shipped().messages() ? 8 : 7;
    List<LoggedRequest> all = r.fake().getAllServeEvents().stream().map(e -> e.getRequest()).toList();
    List<LoggedRequest> seen = all.subList(0, all.size() - before); // newest first
    assertThat(seen).as("%s: requests that reached the model server", file).hasSize(relayed);
    String expected = r.shipped().upstreamAuthorization() == null ? CLIENT_AUTH : r.shipped().upstreamAuthorization();
    assertThat(seen).as("%s: Authorization as the model server saw it", file)
        .allSatisfy(req -> assertThat(req.getHeader("Authorization")).isEqualTo(expected));
  }

  private void assertRelayed(Running r, String method, String path, String body, String expected) throws Exception {
    HttpResponse<String> response = send(r, method, path, body);
    assertThat(response.statusCode()).as("%s: %s %s: %s", r.shipped().file(), method, path, response.body())
        .isEqualTo(200);
    assertThat(JSON.readTree(response.body())).as("%s: %s %s", r.shipped().file(), method, path)
        .isEqualTo(JSON.readTree(expected));
  }

  private static HttpResponse<String> send(Running r, String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.gateway().port() + path))
        .timeout(Duration.ofSeconds(10))
        .header("Authorization", CLIENT_AUTH);
    if (body == null) {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static boolean endpointsHealthy(Running r) throws Exception {
    HttpResponse<String> response = HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.gateway().adminPort() + "/admin/upstreams"))
            .timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    boolean all = true;
    for (JsonNode upstream : JSON.readTree(response.body())) {
      for (JsonNode endpoint : upstream.path("endpoints")) {
        all &= endpoint.path("healthy").asBoolean(false);
      }
    }
    return all;
  }

  // ------------------------------------------------------------------ set-up

  /** A started gateway with its fake model server. */
  private record Running(Shipped shipped, GatewayProcess gateway, WireMockServer fake, Path config,
      Map<String, String> env) {

    /** When a failing active probe would have ejected an endpoint, by this config's health checks. */
    Duration ejectionHorizon() throws Exception {
      Duration horizon = Duration.ZERO;
      for (UpstreamConfig u : new ConfigLoader(env::get, PluginRegistry.load()).load(config).upstreams()) {
        HealthCheckConfig hc = u.healthCheck();
        horizon = max(horizon, hc.interval().multipliedBy(hc.unhealthyAfter()).plus(hc.timeout()));
      }
      return horizon;
    }
  }

  private Running start(Shipped shipped) throws Exception {
    WireMockServer fake = fakeModelServer();
    String yaml = Files.readString(CONFIG.resolve(shipped.file()));
    String local = yaml.replace("port: 8080", "port: 0").replace("port: 9901", "port: 0");
    assertThat(count(yaml, "port: 8080") + count(yaml, "port: 9901"))
        .as("%s: the listener and admin ports this test moves to 0", shipped.file()).isEqualTo(2);
    Path config = dir.resolve(shipped.file().replace('/', '-'));
    Files.writeString(config, local);
    Map<String, String> env = Map.of("MODEL_URL", "http://127.0.0.1:" + fake.port(), "OPENAI_API_KEY", PROVIDER_KEY);
    GatewayProcess gateway = GatewayProcess.startWithEnv(env, List.of("-Xmx128m"), "--config", config.toString());
    running.add(gateway);
    return new Running(shipped, gateway, fake, config, env);
  }

  /** A model server with the OpenAI and Anthropic paths and nothing else: no /health (404). */
  private WireMockServer fakeModelServer() {
    WireMockServer fake = new WireMockServer(WireMockConfiguration.options().dynamicPort().bindAddress("127.0.0.1"));
    fake.start();
    running.add(fake::stop);
    fake.stubFor(post(urlPathEqualTo("/v1/chat/completions")).atPriority(1)
        .withRequestBody(matchingJsonPath("$.stream", equalTo("true")))
        .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream").withBody(CHAT_SSE)));
    fake.stubFor(post(urlPathEqualTo("/v1/chat/completions")).atPriority(2).willReturn(okJson(CHAT_JSON)));
    fake.stubFor(post(urlPathEqualTo("/v1/completions")).willReturn(okJson(COMPLETION_JSON)));
    fake.stubFor(post(urlPathEqualTo("/v1/embeddings")).willReturn(okJson(EMBEDDINGS_JSON)));
    fake.stubFor(post(urlPathEqualTo("/v1/responses")).willReturn(okJson(RESPONSE_JSON)));
    fake.stubFor(get(urlPathEqualTo("/v1/models")).willReturn(okJson(MODELS_JSON)));
    fake.stubFor(get(urlPathEqualTo("/v1/models/m1")).willReturn(okJson(MODEL_JSON)));
    fake.stubFor(post(urlPathEqualTo("/v1/messages"))
        .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream").withBody(MESSAGES_SSE)));
    return fake;
  }

  private static int count(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
