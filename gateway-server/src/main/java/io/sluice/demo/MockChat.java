package io.sluice.demo;

import static io.sluice.demo.MockModelServer.JSON;
import static io.sluice.demo.MockModelServer.MODEL_ID;
import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.demo.MockModelServer.Tokens;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The mock's OpenAI Chat Completions API ({@code POST /v1/chat/completions}): the request it
 * accepts, the whole completion, the streamed chunks and OpenAI's error shape.
 * {@link MockConnection} routes to it and paces the stream ({@code max_tokens} or
 * {@code max_completion_tokens} as the exact token count, the
 * {@value MockModelServer#TOKEN_INTERVAL_HEADER} header, backpressure), exactly as it does
 * Anthropic's ({@link MockMessages}).
 *
 * <p>The stream, as OpenAI sends it: the role chunk, one chunk per token, the finish chunk, the
 * usage chunk when the request asked for it ({@code stream_options.include_usage}), and
 * {@code [DONE]}.
 */
final class MockChat {
  private MockChat() {}

  /** A parsed {@code /v1/chat/completions} request. */
  record Request(String model, boolean stream, boolean includeUsage, Integer maxTokens, int promptTokens) {}

  /** A request we refuse with 400, carrying the OpenAI error fields. */
  static final class Invalid extends Exception {
    final String param;
    final String code;

    Invalid(String message, String param, String code) {
      super(message, null, false, false);
      this.param = param;
      this.code = code;
    }
  }

  /** A request body read ({@link #parse}) as the answer to give. */
  static MockAnswer answer(ByteBuf content) throws Invalid {
    Request chat = parse(content);
    return new MockAnswer(chat.maxTokens(), chat.stream(), t -> completion(chat, t), t -> new Events(chat, t));
  }

  /**
   * Reads a request body: {@code messages} is required; {@code model} defaults to
   * {@value MockModelServer#MODEL_ID}. Does not release {@code content}.
   */
  static Request parse(ByteBuf content) throws Invalid {
    // The request (and so its content) is released by SimpleChannelInboundHandler after channelRead0.
    JsonNode body = MockModelServer.jsonObject(content, "We could not parse the JSON body of your request: ",
        problem -> new Invalid(problem, null, "invalid_json"));
    JsonNode modelNode = body.get("model");
    String model = MODEL_ID;
    if (modelNode != null && !modelNode.isNull()) {
      if (!modelNode.isTextual()) {
        throw new Invalid("'model' must be a string.", "model", "invalid_type");
      }
      if (!modelNode.asText().isBlank()) {
        model = modelNode.asText();
      }
    }
    JsonNode messages = body.get("messages");
    if (messages == null || !messages.isArray()) {
      throw new Invalid("'messages' is required and must be an array.", "messages",
          messages == null ? "missing_required_parameter" : "invalid_type");
    }
    boolean stream = bool(body.get("stream"), "stream");
    JsonNode streamOptions = body.get("stream_options");
    boolean includeUsage = false;
    if (streamOptions != null && !streamOptions.isNull()) {
      if (!streamOptions.isObject()) {
        throw new Invalid("'stream_options' must be an object.", "stream_options", "invalid_type");
      }
      includeUsage = bool(streamOptions.get("include_usage"), "stream_options.include_usage");
    }
    // max_completion_tokens is the newer name for the same limit; honour whichever is smaller.
    Integer maxTokens = positiveInt(body.get("max_tokens"), "max_tokens");
    Integer maxCompletion = positiveInt(body.get("max_completion_tokens"), "max_completion_tokens");
    if (maxTokens == null || (maxCompletion != null && maxCompletion < maxTokens)) {
      maxTokens = maxCompletion;
    }
    return new Request(model, stream, stream && includeUsage, maxTokens, MockModelServer.countWords(messages));
  }

  private static boolean bool(JsonNode node, String param) throws Invalid {
    if (node == null || node.isNull()) {
      return false;
    }
    if (!node.isBoolean()) {
      throw new Invalid("'" + param + "' must be a boolean.", param, "invalid_type");
    }
    return node.booleanValue();
  }

  private static Integer positiveInt(JsonNode node, String param) throws Invalid {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.canConvertToInt() || !node.isIntegralNumber() || node.intValue() < 1) {
      throw new Invalid("'" + param + "' must be an integer >= 1.", param, "invalid_value");
    }
    return node.intValue();
  }

  /** OpenAI's error body: {@code {"error":{"message","type","param","code"}}}. */
  static ObjectNode error(String message, String type, String param, String code) {
    ObjectNode body = JSON.createObjectNode();
    body.putObject("error")
        .put("message", message)
        .put("type", type)
        .put("param", param)
        .put("code", code);
    return body;
  }

  /** {@code GET /v1/models}: OpenAI's list, with the one model the mock knows. */
  static ObjectNode models() {
    ObjectNode body = JSON.createObjectNode().put("object", "list");
    body.putArray("data").addObject()
        .put("id", MODEL_ID)
        .put("object", "model")
        .put("created", 0)
        .put("owned_by", "sluice");
    return body;
  }

  /** The whole (non-streamed) chat completion. */
  static ObjectNode completion(Request chat, Tokens tokens) {
    ObjectNode body = JSON.createObjectNode()
        .put("id", MockModelServer.newId("chatcmpl-"))
        .put("object", "chat.completion")
        .put("created", Instant.now().getEpochSecond())
        .put("model", chat.model());
    ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
    choice.putObject("message").put("role", "assistant").put("content", tokens.join());
    choice.putNull("logprobs");
    choice.put("finish_reason", tokens.finishReason());
    body.set("usage", usage(chat.promptTokens(), tokens.count()));
    return body;
  }

  private static ObjectNode usage(int promptTokens, int completionTokens) {
    return JSON.createObjectNode()
        .put("prompt_tokens", promptTokens)
        .put("completion_tokens", completionTokens)
        .put("total_tokens", promptTokens + completionTokens);
  }

  private static final class Events implements MockEvents {
    /** What every chunk of the stream starts with: its id, object, creation time and model. */
    private final ObjectNode header;
    private final Request chat;
    private final Tokens tokens;
    private MockEvents.TokenTemplate tokenTemplate;

    Events(Request chat, Tokens tokens) {
      this.header = JSON.createObjectNode()
          .put("id", MockModelServer.newId("chatcmpl-"))
          .put("object", "chat.completion.chunk")
          .put("created", Instant.now().getEpochSecond())
          .put("model", chat.model());
      this.chat = chat;
      this.tokens = tokens;
    }

    @Override
    public List<byte[]> opening() {
      return List.of(event(chunk(JSON.createObjectNode().put("role", "assistant").put("content", ""), null)));
    }

    @Override
    public ByteBuf token(ByteBufAllocator alloc, int i) {
      if (tokenTemplate == null) {
        tokenTemplate = MockEvents.TokenTemplate.of(new String(event(chunk(
            JSON.createObjectNode().put("content", MockEvents.TokenTemplate.MARKER), null)), UTF_8), tokens);
      }
      return tokenTemplate.event(alloc, i);
    }

    @Override
    public List<byte[]> closing() {
      List<byte[]> events = new ArrayList<>(3);
      events.add(event(chunk(JSON.createObjectNode(), tokens.finishReason())));
      if (chat.includeUsage()) {
        ObjectNode usageChunk = header();
        usageChunk.putArray("choices");
        usageChunk.set("usage", usage(chat.promptTokens(), tokens.count()));
        events.add(event(usageChunk));
      }
      events.add("data: [DONE]\n\n".getBytes(UTF_8));
      return events;
    }

    private ObjectNode header() {
      return header.deepCopy();
    }

    private ObjectNode chunk(ObjectNode delta, String finish) {
      ObjectNode chunk = header();
      ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
      choice.set("delta", delta);
      choice.putNull("logprobs");
      choice.put("finish_reason", finish);
      if (chat.includeUsage()) {
        // OpenAI: with include_usage, every other chunk carries "usage": null.
        chunk.putNull("usage");
      }
      return chunk;
    }

    private static byte[] event(JsonNode data) {
      return ("data: " + new String(MockModelServer.toBytes(data), UTF_8) + "\n\n").getBytes(UTF_8);
    }
  }
}
