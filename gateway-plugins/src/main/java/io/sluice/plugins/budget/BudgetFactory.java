package io.sluice.plugins.budget;

import io.sluice.config.PluginSettings;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import io.sluice.plugins.budget.BudgetSettings.Rule;
import io.sluice.plugins.budget.BudgetSettings.Unit;
import io.sluice.plugins.quota.LimitBy;
import io.sluice.plugins.quota.QuotaSettingsReader;
import io.sluice.usage.Pricing;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;

/**
 * Makes {@code ai-budget} (gateway-plugins/docs/ai-budget.md): TRAFFIC phase, priority 800 (after
 * {@code rate-limit}'s 1000 and {@code ai-token-ratelimit}'s 900, so a request refused for its
 * rate never takes a budget reservation). Reads the request body, for the prompt's size, its max
 * tokens and its model.
 */
public final class BudgetFactory implements PluginFactory<BudgetSettings> {
  private static final long MAX_TOKENS = 1L << 50;
  /** At most this many USD per period (in nano-dollars it stays far from a long's end). */
  private static final BigDecimal MAX_USD = BigDecimal.valueOf(1_000_000_000L);

  @Override
  public String name() {
    return BudgetPlugin.NAME;
  }

  @Override
  public Phase phase() {
    return Phase.TRAFFIC;
  }

  @Override
  public int priority() {
    return 800;
  }

  @Override
  public boolean needsBody() {
    return true;
  }

  @Override
  public BudgetSettings parse(PluginSettings s) {
    QuotaSettingsReader q = new QuotaSettingsReader(s);
    List<Rule> rules = q.rules(BudgetFactory::rule);
    long defaultMax = q.defaultMaxTokens();
    String store = q.store();
    s.finish();
    return q.ok() ? new BudgetSettings(rules, defaultMax, store) : null;
  }

  private static Rule rule(int index, PluginSettings r) {
    QuotaSettingsReader q = new QuotaSettingsReader(r);
    LimitBy limitBy = q.limitBy();
    Period period = null;
    PluginSettings p = r.get("period").required();
    String periodName = p.nonEmptyString();
    if (periodName != null) {
      period = Period.of(periodName);
      if (period == null) {
        p.problem("expected day, week or month (got '" + periodName + "')");
      }
    }
    q.check(period);
    PluginSettings usd = r.get("usd");
    PluginSettings tokens = r.get("tokens");
    Unit unit = null;
    Long limit = null;
    if (usd.present() && tokens.present()) {
      r.problem("usd cannot be combined with tokens in one rule");
      q.fail();
    } else if (usd.present()) {
      unit = Unit.USD;
      limit = q.check(nanos(usd));
    } else if (tokens.present()) {
      unit = Unit.TOKENS;
      limit = q.check(tokens.longValue(1, MAX_TOKENS));
    } else {
      r.problem("one of usd or tokens is required");
      q.fail();
    }
    Unit u = unit;
    Map<String, Long> overrides = q.overrides(
        v -> u == Unit.USD ? nanos(v) : u == Unit.TOKENS ? v.longValue(0, MAX_TOKENS) : null);
    r.finish();
    return q.ok() ? new Rule(index, limitBy, period, unit, limit, overrides) : null;
  }

  /** A USD amount in nano-dollars; null (with a problem) when it is not a number in range. */
  private static Long nanos(PluginSettings v) {
    BigDecimal usd = v.nonNegativeDecimal();
    if (usd == null) {
      return null;
    }
    if (usd.compareTo(MAX_USD) > 0) {
      v.problem("expected at most " + MAX_USD.toPlainString() + " USD");
      return null;
    }
    return Pricing.nanos(usd);
  }

  @Override
  public Plugin create(BudgetSettings settings, PluginServices services) {
    return new BudgetPlugin(settings, services);
  }
}
