package io.sluice.usage;

/**
 * What {@link RequestRewriter} learned from a JSON request body, and the body to send upstream.
 *
 * @param stream the top-level {@code "stream"} is {@code true}
 * @param model the top-level {@code "model"}, or null
 * @param maxOutputTokens the client's output cap: {@code max_completion_tokens}, else
 *     {@code max_output_tokens} (Responses), else {@code max_tokens}; -1 when none was given (the
 *     rate limiter then reserves its {@code default-max-tokens})
 * @param clientAskedForUsage the client itself sent {@code "stream_options":{"include_usage":true}}
 * @param dropUsageChunk the gateway added {@code include_usage}; the relay must drop the
 *     usage-only chunk again (pass this to {@link UsageTracker})
 * @param prompt the estimated prompt size in tokens (text of messages / input / system /
 *     instructions / tools, cl100k_base, plus 4 per message and 3 for the reply), counted when first
 *     asked for
 * @param rewrittenBody the body to send instead of the client's, or null to send the client's
 *     bytes unchanged (no copy was made)
 */
public record RequestInfo(boolean stream, String model, long maxOutputTokens, boolean clientAskedForUsage,
    boolean dropUsageChunk, PromptEstimate prompt, byte[] rewrittenBody) {

  /** The prompt estimate, counted now if it was not yet. */
  public long promptTokens() {
    return prompt.getAsLong();
  }

  /** True when the body was rewritten ({@link #rewrittenBody} is to be sent). */
  public boolean rewritten() {
    return rewrittenBody != null;
  }

  /** The bytes to send upstream: the rewritten body, or {@code original} itself (same instance). */
  public byte[] bodyOr(byte[] original) {
    return rewrittenBody != null ? rewrittenBody : original;
  }
}
