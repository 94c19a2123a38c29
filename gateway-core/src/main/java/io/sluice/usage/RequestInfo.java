package io.sluice.usage;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

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

  /**
   * The rewritten body in a new direct buffer from {@code alloc} (the channel's pooled allocator),
   * owned by the caller. Why not a heap buffer: the request's body is kept until the exchange ends,
   * for the prompt estimate ({@link PromptEstimate}), so it survives every young collection during
   * the stream and each one copies it; a pooled direct buffer costs the collector only its small
   * wrapper (gateway-server/docs/memory.md). A direct buffer is also what the socket write wants:
   * Netty copies a heap buffer into one before writing it.
   */
  public ByteBuf rewrittenBuffer(ByteBufAllocator alloc) {
    ByteBuf out = alloc.directBuffer(rewrittenBody.length, rewrittenBody.length);
    return out.writeBytes(rewrittenBody);
  }

  /** The bytes to send upstream: the rewritten body, or {@code original} itself (same instance). */
  public byte[] bodyOr(byte[] original) {
    return rewrittenBody != null ? rewrittenBody : original;
  }
}
