package io.sluice.route;

import io.sluice.config.RouteConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Picks the route for a request by its {@code routes[].match}: the longest path match wins; among
 * equally long ones, the first in the file whose headers and models match. A path that matches but
 * whose method does not gives 405 with the allowed methods.
 *
 * <p>Immutable and shared by every event loop.
 */
public final class Router {
  private final List<Route> routes;

  public Router(List<RouteConfig> configs) {
    List<Route> compiled = new ArrayList<>();
    for (RouteConfig c : configs) {
      compiled.add(new Route(c));
    }
    this.routes = List.copyOf(compiled);
  }

  public List<Route> routes() {
    return routes;
  }

  /** The route with this name, or null (a stream session names the route it started on). */
  public Route named(String name) {
    for (Route route : routes) {
      if (route.name().equals(name)) {
        return route;
      }
    }
    return null;
  }

  /** The outcome of matching one request. */
  public sealed interface Match {
    /** The request takes this route. */
    record Found(Route route) implements Match {}

    /** Some route takes the path, but not with this method. */
    record MethodNotAllowed(List<String> allowed) implements Match {}

    /** No route takes the path (with these headers and model). */
    record NotFound() implements Match {}
  }

  /** True when no route could ever take this path: the body need not be read to answer 404. */
  public boolean noRouteForPath(String path) {
    for (Route r : routes) {
      if (r.pathScore(path) >= 0) {
        return false;
      }
    }
    return true;
  }

  /** True when a route that takes this path matches on the body's {@code model}. */
  public boolean needsModel(String path) {
    for (Route r : routes) {
      if (r.pathScore(path) >= 0 && r.needsModel()) {
        return true;
      }
    }
    return false;
  }

  /**
   * @param header a request header's first value by (lower-case) name, or null
   * @param model the JSON body's {@code model}, computed only if a candidate route needs it
   */
  public Match match(String method, String path, Function<String, String> header, Supplier<String> model) {
    return match(method, path, header, model, false);
  }

  /**
   * The route a CORS preflight is for: matched as if the request had the method it announces in
   * {@code Access-Control-Request-Method}, with {@code models} treated as matching (a preflight
   * carries no body; the real request is matched in full). Null when no route takes it.
   */
  public Route preflightRoute(String requestedMethod, String path, Function<String, String> header) {
    return match(requestedMethod, path, header, () -> null, true) instanceof Match.Found f ? f.route() : null;
  }

  private Match match(String method, String path, Function<String, String> header, Supplier<String> model,
      boolean anyModel) {
    List<Route> candidates = new ArrayList<>();
    for (Route r : routes) {
      if (r.pathScore(path) >= 0) {
        candidates.add(r);
      }
    }
    candidates.sort(Comparator.comparingInt((Route r) -> r.pathScore(path)).reversed());
    TreeSet<String> allowed = new TreeSet<>();
    String resolvedModel = null;
    boolean modelResolved = false;
    for (Route r : candidates) {
      if (!r.headersMatch(header)) {
        continue;
      }
      if (r.needsModel() && !anyModel) {
        if (!modelResolved) {
          resolvedModel = model.get();
          modelResolved = true;
        }
        if (!r.modelMatches(resolvedModel)) {
          continue;
        }
      }
      if (r.methodAllowed(method)) {
        return new Match.Found(r);
      }
      allowed.addAll(r.methods());
    }
    if (!allowed.isEmpty()) {
      return new Match.MethodNotAllowed(List.copyOf(allowed));
    }
    return new Match.NotFound();
  }
}
