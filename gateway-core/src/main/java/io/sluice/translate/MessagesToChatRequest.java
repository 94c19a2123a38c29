package io.sluice.translate;

import static io.sluice.translate.FieldTable.expectOnly;
import static io.sluice.translate.FieldTable.refuse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * An Anthropic Messages request (client) as an OpenAI Chat Completions request (upstream). The
 * tables below are the whole mapping; {@code gateway-core/docs/translation.md} shows them as a
 * field table. {@code cache_control} on a block or tool is a caching hint OpenAI has no field for
 * (it caches long prompts by itself): it is accepted and not carried, deliberately.
 */
final class MessagesToChatRequest {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Per-request state the rules write to. */
  private static final class Ctx {
    final ObjectNode out = NODES.objectNode();
    final ArrayNode messages = NODES.arrayNode();
    boolean streamed;
  }

  private static final FieldTable<Ctx> METADATA = FieldTable.<Ctx>builder()
      .map("user_id", (path, v, c) -> c.out.put("user", v.asText()))
      .build();

  private static final FieldTable<Ctx> REQUEST = FieldTable.<Ctx>builder()
      .handledElsewhere("model") // the caller names the target model
      .handledElsewhere("system") // read first: it becomes the first message
      .map("messages", (path, v, c) -> messages(path, v, c))
      .map("max_tokens", (path, v, c) -> c.out.set("max_tokens", v))
      .map("temperature", (path, v, c) -> c.out.set("temperature", v))
      .map("top_p", (path, v, c) -> c.out.set("top_p", v))
      .map("stop_sequences", (path, v, c) -> c.out.set("stop", v))
      .map("stream", (path, v, c) -> {
        c.streamed = v.asBoolean();
        c.out.put("stream", c.streamed);
        if (c.streamed) {
          // an Anthropic client always gets usage: ask for OpenAI's usage chunk
          c.out.putObject("stream_options").put("include_usage", true);
        }
      })
      .map("tools", (path, v, c) -> tools(path, v, c))
      .map("tool_choice", (path, v, c) -> toolChoice(path, v, c))
      .map("metadata", (path, v, c) -> METADATA.apply(path, v, c))
      .map("thinking", (path, v, c) -> {
        if (!v.path("type").asText().equals("disabled")) {
          throw refuse(path, "OpenAI Chat Completions has no extended thinking");
        }
      })
      .build();

  private MessagesToChatRequest() {}

  static TranslatedRequest translate(byte[] body, String targetModel) {
    JsonNode in = JsonBodies.parse(body);
    Ctx c = new Ctx();
    c.out.put("model", targetModel);
    system(in.path("system"), c);
    REQUEST.apply("", in, c);
    c.out.set("messages", c.messages);
    return new TranslatedRequest(JsonBodies.write(c.out), c.streamed, false);
  }

  private static void system(JsonNode system, Ctx c) {
    if (system.isMissingNode() || system.isNull()) {
      return;
    }
    if (system.isTextual()) {
      c.messages.addObject().put("role", "system").put("content", system.asText());
      return;
    }
    if (!system.isArray()) {
      throw refuse("system", "expected a string or an array of text blocks");
    }
    ArrayNode parts = NODES.arrayNode();
    for (int i = 0; i < system.size(); i++) {
      parts.add(text("system[" + i + "]", system.get(i)));
    }
    c.messages.addObject().put("role", "system").set("content", parts);
  }

  private static void messages(String path, JsonNode v, Ctx c) {
    if (!v.isArray()) {
      throw refuse(path, "expected an array");
    }
    for (int i = 0; i < v.size(); i++) {
      String p = path + "[" + i + "]";
      JsonNode m = v.get(i);
      expectOnly(p, m, "role", "content");
      JsonNode content = m.path("content");
      switch (m.path("role").asText()) {
        case "user" -> user(p + ".content", content, c);
        case "assistant" -> assistant(p + ".content", content, c);
        default -> throw refuse(p + ".role", "expected user or assistant");
      }
    }
  }

  /** Tool results become {@code tool} messages (first, as OpenAI wants them right after the call). */
  private static void user(String path, JsonNode content, Ctx c) {
    if (content.isTextual()) {
      c.messages.addObject().put("role", "user").put("content", content.asText());
      return;
    }
    ArrayNode parts = NODES.arrayNode();
    for (int j = 0; j < content.size(); j++) {
      String p = path + "[" + j + "]";
      JsonNode block = content.get(j);
      switch (block.path("type").asText()) {
        case "text" -> parts.add(text(p, block));
        case "image" -> parts.add(image(p, block));
        case "tool_result" -> toolResult(p, block, c);
        default -> throw refuse(p + ".type", "'" + block.path("type").asText()
            + "' blocks have no OpenAI Chat equivalent");
      }
    }
    if (!parts.isEmpty()) {
      c.messages.addObject().put("role", "user").set("content", parts);
    }
  }

