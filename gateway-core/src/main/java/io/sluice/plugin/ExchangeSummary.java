package io.sluice.plugin;

import io.sluice.usage.Usage;

/**
 * How an exchange ended, for {@link Plugin#onComplete}.
 *
 * @param status the status the client got (499 when it went away first)
 * @param outcome {@code ok}, {@code client_closed}, {@code upstream_failed}, …
 * @param usage the tokens used, when the response was a model's answer; else null
 */
public record ExchangeSummary(int status, String outcome, long durationNanos, Usage usage) {

  /** An exchange without token usage. */
  public ExchangeSummary(int status, String outcome, long durationNanos) {
    this(status, outcome, durationNanos, null);
  }
}
