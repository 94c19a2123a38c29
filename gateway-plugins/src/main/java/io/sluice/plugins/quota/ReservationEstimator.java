package io.sluice.plugins.quota;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.plugin.RequestContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * How many tokens to reserve for a request before it goes upstream: its prompt's size plus the
 * output it allows. (Not to be confused with core's {@code io.sluice.usage.TokenEstimator}, which
 * counts the tokens of a text with a real tokenizer when an upstream reports no usage: a
 * reservation must be cheap and is corrected at the end anyway.)
 *
 * <p>Prompt: the UTF-8 bytes of every text in {@code messages}, {@code input}, {@code system},
 * {@code instructions} and {@code prompt} (OpenAI chat and Responses, Anthropic Messages, legacy
 * completions), divided by 4 and rounded up — about a token per four bytes of English. A body that
 * is not JSON counts all its bytes. Output: {@code max_tokens}, {@code max_completion_tokens} or
 * {@code max_output_tokens} (the first present and positive), else the plugin's
 * {@code default-max-tokens}, else the route's, else 1024.
 * The estimate is only a reservation: it is reconciled with the reported usage at the end.
 */
public final class ReservationEstimator {
  static final int BYTES_PER_TOKEN = 4;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> PROMPT_FIELDS = List.of("messages", "input", "system", "instructions", "prompt");
  private static final List<String> MAX_FIELDS = List.of("max_tokens", "max_completion_tokens", "max_output_tokens");

  /** The output reserved when neither the request, the plugin nor the route names one. */
  public static final long DEFAULT_MAX_TOKENS = 1024;

  private final long defaultMaxTokens; // the plugin's own default-max-tokens, or 0

  /** @param defaultMaxTokens the plugin's {@code default-max-tokens}, or 0 when it sets none */
  public ReservationEstimator(long defaultMaxTokens) {
    this.defaultMaxTokens = defaultMaxTokens;
  }

  /**
   * The output reserved for a request that names no max tokens: the plugin's
   * {@code default-max-tokens}, else the route's, else {@value #DEFAULT_MAX_TOKENS}.
   */
  public long defaultMaxTokens(RequestContext request) {
    if (defaultMaxTokens > 0) {
      return defaultMaxTokens;
    }
    long route = request.defaultMaxTokens();
    return route > 0 ? route : DEFAULT_MAX_TOKENS;
  }

  /** A request's estimate in parts ({@code ai-budget} prices prompt and output apart). */
  public record Estimate(long prompt, long output, String model) {
    public long total() {
      return prompt + output;
    }
  }

  /** The whole estimate: prompt plus allowed output. */
  public long estimate(RequestContext request) {
    return parts(request).total();
  }

  /** The prompt's and the allowed output's tokens, and the request's {@code model} (or null). */
  public Estimate parts(RequestContext request) {
    return parts(request.body(), defaultMaxTokens(request));
  }

  static Estimate parts(byte[] body, long defaultMaxTokens) {
    if (body == null || body.length == 0) {
      return new Estimate(0, defaultMaxTokens, null);
    }
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      root = null;
    }
    if (root == null || !root.isObject()) {
      return new Estimate(tokens(body.length), defaultMaxTokens, null);
    }
    long bytes = 0;
    for (String f : PROMPT_FIELDS) {
      bytes += textBytes(root.get(f));
    }
    JsonNode model = root.get("model");
    return new Estimate(tokens(bytes), maxOutput(root, defaultMaxTokens),
        model != null && model.isTextual() ? model.textValue() : null);
  }

  private static long maxOutput(JsonNode root, long defaultMaxTokens) {
    for (String f : MAX_FIELDS) {
      JsonNode n = root.get(f);
      if (n != null && n.canConvertToLong() && n.asLong() > 0) {
        return n.asLong();
      }
    }
    return defaultMaxTokens;
  }

  static long tokens(long bytes) {
    return (bytes + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN;
  }

  /** UTF-8 bytes of the strings under {@code node} (message texts; roles and keys are not counted). */
  private static long textBytes(JsonNode node) {
    if (node == null) {
      return 0;
    }
    if (node.isTextual()) {
      return node.textValue().getBytes(StandardCharsets.UTF_8).length;
    }
    long sum = 0;
    if (node.isArray()) {
      for (JsonNode item : node) {
        sum += textBytes(item);
      }
    } else if (node.isObject()) {
      // content parts and messages: {"role": …, "content": …}, {"type": "text", "text": …}
      for (String f : List.of("content", "text", "input", "output", "arguments")) {
        sum += textBytes(node.get(f));
      }
    }
    return sum;
  }
}
