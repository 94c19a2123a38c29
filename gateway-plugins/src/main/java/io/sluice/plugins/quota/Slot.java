package io.sluice.plugins.quota;

/**
 * One rule's counter for one request: the rule, the request's key (null: the shared bucket of
 * requests without one), the window or period it falls in ({@code [start, end)} in epoch
 * milliseconds) and the limit that applies to the key.
 */
public record Slot(int rule, String key, long start, long end, long limit) {

  /** Whole seconds until the slot's window or period ends, at least 1. */
  public long secondsToEnd(long now) {
    return Math.max(1, (end - now + 999) / 1000);
  }
}
