package io.sluice.plugins.ratelimit;

import io.sluice.config.PluginSettings;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes {@code rate-limit}: TRAFFIC phase, priority 1000.
 *
 * <pre>
 * rate-limit: { limit-by: ip, requests-per-second: 50, burst: 100 }
 * rate-limit:
 *   rules:
 *     - { limit-by: consumer, requests-per-second: 10 }
 *     - { limit-by: "header:x-user", requests-per-second: 0.5, burst: 3 }
 * </pre>
 */
public final class RateLimitFactory implements PluginFactory<RateLimitSettings> {
  public static final String NAME = "rate-limit";
  public static final int PRIORITY = 1000;
  private static final String FORM = "expected a map with limit-by and requests-per-second (and optionally burst), or rules: [ … ]";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Phase phase() {
    return Phase.TRAFFIC;
  }

  @Override
  public int priority() {
    return PRIORITY;
  }

  @Override
  public RateLimitSettings parse(PluginSettings settings) {
    if (!settings.present()) {
      settings.problem(FORM);
      return null;
    }
    if (settings.entries() == null) {
      return null; // "expected a map" was reported
    }
    PluginSettings rulesNode = settings.get("rules");
    if (rulesNode.present()) {
      for (String key : List.of("limit-by", "requests-per-second", "burst")) {
        if (settings.get(key).present()) {
          settings.problem("'rules' cannot be combined with '" + key + "' (put every rule in the list)");
        }
      }
      settings.finish();
      List<PluginSettings> items = rulesNode.list();
      if (items == null) {
        return null;
      }
      if (items.isEmpty()) {
        rulesNode.problem("must not be empty");
        return null;
      }
      List<RateLimitSettings.Rule> rules = new ArrayList<>();
      boolean ok = true;
      for (PluginSettings item : items) {
        if (!item.present()) {
          item.problem("expected a map with limit-by and requests-per-second");
          ok = false;
          continue;
        }
        if (item.entries() == null) {
          ok = false;
          continue;
        }
        RateLimitSettings.Rule r = rule(item);
        item.finish();
        ok &= r != null;
        if (r != null) {
          rules.add(r);
        }
      }
      return ok ? new RateLimitSettings(rules) : null;
    }
    RateLimitSettings.Rule r = rule(settings);
    settings.finish();
    return r == null ? null : new RateLimitSettings(List.of(r));
  }

  /** One rule's keys from {@code node} (the caller finishes the map). */
  private static RateLimitSettings.Rule rule(PluginSettings node) {
    PluginSettings limitByNode = node.get("limit-by").required();
    PluginSettings rateNode = node.get("requests-per-second").required();
    PluginSettings burstNode = node.get("burst");
    LimitBy limitBy = null;
    String text = limitByNode.nonEmptyString();
    if (text != null) {
      limitBy = LimitBy.parse(text);
      if (limitBy == null) {
        limitByNode.problem("expected " + LimitBy.FORM + " (got '" + text + "')");
      }
    }
    Double rate = rateNode.positiveNumber();
    Integer burst = burstNode.integer(1, Integer.MAX_VALUE);
    if (limitBy == null || rate == null || (burstNode.present() && burst == null)) {
      return null;
    }
    if (burst == null) {
      burst = (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.ceil(rate)));
    }
    return new RateLimitSettings.Rule(limitBy, rate, burst);
  }

  @Override
  public Plugin create(RateLimitSettings settings, PluginServices services) {
    return new RateLimitPlugin(settings, services);
  }
}
