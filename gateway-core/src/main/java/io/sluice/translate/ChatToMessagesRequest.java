package io.sluice.translate;

import static io.sluice.translate.FieldTable.expectOnly;
import static io.sluice.translate.FieldTable.refuse;
import static io.sluice.translate.JsonBodies.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An OpenAI Chat Completions request (client) as an Anthropic Messages request (upstream). The
 * tables below are the whole mapping; {@code gateway-core/docs/translation.md} shows them as a
 * field table.
 */
final class ChatToMessagesRequest {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final Pattern DATA_URL = Pattern.compile("data:([^;,]+);base64,(.*)", Pattern.DOTALL);

  /** Per-request state the rules write to. */
  private static final class Ctx {
    final ObjectNode out = NODES.objectNode();
    final ArrayNode system = NODES.arrayNode();
    final ArrayNode messages = NODES.arrayNode();
    boolean streamed;
    boolean includeUsage;
    boolean serialToolCalls;
    long maxTokens = -1;
  }

  private static final FieldTable<Ctx> STREAM_OPTIONS = FieldTable.<Ctx>builder()
      .map("include_usage", (path, v, c) -> c.includeUsage = v.asBoolean())
      .build();

  private static final FieldTable<Ctx> REQUEST = FieldTable.<Ctx>builder()
      .handledElsewhere("model") // the caller names the target model
      .map("messages", (path, v, c) -> messages(path, v, c))
      .map("max_tokens", (path, v, c) -> c.maxTokens = positive(path, v))
      .map("max_completion_tokens", (path, v, c) -> c.maxTokens = positive(path, v))
      .map("temperature", (path, v, c) -> {
        if (!v.isNumber() || v.asDouble() < 0 || v.asDouble() > 1) {
          throw refuse(path, "Anthropic accepts a temperature from 0 to 1");
        }
        c.out.set("temperature", v);
      })
      .map("top_p", (path, v, c) -> c.out.set("top_p", v))
      .map("stop", (path, v, c) -> {
        ArrayNode stops = c.out.putArray("stop_sequences");
        if (v.isTextual()) {
          stops.add(v.asText());
        } else if (v.isArray()) {
          v.forEach(s -> stops.add(s.asText()));
        } else {
          throw refuse(path, "expected a string or an array of strings");
        }
      })
      .map("stream", (path, v, c) -> {
        c.streamed = v.asBoolean();
        c.out.put("stream", c.streamed);
      })
      .map("stream_options", (path, v, c) -> STREAM_OPTIONS.apply(path, v, c))
      .map("tools", (path, v, c) -> tools(path, v, c))
      .map("tool_choice", (path, v, c) -> c.out.set("tool_choice", toolChoice(path, v)))
      .map("parallel_tool_calls", (path, v, c) -> c.serialToolCalls = !v.asBoolean())
      .map("user", (path, v, c) -> c.out.putObject("metadata").put("user_id", v.asText()))
      .neutral("n", IntNode.valueOf(1), "Anthropic returns one choice")
      .neutral("logprobs", BooleanNode.FALSE, "Anthropic returns no log probabilities")
      .neutral("presence_penalty", IntNode.valueOf(0), "Anthropic has no presence penalty")
      .neutral("frequency_penalty", IntNode.valueOf(0), "Anthropic has no frequency penalty")
      .build();

  /** The fields of one message; the content and tool calls are read by {@link #message}. */
  private static final FieldTable<Object> MESSAGE = FieldTable.<Object>builder()
      .handledElsewhere("role")
      .handledElsewhere("content")
      .handledElsewhere("tool_calls")
      .handledElsewhere("tool_call_id")
      .neutral("refusal", NODES.nullNode(), "a refusal cannot be replayed to Anthropic")
      .build();

  private ChatToMessagesRequest() {}

  static TranslatedRequest translate(byte[] body, String targetModel, int defaultMaxTokens) {
    JsonNode in = JsonBodies.parse(body);
    Ctx c = new Ctx();
    c.out.put("model", targetModel);
    REQUEST.apply("", in, c);
    c.out.put("max_tokens", c.maxTokens > 0 ? c.maxTokens : defaultMaxTokens);
    if (!c.system.isEmpty()) {
      c.out.set("system", c.system.size() == 1 ? c.system.get(0).get("text") : c.system);
    }
    c.out.set("messages", c.messages);
    if (c.serialToolCalls) {
      ObjectNode choice = c.out.has("tool_choice") ? (ObjectNode) c.out.get("tool_choice")
          : c.out.putObject("tool_choice").put("type", "auto");
      if (!choice.path("type").asText().equals("none")) {
        choice.put("disable_parallel_tool_use", true);
      }
    }
    return new TranslatedRequest(JsonBodies.write(c.out), c.streamed, c.includeUsage);
  }

