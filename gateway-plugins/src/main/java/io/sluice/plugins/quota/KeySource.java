package io.sluice.plugins.quota;

import io.sluice.plugin.RequestContext;

/** Where a rule's key comes from ({@code limit-by}); shared by {@code ai-token-ratelimit} and {@code ai-budget}. */
public enum KeySource {
  CONSUMER, IP, HEADER, QUERY, COOKIE;

  public static final String FORM = "consumer, ip, header:NAME, query:NAME or cookie:NAME";

  /** The request's value for this key, or null when it has none (then it shares one bucket). */
  public String value(RequestContext request, String name) {
    String v = switch (this) {
      case CONSUMER -> request.consumer();
      case IP -> request.clientIp();
      case HEADER -> request.header(name);
      case QUERY -> request.queryParam(name);
      case COOKIE -> request.cookie(name);
    };
    return v == null || v.isEmpty() ? null : v;
  }
}
