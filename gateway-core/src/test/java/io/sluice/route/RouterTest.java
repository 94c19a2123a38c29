package io.sluice.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.HeaderOps;
import io.sluice.config.MatchConfig;
import io.sluice.config.RouteConfig;
import io.sluice.route.Router.Match;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RouterTest {
  private static final Function<String, String> NO_HEADERS = name -> null;
  private static final Supplier<String> NO_MODEL = () -> null;

  private static RouteConfig prefix(String name, String prefix, List<String> methods) {
    return route(name, new MatchConfig(null, prefix, methods, Map.of(), List.of()), null);
  }

  private static RouteConfig exact(String name, String path, List<String> methods) {
    return route(name, new MatchConfig(path, null, methods, Map.of(), List.of()), null);
  }

  private static RouteConfig route(String name, MatchConfig match, String rewritePath) {
    return new RouteConfig(name, match, "up-" + name, null, rewritePath, HeaderOps.NONE, HeaderOps.NONE,
        Duration.ZERO);
  }

  private static String found(Match match) {
    assertThat(match).isInstanceOf(Match.Found.class);
    return ((Match.Found) match).route().name();
  }

  private static Match post(Router router, String path) {
    return router.match("POST", path, NO_HEADERS, NO_MODEL);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "/v1/chat/completions, chat",
      "/v1/chat/completions/x, chat",
      "/v1/chat, v1-chat",
      "/v1/chat/other, v1-chat",
      "/v1/models, v1",
      "/v1, v1",
      "/health, root",
      "/, root"})
  void takesTheLongestMatchingPrefix(String path, String expected) {
    Router router = new Router(List.of(
        prefix("root", "/", List.of()),
        prefix("v1", "/v1", List.of()),
        prefix("chat", "/v1/chat/completions", List.of()),
        prefix("v1-chat", "/v1/chat", List.of())));
    assertThat(found(post(router, path))).isEqualTo(expected);
  }

  @Test
  void exactPathBeatsAnEqualPrefixWhateverTheOrder() {
    Router prefixFirst = new Router(List.of(
        prefix("prefix", "/v1/chat", List.of()), exact("exact", "/v1/chat", List.of())));
    Router exactFirst = new Router(List.of(
        exact("exact", "/v1/chat", List.of()), prefix("prefix", "/v1/chat", List.of())));
    assertThat(found(post(prefixFirst, "/v1/chat"))).isEqualTo("exact");
    assertThat(found(post(exactFirst, "/v1/chat"))).isEqualTo("exact");
    assertThat(found(post(prefixFirst, "/v1/chat/x"))).isEqualTo("prefix");
  }

  @Test
  void exactPathMatchesOnlyItself() {
    Router router = new Router(List.of(exact("exact", "/v1/models", List.of())));
    assertThat(found(post(router, "/v1/models"))).isEqualTo("exact");
    assertThat(post(router, "/v1/models/")).isInstanceOf(Match.NotFound.class);
    assertThat(post(router, "/v1/models/gpt-4o")).isInstanceOf(Match.NotFound.class);
    assertThat(router.noRouteForPath("/v1/models/gpt-4o")).isTrue();
  }

  @Test
  void prefixMatchesOnlyOnASegmentBoundary() {
    Router router = new Router(List.of(prefix("chat", "/v1/chat", List.of())));
    assertThat(post(router, "/v1/chatty")).isInstanceOf(Match.NotFound.class);
    assertThat(router.noRouteForPath("/v1/chatty")).isTrue();
    assertThat(router.noRouteForPath("/v1/cha")).isTrue();
    assertThat(router.noRouteForPath("/v1/chat")).isFalse();
    assertThat(router.noRouteForPath("/v1/chat/completions")).isFalse();
  }

  @Test
  void prefixWithTrailingSlashTakesEverythingBelowIt() {
    Router router = new Router(List.of(prefix("v1", "/v1/", List.of())));
    assertThat(found(post(router, "/v1/chat"))).isEqualTo("v1");
    assertThat(router.noRouteForPath("/v1")).isTrue();
  }

  @Test
  void firstRouteInTheFileWinsAmongEquallyLongMatches() {
    Router router = new Router(List.of(
        prefix("first", "/v1", List.of()), prefix("second", "/v1", List.of())));
    assertThat(found(post(router, "/v1/chat"))).isEqualTo("first");
  }

  @Test
  void methodMismatchGivesMethodNotAllowedWithTheUnionOfAllowedMethods() {
    Router router = new Router(List.of(
        prefix("chat", "/v1/chat", List.of("POST")),
        prefix("chat-get", "/v1/chat", List.of("GET", "HEAD")),
        prefix("chat-options", "/v1/chat/completions", List.of("OPTIONS", "POST")),
        prefix("elsewhere", "/v2", List.of("DELETE"))));
    Match match = router.match("PUT", "/v1/chat/completions", NO_HEADERS, NO_MODEL);
    assertThat(match).isEqualTo(new Match.MethodNotAllowed(List.of("GET", "HEAD", "OPTIONS", "POST")));
  }

  @Test
  void aShorterPrefixAllowingTheMethodStillTakesTheRequest() {
    Router router = new Router(List.of(
        prefix("chat", "/v1/chat", List.of("POST")),
        prefix("any", "/v1", List.of())));
    assertThat(found(router.match("GET", "/v1/chat", NO_HEADERS, NO_MODEL))).isEqualTo("any");
  }

  @Test
  void unknownPathIsNotFound() {
    Router router = new Router(List.of(prefix("chat", "/v1/chat", List.of("POST"))));
    assertThat(router.match("GET", "/v2/chat", NO_HEADERS, NO_MODEL)).isInstanceOf(Match.NotFound.class);
    assertThat(router.noRouteForPath("/v2/chat")).isTrue();
    assertThat(new Router(List.of()).noRouteForPath("/")).isTrue();
  }

  @Test
  void headerMatchSelectsARouteAndFallsBackWithoutIt() {
    Router router = new Router(List.of(
        route("beta", new MatchConfig(null, "/v1", List.of(), Map.of("x-tier", "beta"), List.of()), null),
        prefix("stable", "/v1", List.of())));
    Map<String, String> beta = Map.of("x-tier", "beta");
    Map<String, String> other = Map.of("x-tier", "gold");
    assertThat(found(router.match("POST", "/v1/chat", beta::get, NO_MODEL))).isEqualTo("beta");
    assertThat(found(router.match("POST", "/v1/chat", other::get, NO_MODEL))).isEqualTo("stable");
    assertThat(found(router.match("POST", "/v1/chat", NO_HEADERS, NO_MODEL))).isEqualTo("stable");
  }

  @Test
  void headerMismatchDoesNotCountTowardsMethodNotAllowed() {
    Router router = new Router(List.of(
        route("beta", new MatchConfig(null, "/v1", List.of("GET"), Map.of("x-tier", "beta"), List.of()), null)));
    assertThat(router.match("POST", "/v1/chat", NO_HEADERS, NO_MODEL)).isInstanceOf(Match.NotFound.class);
    Map<String, String> beta = Map.of("x-tier", "beta");
    assertThat(router.match("POST", "/v1/chat", beta::get, NO_MODEL))
        .isEqualTo(new Match.MethodNotAllowed(List.of("GET")));
  }

  private static Router modelRouter() {
    return new Router(List.of(
        route("qwen", new MatchConfig(null, "/v1/chat/completions", List.of("POST"), Map.of(), List.of("qwen-*")), null),
        route("openai", new MatchConfig(null, "/v1/chat/completions", List.of("POST"), Map.of(),
            List.of("gpt-4o", "o?-mini")), null),
        prefix("fallback", "/v1", List.of("POST"))));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "qwen-72b, qwen",
      "qwen-, qwen",
      "gpt-4o, openai",
      "o3-mini, openai",
      "gpt-4o-mini, fallback",
      "xqwen-72b, fallback",
      "qwen, fallback",
      "o3.mini, fallback",
      "o33-mini, fallback"})
  void modelGlobsSelectTheRoute(String model, String expected) {
    assertThat(found(modelRouter().match("POST", "/v1/chat/completions", NO_HEADERS, () -> model)))
        .isEqualTo(expected);
  }

  @Test
  void noModelFallsThroughModelRoutes() {
    assertThat(found(modelRouter().match("POST", "/v1/chat/completions", NO_HEADERS, NO_MODEL)))
        .isEqualTo("fallback");
  }

  @Test
  void asksForTheModelAtMostOnce() {
    AtomicInteger calls = new AtomicInteger();
    Match match = modelRouter().match("POST", "/v1/chat/completions", NO_HEADERS, () -> {
      calls.incrementAndGet();
      return "llama-3";
    });
    assertThat(found(match)).isEqualTo("fallback");
    assertThat(calls).hasValue(1);
  }

  @Test
  void doesNotAskForTheModelWhenNoCandidateNeedsIt() {
    AtomicInteger calls = new AtomicInteger();
    Supplier<String> model = () -> {
      calls.incrementAndGet();
      return "qwen-72b";
    };
    Router router = modelRouter();
    assertThat(found(router.match("POST", "/v1/models", NO_HEADERS, model))).isEqualTo("fallback");
    assertThat(router.match("POST", "/v2/x", NO_HEADERS, model)).isInstanceOf(Match.NotFound.class);
    assertThat(calls).hasValue(0);
    assertThat(router.needsModel("/v1/models")).isFalse();
    assertThat(router.needsModel("/v1/chat/completions")).isTrue();
  }

  @Test
  void doesNotAskForTheModelWhenALongerRouteWithoutModelsMatches() {
    AtomicInteger calls = new AtomicInteger();
    Router router = new Router(List.of(
        route("qwen", new MatchConfig(null, "/v1", List.of(), Map.of(), List.of("qwen-*")), null),
        prefix("chat", "/v1/chat", List.of())));
    Match match = router.match("POST", "/v1/chat", NO_HEADERS, () -> {
      calls.incrementAndGet();
      return "qwen-72b";
    });
    assertThat(found(match)).isEqualTo("chat");
    assertThat(calls).hasValue(0);
  }

  @ParameterizedTest(name = "{0} + {1} + {2} -> {3}")
  @CsvSource({
      "/openai, /v1, /openai/chat/completions, /v1/chat/completions",
      "/openai, /v1, /openai, /v1",
      "/openai, /, /openai/v1/models, /v1/models",
      "/openai, /, /openai, /",
      "/openai, /api/, /openai/v1, /api/v1",
      "/openai/, /api/, /openai/v1, /api/v1",
      "/openai/, /api, /openai/v1, /api/v1",
      "/, /base, /v1/x, /base/v1/x",
      "/, /base/, /v1/x, /base/v1/x",
      "/, /, /v1/x, /v1/x"})
  void rewriteReplacesTheMatchedPrefix(String prefix, String target, String path, String expected) {
    Route route = new Route(route("r", new MatchConfig(null, prefix, List.of(), Map.of(), List.of()), target));
    assertThat(route.rewrite(path)).isEqualTo(expected);
  }

  @Test
  void rewriteReplacesAnExactPath() {
    Route route = new Route(route("r", new MatchConfig("/chat", null, List.of(), Map.of(), List.of()),
        "/v1/chat/completions"));
    assertThat(route.rewrite("/chat")).isEqualTo("/v1/chat/completions");
  }

  @Test
  void withoutRewriteThePathIsForwardedUnchanged() {
    Route route = new Route(prefix("r", "/v1", List.of()));
    assertThat(route.rewrite("/v1/chat/completions")).isEqualTo("/v1/chat/completions");
    assertThat(route.upstreamName()).isEqualTo("up-r");
  }

  @Test
  void matchesAPreflightAsTheMethodItAnnounces() {
    Router router = new Router(List.of(
        route("tenant", new MatchConfig(null, "/v1/chat/completions", List.of("POST"), Map.of("x-tenant", "acme"),
            List.of()), null),
        prefix("chat", "/v1/chat/completions", List.of("POST")),
        prefix("events", "/v1/events", List.of("GET"))));
    // As OPTIONS, the path is a 405; as the announced method, it is the route.
    assertThat(router.match("OPTIONS", "/v1/chat/completions", NO_HEADERS, NO_MODEL))
        .isInstanceOf(Match.MethodNotAllowed.class);
    assertThat(router.preflightRoute("POST", "/v1/chat/completions", NO_HEADERS).name()).isEqualTo("chat");
    assertThat(router.preflightRoute("GET", "/v1/events/x", NO_HEADERS).name()).isEqualTo("events");
    assertThat(router.preflightRoute("POST", "/v1/chat/completions", h -> h.equals("x-tenant") ? "acme" : null)
        .name()).isEqualTo("tenant");
    assertThat(router.preflightRoute("PUT", "/v1/chat/completions", NO_HEADERS)).isNull();
    assertThat(router.preflightRoute("POST", "/v2", NO_HEADERS)).isNull();
  }

  @Test
  void aPreflightMatchesAModelRouteWithoutABody() {
    Router router = new Router(List.of(
        route("qwen", new MatchConfig(null, "/v1", List.of("POST"), Map.of(), List.of("qwen-*")), null)));
    assertThat(router.match("POST", "/v1/x", NO_HEADERS, NO_MODEL)).isInstanceOf(Match.NotFound.class);
    assertThat(router.preflightRoute("POST", "/v1/x", NO_HEADERS).name()).isEqualTo("qwen");
  }
}
