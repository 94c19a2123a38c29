package io.sluice.plugins.tokenlimit;

import io.sluice.config.PluginSettings;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import io.sluice.plugins.tokenlimit.TokenLimitSettings.Rule;
import io.sluice.plugins.quota.LimitBy;
import io.sluice.plugins.quota.QuotaSettingsReader;
import java.util.List;
import java.util.Map;

/**
 * Makes {@code ai-token-ratelimit} (gateway-plugins/docs/ai-token-ratelimit.md): TRAFFIC phase,
 * priority 900 (after {@code rate-limit}'s 1000, so a request flood is cut before it costs a token
 * reservation). Reads the request body, for the prompt's size.
 */
public final class TokenRateLimitFactory implements PluginFactory<TokenLimitSettings> {
  private static final long MAX_LIMIT = 1L << 50;

  @Override
  public String name() {
    return TokenRateLimitPlugin.NAME;
  }

  @Override
  public Phase phase() {
    return Phase.TRAFFIC;
  }

  @Override
  public int priority() {
    return 900;
  }

  @Override
  public boolean needsBody() {
    return true;
  }

  @Override
  public TokenLimitSettings parse(PluginSettings s) {
    QuotaSettingsReader q = new QuotaSettingsReader(s);
    List<Rule> rules = q.rules(TokenRateLimitFactory::rule);
    long defaultMax = q.defaultMaxTokens();
    boolean midStream = false;
    PluginSettings enforce = s.get("enforce");
    if (enforce.present()) {
      String e = enforce.nonEmptyString();
      if ("mid-stream".equals(e)) {
        midStream = true;
      } else if (e != null && !"at-end".equals(e)) {
        enforce.problem("expected at-end or mid-stream (got '" + e + "')");
        q.fail();
      } else if (e == null) {
        q.fail();
      }
    }
    String store = q.store();
    s.finish();
    return q.ok() ? new TokenLimitSettings(rules, defaultMax, midStream, store) : null;
  }

  private static Rule rule(int index, PluginSettings r) {
    QuotaSettingsReader q = new QuotaSettingsReader(r);
    LimitBy limitBy = q.limitBy();
    Window window = null;
    long limit = 0;
    for (Window w : Window.values()) {
      PluginSettings v = r.get(w.key);
      if (!v.present()) {
        continue;
      }
      if (window != null) {
        r.problem(window.key + " cannot be combined with " + w.key + " in one rule");
        q.fail();
        continue;
      }
      window = w;
      Long l = q.check(v.longValue(1, MAX_LIMIT));
      limit = l == null ? limit : l;
    }
    if (window == null && limitBy.written() != null) {
      r.problem("one of tokens-per-second, tokens-per-minute, tokens-per-hour or tokens-per-day is required");
      q.fail();
    }
    Map<String, Long> overrides = q.overrides(v -> v.longValue(0, MAX_LIMIT));
    r.finish();
    return q.ok() ? new Rule(index, limitBy, window, limit, overrides) : null;
  }

  @Override
  public Plugin create(TokenLimitSettings settings, PluginServices services) {
    return new TokenRateLimitPlugin(settings, services);
  }
}
