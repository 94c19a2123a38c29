package io.sluice.exchange;

import io.sluice.config.LimitsConfig;
import io.sluice.observe.AccessLog;
import io.sluice.observe.GatewayMetrics;
import io.sluice.plugin.PluginChain;
import io.sluice.route.Router;
import io.sluice.upstream.Upstreams;
import java.util.Map;

/**
 * What an exchange needs from the running gateway: routes with their plugin chains, upstreams,
 * limits and metrics. An exchange takes the current snapshot when its request arrives and keeps
 * it to the end, so a later config swap never changes a stream in flight.
 *
 * @param chains each route's plugins, by route name
 * @param accessLog where each exchange's line goes when it ends
 */
public record GatewayContext(Router router, Map<String, PluginChain> chains, Upstreams upstreams,
    LimitsConfig limits, GatewayMetrics metrics, AccessLog accessLog) {

  public GatewayContext {
    chains = Map.copyOf(chains);
  }

  /** The route's plugin chain (empty when it has none). */
  public PluginChain chain(String route) {
    return chains.getOrDefault(route, PluginChain.empty());
  }
}
