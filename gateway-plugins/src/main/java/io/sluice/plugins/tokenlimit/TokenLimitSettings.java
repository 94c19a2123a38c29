package io.sluice.plugins.tokenlimit;

import io.sluice.plugins.quota.LimitBy;
import java.util.List;
import java.util.Map;

/**
 * The validated config of one route's {@code ai-token-ratelimit}.
 *
 * @param defaultMaxTokens the plugin's {@code default-max-tokens}, or 0 (then the route's, else 1024)
 * @param store null for local counting, else the {@code redis://} URI shared by the fleet
 */
record TokenLimitSettings(List<Rule> rules, long defaultMaxTokens, boolean midStream, String store) {

  TokenLimitSettings {
    rules = List.copyOf(rules);
  }

  /**
   * One rule: a key, one window and its limit, with other limits for named keys.
   *
   * @param limitBy where the rule's key comes from
   */
  record Rule(int index, LimitBy limitBy, Window window, long limit,
      Map<String, Long> overrides) {

    Rule {
      overrides = Map.copyOf(overrides);
    }

    long limitFor(String key) {
      return key == null ? limit : overrides.getOrDefault(key, limit);
    }
  }
}
