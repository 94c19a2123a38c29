package io.sluice.admin;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.NetUtil;
import java.util.Locale;

/**
 * Keeps web pages away from {@code /admin/*}: the admin API is for operators and tools, never for
 * browsers, yet a browser on the operator's machine can reach a loopback listener.
 *
 * <ul>
 *   <li>A request with an {@code Origin} header comes from a web page (browsers send it on every
 *       cross-origin POST): refused, so a page cannot make the gateway reload (CSRF).
 *   <li>Without an admin token, the {@code Host} must be {@code localhost} or an IP address: a page
 *       whose own domain was re-pointed at 127.0.0.1 (DNS rebinding) sends its domain as
 *       {@code Host} and is refused, so it cannot read the config or the topology.
 * </ul>
 * Health and metrics ({@code /healthz}, {@code /readyz}, {@code /metrics}) are not guarded: probes
 * and scrapers may use any host name.
 */
final class AdminBrowserGuard {
  private AdminBrowserGuard() {}

  /** Why this {@code /admin/*} request is refused, or null. */
  static String problem(HttpRequest request, boolean tokenConfigured) {
    if (request.headers().contains(HttpHeaderNames.ORIGIN)) {
      return "the admin API does not answer web pages (the request has an Origin header)";
    }
    String host = request.headers().get(HttpHeaderNames.HOST);
    if (!tokenConfigured && host != null && !isLocalOrAddress(host)) {
      return "without an admin token the admin API answers only Host: localhost or an IP address";
    }
    return null;
  }

  private static boolean isLocalOrAddress(String hostHeader) {
    String host = hostHeader.trim().toLowerCase(Locale.ROOT);
    if (host.startsWith("[")) {
      int end = host.indexOf(']');
      return end > 0 && NetUtil.isValidIpV6Address(host.substring(1, end));
    }
    int colon = host.lastIndexOf(':');
    if (colon >= 0) {
      host = host.substring(0, colon);
    }
    return host.equals("localhost") || NetUtil.isValidIpV4Address(host);
  }
}
