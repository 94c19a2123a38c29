package io.sluice.plugins.budget;

import io.sluice.config.PriceConfig;
import io.sluice.plugin.Decision;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import io.sluice.plugins.budget.BudgetSettings.Rule;
import io.sluice.plugins.budget.BudgetSettings.Unit;
import io.sluice.plugins.quota.Counters.Reservation;
import io.sluice.plugins.quota.Hold;
import io.sluice.plugins.quota.KeySource;
import io.sluice.plugins.quota.Ledger;
import io.sluice.plugins.quota.ReservationEstimator;
import io.sluice.plugins.quota.ReservingPlugin;
import io.sluice.plugins.quota.Slot;
import io.sluice.usage.Pricing;
import io.sluice.usage.Usage;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code ai-budget} on one route: USD or tokens per calendar period (UTC day, week from Monday,
 * month), per key (gateway-plugins/docs/ai-budget.md).
 *
 * <p>Reserve, then reconcile. A request is refused (429 {@code insufficient_quota} /
 * {@code budget_exceeded}, {@code Retry-After} until the period ends) only when a rule's period is
 * already spent; otherwise its estimate is charged at once to every rule — tokens: prompt estimate
 * plus the output it allows; USD: the same tokens at the requested model's price (0 when the
 * pricing table has none) — so a burst of concurrent requests cannot all slip through an almost
 * spent budget. When the usage is final, before the response's last bytes reach the client
 * ({@code onUsage}), the charge is corrected to the real usage (USD: at the served model's price,
 * cached input as cached, reasoning as output). An exchange that ends otherwise is corrected when
 * it ends ({@code onComplete}): to its usage when known, refunded when no answer was produced
 * (status ≥ 400), else the reservation stands.
 *
 * The bookkeeping is {@link Ledger}'s and the hooks {@link ReservingPlugin}'s, shared with
 * {@code ai-token-ratelimit}.
 *
 * <p>Threading: one instance serves every request of its route on every event loop; per-request
 * state is a {@link Hold}, kept by the ledger from the reservation to {@code onComplete}. A reservation that
 * completes after its exchange already ended is refunded at once.
 *
 * <p>Backpressure: nothing is queued here: one Redis round trip to reserve, at most one to
 * reconcile, each bounded by the store's command timeout.
 *
 * <p>Failure: as {@code ai-token-ratelimit}: when Redis cannot answer a reservation, the request is
 * counted in this gateway's local counters instead (the budget is then enforced per gateway until
 * Redis is back; core logs it and exports {@code sluice_ratelimit_store_degraded}). A correction
 * whose store cannot answer is dropped (the reservation stands).
 */
final class BudgetPlugin extends ReservingPlugin<Hold> {
  static final String NAME = "ai-budget";
  static final String REMAINING_HEADER = "x-sluice-budget-remaining";
  /** The Redis key prefix (stored by running fleets: never change it). */
  static final String REDIS_PREFIX = "sluice:budget:";

  private final BudgetSettings settings;
  private final Set<String> declaredConsumers;

  BudgetPlugin(BudgetSettings settings, PluginServices services) {
    super(NAME, services, settings.defaultMaxTokens(), settings.store(), REDIS_PREFIX);
    this.settings = settings;
    Set<String> names = new HashSet<>();
    services.consumers().forEach(c -> names.add(c.name()));
    this.declaredConsumers = Set.copyOf(names);
  }

  /** Every rule is charged the estimate: its tokens, or their cost at the requested model's price. */
  @Override
  protected Hold hold(RequestContext request, long now) {
    List<Slot> slots = slots(request, now);
    ReservationEstimator.Estimate estimate = estimator.parts(request);
    long[] amounts = new long[slots.size()];
    long nanos = -1;
    for (int i = 0; i < amounts.length; i++) {
      if (settings.rules().get(slots.get(i).rule()).unit() == Unit.TOKENS) {
        amounts[i] = estimate.total();
      } else {
        if (nanos < 0) {
          PriceConfig price = services.pricing().priceOf(estimate.model());
          nanos = price == null ? 0 : Pricing.nanos(Pricing.cost(price, estimate.prompt(), 0, estimate.output()));
        }
        amounts[i] = nanos;
      }
    }
    return new Hold(slots, amounts, now);
  }

