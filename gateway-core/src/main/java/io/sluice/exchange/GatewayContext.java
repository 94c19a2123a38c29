package io.sluice.exchange;

import io.sluice.config.LimitsConfig;
import io.sluice.observe.GatewayMetrics;
import io.sluice.route.Router;
import io.sluice.upstream.Upstreams;

/**
 * What an exchange needs from the running gateway: routes, upstreams, limits and metrics. An
 * exchange takes the current snapshot when its request arrives and keeps it to the end, so a
 * later config swap never changes a stream in flight.
 */
public record GatewayContext(Router router, Upstreams upstreams, LimitsConfig limits, GatewayMetrics metrics) {}
