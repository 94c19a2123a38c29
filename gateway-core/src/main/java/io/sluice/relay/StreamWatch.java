package io.sluice.relay;

import io.sluice.usage.Usage;

/**
 * Told the usage after every content event of a stream (the route's plugins' stream hooks, such
 * as a token budget that can run out mid-stream); returns why the stream must stop, or null.
 */
@FunctionalInterface
public interface StreamWatch {
  Stop onUsage(Usage soFar);

  /** The stream ends with {@code event: error} carrying this OpenAI-style error. */
  record Stop(String type, String code, String message) {}
}
