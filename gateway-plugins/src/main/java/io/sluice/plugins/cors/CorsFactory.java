package io.sluice.plugins.cors;

import io.sluice.http.HttpSyntax;
import io.sluice.config.PluginSettings;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginServices;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Makes {@code cors}: ACCESS phase, priority 2000 — the first plugin of a route, so a preflight
 * is answered before ip-restriction (1000) and before any AUTHN plugin (a browser never sends
 * credentials on a preflight), and so every later refusal (403, 401, 429) still carries the CORS
 * headers a browser needs to let the page read it.
 *
 * <pre>
 * cors: { allow-origins: [ "https://app.example" ], allow-credentials: true, max-age: 1h }
 * </pre>
 */
public final class CorsFactory implements PluginFactory<CorsSettings> {
  public static final String NAME = "cors";
  public static final int PRIORITY = 2000;
  static final String ANY = "*";

  static final List<String> DEFAULT_METHODS = List.of("GET", "POST", "OPTIONS");
  static final List<String> DEFAULT_ALLOW_HEADERS =
      List.of("Authorization", "Content-Type", "Last-Event-ID", "X-Request-Id");
  static final List<String> DEFAULT_EXPOSE_HEADERS = List.of("X-Request-Id",
      "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
      "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
      "Retry-After");
  static final Duration DEFAULT_MAX_AGE = Duration.ofMinutes(10);

  private static final String ORIGIN_FORM =
      "expected an origin such as https://app.example (scheme://host[:port], no path) or \"*\"";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Phase phase() {
    return Phase.ACCESS;
  }

  @Override
  public int priority() {
    return PRIORITY;
  }

  @Override
  public CorsSettings parse(PluginSettings settings) {
    if (!settings.present()) {
      settings.problem("expected a map with allow-origins");
      return null;
    }
    PluginSettings originsNode = settings.get("allow-origins").required();
    PluginSettings methodsNode = settings.get("allow-methods");
    PluginSettings allowHeadersNode = settings.get("allow-headers");
    PluginSettings exposeHeadersNode = settings.get("expose-headers");
    PluginSettings credentialsNode = settings.get("allow-credentials");
    PluginSettings maxAgeNode = settings.get("max-age");
    settings.finish();

    List<String> origins = origins(originsNode);
    List<String> methods = methodsNode.present() ? tokens(methodsNode, "an HTTP method such as POST") : DEFAULT_METHODS;
    if (methods != null && methods.isEmpty()) {
      methodsNode.problem("must not be empty");
      methods = null;
    }
    List<String> extraHeaders = allowHeadersNode.present() ? tokens(allowHeadersNode, "a header name") : List.of();
    List<String> exposeHeaders = exposeHeadersNode.present()
        ? tokens(exposeHeadersNode, "a header name") : DEFAULT_EXPOSE_HEADERS;
    Boolean credentials = credentialsNode.present() ? credentialsNode.bool() : Boolean.FALSE;
    Duration maxAge = maxAgeNode.present() ? maxAgeNode.duration() : DEFAULT_MAX_AGE;

    if (origins != null && credentials != null && credentials && origins.contains(ANY)) {
      credentialsNode.problem("cannot be true when allow-origins is \"*\" (browsers refuse credentials"
          + " with a wildcard origin; list the origins instead)");
      credentials = null;
    }
    if (origins == null || methods == null || extraHeaders == null || exposeHeaders == null
        || credentials == null || maxAge == null) {
      return null;
    }
    return new CorsSettings(origins, methods, union(DEFAULT_ALLOW_HEADERS, extraHeaders), exposeHeaders,
        credentials, maxAge);
  }

  /** The allowed origins, normalised; null when one is bad (each reported at its index). */
  private static List<String> origins(PluginSettings node) {
    if (!node.present()) {
      return null; // "required" was reported
    }
    List<PluginSettings> items = node.list();
    if (items == null) {
      return null;
    }
    if (items.isEmpty()) {
      node.problem("must not be empty (list the origins, or \"*\")");
      return null;
    }
    List<String> out = new ArrayList<>();
    boolean ok = true;
    for (PluginSettings item : items) {
      String text = item.nonEmptyString();
      if (text == null) {
        if (!item.present()) {
          item.problem(ORIGIN_FORM);
        }
        ok = false;
        continue;
      }
      String origin = ANY.equals(text) ? ANY : normalise(text);
      if (origin == null) {
        item.problem(ORIGIN_FORM + " (got '" + text + "')");
        ok = false;
      } else if (!out.contains(origin)) {
        out.add(origin);
      }
    }
    if (ok && out.contains(ANY) && out.size() > 1) {
      node.problem("\"*\" allows every origin and cannot be combined with other origins");
      return null;
    }
    return ok ? out : null;
  }

  /**
   * An origin as browsers serialise it ({@code https://app.example}, {@code http://localhost:3000}):
   * lower-case scheme and host, the scheme's default port dropped; null when it is not one.
   */
  static String normalise(String text) {
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      return null;
    }
    String scheme = uri.getScheme();
    String host = uri.getHost();
    if (scheme == null || host == null || uri.getRawUserInfo() != null || uri.getRawQuery() != null
        || uri.getRawFragment() != null || !uri.getRawPath().isEmpty()) {
      return null;
    }
    scheme = scheme.toLowerCase(Locale.ROOT);
    int port = uri.getPort();
    if (("https".equals(scheme) && port == 443) || ("http".equals(scheme) && port == 80)) {
      port = -1;
    }
    return scheme + "://" + host.toLowerCase(Locale.ROOT) + (port < 0 ? "" : ":" + port);
  }

  /** A list of HTTP tokens (method or header names); null when one is bad. */
  private static List<String> tokens(PluginSettings node, String what) {
    List<PluginSettings> items = node.list();
    if (items == null) {
      return null;
    }
    List<String> out = new ArrayList<>();
    boolean ok = true;
    for (PluginSettings item : items) {
      String text = item.nonEmptyString();
      if (text == null) {
        if (!item.present()) {
          item.problem("expected " + what);
        }
        ok = false;
      } else if (!HttpSyntax.isToken(text)) {
        item.problem("expected " + what + " (got '" + text + "')");
        ok = false;
      } else {
        out.add(text);
      }
    }
    return ok ? out : null;
  }


  /** The defaults followed by the extras not already there (header names compare case-insensitively). */
  private static List<String> union(List<String> defaults, List<String> extras) {
    Map<String, String> byLowerCase = new LinkedHashMap<>();
    for (String h : defaults) {
      byLowerCase.putIfAbsent(h.toLowerCase(Locale.ROOT), h);
    }
    for (String h : extras) {
      byLowerCase.putIfAbsent(h.toLowerCase(Locale.ROOT), h);
    }
    return List.copyOf(byLowerCase.values());
  }

  @Override
  public Plugin create(CorsSettings settings, PluginServices services) {
    return new CorsPlugin(settings, services);
  }
}
