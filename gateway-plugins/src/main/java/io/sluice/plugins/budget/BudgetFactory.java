package io.sluice.plugins.budget;

import io.sluice.config.PluginSettings;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import io.sluice.plugins.budget.BudgetSettings.Rule;
import io.sluice.plugins.budget.BudgetSettings.Unit;
import io.sluice.plugins.tokenlimit.KeySource;
import io.sluice.store.RedisStores;
import io.sluice.usage.Pricing;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
    List<PluginSettings> items = s.get("rules").required().list();
    List<Rule> rules = new ArrayList<>();
    boolean ok = items != null;
    if (items != null && items.isEmpty()) {
      s.get("rules").problem("must not be empty");
      ok = false;
    }
    if (items != null) {
      for (int i = 0; i < items.size(); i++) {
        Rule r = rule(i, items.get(i));
        ok &= r != null;
        if (r != null) {
          rules.add(r);
        }
      }
    }
    long defaultMax = 0; // none: the route's default-max-tokens, else 1024
    PluginSettings dm = s.get("default-max-tokens");
    if (dm.present()) {
      Long v = dm.longValue(1, 10_000_000);
      ok &= v != null;
      defaultMax = v == null ? defaultMax : v;
    }
    String store = null;
    PluginSettings st = s.get("store");
    if (st.present()) {
      String v = st.nonEmptyString();
      if (v == null) {
        ok = false;
      } else if (!"local".equals(v)) {
        String problem = RedisStores.problem(v);
        if (problem != null) {
          st.problem(problem.replace("expected redis://", "expected local, redis://"));
          ok = false;
        } else {
          store = v;
        }
      }
    }
    s.finish();
    return ok ? new BudgetSettings(rules, defaultMax, store) : null;
  }

  private static Rule rule(int index, PluginSettings r) {
    boolean ok = true;
    String limitBy = r.get("limit-by").required().nonEmptyString();
    KeySource source = null;
    String name = null;
    if (limitBy == null) {
      ok = false;
    } else if (limitBy.equals("consumer")) {
      source = KeySource.CONSUMER;
    } else if (limitBy.equals("ip")) {
      source = KeySource.IP;
    } else {
      int colon = limitBy.indexOf(':');
      String kind = colon < 0 ? limitBy : limitBy.substring(0, colon);
      name = colon < 0 ? "" : limitBy.substring(colon + 1).trim();
      source = switch (kind) {
        case "header" -> KeySource.HEADER;
        case "query" -> KeySource.QUERY;
        case "cookie" -> KeySource.COOKIE;
        default -> null;
      };
      if (source == null || name.isEmpty()) {
        r.get("limit-by").problem("expected " + KeySource.FORM + " (got '" + limitBy + "')");
        ok = false;
      }
    }
    Period period = null;
    PluginSettings p = r.get("period").required();
    String periodName = p.nonEmptyString();
    if (periodName != null) {
      period = Period.of(periodName);
      if (period == null) {
        p.problem("expected day, week or month (got '" + periodName + "')");
      }
    }
    ok &= period != null;
    PluginSettings usd = r.get("usd");
    PluginSettings tokens = r.get("tokens");
    Unit unit = null;
    Long limit = null;
    if (usd.present() && tokens.present()) {
      r.problem("usd cannot be combined with tokens in one rule");
      ok = false;
    } else if (usd.present()) {
      unit = Unit.USD;
      limit = nanos(usd);
    } else if (tokens.present()) {
      unit = Unit.TOKENS;
      limit = tokens.longValue(1, MAX_TOKENS);
    } else {
      r.problem("one of usd or tokens is required");
      ok = false;
    }
    ok &= limit != null || unit == null;
    Map<String, Long> overrides = new LinkedHashMap<>();
    Map<String, PluginSettings> o = r.get("overrides").entries();
    if (o != null) {
      for (Map.Entry<String, PluginSettings> e : o.entrySet()) {
        Long l = unit == Unit.USD ? nanos(e.getValue()) : unit == Unit.TOKENS ? e.getValue().longValue(0, MAX_TOKENS) : null;
        if (l == null) {
          ok = false;
        } else {
          overrides.put(e.getKey(), l);
        }
      }
    }
    r.finish();
    return ok ? new Rule(index, limitBy, source, name, period, unit, limit, overrides) : null;
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
