package io.sluice.plugins.tokenlimit;

/** A rule's fixed window, aligned to the clock (UTC): a minute starts at second 0. */
enum Window {
  SECOND("tokens-per-second", 1_000L),
  MINUTE("tokens-per-minute", 60_000L),
  HOUR("tokens-per-hour", 3_600_000L),
  DAY("tokens-per-day", 86_400_000L);

  final String key;
  final long millis;

  Window(String key, long millis) {
    this.key = key;
    this.millis = millis;
  }

  /** The start of the window holding {@code epochMillis}. */
  long start(long epochMillis) {
    return Math.floorDiv(epochMillis, millis) * millis;
  }
}
