package io.sluice.route;

import io.sluice.config.HeaderOps;
import io.sluice.config.MatchConfig;
import io.sluice.config.RouteConfig;
import io.sluice.config.RouteConfig.Api;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A route ready to match requests: its config plus the compiled model globs.
 *
 * <p>Path semantics: {@code path} matches exactly; {@code path-prefix} matches the prefix itself
 * and anything below it on a segment boundary ({@code /v1/chat} takes {@code /v1/chat/x} but not
 * {@code /v1/chatty}), the way operators read a prefix.
 */
public final class Route {
  private final RouteConfig config;
  private final List<Pattern> modelPatterns;

  public Route(RouteConfig config) {
    this.config = config;
    this.modelPatterns = config.match().models().stream().map(Route::glob).toList();
  }

  public RouteConfig config() {
    return config;
  }

  public String name() {
    return config.name();
  }

  public String upstreamName() {
    return config.upstream();
  }

  public HeaderOps requestHeaders() {
    return config.requestHeaders();
  }

  public HeaderOps responseHeaders() {
    return config.responseHeaders();
  }

  public Duration timeout() {
    return config.timeout();
  }

  /** How specific the path match is (longer wins; exact beats an equal prefix), or -1. */
  int pathScore(String path) {
    MatchConfig m = config.match();
    if (m.path() != null) {
      return m.path().equals(path) ? m.path().length() * 2 + 1 : -1;
    }
    String prefix = m.pathPrefix();
    if (!path.startsWith(prefix)) {
      return -1;
    }
    boolean boundary = path.length() == prefix.length() || prefix.endsWith("/")
        || path.charAt(prefix.length()) == '/';
    return boundary ? prefix.length() * 2 : -1;
  }

  boolean headersMatch(Function<String, String> requestHeader) {
    for (Map.Entry<String, String> h : config.match().headers().entrySet()) {
      if (!h.getValue().equals(requestHeader.apply(h.getKey()))) {
        return false;
      }
    }
    return true;
  }

  boolean needsModel() {
    return !modelPatterns.isEmpty();
  }

  boolean modelMatches(String model) {
    if (modelPatterns.isEmpty()) {
      return true;
    }
    if (model == null) {
      return false;
    }
    for (Pattern p : modelPatterns) {
      if (p.matcher(model).matches()) {
        return true;
      }
    }
    return false;
  }

  boolean methodAllowed(String method) {
    List<String> methods = config.match().methods();
    return methods.isEmpty() || methods.contains(method);
  }

  List<String> methods() {
    return config.match().methods();
  }

  /** The API the route's clients speak: its {@code api}, else the default for the request's path. */
  public Api api(String requestPath) {
    return config.api() != null ? config.api() : Api.forPath(requestPath);
  }

  /** The route's path template for traces ({@code http.route}): its {@code path}, else its {@code path-prefix}. */
  public String httpRoute() {
    MatchConfig m = config.match();
    return m.path() != null ? m.path() : m.pathPrefix();
  }

  /**
   * The path to forward: the matched prefix (or the exact path) replaced by {@code rewrite-path}.
   */
  public String rewrite(String path) {
    String target = config.rewritePath();
    if (target == null) {
      return path;
    }
    MatchConfig m = config.match();
    if (m.path() != null) {
      return target;
    }
    // A prefix's trailing slash is a segment separator, not part of what it names: "/" or "/v1/"
    // rewritten to "/base" must give "/base/v1/x", not "/basev1/x".
    String prefix = m.pathPrefix();
    if (prefix.endsWith("/")) {
      prefix = prefix.substring(0, prefix.length() - 1);
    }
    String rest = path.substring(prefix.length());
    if (target.endsWith("/") && rest.startsWith("/")) {
      rest = rest.substring(1);
    }
    return target + rest;
  }

  static Pattern glob(String glob) {
    StringBuilder regex = new StringBuilder();
    for (char c : glob.toCharArray()) {
      switch (c) {
        case '*' -> regex.append(".*");
        case '?' -> regex.append('.');
        default -> regex.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(regex.toString());
  }

  @Override
  public String toString() {
    return "Route[" + name() + "]";
  }
}
