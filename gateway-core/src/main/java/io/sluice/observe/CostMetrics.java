package io.sluice.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The money metrics (gateway-core/docs/usage.md, "Cost"): {@code sluice_cost_usd_total{route,
 * consumer, model}}, {@code sluice_unpriced_tokens_total{model}}, and the budget gauges of
 * {@code ai-budget} ({@code sluice_budget_limit} / {@code sluice_budget_remaining}{route, rule,
 * key, unit}).
 *
 * <p>Exact: cost is summed in whole nano-dollars (a {@link LongAdder}) and divided once when
 * scraped, so the counter never accumulates binary rounding errors.
 *
 * <p>Cardinality: every label comes bounded from the caller — routes and rules from the config,
 * consumers as the gateway labels them (declared names, {@code undeclared}, {@code anonymous}),
 * models through {@link io.sluice.usage.ModelLabels}; budget gauges only for keys that are declared
 * consumers.
 */
public final class CostMetrics {
  private final MeterRegistry registry;
  private final LabelledMeters<LongAdder> cost;
  private final ConcurrentHashMap<String, Counter> unpriced = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Tags, AtomicLong[]> budgets = new ConcurrentHashMap<>();

  CostMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.cost = new LabelledMeters<>(v -> {
      LongAdder sum = new LongAdder();
      FunctionCounter.builder("sluice.cost.usd", sum, s -> s.sum() / 1e9)
          .tags("route", v[0], "consumer", v[1], "model", v[2])
          .description("USD spent on LLM tokens (from the pricing table), by route, consumer and model")
          .register(registry);
      return sum;
    });
  }

  /** What an exchange cost, in nano-dollars (10⁻⁹ USD). */
  public void cost(String route, String consumer, String model, long nanos) {
    if (nanos <= 0) {
      return;
    }
    cost.get(route, consumer, model).add(nanos);
  }

  /** Tokens of a model the pricing table has no price for (they cost 0). */
  public void unpriced(String model, long tokens) {
    if (tokens <= 0) {
      return;
    }
    unpriced.computeIfAbsent(model, m -> Counter.builder("sluice.unpriced.tokens").tags("model", m)
        .description("LLM tokens of models without a price in the pricing table").register(registry))
        .increment(tokens);
  }

  /**
   * A budget's state after a request: limit and remaining, in USD or tokens ({@code unit}), for
   * one rule and key of a route.
   */
  public void budget(String route, String rule, String key, String unit, double limit, double remaining) {
    AtomicLong[] values = budgets.computeIfAbsent(Tags.of("route", route, "rule", rule, "key", key, "unit", unit),
        tags -> {
          AtomicLong[] v = {new AtomicLong(), new AtomicLong()};
          Gauge.builder("sluice.budget.limit", v[0], a -> Double.longBitsToDouble(a.get())).tags(tags)
              .description("The ai-budget limit of a rule and key for the current period").register(registry);
          Gauge.builder("sluice.budget.remaining", v[1], a -> Double.longBitsToDouble(a.get())).tags(tags)
              .description("What is left of an ai-budget rule's period for a key (after the latest request)")
              .register(registry);
          return v;
        });
    values[0].set(Double.doubleToRawLongBits(limit));
    values[1].set(Double.doubleToRawLongBits(remaining));
  }
}
