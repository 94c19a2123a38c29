package io.sluice.usage;

/**
 * The tokens one exchange used.
 *
 * @param inputTokens prompt tokens as reported (including cached ones)
 * @param outputTokens generated tokens as reported (including reasoning ones), or estimated
 * @param cachedInputTokens the part of {@code inputTokens} served from the provider's prompt cache
 * @param reasoningTokens the part of {@code outputTokens} spent on hidden reasoning
 * @param model the response's model (else the request's), or null
 * @param estimated true when the upstream reported no usage and the figures were estimated
 */
public record Usage(long inputTokens, long outputTokens, long cachedInputTokens, long reasoningTokens,
    String model, boolean estimated) {

  public long totalTokens() {
    return inputTokens + outputTokens;
  }
}
