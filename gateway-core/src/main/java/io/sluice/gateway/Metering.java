package io.sluice.gateway;

import io.sluice.exchange.Exchange;
import io.sluice.observe.CostMetrics;
import io.sluice.usage.Pricing;
import io.sluice.usage.Usage;
import java.math.BigDecimal;

/**
 * What an ended exchange's usage adds beyond input and output tokens: its cached and reasoning
 * tokens ({@code sluice_tokens_total{type="cached_input"|"reasoning"}}, access-log
 * {@code tokens_cached} / {@code tokens_reasoning}) and, when a {@code pricing} table is
 * configured, its cost ({@code sluice_cost_usd_total}, access-log {@code cost_usd}; an unpriced
 * model costs 0 and its tokens are counted in {@code sluice_unpriced_tokens_total}).
 */
final class Metering {
  private Metering() {}

  /** @param model the bounded model label ({@code GatewayMetrics#modelLabel}) */
  static void record(GatewayContext gateway, Exchange exchange, String route, String consumer, String model,
      Usage used) {
    exchange.tokenDetails(used.cachedInputTokens(), used.reasoningTokens());
    gateway.metrics().tokens(route, consumer, model, "cached_input", used.cachedInputTokens());
    gateway.metrics().tokens(route, consumer, model, "reasoning", used.reasoningTokens());
    Pricing pricing = gateway.pricing();
    if (pricing.isEmpty()) {
      return;
    }
    CostMetrics metrics = gateway.metrics().cost();
    BigDecimal cost = pricing.cost(used);
    if (cost == null) {
      exchange.costUsd(BigDecimal.ZERO);
      metrics.unpriced(model, used.totalTokens());
      return;
    }
    exchange.costUsd(cost);
    metrics.cost(route, consumer, model, Pricing.nanos(cost));
  }
}
