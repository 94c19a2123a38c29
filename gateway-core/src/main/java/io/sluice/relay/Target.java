package io.sluice.relay;

import io.sluice.translate.TranslatedError;
import io.sluice.upstream.Upstream;

/**
 * One way to serve an exchange: an upstream and the request made for it.
 *
 * @param model the model the request asks this upstream for (an alias's target model, else the
 *     client's), or null when the request names none
 * @param refused the client's answer when the request cannot be sent to this target (a field its
 *     API cannot carry), else null
 */
public record Target(Upstream upstream, ForwardRequest request, String model, TranslatedError refused) {

  public Target(Upstream upstream, ForwardRequest request, String model) {
    this(upstream, request, model, null);
  }
}
