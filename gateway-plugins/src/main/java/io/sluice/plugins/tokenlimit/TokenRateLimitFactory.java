package io.sluice.plugins.tokenlimit;

import io.sluice.config.PluginSettings;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import io.sluice.plugins.tokenlimit.TokenLimitSettings.Rule;
import io.sluice.store.RedisStores;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
    boolean midStream = false;
    PluginSettings enforce = s.get("enforce");
    if (enforce.present()) {
      String e = enforce.nonEmptyString();
      if ("mid-stream".equals(e)) {
        midStream = true;
      } else if (e != null && !"at-end".equals(e)) {
        enforce.problem("expected at-end or mid-stream (got '" + e + "')");
        ok = false;
      } else if (e == null) {
        ok = false;
      }
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
    return ok ? new TokenLimitSettings(rules, defaultMax, midStream, store) : null;
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
    Window window = null;
    long limit = 0;
    for (Window w : Window.values()) {
      PluginSettings v = r.get(w.key);
      if (!v.present()) {
        continue;
      }
      if (window != null) {
        r.problem(window.key + " cannot be combined with " + w.key + " in one rule");
        ok = false;
        continue;
      }
      window = w;
      Long l = v.longValue(1, MAX_LIMIT);
      if (l == null) {
        ok = false;
      } else {
        limit = l;
      }
    }
    if (window == null && limitBy != null) {
      r.problem("one of tokens-per-second, tokens-per-minute, tokens-per-hour or tokens-per-day is required");
      ok = false;
    }
    Map<String, Long> overrides = new LinkedHashMap<>();
    Map<String, PluginSettings> o = r.get("overrides").entries();
    if (o != null) {
      for (Map.Entry<String, PluginSettings> e : o.entrySet()) {
        Long l = e.getValue().longValue(0, MAX_LIMIT);
        if (l == null) {
          ok = false;
        } else {
          overrides.put(e.getKey(), l);
        }
      }
    }
    r.finish();
    return ok ? new Rule(index, limitBy, source, name, window, limit, overrides) : null;
  }

  @Override
  public Plugin create(TokenLimitSettings settings, PluginServices services) {
    return new TokenRateLimitPlugin(settings, services);
  }
}
