package io.sluice.plugins.cors;

import io.sluice.plugin.Decision;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * CORS for one route (the Fetch standard's CORS protocol).
 *
 * <p>Preflight ({@code OPTIONS} with {@code Origin} and {@code Access-Control-Request-Method};
 * core routes it as if it were the requested method, so it reaches this plugin even on a
 * {@code methods: [POST]} route): a listed origin gets {@code 204} with the
 * {@code Access-Control-Allow-*} headers and {@code Access-Control-Max-Age}; an unlisted one
 * gets 403 {@code permission_error} / {@code origin_not_allowed}. Either way the request goes no
 * further: no AUTHN, no upstream.
 *
 * <p>Other requests always proceed. On their response — from the upstream, or a refusal or error
 * of the gateway itself — a listed origin gets {@code Access-Control-Allow-Origin} (the origin
 * itself), {@code Access-Control-Expose-Headers} and, when configured,
 * {@code Access-Control-Allow-Credentials}. These are <em>set</em>, replacing any the upstream
 * sent, and removed for an origin that is not listed: on a route with this plugin the gateway's
 * policy is the only one (two {@code Access-Control-Allow-Origin} values would make a browser
 * refuse the response anyway). {@code Vary: Origin} is added to every response of the route
 * unless any origin is allowed ({@code "*"}), so a cache never serves one origin's answer to
 * another.
 *
 * <p>Stateless per request (everything is derived from the request headers again in the
 * response hook), immutable and shared by all event loops.
 */
final class CorsPlugin implements Plugin {
  static final String ALLOW_ORIGIN = "Access-Control-Allow-Origin";
  static final String ALLOW_CREDENTIALS = "Access-Control-Allow-Credentials";
  static final String EXPOSE_HEADERS = "Access-Control-Expose-Headers";

  private final CorsSettings settings;
  private final Set<String> origins;
  private final PluginServices services;
  private final Map<String, String> preflightHeaders;
  private final String exposeHeaders;

  CorsPlugin(CorsSettings settings, PluginServices services) {
    this.settings = settings;
    this.origins = Set.copyOf(settings.allowOrigins());
    this.services = services;
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Access-Control-Allow-Methods", String.join(", ", settings.allowMethods()));
    h.put("Access-Control-Allow-Headers", String.join(", ", settings.allowHeaders()));
    h.put("Access-Control-Max-Age", Long.toString(settings.maxAge().toSeconds()));
    if (settings.allowCredentials()) {
      h.put(ALLOW_CREDENTIALS, "true");
    }
    this.preflightHeaders = Map.copyOf(h);
    this.exposeHeaders = String.join(", ", settings.exposeHeaders());
  }

  /** A CORS preflight: {@code OPTIONS} with {@code Origin} and {@code Access-Control-Request-Method}. */
  static boolean isPreflight(RequestContext request) {
    return "OPTIONS".equals(request.method()) && request.header("Origin") != null
        && request.header("Access-Control-Request-Method") != null;
  }

  @Override
  public boolean answersPreflights() {
    return true;
  }

  @Override
  public CompletionStage<Decision> onRequest(RequestContext request) {
    String origin = request.header("Origin");
    if (isPreflight(request)) {
      if (!allowed(origin)) {
        services.authFailure(request.route(), CorsFactory.NAME, "origin_not_allowed");
        return Decision.reject(403, "permission_error", "origin_not_allowed",
            "this origin is not allowed to call this route from a browser");
      }
      Map<String, String> headers = new LinkedHashMap<>(preflightHeaders);
      headers.put(ALLOW_ORIGIN, allowOriginValue(origin));
      if (!settings.anyOrigin()) {
        headers.put("Vary", "Origin");
      }
      return CompletableFuture.completedFuture(new Decision.Respond(204, headers));
    }
    if (!settings.anyOrigin()) {
      // Added (not set): the upstream's own Vary values, e.g. Accept-Encoding, must stay.
      request.addResponseHeader("Vary", "Origin");
    }
    return Decision.proceed();
  }

  @Override
  public void onResponseHeaders(RequestContext request, int status, ResponseHeaders headers) {
    if (isPreflight(request)) {
      return; // answered by onRequest with its own headers (or refused: no CORS headers)
    }
    String origin = request.header("Origin");
    // With "*" every response says so, Origin or not: then it does not vary by Origin.
    if (!settings.anyOrigin() && !allowed(origin)) {
      headers.remove(ALLOW_ORIGIN);
      headers.remove(ALLOW_CREDENTIALS);
      headers.remove(EXPOSE_HEADERS);
      return;
    }
    headers.set(ALLOW_ORIGIN, allowOriginValue(origin));
    if (settings.allowCredentials()) {
      headers.set(ALLOW_CREDENTIALS, "true");
    } else {
      headers.remove(ALLOW_CREDENTIALS);
    }
    if (exposeHeaders.isEmpty()) {
      headers.remove(EXPOSE_HEADERS);
    } else {
      headers.set(EXPOSE_HEADERS, exposeHeaders);
    }
  }

  private boolean allowed(String origin) {
    if (origin == null) {
      return false;
    }
    if (settings.anyOrigin()) {
      return true;
    }
    String normalised = CorsFactory.normalise(origin.trim());
    return normalised != null && origins.contains(normalised);
  }

  /** {@code *} when any origin is allowed (no credentials then), else the request's origin itself. */
  private String allowOriginValue(String origin) {
    return settings.anyOrigin() || origin == null ? CorsFactory.ANY : origin.trim();
  }
}