  private static void messages(String path, JsonNode v, Ctx c) {
    if (!v.isArray()) {
      throw refuse(path, "expected an array");
    }
    for (int i = 0; i < v.size(); i++) {
      message(path + "[" + i + "]", v.get(i), c);
    }
  }

  private static void message(String path, JsonNode m, Ctx c) {
    MESSAGE.apply(path, m, null);
    String role = m.path("role").asText();
    JsonNode content = m.path("content");
    switch (role) {
      case "system", "developer" -> {
        // Anthropic has one system prompt: every system message, in order, becomes a block of it
        if (content.isTextual()) {
          c.system.add(textBlock(content.asText()));
        } else {
          for (int j = 0; j < content.size(); j++) {
            c.system.add(textPart(path + ".content[" + j + "]", content.get(j)));
          }
        }
        noToolFields(path, m);
      }
      case "user" -> {
        noToolFields(path, m);
        append(c, "user", userContent(path + ".content", content));
      }
      case "assistant" -> {
        if (m.has("tool_call_id")) {
          throw refuse(path + ".tool_call_id", "only a tool message has one");
        }
        ArrayNode blocks = NODES.arrayNode();
        if (content.isTextual()) {
          if (!content.asText().isEmpty()) {
            blocks.add(textBlock(content.asText()));
          }
        } else if (content.isArray()) {
          for (int j = 0; j < content.size(); j++) {
            blocks.add(textPart(path + ".content[" + j + "]", content.get(j)));
          }
        }
        JsonNode calls = m.path("tool_calls");
        for (int j = 0; j < calls.size(); j++) {
          blocks.add(toolUse(path + ".tool_calls[" + j + "]", calls.get(j)));
        }
        append(c, "assistant", blocks);
      }
      case "tool" -> {
        ObjectNode result = NODES.objectNode().put("type", "tool_result")
            .put("tool_use_id", m.path("tool_call_id").asText());
        if (content.isTextual()) {
          result.put("content", content.asText());
        } else {
          ArrayNode parts = result.putArray("content");
          for (int j = 0; j < content.size(); j++) {
            parts.add(textPart(path + ".content[" + j + "]", content.get(j)));
          }
        }
        append(c, "user", NODES.arrayNode().add(result));
      }
      default -> throw refuse(path + ".role", "'" + role + "' messages have no Anthropic equivalent");
    }
  }

  private static void noToolFields(String path, JsonNode m) {
    for (String f : new String[] {"tool_calls", "tool_call_id"}) {
      if (m.has(f) && !m.get(f).isNull()) {
        throw refuse(path + "." + f, "only assistant and tool messages have one");
      }
    }
  }

  /**
   * Adds content to the conversation; consecutive turns of one role (tool results then the user's
   * next words) become one Anthropic message, which requires the roles to alternate.
   */
  private static void append(Ctx c, String role, JsonNode content) {
    int last = c.messages.size() - 1;
    if (last >= 0 && c.messages.get(last).path("role").asText().equals(role)) {
      ObjectNode prev = (ObjectNode) c.messages.get(last);
      ArrayNode merged = asBlocks(prev.get("content"));
      merged.addAll(asBlocks(content));
      prev.set("content", merged);
      return;
    }
    c.messages.addObject().put("role", role).set("content", content);
  }

  private static ArrayNode asBlocks(JsonNode content) {
    if (content.isArray()) {
      return ((ArrayNode) content).deepCopy();
    }
    return NODES.arrayNode().add(textBlock(content.asText()));
  }

  private static JsonNode userContent(String path, JsonNode content) {
    if (content.isTextual()) {
      return content;
    }
    if (!content.isArray()) {
      throw refuse(path, "expected a string or an array of content parts");
    }
    ArrayNode blocks = NODES.arrayNode();
    for (int j = 0; j < content.size(); j++) {
      String partPath = path + "[" + j + "]";
      JsonNode part = content.get(j);
      switch (part.path("type").asText()) {
        case "text" -> blocks.add(textPart(partPath, part));
        case "image_url" -> blocks.add(image(partPath, part));
        default -> throw refuse(partPath + ".type", "'" + part.path("type").asText()
            + "' content has no Anthropic equivalent");
      }
    }
    return blocks;
  }

