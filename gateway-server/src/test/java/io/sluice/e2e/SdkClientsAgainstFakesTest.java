package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.ModelApiFake;
import io.sluice.testing.ModelApiFake.Answer;
import io.sluice.testing.NodeSdkClient;
import io.sluice.testing.NodeSdkClient.Sdk;
import io.sluice.testing.TestGateway;
import io.sluice.translate.Translation;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The official SDKs (openai 6.49.0, @anthropic-ai/sdk 1.17.0, driven by the CLIs in
 * {@code src/test/node}) against the provider fakes, over real sockets: first each SDK against the
 * fake of its own API, no gateway (the fakes' event sequences are what the SDKs expect), then each
 * SDK through the gateway against the other provider's fake — an {@code openai-chat} route served
 * by an {@code anthropic} upstream and an {@code anthropic-messages} route served by an
 * {@code openai} one: the translated streams and bodies, parsed by the SDKs' own stream helpers
 * exactly as a native answer.
 */
class SdkClientsAgainstFakesTest {
  private static final String WEATHER_ARGS_1 = "{\"city\":";
  private static final String WEATHER_ARGS_2 = " \"Paris\"}";

  private static String openAiBase(ModelApiFake fake) {
    return fake.url() + "/v1";
  }

  // --- each SDK against its own API's fake ---

  @Test
  void openAiSdkAssemblesTheOpenAiFakesStreamedTextAndUsage() throws Exception {
    try (ModelApiFake fake = ModelApiFake.openAi().answer(Answer.text("Hello", " there", "!"));
        NodeSdkClient sdk = NodeSdkClient.start(Sdk.OPENAI, openAiBase(fake), "stream-text")) {
      JsonNode result = sdk.result();
      assertThat(result.path("text").asText()).isEqualTo("Hello there!");
      assertThat(result.path("finish_reason").asText()).isEqualTo("stop");
      assertThat(result.path("usage").path("prompt_tokens").asLong()).isEqualTo(25);
      assertThat(result.path("usage").path("completion_tokens").asLong()).isEqualTo(3);
      assertThat(fake.nextRequest().path("stream_options").path("include_usage").asBoolean()).isTrue();
    }
  }

  @Test
  void openAiSdkAssemblesTheOpenAiFakesStreamedToolCall() throws Exception {
    try (ModelApiFake fake = ModelApiFake.openAi()
            .answer(Answer.toolCall("call_1", "get_weather", WEATHER_ARGS_1, WEATHER_ARGS_2));
        NodeSdkClient sdk = NodeSdkClient.start(Sdk.OPENAI, openAiBase(fake), "stream-tool")) {
      JsonNode result = sdk.result();
      assertThat(result.path("finish_reason").asText()).isEqualTo("tool_calls");
      JsonNode call = result.path("tool_calls").path(0);
      assertThat(call.path("id").asText()).isEqualTo("call_1");
      assertThat(call.path("function").path("name").asText()).isEqualTo("get_weather");
      assertThat(call.path("function").path("arguments").asText()).isEqualTo("{\"city\": \"Paris\"}");
    }
  }

  @Test
  void anthropicSdkAssemblesTheAnthropicFakesStreamAndToolUse() throws Exception {
    try (ModelApiFake fake = ModelApiFake.anthropic().answer(Answer.text("Hello", " there", "!"))) {
      try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.ANTHROPIC, fake.url(), "stream-text")) {
        JsonNode result = sdk.result();
        assertThat(result.path("text").asText()).isEqualTo("Hello there!");
        assertThat(result.path("stop_reason").asText()).isEqualTo("end_turn");
        assertThat(result.path("usage").path("input_tokens").asLong()).isEqualTo(25);
        assertThat(result.path("usage").path("output_tokens").asLong()).isEqualTo(3);
      }
      fake.answer(Answer.toolCall("toolu_1", "get_weather", WEATHER_ARGS_1, WEATHER_ARGS_2));
      try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.ANTHROPIC, fake.url(), "stream-tool")) {
        JsonNode result = sdk.result();
        assertThat(result.path("stop_reason").asText()).isEqualTo("tool_use");
        assertThat(result.path("tool_uses").path(0).path("input").path("city").asText()).isEqualTo("Paris");
      }
      try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.ANTHROPIC, fake.url(), "plain-tool")) {
        assertThat(sdk.result().path("tool_uses").path(0).path("id").asText()).isEqualTo("toolu_1");
      }
    }
  }

  // --- through the gateway: each SDK against the other provider's fake, translated ---

  private final List<TestGateway> gateways = new ArrayList<>();

  @AfterEach
  void stopGateways() throws Exception {
    for (TestGateway g : gateways) {
      g.close();
    }
  }

  /**
   * A gateway in front of {@code fake}: an upstream of {@code provider}, an {@code openai-chat}
   * route and an {@code anthropic-messages} route — one of them translated.
   */
  private String gatewayFor(ModelApiFake fake, String provider) throws Exception {
    TestGateway gateway = TestGateway.start("""
        upstreams: [ { name: model, provider: %s, endpoints: [ { url: "%s" } ] } ]
        routes:
          - { name: chat, match: { path: /v1/chat/completions }, api: openai-chat, upstream: model }
          - { name: messages, match: { path: /v1/messages }, api: anthropic-messages, upstream: model }
        """.formatted(provider, fake.url()));
    gateways.add(gateway);
    return "http://127.0.0.1:" + gateway.port();
  }

  // --- the OpenAI SDK against an Anthropic upstream ---

  private String gatewayUrl;

  private ModelApiFake anthropicBehindTranslation() throws Exception {
    ModelApiFake fake = ModelApiFake.anthropic();
    gatewayUrl = gatewayFor(fake, "anthropic");
    return fake;
  }

  /** The OpenAI SDK's base URL: the gateway's (the fake it fronts speaks Anthropic's API). */
  private String openAiBaseVia(ModelApiFake fake) {
    return gatewayUrl + "/v1";
  }

  @Test
  void openAiSdkReadsATranslatedAnthropicStreamWithCachedUsage() throws Exception {
    try (ModelApiFake fake = anthropicBehindTranslation().answer(Answer.text("Hello", " there", "!").usage(2100, 2048, 3));
        NodeSdkClient sdk = NodeSdkClient.start(Sdk.OPENAI, openAiBaseVia(fake), "stream-text")) {
      JsonNode result = sdk.result();
      assertThat(result.path("text").asText()).isEqualTo("Hello there!");
      assertThat(sdk.deltas()).containsExactly("Hello", " there", "!");
      assertThat(result.path("finish_reason").asText()).isEqualTo("stop");
      JsonNode usage = result.path("usage");
      assertThat(usage.path("prompt_tokens").asLong()).isEqualTo(2100);
      assertThat(usage.path("prompt_tokens_details").path("cached_tokens").asLong()).isEqualTo(2048);
      assertThat(usage.path("completion_tokens").asLong()).isEqualTo(3);
      JsonNode upstreamRequest = fake.nextRequest();
      assertThat(upstreamRequest.path("max_tokens").asInt()).isEqualTo(Translation.DEFAULT_MAX_TOKENS);
      assertThat(upstreamRequest.has("stream_options")).as("Anthropic has no stream_options").isFalse();
    }
  }

  @Test
  void openAiSdksStreamHelperAssemblesTranslatedToolCalls() throws Exception {
    try (ModelApiFake fake = anthropicBehindTranslation().answer(
            Answer.toolCall("toolu_A", "get_weather", WEATHER_ARGS_1, WEATHER_ARGS_2)
                .andToolCall("toolu_B", "get_weather", "{\"city\"", ": \"Oslo\"}"));
        NodeSdkClient sdk = NodeSdkClient.start(Sdk.OPENAI, openAiBaseVia(fake), "stream-tool")) {
      JsonNode result = sdk.result();
      assertThat(result.path("finish_reason").asText()).isEqualTo("tool_calls");
      JsonNode calls = result.path("tool_calls");
      assertThat(calls).hasSize(2);
      assertThat(calls.path(0).path("id").asText()).isEqualTo("toolu_A");
      assertThat(calls.path(0).path("function").path("arguments").asText()).isEqualTo("{\"city\": \"Paris\"}");
      assertThat(calls.path(1).path("id").asText()).isEqualTo("toolu_B");
      assertThat(calls.path(1).path("function").path("name").asText()).isEqualTo("get_weather");
      assertThat(calls.path(1).path("function").path("arguments").asText()).isEqualTo("{\"city\": \"Oslo\"}");
      assertThat(fake.nextRequest().path("tools").path(0).path("input_schema").path("required").path(0).asText())
          .isEqualTo("city");
    }
  }

  @Test
  void openAiSdkReadsTranslatedWholeResponses() throws Exception {
    try (ModelApiFake fake = anthropicBehindTranslation().answer(Answer.text("Hello", "!").stoppedByMaxTokens())) {
      try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.OPENAI, openAiBaseVia(fake), "plain")) {
        JsonNode result = sdk.result();
        assertThat(result.path("text").asText()).isEqualTo("Hello!");
        assertThat(result.path("finish_reason").asText()).isEqualTo("length");
        assertThat(result.path("usage").path("total_tokens").asLong()).isEqualTo(27);
      }
      fake.answer(Answer.toolCall("toolu_A", "get_weather", WEATHER_ARGS_1, WEATHER_ARGS_2));
      try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.OPENAI, openAiBaseVia(fake), "plain-tool")) {
        JsonNode call = sdk.result().path("tool_calls").path(0);
        assertThat(call.path("function").path("arguments").asText()).isEqualTo("{\"city\":\"Paris\"}");
      }
      fake.answer(Answer.failure(529));
      try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.OPENAI, openAiBaseVia(fake), "plain")) {
        JsonNode error = sdk.finalLine().path("error");
        assertThat(error.path("status").asInt()).isEqualTo(503);
        assertThat(error.path("type").asText()).isEqualTo("server_error");
        assertThat(error.path("code").asText()).isEqualTo("overloaded_error");
      }
    }
  }

  @Test
  void translatedTokensReachTheOpenAiSdkOneByOne() throws Exception {
    try (ModelApiFake fake = anthropicBehindTranslation().answer(Answer.text("one", " two", " three")).paced(true);
        NodeSdkClient sdk = NodeSdkClient.start(Sdk.OPENAI, openAiBaseVia(fake), "stream-text")) {
      ModelApiFake.PacedStream stream = fake.nextPacedStream();
      // Anthropic's events one at a time (message_start, content_block_start, a text_delta per
      // token, …): each token reaches the SDK, translated, before the fake sends the next event.
      for (String token : new String[] {"one", " two", " three"}) {
        String sent;
        do {
          sent = stream.next();
        } while (!(sent.contains("text_delta") && sent.contains(token)));
        assertThat(sdk.nextDelta()).as("the SDK has this token before the next is sent").isEqualTo(token);
      }
      stream.finish();
      assertThat(sdk.result().path("text").asText()).isEqualTo("one two three");
    }
  }

  // --- the Anthropic SDK against an OpenAI upstream ---

  private ModelApiFake openAiBehindTranslation() throws Exception {
    ModelApiFake fake = ModelApiFake.openAi();
    gatewayUrl = gatewayFor(fake, "openai");
    return fake;
  }

  @Test
  void anthropicSdkFinalMessageFromATranslatedOpenAiStream() throws Exception {
    try (ModelApiFake fake = openAiBehindTranslation().answer(Answer.text("Hello", " there", "!").usage(2100, 2048, 3));
        NodeSdkClient sdk = NodeSdkClient.start(Sdk.ANTHROPIC, gatewayUrl, "stream-text")) {
      JsonNode result = sdk.result();
      assertThat(result.path("text").asText()).isEqualTo("Hello there!");
      assertThat(sdk.deltas()).containsExactly("Hello", " there", "!");
      assertThat(result.path("stop_reason").asText()).isEqualTo("end_turn");
      JsonNode usage = result.path("usage");
      assertThat(usage.path("input_tokens").asLong()).isEqualTo(52);
      assertThat(usage.path("cache_read_input_tokens").asLong()).isEqualTo(2048);
      assertThat(usage.path("output_tokens").asLong()).isEqualTo(3);
      JsonNode upstreamRequest = fake.nextRequest();
      assertThat(upstreamRequest.path("stream_options").path("include_usage").asBoolean())
          .as("the translation asks the OpenAI upstream for usage").isTrue();
      assertThat(upstreamRequest.path("max_tokens").asInt()).isEqualTo(256);
    }
  }

  @Test
  void anthropicSdkAssemblesTranslatedToolUseStreamedAndWhole() throws Exception {
    try (ModelApiFake fake = openAiBehindTranslation().answer(
        Answer.toolCall("call_A", "get_weather", WEATHER_ARGS_1, WEATHER_ARGS_2)
            .andToolCall("call_B", "get_weather", "{\"city\"", ": \"Oslo\"}"))) {
      try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.ANTHROPIC, gatewayUrl, "stream-tool")) {
        JsonNode result = sdk.result();
        assertThat(result.path("stop_reason").asText()).isEqualTo("tool_use");
        JsonNode uses = result.path("tool_uses");
        assertThat(uses).hasSize(2);
        assertThat(uses.path(0).path("id").asText()).isEqualTo("call_A");
        assertThat(uses.path(0).path("input").path("city").asText()).isEqualTo("Paris");
        assertThat(uses.path(1).path("id").asText()).isEqualTo("call_B");
        assertThat(uses.path(1).path("input").path("city").asText()).isEqualTo("Oslo");
      }
      assertThat(fake.nextRequest().path("tools").path(0).path("function").path("parameters").path("required")
          .path(0).asText()).isEqualTo("city");
      try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.ANTHROPIC, gatewayUrl, "plain-tool")) {
        JsonNode result = sdk.result();
        assertThat(result.path("stop_reason").asText()).isEqualTo("tool_use");
        assertThat(result.path("tool_uses").path(1).path("input").path("city").asText()).isEqualTo("Oslo");
      }
    }
  }

  @Test
  void anthropicSdkReadsTranslatedWholeResponsesAndErrors() throws Exception {
    try (ModelApiFake fake = openAiBehindTranslation().answer(Answer.text("Hello", "!"))) {
      try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.ANTHROPIC, gatewayUrl, "plain")) {
        JsonNode result = sdk.result();
        assertThat(result.path("text").asText()).isEqualTo("Hello!");
        assertThat(result.path("stop_reason").asText()).isEqualTo("end_turn");
        assertThat(result.path("usage").path("input_tokens").asLong()).isEqualTo(25);
      }
      fake.answer(Answer.failure(429));
      try (NodeSdkClient sdk = NodeSdkClient.start(Sdk.ANTHROPIC, gatewayUrl, "plain")) {
        JsonNode error = sdk.finalLine().path("error");
        assertThat(error.path("status").asInt()).isEqualTo(429);
        assertThat(error.path("type").asText()).isEqualTo("rate_limit_error");
      }
    }
  }
}
