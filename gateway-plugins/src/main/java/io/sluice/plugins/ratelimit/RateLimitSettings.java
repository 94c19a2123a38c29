package io.sluice.plugins.ratelimit;

import java.util.List;

/** Validated {@code rate-limit} settings: one or more rules, all of which must admit a request. */
public record RateLimitSettings(List<Rule> rules) {
  public RateLimitSettings {
    rules = List.copyOf(rules);
  }

  /**
   * One token bucket per key value.
   *
   * @param requestsPerSecond refill rate, fractions allowed ({@code 0.5} = one request every 2 s)
   * @param burst bucket size: requests that may arrive at once after a quiet period
   */
  public record Rule(LimitBy limitBy, double requestsPerSecond, int burst) {}
}
