package io.sluice.usage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Reads what the gateway needs from a chat-completions request body and, for a streamed request
 * whose client did not ask for usage, asks for it: {@code "stream_options": {"include_usage":
 * true}}, so token metrics and limits are exact. The usage-only chunk this adds is dropped again
 * before it reaches the client ({@link UsageTracker.Verdict#DROP}). Every other field is kept, in
 * its order. Never used on {@code passthrough} routes, whose bodies are never touched.
 */
public final class RequestRewriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * @param body the body to send upstream: the original array when nothing changed
   * @param model the request's {@code model}, or null
   * @param dropUsageChunk the gateway added {@code include_usage}; the client must not see its chunk
   */
  public record Result(byte[] body, boolean rewritten, String model, boolean dropUsageChunk) {}

  private RequestRewriter() {}

  /** Inspects (and where needed rewrites) an {@code api: openai-chat} request body. */
  public static Result openAiChat(byte[] body) {
    JsonNode root;
    try {
      root = body.length == 0 ? null : JSON.readTree(body);
    } catch (Exception notJson) {
      root = null;
    }
    if (!(root instanceof ObjectNode request)) {
      return new Result(body, false, null, false);
    }
    String model = request.path("model").isTextual() ? request.path("model").asText() : null;
    boolean streamed = request.path("stream").asBoolean(false);
    boolean asked = request.path("stream_options").path("include_usage").asBoolean(false);
    if (!streamed || asked) {
      return new Result(body, false, model, false);
    }
    JsonNode options = request.path("stream_options");
    ObjectNode streamOptions = options instanceof ObjectNode o ? o : request.putObject("stream_options");
    streamOptions.put("include_usage", true);
    try {
      return new Result(JSON.writeValueAsBytes(request), true, model, true);
    } catch (Exception e) {
      return new Result(body, false, model, false);
    }
  }

  /** The request's {@code model} of any JSON API body, or null. */
  public static String model(byte[] body) {
    try {
      JsonNode root = JSON.readTree(body);
      return root != null && root.path("model").isTextual() ? root.path("model").asText() : null;
    } catch (Exception notJson) {
      return null;
    }
  }
}
