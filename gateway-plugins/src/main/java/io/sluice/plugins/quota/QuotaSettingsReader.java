package io.sluice.plugins.quota;

import io.sluice.config.PluginSettings;
import io.sluice.store.RedisStores;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Reads the config keys that {@code ai-token-ratelimit} and {@code ai-budget} share ({@code rules},
 * {@code limit-by}, {@code overrides}, {@code default-max-tokens}, {@code store}) from one block,
 * remembering whether any was wrong: like {@link PluginSettings}, every read reports its own
 * problem and goes on, so one pass names every mistake.
 */
public final class QuotaSettingsReader {
  private final PluginSettings s;
  private boolean ok = true;

  public QuotaSettingsReader(PluginSettings s) {
    this.s = s;
  }

  /** Whether every read so far was valid. */
  public boolean ok() {
    return ok;
  }

  /** Marks the block invalid (a plugin's own read failed; it reported the problem). */
  public void fail() {
    ok = false;
  }

  /** Whether {@code value} was read (it is not null); a null marks the block invalid. */
  public <T> T check(T value) {
    ok &= value != null;
    return value;
  }

  /** {@code rules}: a required, non-empty list, each item read by {@code rule} (null when it is invalid). */
  public <R> List<R> rules(BiFunction<Integer, PluginSettings, R> rule) {
    List<PluginSettings> items = s.get("rules").required().list();
    List<R> rules = new ArrayList<>();
    ok &= items != null;
    if (items != null && items.isEmpty()) {
      s.get("rules").problem("must not be empty");
      ok = false;
    }
    if (items != null) {
      for (int i = 0; i < items.size(); i++) {
        R r = check(rule.apply(i, items.get(i)));
        if (r != null) {
          rules.add(r);
        }
      }
    }
    return rules;
  }

  /** {@code default-max-tokens}: 1 to 10,000,000, or 0 when absent (then the route's, else 1024). */
  public long defaultMaxTokens() {
    PluginSettings dm = s.get("default-max-tokens");
    if (!dm.present()) {
      return 0;
    }
    Long v = check(dm.longValue(1, 10_000_000));
    return v == null ? 0 : v;
  }

  /** {@code store}: null for {@code local} (the default), else a valid {@code redis://} URI. */
  public String store() {
    PluginSettings st = s.get("store");
    if (!st.present()) {
      return null;
    }
    String v = check(st.nonEmptyString());
    if (v == null || "local".equals(v)) {
      return null;
    }
    String problem = RedisStores.problem(v);
    if (problem != null) {
      st.problem(problem.replace("expected redis://", "expected local, redis://"));
      ok = false;
      return null;
    }
    return v;
  }

  /**
   * A rule's required {@code limit-by}: {@value KeySource#FORM}. On a problem the source is null;
   * {@code written} is null only when the key is missing or empty.
   */
  public LimitBy limitBy() {
    String limitBy = check(s.get("limit-by").required().nonEmptyString());
    if (limitBy == null) {
      return new LimitBy(null, null, null);
    }
    if (limitBy.equals("consumer")) {
      return new LimitBy(limitBy, KeySource.CONSUMER, null);
    }
    if (limitBy.equals("ip")) {
      return new LimitBy(limitBy, KeySource.IP, null);
    }
    int colon = limitBy.indexOf(':');
    String kind = colon < 0 ? limitBy : limitBy.substring(0, colon);
    String name = colon < 0 ? "" : limitBy.substring(colon + 1).trim();
    KeySource source = switch (kind) {
      case "header" -> KeySource.HEADER;
      case "query" -> KeySource.QUERY;
      case "cookie" -> KeySource.COOKIE;
      default -> null;
    };
    if (source == null || name.isEmpty()) {
      s.get("limit-by").problem("expected " + KeySource.FORM + " (got '" + limitBy + "')");
      ok = false;
    }
    return new LimitBy(limitBy, source, name);
  }

  /** A rule's {@code overrides}: key → limit, each read by {@code limit} (null when it is invalid). */
  public Map<String, Long> overrides(Function<PluginSettings, Long> limit) {
    Map<String, Long> overrides = new LinkedHashMap<>();
    Map<String, PluginSettings> o = s.get("overrides").entries();
    if (o != null) {
      for (Map.Entry<String, PluginSettings> e : o.entrySet()) {
        Long l = check(limit.apply(e.getValue()));
        if (l != null) {
          overrides.put(e.getKey(), l);
        }
      }
    }
    return overrides;
  }
}