  @Override
  protected void reserved(RequestContext request, Hold hold, Reservation r) {
    export(request, hold, r);
  }

  @Override
  protected Decision.Reject refusal(long retryAfter) {
    return new Decision.Reject(429, "insufficient_quota", "budget_exceeded",
        "budget exceeded; it renews in " + retryAfter + "s", Map.of("Retry-After", Long.toString(retryAfter)));
  }

  @Override
  protected void remainingHeaders(Hold hold, Reservation r, ResponseHeaders headers) {
    int most = mostRestrictive(hold.slots(), r.remaining());
    headers.set(REMAINING_HEADER, format(settings.rules().get(hold.slots().get(most).rule()).unit(), r.remaining()[most]));
  }

  /** The real amount per slot: tokens, or the usage's cost at the served model's price. */
  @Override
  protected long[] actuals(Hold hold, Usage usage) {
    long[] real = new long[hold.slots().size()];
    long nanos = -1;
    for (int i = 0; i < real.length; i++) {
      if (settings.rules().get(hold.slots().get(i).rule()).unit() == Unit.TOKENS) {
        real[i] = usage.totalTokens();
      } else {
        if (nanos < 0) {
          BigDecimal cost = services.pricing().cost(usage);
          nanos = cost == null ? 0 : Pricing.nanos(cost);
        }
        real[i] = nanos;
      }
    }
    return real;
  }

  /**
   * The budget gauges, for rules keyed by declared consumers only: every other key (addresses,
   * header values) is unbounded and must not become a label.
   */
  private void export(RequestContext request, Hold p, Reservation r) {
    for (int i = 0; i < p.slots().size(); i++) {
      Slot s = p.slots().get(i);
      Rule rule = settings.rules().get(s.rule());
      if (rule.limitBy().source() != KeySource.CONSUMER || s.key() == null
          || !declaredConsumers.contains(s.key())) {
        continue;
      }
      double scale = rule.unit() == Unit.USD ? 1e9 : 1;
      services.budget(request.route(), rule.label(), s.key(), rule.unit().label(), s.limit() / scale,
          Math.max(0, r.remaining()[i]) / scale);
    }
  }

  private List<Slot> slots(RequestContext request, long now) {
    List<Slot> out = new ArrayList<>(settings.rules().size());
    for (Rule rule : settings.rules()) {
      String key = rule.limitBy().value(request);
      out.add(new Slot(rule.index(), key, rule.period().start(now), rule.period().end(now), rule.limitFor(key)));
    }
    return out;
  }

  /** The rule with the smallest share of its limit left; on a tie, the one whose period ends last. */
  static int mostRestrictive(List<Slot> slots, long[] remaining) {
    int best = 0;
    for (int i = 1; i < slots.size(); i++) {
      double share = share(remaining[i], slots.get(i).limit());
      double bestShare = share(remaining[best], slots.get(best).limit());
      if (share < bestShare || (share == bestShare && slots.get(i).end() > slots.get(best).end())) {
        best = i;
      }
    }
    return best;
  }

  private static double share(long remaining, long limit) {
    return limit <= 0 ? 0 : (double) Math.max(0, remaining) / limit;
  }

  /** USD with 6 decimals (rounded down: never more than is left), or whole tokens; never below 0. */
  static String format(Unit unit, long remaining) {
    long left = Math.max(0, remaining);
    if (unit == Unit.TOKENS) {
      return Long.toString(left);
    }
    return BigDecimal.valueOf(left, 9).setScale(6, RoundingMode.DOWN).toPlainString();
  }
}
