package io.sluice.http;

/** The request target of a request line (RFC 9112 §3.2): which forms the gateway takes, and its path. */
public final class RequestTarget {
  private RequestTarget() {}

  /** The path-and-query of an origin-form or absolute-form target, or null for anything else. */
  public static String originForm(String uri) {
    if (uri.startsWith("/")) {
      return uri;
    }
    int scheme = uri.indexOf("://");
    if (scheme > 0 && (uri.startsWith("http://") || uri.startsWith("https://"))) {
      int slash = uri.indexOf('/', scheme + 3);
      return slash < 0 ? "/" : uri.substring(slash);
    }
    return null;
  }

  /** The target without its query, as received (for the access log). */
  public static String rawPath(String uri) {
    int q = uri.indexOf('?');
    return q < 0 ? uri : uri.substring(0, q);
  }
}
