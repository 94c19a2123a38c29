package io.sluice.plugins.tokenlimit;

/**
 * One rule's counter for one request: the rule, the request's key (null: the shared bucket of
 * requests without one), the window it falls in and the limit that applies to the key.
 */
record Slot(int rule, String key, long windowStart, long windowMillis, long limit) {
  long windowEnd() {
    return windowStart + windowMillis;
  }
}