  private static ObjectNode textPart(String path, JsonNode part) {
    if (!part.path("type").asText().equals("text")) {
      throw refuse(path + ".type", "only text is allowed here");
    }
    expectOnly(path, part, "type", "text");
    return textBlock(part.path("text").asText());
  }

  private static ObjectNode textBlock(String text) {
    return NODES.objectNode().put("type", "text").put("text", text);
  }

  /** {@code image_url} with a base64 data URL or an http(s) URL → an Anthropic image block. */
  private static ObjectNode image(String path, JsonNode part) {
    expectOnly(path, part, "type", "image_url");
    JsonNode imageUrl = part.path("image_url");
    expectOnly(path + ".image_url", imageUrl, "url", "detail");
    String detail = imageUrl.path("detail").asText("auto");
    if (!detail.equals("auto")) {
      throw refuse(path + ".image_url.detail", "Anthropic has no image detail setting");
    }
    String url = imageUrl.path("url").asText();
    ObjectNode source = NODES.objectNode();
    Matcher data = DATA_URL.matcher(url);
    if (data.matches()) {
      source.put("type", "base64").put("media_type", data.group(1)).put("data", data.group(2));
    } else if (url.startsWith("https://") || url.startsWith("http://")) {
      source.put("type", "url").put("url", url);
    } else {
      throw refuse(path + ".image_url.url", "expected a base64 data URL or an http(s) URL");
    }
    ObjectNode block = NODES.objectNode().put("type", "image");
    block.set("source", source);
    return block;
  }

  private static ObjectNode toolUse(String path, JsonNode call) {
    expectOnly(path, call, "id", "type", "function");
    if (!call.path("type").asText("function").equals("function")) {
      throw refuse(path + ".type", "only function tool calls exist in Anthropic");
    }
    JsonNode function = call.path("function");
    expectOnly(path + ".function", function, "name", "arguments");
    JsonNode input;
    try {
      String arguments = function.path("arguments").asText();
      input = arguments.isBlank() ? NODES.objectNode() : JSON.readTree(arguments);
    } catch (IOException e) {
      throw refuse(path + ".function.arguments", "not valid JSON");
    }
    if (!input.isObject()) {
      throw refuse(path + ".function.arguments", "Anthropic tool input must be a JSON object");
    }
    ObjectNode block = NODES.objectNode().put("type", "tool_use")
        .put("id", call.path("id").asText()).put("name", function.path("name").asText());
    block.set("input", input);
    return block;
  }

  private static void tools(String path, JsonNode v, Ctx c) {
    ArrayNode tools = c.out.putArray("tools");
    for (int i = 0; i < v.size(); i++) {
      String toolPath = path + "[" + i + "]";
      JsonNode tool = v.get(i);
      expectOnly(toolPath, tool, "type", "function");
      if (!tool.path("type").asText().equals("function")) {
        throw refuse(toolPath + ".type", "only function tools exist in Anthropic");
      }
      JsonNode f = tool.path("function");
      expectOnly(toolPath + ".function", f, "name", "description", "parameters", "strict");
      if (f.path("strict").asBoolean(false)) {
        throw refuse(toolPath + ".function.strict", "Anthropic has no strict function schemas");
      }
      ObjectNode out = tools.addObject().put("name", f.path("name").asText());
      if (f.hasNonNull("description")) {
        out.put("description", f.get("description").asText());
      }
      out.set("input_schema", f.hasNonNull("parameters") ? f.get("parameters").deepCopy()
          : NODES.objectNode().put("type", "object").set("properties", NODES.objectNode()));
    }
  }

  private static ObjectNode toolChoice(String path, JsonNode v) {
    if (v.isTextual()) {
      return switch (v.asText()) {
        case "auto" -> NODES.objectNode().put("type", "auto");
        case "none" -> NODES.objectNode().put("type", "none");
        case "required" -> NODES.objectNode().put("type", "any");
        default -> throw refuse(path, "'" + v.asText() + "' is not a tool choice");
      };
    }
    expectOnly(path, v, "type", "function");
    if (v.path("type").asText().equals("function") && v.path("function").hasNonNull("name")) {
      expectOnly(path + ".function", v.get("function"), "name");
      return NODES.objectNode().put("type", "tool").put("name", v.path("function").path("name").asText());
    }
    throw refuse(path + ".type", "only a named function can be chosen");
  }

  private static long positive(String path, JsonNode v) {
    if (!v.canConvertToLong() || v.asLong() <= 0) {
      throw refuse(path, "expected a positive integer");
    }
    return v.asLong();
  }
}
