package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.ModelApiFake;
import io.sluice.testing.ModelApiFake.Answer;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Translation in the relay over real sockets, as a recording client sees it: refused fields,
 * failover across providers of different APIs, and translated usage counted like a native one.
 */
class TranslationRelayTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT = """
      {"model":"smart","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

  private final ModelApiFake claude = ModelApiFake.anthropic();
  private final ModelApiFake openai = ModelApiFake.openAi();
  private final TestGateway gateway = TestGateway.start("""
      upstreams:
        - { name: claude, provider: anthropic, api-key: sk-ant, endpoints: [ { url: "%s" } ] }
        - { name: openai, provider: openai, api-key: sk-oai, endpoints: [ { url: "%s" } ] }
      models:
        - name: smart
          targets:
            - { upstream: claude, model: claude-sonnet-4-5, priority: 1 }
            - { upstream: openai, model: gpt-4.1, priority: 2 }
      routes:
        - name: chat
          match: { path: /v1/chat/completions }
          api: openai-chat
          models: [smart]
          upstream: claude
          failover: { cooldown: 0s }
          sse: { heartbeat: 0s }
        - name: messages
          match: { path: /v1/messages }
          api: anthropic-messages
          upstream: openai
      """.formatted(claude.url(), openai.url()));

  TranslationRelayTest() throws Exception {}

  private String metrics() throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + gateway.adminPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  @AfterEach
  void stop() throws Exception {
    gateway.close();
    claude.close();
    openai.close();
  }

  @Test
  void anOpenAiClientGetsAnAnthropicStreamAsChatChunksWithItsUsageCounted() throws Exception {
    claude.answer(Answer.text("Hel", "lo").usage(2100, 2048, 2));
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT.replace("\"stream\":true", "\"stream\":true,"
          + "\"stream_options\":{\"include_usage\":true}"));
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("x-sluice-upstream")).isEqualTo("claude");
      String stream = client.readToEnd();
      assertThat(stream).contains("\"object\":\"chat.completion.chunk\"").contains("\"content\":\"Hel\"")
          .contains("\"finish_reason\":\"stop\"").contains("\"cached_tokens\":2048").endsWith("data: [DONE]\n\n")
          .doesNotContain("content_block_delta").doesNotContain("message_stop");
    }
    JsonNode sent = claude.nextRequest();
    assertThat(sent.path("model").asText()).isEqualTo("claude-sonnet-4-5");
    assertThat(sent.path("max_tokens").asInt()).isEqualTo(4096);
    assertThat(metrics())
        .contains("sluice_tokens_total{consumer=\"anonymous\",model=\"claude-sonnet-4-5\",route=\"chat\",type=\"input\"} 2100.0")
        .contains("sluice_tokens_total{consumer=\"anonymous\",model=\"claude-sonnet-4-5\",route=\"chat\",type=\"output\"} 2.0");
  }

  @Test
  void aClientThatDidNotAskForUsageGetsNoUsageChunk() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      client.readHead();
      String stream = client.readToEnd();
      assertThat(stream).contains("\"content\":\"Hello\"").doesNotContain("\"usage\":{");
    }
  }

  @Test
  void aFieldTheUpstreamsApiCannotCarryIsRefusedNamingIt() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"claude-direct\",\"n\":3,\"messages\":[{\"role\":\"user\","
          + "\"content\":\"hi\"}]}");
      assertThat(client.readHead().status()).isEqualTo(400);
      JsonNode error = JSON.readTree(client.readToEnd()).path("error");
      assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
      assertThat(error.path("code").asText()).isEqualTo("untranslatable_field");
      assertThat(error.path("message").asText()).contains("n");
    }
  }

  @Test
  void anAnthropicTargetThatFailsHandsOverToAnOpenAiOneAndTheClientSeesOnlyChatChunks() throws Exception {
    claude.answer(Answer.failure(529));
    openai.answer(Answer.text("from", " openai"));
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("x-sluice-upstream")).isEqualTo("openai");
      assertThat(head.header("x-sluice-model")).isEqualTo("gpt-4.1");
      String stream = client.readToEnd();
      assertThat(stream).contains("\"content\":\"from\"").doesNotContain("overloaded").doesNotContain("error");
    }
    assertThat(claude.nextRequest().path("model").asText()).isEqualTo("claude-sonnet-4-5");
    assertThat(openai.nextRequest().path("model").asText()).isEqualTo("gpt-4.1");
    assertThat(metrics())
        .contains("sluice_failovers_total{from_upstream=\"claude\",reason=\"http_5xx\",route=\"chat\"} 1.0");
  }

  @Test
  void anAnthropicClientGetsAnUpstreamErrorInItsOwnShape() throws Exception {
    openai.answer(Answer.failure(429));
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/messages", "{\"model\":\"gpt-4.1\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\","
          + "\"content\":\"hi\"}]}");
      assertThat(client.readHead().status()).isEqualTo(429);
      JsonNode body = JSON.readTree(client.readToEnd());
      assertThat(body.path("type").asText()).isEqualTo("error");
      assertThat(body.path("error").path("type").asText()).isEqualTo("rate_limit_error");
    }
  }

  @Test
  void aWholeAnswerThatIsNotTheUpstreamsJsonIsA502InTheClientsShape() throws Exception {
    try (FakeUpstream broken = FakeUpstream.start();
        TestGateway gw = TestGateway.start("""
            upstreams: [ { name: claude, provider: anthropic, endpoints: [ { url: "%s" } ] } ]
            routes: [ { name: chat, match: { path: /v1/chat/completions }, api: openai-chat, upstream: claude } ]
            """.formatted(broken.url()));
        RawHttp client = RawHttp.connect(gw.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"claude-x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      broken.next().respond(200, "application/json", "<html>gateway timeout from somewhere</html>");
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(502);
      JsonNode error = JSON.readTree(client.readToEnd()).path("error");
      assertThat(error.path("message").asText()).contains("could not be translated").doesNotContain("html");
    }
  }
}
