package io.sluice.plugin;

/**
 * How an exchange ended, for {@link Plugin#onComplete}.
 *
 * @param status the status the client got (499 when it went away first)
 * @param outcome {@code ok}, {@code client_closed}, {@code upstream_failed}, …
 */
public record ExchangeSummary(int status, String outcome, long durationNanos) {}
