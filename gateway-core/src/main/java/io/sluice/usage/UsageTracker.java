package io.sluice.usage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.config.RouteConfig.Api;
import io.sluice.relay.SseEvent;
import java.nio.charset.StandardCharsets;

/**
 * Follows one model response and tells the relay, event by event, what it is: generated content
 * (for time-to-first-token and inter-token latency), the usage-only chunk the gateway itself asked
 * for (to be dropped), or anything else; at the end it reports the {@link Usage}.
 *
 * <p>How each API reports usage (LESSONS: every one of these was miscounted somewhere):
 * <ul>
 *   <li>OpenAI chat completions: {@code usage} in the JSON body, or for streams in the final chunk
 *       ({@code "choices": []}) that {@code stream_options.include_usage} produces;
 *       {@code prompt_tokens_details.cached_tokens} and
 *       {@code completion_tokens_details.reasoning_tokens} are parts of the totals, not extra.
 *   <li>OpenAI Responses: {@code response.completed} carries {@code response.usage}.
 *   <li>Anthropic Messages: input in {@code message_start} ({@code input_tokens} plus cache reads
 *       and cache writes), output in {@code message_delta} — cumulative, so the last one counts.
 * </ul>
 * Without any report, output tokens are estimated from the streamed text at 4 UTF-8 bytes per
 * token (rounded up) and the usage is marked estimated.
 *
 * <p>Cost: an event's JSON is parsed only when a cheap text check says it may matter (a delta, a
 * usage report, a model name not yet known).
 *
 * <p>Threading: one tracker per exchange, on its event loop.
 */
public final class UsageTracker {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Above this, a non-streamed body is not parsed (its usage is estimated instead). */
  public static final int MAX_BODY = 4 * 1024 * 1024;

  /** What the relay should do with an event. */
  public enum Verdict {
    /** Relay it; it carries no generated content. */
    PASS,
    /** Relay it; it carries generated content (counts for TTFT and inter-token latency). */
    CONTENT,
    /** Do not relay it: the usage-only chunk the gateway asked for on the client's behalf. */
    DROP
  }

  private final Api api;
  private final boolean dropUsageChunk;
  private String model;
  private Long input;
  private Long output;
  private long cached;
  private long reasoning;
  private long streamedTextBytes;

  /**
   * @param requestModel the request's {@code model}, used when the response names none
   * @param dropUsageChunk the gateway added {@code include_usage}; the client did not ask for it
   */
  public UsageTracker(Api api, String requestModel, boolean dropUsageChunk) {
    this.api = api;
    this.model = requestModel;
    this.dropUsageChunk = dropUsageChunk;
  }

  /** Whether usage is followed at all on this API ({@code passthrough} is never looked into). */
  public static boolean tracks(Api api) {
    return api != null && api != Api.PASSTHROUGH;
  }

  /** One whole SSE event of the response, in order. */
  public Verdict onEvent(SseEvent event) {
    String data = event.data();
    if (data == null || data.isEmpty() || data.equals("[DONE]")) {
      return Verdict.PASS;
    }
    try {
      return switch (api) {
        case OPENAI_CHAT -> chatChunk(data);
        case OPENAI_RESPONSES -> responsesEvent(event.event(), data);
        case ANTHROPIC_MESSAGES -> anthropicEvent(event.event(), data);
        case PASSTHROUGH -> Verdict.PASS;
      };
    } catch (Exception malformed) {
      return Verdict.PASS; // not JSON we understand: relayed untouched, usage stays unknown
    }
  }

  private Verdict chatChunk(String data) throws Exception {
    boolean mayHaveUsage = data.contains("\"usage\"");
    boolean mayHaveContent = data.contains("\"delta\"");
    if (!mayHaveUsage && !mayHaveContent && model != null) {
      return Verdict.PASS;
    }
    JsonNode chunk = JSON.readTree(data);
    modelFrom(chunk.path("model"));
    JsonNode usage = chunk.path("usage");
    if (usage.isObject()) {
      input = usage.path("prompt_tokens").asLong();
      output = usage.path("completion_tokens").asLong();
      cached = usage.path("prompt_tokens_details").path("cached_tokens").asLong();
      reasoning = usage.path("completion_tokens_details").path("reasoning_tokens").asLong();
      JsonNode choices = chunk.path("choices");
      if (dropUsageChunk && choices.isArray() && choices.isEmpty()) {
        return Verdict.DROP;
      }
    }
    boolean content = false;
    for (JsonNode choice : chunk.path("choices")) {
      JsonNode delta = choice.path("delta");
      content |= text(delta.path("content")) | text(delta.path("reasoning_content")) | text(delta.path("reasoning"));
      JsonNode tools = delta.path("tool_calls");
      if (tools.isArray() && !tools.isEmpty()) {
        streamedTextBytes += tools.toString().length();
        content = true;
      }
    }
    return content ? Verdict.CONTENT : Verdict.PASS;
  }

