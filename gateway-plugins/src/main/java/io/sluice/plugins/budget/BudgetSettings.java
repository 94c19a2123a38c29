package io.sluice.plugins.budget;

import io.sluice.plugins.quota.LimitBy;
import java.util.List;
import java.util.Map;

/**
 * The validated config of one route's {@code ai-budget}.
 *
 * @param defaultMaxTokens the output reserved for a request that names no max tokens, or 0 (then
 *     the route's {@code default-max-tokens}, else 1024)
 * @param store null for local counting, else the {@code redis://} URI shared by the fleet
 */
record BudgetSettings(List<Rule> rules, long defaultMaxTokens, String store) {

  BudgetSettings {
    rules = List.copyOf(rules);
  }

  /** What a rule counts: nano-dollars (10⁻⁹ USD) or tokens (input + output). */
  enum Unit {
    USD, TOKENS;

    String label() {
      return this == USD ? "usd" : "tokens";
    }
  }

  /**
   * One rule: a key, a calendar period and its limit (in the rule's unit: nano-dollars or tokens),
   * with other limits for named keys.
   *
   * @param limitBy where the rule's key comes from (as written: the gauges' {@code rule} label)
   */
  record Rule(int index, LimitBy limitBy, Period period, Unit unit, long limit,
      Map<String, Long> overrides) {

    Rule {
      overrides = Map.copyOf(overrides);
    }

    long limitFor(String key) {
      return key == null ? limit : overrides.getOrDefault(key, limit);
    }

    /** The {@code rule} label of the budget gauges: {@code <index>:<limit-by>:<period>}. */
    String label() {
      return index + ":" + limitBy.written() + ":" + period.key;
    }
  }
}
