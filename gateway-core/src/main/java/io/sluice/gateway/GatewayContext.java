package io.sluice.gateway;

import io.sluice.config.LimitsConfig;
import io.sluice.observe.AccessLog;
import io.sluice.observe.GatewayMetrics;
import io.sluice.plugin.PluginChain;
import io.sluice.route.Router;
import io.sluice.session.StreamSessions;
import io.sluice.upstream.ModelAliases;
import io.sluice.telemetry.Tracing;
import io.sluice.upstream.Upstreams;
import io.sluice.usage.Pricing;
import java.util.Map;
import java.util.Set;

/**
 * What an exchange needs from the running gateway: routes with their plugin chains, upstreams,
 * limits and metrics. An exchange takes the current snapshot when its request arrives and keeps
 * it to the end, so a later config swap never changes a stream in flight.
 *
 * @param chains each route's plugins, by route name
 * @param accessLog where each exchange's line goes when it ends
 * @param consumers the names of the declared {@code consumers[]}
 * @param sessions the stream sessions (resume, long polling); one store for the gateway's life
 * @param aliases the model aliases ({@code models[]}) with their targets' cooldowns
 * @param pricing the {@code pricing} table: what an exchange's tokens cost
 * @param tracing the exchanges' traces; one tracer for the gateway's life
 */
public record GatewayContext(Router router, Map<String, PluginChain> chains, Upstreams upstreams,
    LimitsConfig limits, GatewayMetrics metrics, AccessLog accessLog, Set<String> consumers,
    StreamSessions sessions, ModelAliases aliases, Pricing pricing, Tracing tracing) {

  public GatewayContext {
    chains = Map.copyOf(chains);
    consumers = Set.copyOf(consumers);
  }

  /** A snapshot without a {@code pricing} table and without tracing. */
  public GatewayContext(Router router, Map<String, PluginChain> chains, Upstreams upstreams, LimitsConfig limits,
      GatewayMetrics metrics, AccessLog accessLog, Set<String> consumers, StreamSessions sessions,
      ModelAliases aliases) {
    this(router, chains, upstreams, limits, metrics, accessLog, consumers, sessions, aliases, Pricing.NONE,
        Tracing.off());
  }

  /**
   * The consumer label for metrics: the consumer's name when it is declared, {@code undeclared}
   * for one accepted by {@code jwt-auth}'s {@code allow-undeclared} (its claim value could be
   * anything: it must not become a label), {@code anonymous} without authentication.
   */
  public String consumerLabel(String consumer) {
    if (consumer == null) {
      return "anonymous";
    }
    return consumers.contains(consumer) ? consumer : "undeclared";
  }

  /** The route's plugin chain (empty when it has none). */
  public PluginChain chain(String route) {
    return chains.getOrDefault(route, PluginChain.empty());
  }
}
