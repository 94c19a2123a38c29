package io.sluice.config;

import io.sluice.config.RouteConfig.Api;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The config's model aliases: the top-level {@code models[]}, each route's {@code models} and
 * {@code failover}, and the check that a route's API is one its upstream and every target of its
 * aliases speak (natively, or translated between OpenAI Chat and Anthropic Messages). The
 * upstreams are read first: their names and {@code provider}s are what aliases refer to.
 */
final class ModelBlocks {
  /** The upstreams read before: what targets and routes name, and the provider of each. */
  private final UpstreamBlocks upstreams;
  /** The alias names, with the provider of each target (empty when it has problems), for the routes' checks. */
  private final Map<String, List<Provider>> aliasProviders = new LinkedHashMap<>();

  ModelBlocks(UpstreamBlocks upstreams) {
    this.upstreams = upstreams;
  }

  private Provider provider(String upstream) {
    return upstreams.provider(upstream);
  }

  /** {@code models[]}: public names and their targets ({@code upstream}, {@code model}, priority, weight). */
  List<ModelConfig> models(ConfigNode node) {
    List<ModelConfig> out = new ArrayList<>();
    Map<String, String> names = new HashMap<>();
    for (MapReader m : node.mapItems()) {
      String name = m.get("name").required().unique(names, "model name");
      if (name != null) {
        aliasProviders.put(name, List.of()); // named, so routes may refer to it whatever else is wrong
      }
      List<ModelConfig.Target> targets = new ArrayList<>();
      List<Provider> targetProviders = new ArrayList<>();
      boolean complete = true;
      for (ConfigNode t : m.get("targets").required().nonEmptyItems()) {
        MapReader tm = t.mapItem();
        if (tm == null) {
          complete = false;
          continue;
        }
        String upstream = upstreams.ref(tm.get("upstream").required());
        String model = tm.get("model").required().nonEmptyString();
        Integer priority = tm.get("priority").integer(0, 1000, null);
        Integer weight = tm.get("weight").integer(1, 1000, null);
        tm.finish();
        if (upstream == null || model == null) {
          complete = false;
          continue;
        }
        targets.add(new ModelConfig.Target(upstream, model, priority != null ? priority : 1,
            weight != null ? weight : 1));
        targetProviders.add(provider(upstream));
      }
      m.finish();
      if (name != null && complete && !targets.isEmpty()) {
        out.add(new ModelConfig(name, targets));
        aliasProviders.put(name, targetProviders);
      }
    }
    return out;
  }

  /** {@code routes[].models}: names of {@code models[]} entries. */
  List<String> routeModels(ConfigNode node) {
    List<String> out = new ArrayList<>();
    for (ConfigNode ref : node.items()) {
      String name = ref.nonEmptyString();
      if (name == null) {
        continue;
      }
      if (!aliasProviders.containsKey(name)) {
        ref.problem(ref.got() + " is not defined (" + (aliasProviders.isEmpty() ? "no models are defined"
            : "expected one of: " + String.join(", ", aliasProviders.keySet())) + ")");
      } else if (!out.contains(name)) {
        out.add(name);
      }
    }
    return out;
  }

  /**
   * A route's API against the providers that serve it: natively, or translated between OpenAI
   * Chat and Anthropic Messages; a Responses route cannot be served by Anthropic.
   */
  void checkApi(Api api, String upstream, ConfigNode upstreamNode, List<String> aliases, ConfigNode aliasNode) {
    if (api == null) {
      return;
    }
    if (upstream != null && !provider(upstream).serves(api)) {
      upstreamNode.problem("upstream '" + upstream + "' (provider " + provider(upstream).yamlName()
          + ") does not speak " + api.yamlName() + ", nor can it be translated");
    }
    for (String alias : aliases) {
      for (Provider p : aliasProviders.get(alias)) {
        if (!p.serves(api)) {
          aliasNode.problem("model '" + alias + "' has a target of provider " + p.yamlName() + ", which does not speak "
              + api.yamlName() + ", nor can it be translated");
          return;
        }
      }
    }
  }

  /** {@code routes[].failover}; null when it has problems. */
  static FailoverConfig failover(ConfigNode node) {
    FailoverConfig d = FailoverConfig.DEFAULTS;
    MapReader m = node.map();
    if (m == null) {
      return node.present() ? null : d;
    }
    Integer maxAttempts = m.get("max-attempts").integer(1, 10, null);
    Duration firstEvent = m.get("first-event-timeout").positiveDuration();
    Duration cooldown = m.get("cooldown").duration();
    m.finish();
    return new FailoverConfig(maxAttempts != null ? maxAttempts : d.maxAttempts(),
        firstEvent != null ? firstEvent : d.firstEventTimeout(), cooldown != null ? cooldown : d.cooldown());
  }
}
