package io.sluice.translate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;

/**
 * Non-streamed responses, both ways: an Anthropic message ⇄ an OpenAI {@code chat.completion},
 * and error bodies into the client API's error shape. Usage as in {@link UsageCounts}; stop
 * reasons and error types from {@link Vocabulary}.
 */
final class ResponseBodies {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private ResponseBodies() {}

  /** An Anthropic message → an OpenAI chat completion. Thinking blocks are not carried. */
  static byte[] anthropicToChat(byte[] body, Clock clock) {
    JsonNode in = JsonBodies.parse(body);
    ObjectNode out = NODES.objectNode();
    out.put("id", in.path("id").asText("chatcmpl-sluice"));
    out.put("object", "chat.completion");
    out.put("created", clock.millis() / 1000);
    out.put("model", in.path("model").asText(""));
    StringBuilder text = new StringBuilder();
    boolean anyText = false;
    ArrayNode calls = NODES.arrayNode();
    for (JsonNode block : in.path("content")) {
      switch (block.path("type").asText()) {
        case "text" -> {
          anyText = true;
          text.append(block.path("text").asText());
        }
        case "tool_use" -> {
          ObjectNode call = calls.addObject().put("id", block.path("id").asText()).put("type", "function");
          call.putObject("function").put("name", block.path("name").asText())
              .put("arguments", new String(JsonBodies.write(block.path("input")), StandardCharsets.UTF_8));
        }
        default -> { } // thinking and server-tool blocks: Chat Completions has no field for them
      }
    }
    ObjectNode choice = out.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode message = choice.putObject("message").put("role", "assistant");
    if (anyText || calls.isEmpty()) {
      message.put("content", text.toString());
    } else {
      message.putNull("content");
    }
    message.putNull("refusal");
    if (!calls.isEmpty()) {
      message.set("tool_calls", calls);
    }
    choice.putNull("logprobs");
    String finish = Vocabulary.finishReason(in.path("stop_reason").asText(null));
    choice.put("finish_reason", finish == null ? "stop" : finish);
    UsageCounts usage = new UsageCounts();
    usage.readAnthropic(in.path("usage"));
    usage.writeOpenAi(out);
    return JsonBodies.write(out);
  }

  /** An OpenAI chat completion (choice 0) → an Anthropic message. */
  static byte[] chatToAnthropic(byte[] body) {
    JsonNode in = JsonBodies.parse(body);
    ObjectNode out = NODES.objectNode();
    out.put("id", in.path("id").asText("msg_sluice"));
    out.put("type", "message");
    out.put("role", "assistant");
    out.put("model", in.path("model").asText(""));
    JsonNode choice = in.path("choices").path(0);
    JsonNode message = choice.path("message");
    ArrayNode content = out.putArray("content");
    String text = message.path("content").asText("");
    if (text.isEmpty()) {
      text = message.path("refusal").asText("");
    }
    if (!text.isEmpty()) {
      content.addObject().put("type", "text").put("text", text);
    }
    for (JsonNode call : message.path("tool_calls")) {
      ObjectNode block = content.addObject().put("type", "tool_use")
          .put("id", call.path("id").asText()).put("name", call.path("function").path("name").asText());
      block.set("input", arguments(call.path("function").path("arguments").asText("")));
    }
    String stop = Vocabulary.stopReason(choice.path("finish_reason").asText(null));
    out.put("stop_reason", stop == null ? "end_turn" : stop);
    out.putNull("stop_sequence");
    UsageCounts usage = new UsageCounts();
    usage.readOpenAi(in.path("usage"));
    usage.writeAnthropic(out);
    return JsonBodies.write(out);
  }

  /** Tool call arguments as the JSON object Anthropic's {@code input} is (a model's invalid JSON: as a string field). */
  private static JsonNode arguments(String arguments) {
    if (arguments.isBlank()) {
      return NODES.objectNode();
    }
    try {
      JsonNode parsed = JsonBodies.JSON.readTree(arguments);
      if (parsed != null && parsed.isObject()) {
        return parsed;
      }
    } catch (IOException e) {
      // fall through: keep what the model said rather than lose it
    }
    return NODES.objectNode().put("_raw_arguments", arguments);
  }

  /** An Anthropic error body (or any body) with its status → an OpenAI-style error. */
  static TranslatedError anthropicErrorToChat(int status, byte[] body) {
    JsonNode error = tryParse(body).path("error");
    String anthropicType = error.path("type").asText(null);
    String message = error.path("message").asText("the upstream answered with status " + status);
    ObjectNode out = NODES.objectNode();
    out.putObject("error")
        .put("message", message)
        .put("type", Vocabulary.openAiErrorType(anthropicType))
        .put("code", anthropicType == null ? "upstream_error" : anthropicType);
    // 529 (Anthropic "overloaded") is not a status OpenAI clients know: 503 says the same
    return new TranslatedError(status == 529 ? 503 : status, JsonBodies.write(out));
  }

  /**
   * An OpenAI-style error body (or any body) with its status → Anthropic's shape. The body keeps
   * OpenAI's {@code code} too, so it is also a valid OpenAI-style error.
   */
  static TranslatedError chatErrorToAnthropic(int status, byte[] body) {
    JsonNode error = tryParse(body).path("error");
    String message = error.isTextual() ? error.asText()
        : error.path("message").asText("the upstream answered with status " + status);
    ObjectNode out = NODES.objectNode().put("type", "error");
    ObjectNode e = out.putObject("error")
        .put("type", Vocabulary.anthropicErrorType(error.path("type").asText(null), error.path("code").asText(null), status))
        .put("message", message);
    if (error.hasNonNull("code")) {
      e.put("code", error.get("code").asText());
    }
    return new TranslatedError(status, JsonBodies.write(out));
  }

  private static JsonNode tryParse(byte[] body) {
    try {
      JsonNode node = JsonBodies.JSON.readTree(body);
      return node == null ? NODES.objectNode() : node;
    } catch (IOException e) {
      return NODES.objectNode(); // an HTML error page from a proxy: the status says it all
    }
  }
}
