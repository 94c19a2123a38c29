package io.sluice.relay;

import io.sluice.upstream.Upstream;

/**
 * One way to serve an exchange: an upstream and the request made for it.
 *
 * @param model the model the request asks this upstream for (an alias's target model, else the
 *     client's), or null when the request names none
 */
public record Target(Upstream upstream, ForwardRequest request, String model) {}
