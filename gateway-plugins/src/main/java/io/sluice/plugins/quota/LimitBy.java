package io.sluice.plugins.quota;

import io.sluice.plugin.RequestContext;

/**
 * A rule's {@code limit-by}: where the key that a request is counted under comes from.
 *
 * @param written the value as written ({@code header:x-team}), for labels and logs
 * @param name the header, query parameter or cookie name; null for consumer and ip
 */
public record LimitBy(String written, KeySource source, String name) {

  /** The request's key, or null when it has none (then it shares one bucket). */
  public String value(RequestContext request) {
    return source.value(request, name);
  }
}
