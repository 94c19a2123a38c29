package io.sluice.plugins.cors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import io.sluice.plugin.Decision;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugins.iprestriction.IpRestrictionFactory;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CorsPluginTest {
  private static final String APP = "https://app.example";
  private final FakeServices services = new FakeServices();

  /** Response headers as a plain map (lower-case names), for the response hook. */
  private static final class Headers implements Plugin.ResponseHeaders {
    final Map<String, String> map = new LinkedHashMap<>();

    Headers with(String name, String value) {
      map.put(name.toLowerCase(Locale.ROOT), value);
      return this;
    }

    @Override
    public String get(String name) {
      return map.get(name.toLowerCase(Locale.ROOT));
    }

    @Override
    public void set(String name, String value) {
      map.put(name.toLowerCase(Locale.ROOT), value);
    }

    @Override
    public void remove(String name) {
      map.remove(name.toLowerCase(Locale.ROOT));
    }
  }

  private static CorsSettings settings(List<String> origins, boolean credentials) {
    return new CorsSettings(origins, CorsFactory.DEFAULT_METHODS, CorsFactory.DEFAULT_ALLOW_HEADERS,
        CorsFactory.DEFAULT_EXPOSE_HEADERS, credentials, Duration.ofMinutes(10));
  }

  private Plugin plugin(CorsSettings s) {
    return new CorsFactory().create(s, services);
  }

  private static FakeRequest preflight(String origin) {
    return new FakeRequest().method("OPTIONS").header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization, content-type");
  }

  private static Decision decide(Plugin p, FakeRequest r) {
    return p.onRequest(r).toCompletableFuture().join();
  }

  @Test
  void answersAPreflightFromAListedOriginWith204() {
    Decision d = decide(plugin(settings(List.of(APP), false)), preflight(APP));
    assertThat(d).isInstanceOfSatisfying(Decision.Respond.class, r -> {
      assertThat(r.status()).isEqualTo(204);
      assertThat(r.headers()).containsOnly(
          entry("Access-Control-Allow-Origin", APP),
          entry("Vary", "Origin"),
          entry("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
          entry("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID, X-Request-Id"),
          entry("Access-Control-Max-Age", "600"));
    });
    assertThat(services.authFailures).isEmpty();
  }

  @Test
  void saysAllowCredentialsOnThePreflightWhenConfigured() {
    Decision d = decide(plugin(settings(List.of(APP), true)), preflight(APP));
    assertThat(((Decision.Respond) d).headers()).containsEntry("Access-Control-Allow-Credentials", "true");
  }

  @Test
  void refusesAPreflightFromAnUnlistedOriginWith403() {
    Decision d = decide(plugin(settings(List.of(APP), false)), preflight("https://evil.example"));
    assertThat(d).isInstanceOfSatisfying(Decision.Reject.class, r -> {
      assertThat(r.status()).isEqualTo(403);
      assertThat(r.type()).isEqualTo("permission_error");
      assertThat(r.code()).isEqualTo("origin_not_allowed");
      assertThat(r.headers()).isEmpty();
    });
    assertThat(services.authFailures).containsExactly("chat/cors/origin_not_allowed");
  }

  @Test
  void comparesOriginsAsBrowsersSerialiseThem() {
    Plugin p = plugin(settings(List.of(APP, "http://localhost:3000"), false));
    assertThat(decide(p, preflight("https://APP.example"))).isInstanceOf(Decision.Respond.class);
    assertThat(decide(p, preflight("https://app.example:443"))).isInstanceOf(Decision.Respond.class);
    assertThat(decide(p, preflight("http://localhost:3000"))).isInstanceOf(Decision.Respond.class);
    assertThat(decide(p, preflight("http://localhost:3001"))).isInstanceOf(Decision.Reject.class);
    assertThat(decide(p, preflight("http://app.example"))).isInstanceOf(Decision.Reject.class);
    assertThat(decide(p, preflight("https://app.example.evil"))).isInstanceOf(Decision.Reject.class);
    assertThat(decide(p, preflight("null"))).isInstanceOf(Decision.Reject.class);
  }

  @Test
  void aWildcardAnswersEveryOriginWithAStar() {
    Decision d = decide(plugin(settings(List.of("*"), false)), preflight("https://any.example"));
    assertThat(((Decision.Respond) d).headers())
        .containsEntry("Access-Control-Allow-Origin", "*")
        .doesNotContainKeys("Vary", "Access-Control-Allow-Credentials");
  }

  @Test
  void anOptionsRequestWithoutOriginOrRequestMethodIsNotAPreflight() {
    Plugin p = plugin(settings(List.of(APP), false));
    assertThat(decide(p, new FakeRequest().method("OPTIONS").header("Origin", APP)))
        .isInstanceOf(Decision.Proceed.class);
    assertThat(decide(p, new FakeRequest().method("OPTIONS").header("Access-Control-Request-Method", "POST")))
        .isInstanceOf(Decision.Proceed.class);
  }

  @Test
  void addsCorsHeadersToTheResponseOfAListedOrigin() {
    Plugin p = plugin(settings(List.of(APP), true));
    FakeRequest r = new FakeRequest().header("Origin", APP);
    assertThat(decide(p, r)).isInstanceOf(Decision.Proceed.class);
    assertThat(r.responseHeaders).containsExactly(entry("vary", "Origin"));

    Headers h = new Headers().with("Content-Type", "text/event-stream")
        .with("Access-Control-Allow-Origin", "*"); // the upstream's own policy is replaced
    p.onResponseHeaders(r, 200, h);
    assertThat(h.map).containsOnly(
        entry("content-type", "text/event-stream"),
        entry("access-control-allow-origin", APP),
        entry("access-control-allow-credentials", "true"),
        entry("access-control-expose-headers", "X-Request-Id, x-ratelimit-limit-tokens, "
            + "x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens, x-ratelimit-limit-requests, "
            + "x-ratelimit-remaining-requests, x-ratelimit-reset-requests, Retry-After"));
  }

  @Test
  void addsTheHeadersToGatewayRefusalsToo() {
    Plugin p = plugin(settings(List.of(APP), false));
    FakeRequest r = new FakeRequest().header("Origin", APP);
    decide(p, r);
    Headers h = new Headers().with("Content-Type", "application/json");
    p.onResponseHeaders(r, 401, h);
    assertThat(h.map).containsEntry("access-control-allow-origin", APP)
        .containsKey("access-control-expose-headers")
        .doesNotContainKey("access-control-allow-credentials");
  }

  @Test
  void leavesAnUnlistedOriginWithoutCorsHeaders() {
    Plugin p = plugin(settings(List.of(APP), false));
    FakeRequest r = new FakeRequest().header("Origin", "https://evil.example");
    assertThat(decide(p, r)).isInstanceOf(Decision.Proceed.class);
    assertThat(r.responseHeaders).containsExactly(entry("vary", "Origin"));
    Headers h = new Headers().with("Access-Control-Allow-Origin", "*")
        .with("Access-Control-Allow-Credentials", "true").with("Access-Control-Expose-Headers", "x");
    p.onResponseHeaders(r, 200, h);
    assertThat(h.map).isEmpty();
    assertThat(services.authFailures).isEmpty();
  }

  @Test
  void aRequestWithoutOriginGetsNoCorsHeadersButVaryOrigin() {
    Plugin p = plugin(settings(List.of(APP), false));
    FakeRequest r = new FakeRequest();
    decide(p, r);
    Headers h = new Headers();
    p.onResponseHeaders(r, 200, h);
    assertThat(h.map).isEmpty();
    assertThat(r.responseHeaders).containsExactly(entry("vary", "Origin"));
  }

  @Test
  void aWildcardMarksEveryResponseWithAStarAndNoVary() {
    Plugin p = plugin(settings(List.of("*"), false));
    for (FakeRequest r : List.of(new FakeRequest(), new FakeRequest().header("Origin", "https://x.example"))) {
      decide(p, r);
      Headers h = new Headers();
      p.onResponseHeaders(r, 200, h);
      assertThat(h.map).containsEntry("access-control-allow-origin", "*");
      assertThat(r.responseHeaders).isEmpty();
    }
  }

  @Test
  void runsFirstInAccess() {
    CorsFactory f = new CorsFactory();
    assertThat(f.name()).isEqualTo("cors");
    assertThat(f.phase()).isEqualTo(Phase.ACCESS);
    assertThat(f.priority()).isGreaterThan(new IpRestrictionFactory().priority());
  }
}