  private Verdict responsesEvent(String type, String data) throws Exception {
    JsonNode node = JSON.readTree(data);
    String kind = type != null ? type : node.path("type").asText("");
    if (kind.endsWith(".delta")) {
      text(node.path("delta"));
      return Verdict.CONTENT;
    }
    JsonNode response = node.path("response");
    modelFrom(response.path("model"));
    if (kind.equals("response.completed") || kind.equals("response.incomplete")) {
      JsonNode usage = response.path("usage");
      if (usage.isObject()) {
        input = usage.path("input_tokens").asLong();
        output = usage.path("output_tokens").asLong();
        cached = usage.path("input_tokens_details").path("cached_tokens").asLong();
        reasoning = usage.path("output_tokens_details").path("reasoning_tokens").asLong();
      }
    }
    return Verdict.PASS;
  }

  private Verdict anthropicEvent(String type, String data) throws Exception {
    JsonNode node = JSON.readTree(data);
    String kind = type != null ? type : node.path("type").asText("");
    switch (kind) {
      case "message_start" -> {
        JsonNode message = node.path("message");
        modelFrom(message.path("model"));
        anthropicInput(message.path("usage"));
        JsonNode out = message.path("usage").path("output_tokens");
        if (out.isNumber()) {
          output = out.asLong();
        }
      }
      case "content_block_delta" -> {
        JsonNode delta = node.path("delta");
        text(delta.path("text"));
        text(delta.path("thinking"));
        text(delta.path("partial_json"));
        return Verdict.CONTENT;
      }
      case "message_delta" -> {
        JsonNode usage = node.path("usage");
        if (usage.path("output_tokens").isNumber()) {
          output = usage.path("output_tokens").asLong(); // cumulative: the last one is the total
        }
        if (usage.has("input_tokens")) {
          anthropicInput(usage);
        }
      }
      default -> { }
    }
    return Verdict.PASS;
  }

  private void anthropicInput(JsonNode usage) {
    if (!usage.isObject() || !usage.path("input_tokens").isNumber()) {
      return;
    }
    long read = usage.path("cache_read_input_tokens").asLong();
    long written = usage.path("cache_creation_input_tokens").asLong();
    input = usage.path("input_tokens").asLong() + read + written;
    cached = read;
  }

  /** A complete, non-streamed JSON response body. */
  public void onBody(byte[] body) {
    if (body.length == 0 || body.length > MAX_BODY) {
      return;
    }
    try {
      JsonNode node = JSON.readTree(body);
      modelFrom(node.path("model"));
      JsonNode usage = node.path("usage");
      switch (api) {
        case OPENAI_CHAT -> {
          if (usage.isObject()) {
            input = usage.path("prompt_tokens").asLong();
            output = usage.path("completion_tokens").asLong();
            cached = usage.path("prompt_tokens_details").path("cached_tokens").asLong();
            reasoning = usage.path("completion_tokens_details").path("reasoning_tokens").asLong();
          }
          for (JsonNode choice : node.path("choices")) {
            text(choice.path("message").path("content"));
          }
        }
        case OPENAI_RESPONSES -> {
          if (usage.isObject()) {
            input = usage.path("input_tokens").asLong();
            output = usage.path("output_tokens").asLong();
            cached = usage.path("input_tokens_details").path("cached_tokens").asLong();
            reasoning = usage.path("output_tokens_details").path("reasoning_tokens").asLong();
          }
        }
        case ANTHROPIC_MESSAGES -> {
          anthropicInput(usage);
          if (usage.path("output_tokens").isNumber()) {
            output = usage.path("output_tokens").asLong();
          }
          for (JsonNode block : node.path("content")) {
            text(block.path("text"));
          }
        }
        case PASSTHROUGH -> { }
      }
    } catch (Exception malformed) {
      // not JSON: usage stays unknown
    }
  }

  /** The usage so far: reported, estimated from the streamed text, or null when nothing is known. */
  public Usage usage() {
    if (output != null) {
      return new Usage(input == null ? 0 : input, output, cached, reasoning, model, false);
    }
    if (streamedTextBytes > 0) {
      return new Usage(input == null ? 0 : input, (streamedTextBytes + 3) / 4, cached, 0, model, true);
    }
    return null;
  }

  /** The response's model (else the request's), or null. */
  public String model() {
    return model;
  }

  private void modelFrom(JsonNode node) {
    if (node.isTextual() && !node.asText().isEmpty()) {
      model = node.asText();
    }
  }

  /** Counts a text delta for estimation; true when it is non-empty. */
  private boolean text(JsonNode node) {
    if (!node.isTextual() || node.asText().isEmpty()) {
      return false;
    }
    streamedTextBytes += node.asText().getBytes(StandardCharsets.UTF_8).length;
    return true;
  }
}
