package io.sluice.demo;

import static io.sluice.demo.MockModelServer.JSON;
import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.demo.MockModelServer.Tokens;
import java.util.List;

/**
 * The mock's Anthropic Messages API ({@code POST /v1/messages}): the request it accepts, the whole
 * Message body, the streamed event sequence and the error shape, as Anthropic's API reference and
 * streaming guide describe them. {@link MockConnection} routes to it and paces the stream exactly
 * like a chat completion's (the same reply, {@code max_tokens} as the exact token count, the same
 * {@value MockModelServer#TOKEN_INTERVAL_HEADER} header, the same backpressure).
 *
 * <p>The stream: {@code message_start} (the Message with empty content, {@code input_tokens} and
 * {@code output_tokens: 1}), {@code content_block_start} (an empty text block), {@code ping}, one
 * {@code content_block_delta} with a {@code text_delta} per token, {@code content_block_stop},
 * {@code message_delta} ({@code stop_reason}, the output token count) and {@code message_stop};
 * every event named by an {@code event:} line, as Anthropic sends them.
 */
final class MockMessages {

  private MockMessages() {}

  /** A parsed {@code /v1/messages} request. */
  record Request(String model, boolean stream, int maxTokens, int inputTokens) {}

  /** A request Anthropic would refuse with 400 {@code invalid_request_error}. */
  static final class Invalid extends Exception {
    Invalid(String message) {
      super(message, null, false, false);
    }
  }

  /** A request body read ({@link #parse}) as the answer to give. */
  static MockAnswer answer(ByteBuf content) throws Invalid {
    Request request = parse(content);
    return new MockAnswer(request.maxTokens(), request.stream(), t -> message(request, t), t -> new Events(request, t));
  }

  /**
   * Reads a request body: {@code model}, {@code max_tokens} and {@code messages} are required as
   * in Anthropic's API; {@code system} (a string or text blocks) counts towards the input tokens.
   * Does not release {@code content}.
   */
  static Request parse(ByteBuf content) throws Invalid {
    JsonNode body = MockModelServer.jsonObject(content, "The request body is not valid JSON: ", Invalid::new);
    JsonNode model = body.get("model");
    if (model == null || !model.isTextual() || model.asText().isBlank()) {
      throw new Invalid(model == null ? "model: Field required" : "model: Input should be a valid string");
    }
    JsonNode maxTokens = body.get("max_tokens");
    if (maxTokens == null) {
      throw new Invalid("max_tokens: Field required");
    }
    if (!maxTokens.isIntegralNumber() || !maxTokens.canConvertToInt() || maxTokens.intValue() < 1) {
      throw new Invalid("max_tokens: Input should be an integer greater than or equal to 1");
    }
    JsonNode messages = body.get("messages");
    if (messages == null || !messages.isArray()) {
      throw new Invalid(messages == null ? "messages: Field required" : "messages: Input should be a valid list");
    }
    JsonNode stream = body.get("stream");
    if (stream != null && !stream.isNull() && !stream.isBoolean()) {
      throw new Invalid("stream: Input should be a valid boolean");
    }
    int inputTokens = MockModelServer.countWords(messages) + MockModelServer.contentWords(body.get("system"));
    return new Request(model.asText(), stream != null && stream.asBoolean(), maxTokens.intValue(), inputTokens);
  }

  /** Anthropic's error body: {@code {"type":"error","error":{"type":…,"message":…}}}. */
  static ObjectNode error(String type, String message) {
    ObjectNode body = JSON.createObjectNode().put("type", "error");
    body.putObject("error").put("type", type).put("message", message);
    return body;
  }

  /** The whole (non-streamed) Message. */
  static ObjectNode message(Request request, Tokens tokens) {
    ObjectNode body = skeleton(MockModelServer.newId("msg_"), request);
    body.putArray("content").addObject().put("type", "text").put("text", tokens.join());
    body.put("stop_reason", stopReason(tokens)).putNull("stop_sequence");
    body.putObject("usage").put("input_tokens", request.inputTokens()).put("output_tokens", tokens.count());
    return body;
  }

  private static ObjectNode skeleton(String id, Request request) {
    return JSON.createObjectNode()
        .put("id", id)
        .put("type", "message")
        .put("role", "assistant")
        .put("model", request.model());
  }

  /** "end_turn" for the whole reply, "max_tokens" when max_tokens cut (or repeated) it. */
  private static String stopReason(Tokens tokens) {
    return tokens.wholeReply() ? "end_turn" : "max_tokens";
  }

  private static byte[] event(String name, JsonNode data) {
    try {
      return ("event: " + name + "\ndata: " + JSON.writeValueAsString(data) + "\n\n").getBytes(UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise a JSON tree", e);
    }
  }

  private static final class Events implements MockEvents {
    private final Request request;
    private final Tokens tokens;
    private MockEvents.TokenTemplate tokenTemplate;

    Events(Request request, Tokens tokens) {
      this.request = request;
      this.tokens = tokens;
    }

    @Override
    public List<byte[]> opening() {
      ObjectNode message = skeleton(MockModelServer.newId("msg_"), request);
      message.putArray("content");
      message.putNull("stop_reason");
      message.putNull("stop_sequence");
      message.putObject("usage").put("input_tokens", request.inputTokens()).put("output_tokens", 1);
      ObjectNode start = JSON.createObjectNode().put("type", "message_start");
      start.set("message", message);
      return List.of(
          event("message_start", start),
          event("content_block_start", block("content_block_start")
              .set("content_block", JSON.createObjectNode().put("type", "text").put("text", ""))),
          event("ping", JSON.createObjectNode().put("type", "ping")));
    }

    @Override
    public ByteBuf token(ByteBufAllocator alloc, int i) {
      if (tokenTemplate == null) {
        ObjectNode delta = block("content_block_delta");
        delta.putObject("delta").put("type", "text_delta").put("text", MockEvents.TokenTemplate.MARKER);
        tokenTemplate = MockEvents.TokenTemplate.of(
            new String(event("content_block_delta", delta), UTF_8), tokens);
      }
      return tokenTemplate.event(alloc, i);
    }

    @Override
    public List<byte[]> closing() {
      ObjectNode delta = JSON.createObjectNode().put("type", "message_delta");
      delta.putObject("delta").put("stop_reason", stopReason(tokens)).putNull("stop_sequence");
      delta.putObject("usage").put("output_tokens", tokens.count());
      return List.of(
          event("content_block_stop", block("content_block_stop")),
          event("message_delta", delta),
          event("message_stop", JSON.createObjectNode().put("type", "message_stop")));
    }

    private static ObjectNode block(String type) {
      return JSON.createObjectNode().put("type", type).put("index", 0);
    }
  }
}