  private static void assistant(String path, JsonNode content, Ctx c) {
    ObjectNode message = c.messages.addObject().put("role", "assistant");
    if (content.isTextual()) {
      message.put("content", content.asText());
      return;
    }
    StringBuilder text = new StringBuilder();
    ArrayNode calls = NODES.arrayNode();
    for (int j = 0; j < content.size(); j++) {
      String p = path + "[" + j + "]";
      JsonNode block = content.get(j);
      switch (block.path("type").asText()) {
        case "text" -> text.append(text(p, block).path("text").asText());
        case "tool_use" -> {
          expectOnly(p, block, "type", "id", "name", "input", "cache_control");
          ObjectNode call = calls.addObject().put("id", block.path("id").asText()).put("type", "function");
          call.putObject("function").put("name", block.path("name").asText())
              .put("arguments", new String(JsonBodies.write(block.path("input")), StandardCharsets.UTF_8));
        }
        default -> throw refuse(p + ".type", "'" + block.path("type").asText()
            + "' blocks have no OpenAI Chat equivalent");
      }
    }
    if (text.length() > 0 || calls.isEmpty()) {
      message.put("content", text.toString());
    } else {
      message.putNull("content");
    }
    if (!calls.isEmpty()) {
      message.set("tool_calls", calls);
    }
  }

  private static void toolResult(String path, JsonNode block, Ctx c) {
    expectOnly(path, block, "type", "tool_use_id", "content", "is_error", "cache_control");
    if (block.path("is_error").asBoolean(false)) {
      throw refuse(path + ".is_error", "OpenAI tool messages cannot mark an error");
    }
    ObjectNode message = c.messages.addObject().put("role", "tool")
        .put("tool_call_id", block.path("tool_use_id").asText());
    JsonNode content = block.path("content");
    if (content.isArray()) {
      ArrayNode parts = NODES.arrayNode();
      for (int k = 0; k < content.size(); k++) {
        parts.add(text(path + ".content[" + k + "]", content.get(k)));
      }
      message.set("content", parts);
    } else {
      message.put("content", content.asText(""));
    }
  }

  private static ObjectNode text(String path, JsonNode block) {
    if (!block.path("type").asText().equals("text")) {
      throw refuse(path + ".type", "only text is allowed here");
    }
    expectOnly(path, block, "type", "text", "cache_control", "citations");
    return NODES.objectNode().put("type", "text").put("text", block.path("text").asText());
  }

  /** An image block (base64 or URL source) → an {@code image_url} part (data URL or URL). */
  private static ObjectNode image(String path, JsonNode block) {
    expectOnly(path, block, "type", "source", "cache_control");
    JsonNode source = block.path("source");
    String url = switch (source.path("type").asText()) {
      case "base64" -> {
        expectOnly(path + ".source", source, "type", "media_type", "data");
        yield "data:" + source.path("media_type").asText() + ";base64," + source.path("data").asText();
      }
      case "url" -> {
        expectOnly(path + ".source", source, "type", "url");
        yield source.path("url").asText();
      }
      default -> throw refuse(path + ".source.type", "only base64 and url images exist in OpenAI Chat");
    };
    ObjectNode part = NODES.objectNode().put("type", "image_url");
    part.putObject("image_url").put("url", url);
    return part;
  }

  private static void tools(String path, JsonNode v, Ctx c) {
    ArrayNode tools = c.out.putArray("tools");
    for (int i = 0; i < v.size(); i++) {
      String p = path + "[" + i + "]";
      JsonNode tool = v.get(i);
      if (tool.has("type") && !tool.path("type").asText().equals("custom")) {
        throw refuse(p + ".type", "Anthropic server tools cannot run behind OpenAI Chat");
      }
      expectOnly(p, tool, "type", "name", "description", "input_schema", "cache_control");
      ObjectNode function = tools.addObject().put("type", "function").putObject("function");
      function.put("name", tool.path("name").asText());
      if (tool.hasNonNull("description")) {
        function.put("description", tool.get("description").asText());
      }
      function.set("parameters", tool.path("input_schema").deepCopy());
    }
  }

  private static void toolChoice(String path, JsonNode v, Ctx c) {
    String type = v.path("type").asText();
    List<String> allowed = type.equals("tool") ? List.of("type", "name", "disable_parallel_tool_use")
        : List.of("type", "disable_parallel_tool_use");
    expectOnly(path, v, allowed.toArray(String[]::new));
    switch (type) {
      case "auto" -> c.out.put("tool_choice", "auto");
      case "any" -> c.out.put("tool_choice", "required");
      case "none" -> c.out.put("tool_choice", "none");
      case "tool" -> c.out.putObject("tool_choice").put("type", "function")
          .putObject("function").put("name", v.path("name").asText());
      default -> throw refuse(path + ".type", "'" + type + "' is not a tool choice");
    }
    if (v.path("disable_parallel_tool_use").asBoolean(false)) {
      c.out.put("parallel_tool_calls", false);
    }
  }
}
