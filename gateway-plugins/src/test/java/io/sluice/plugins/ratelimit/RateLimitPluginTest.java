package io.sluice.plugins.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.plugin.Decision;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code rate-limit} buckets driven by a hand-moved clock: burst, refill, keys, headers. */
class RateLimitPluginTest {
  private final FakeServices services = new FakeServices();

  private RateLimitPlugin plugin(String limitBy, double rate, int burst) {
    return new RateLimitPlugin(new RateLimitSettings(List.of(
        new RateLimitSettings.Rule(LimitBy.parse(limitBy), rate, burst))), services);
  }

  private static Decision decide(RateLimitPlugin plugin, FakeRequest request) {
    return plugin.onRequest(request).toCompletableFuture().join();
  }

  private static boolean admitted(RateLimitPlugin plugin, FakeRequest request) {
    return decide(plugin, request) instanceof Decision.Proceed;
  }

  private static FakeRequest user(String name) {
    return new FakeRequest().header("x-user", name);
  }

  @Test
  void admitsABurstThenRefusesWith429AndRetryAfter() {
    RateLimitPlugin plugin = plugin("ip", 1, 3);
    for (int i = 0; i < 3; i++) {
      assertThat(admitted(plugin, new FakeRequest())).as("request %d", i + 1).isTrue();
    }
    FakeRequest refused = new FakeRequest();
    Decision d = decide(plugin, refused);
    assertThat(d).isInstanceOf(Decision.Reject.class);
    Decision.Reject r = (Decision.Reject) d;
    assertThat(r.status()).isEqualTo(429);
    assertThat(r.type()).isEqualTo("rate_limit_error");
    assertThat(r.code()).isEqualTo("request_rate_limited");
    assertThat(r.headers()).containsExactly(Map.entry("Retry-After", "1"));
    assertThat(refused.responseHeaders).containsExactly(
        Map.entry("x-ratelimit-limit-requests", "3"),
        Map.entry("x-ratelimit-remaining-requests", "0"),
        Map.entry("x-ratelimit-reset-requests", "3"));
    assertThat(services.rateLimitRejections).containsExactly("chat/rate-limit");
  }

  @Test
  void describesTheBucketOnEveryAdmittedResponse() {
    RateLimitPlugin plugin = plugin("ip", 2, 4);
    FakeRequest first = new FakeRequest();
    assertThat(admitted(plugin, first)).isTrue();
    assertThat(first.responseHeaders).containsExactly(
        Map.entry("x-ratelimit-limit-requests", "4"),
        Map.entry("x-ratelimit-remaining-requests", "3"),
        Map.entry("x-ratelimit-reset-requests", "1")); // 0.5 s until full, rounded up
    admitted(plugin, new FakeRequest());
    FakeRequest third = new FakeRequest();
    assertThat(admitted(plugin, third)).isTrue();
    assertThat(third.responseHeaders).containsEntry("x-ratelimit-remaining-requests", "1")
        .containsEntry("x-ratelimit-reset-requests", "2"); // 1.5 s
  }

  @Test
  void refillsAtTheConfiguredRate() {
    RateLimitPlugin plugin = plugin("ip", 2, 2);
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
    assertThat(admitted(plugin, new FakeRequest())).isFalse();
    services.advance(Duration.ofMillis(499));
    assertThat(admitted(plugin, new FakeRequest())).isFalse();
    services.advance(Duration.ofMillis(1));
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
    assertThat(admitted(plugin, new FakeRequest())).isFalse();
    services.advance(Duration.ofSeconds(10)); // never more than the burst
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
    assertThat(admitted(plugin, new FakeRequest())).isFalse();
  }

  @Test
  void refusedRequestsDoNotDrainTheBucket() {
    RateLimitPlugin plugin = plugin("ip", 1, 1);
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
    for (int i = 0; i < 5; i++) {
      assertThat(admitted(plugin, new FakeRequest())).isFalse();
    }
    services.advance(Duration.ofSeconds(1));
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
  }

  @Test
  void acceptsFractionalRatesWithRetryAfterInWholeSeconds() {
    RateLimitPlugin plugin = plugin("ip", 0.5, 1);
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
    services.advance(Duration.ofMillis(500));
    FakeRequest refused = new FakeRequest();
    Decision.Reject r = (Decision.Reject) decide(plugin, refused);
    assertThat(r.headers()).containsEntry("Retry-After", "2"); // 1.5 s, rounded up
    assertThat(refused.responseHeaders).containsEntry("x-ratelimit-reset-requests", "2");
    services.advance(Duration.ofMillis(1500));
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
  }

  @Test
  void retryAfterIsAtLeastOneSecond() {
    RateLimitPlugin plugin = plugin("ip", 100, 1);
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
    Decision.Reject r = (Decision.Reject) decide(plugin, new FakeRequest());
    assertThat(r.headers()).containsEntry("Retry-After", "1");
  }

  @Test
  void keepsSeparateBucketsPerHeaderValue() {
    RateLimitPlugin plugin = plugin("header:x-user", 1, 1);
    assertThat(admitted(plugin, user("ann"))).isTrue();
    assertThat(admitted(plugin, user("ann"))).isFalse();
    assertThat(admitted(plugin, user("ben"))).isTrue();
    assertThat(admitted(plugin, user("ben"))).isFalse();
  }

  @Test
  void requestsWithoutTheHeaderShareOneBucket() {
    RateLimitPlugin plugin = plugin("header:x-user", 1, 2);
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
    assertThat(admitted(plugin, new FakeRequest().header("x-user", ""))).isTrue();
    assertThat(admitted(plugin, new FakeRequest().clientIp("10.0.0.9"))).isFalse();
    assertThat(admitted(plugin, user("ann"))).as("a named user has its own bucket").isTrue();
  }

  @Test
  void anonymousRequestsShareTheConsumerBucket() {
    RateLimitPlugin plugin = plugin("consumer", 1, 1);
    FakeRequest alice = new FakeRequest();
    alice.consumer("alice");
    assertThat(admitted(plugin, alice)).isTrue();
    assertThat(admitted(plugin, new FakeRequest())).isTrue();
    assertThat(admitted(plugin, new FakeRequest().clientIp("10.9.9.9"))).isFalse();
    FakeRequest bob = new FakeRequest();
    bob.consumer("bob");
    assertThat(admitted(plugin, bob)).isTrue();
  }

  @Test
  void keysByIpQueryAndCookie() {
    RateLimitPlugin byIp = plugin("ip", 1, 1);
    assertThat(admitted(byIp, new FakeRequest().clientIp("10.0.0.1"))).isTrue();
    assertThat(admitted(byIp, new FakeRequest().clientIp("10.0.0.1"))).isFalse();
    assertThat(admitted(byIp, new FakeRequest().clientIp("2001:db8::1"))).isTrue();

    RateLimitPlugin byQuery = plugin("query:user", 1, 1);
    assertThat(admitted(byQuery, new FakeRequest().query("user", "a"))).isTrue();
    assertThat(admitted(byQuery, new FakeRequest().query("user", "a"))).isFalse();
    assertThat(admitted(byQuery, new FakeRequest().query("user", "b"))).isTrue();

    RateLimitPlugin byCookie = plugin("cookie:session", 1, 1);
    assertThat(admitted(byCookie, new FakeRequest().cookie("session", "s1"))).isTrue();
    assertThat(admitted(byCookie, new FakeRequest().cookie("session", "s1"))).isFalse();
    assertThat(admitted(byCookie, new FakeRequest().cookie("session", "s2"))).isTrue();
  }

  @Test
  void keysLongValuesByTheirDigest() {
    RateLimitPlugin plugin = plugin("header:x-user", 1, 1);
    String a = "a".repeat(500);
    assertThat(admitted(plugin, user(a))).isTrue();
    assertThat(admitted(plugin, user(a))).isFalse();
    assertThat(admitted(plugin, user(a + "b"))).isTrue();
  }

  @Test
  void forgetsIdleKeysOnceTheirBucketWouldBeFull() {
    RateLimitPlugin plugin = plugin("header:x-user", 1, 5);
    admitted(plugin, user("ann"));
    admitted(plugin, user("ben"));
    assertThat(plugin.heldKeys(0)).isEqualTo(2);
    services.advance(Duration.ofSeconds(4));
    admitted(plugin, user("ben"));
    services.advance(Duration.ofSeconds(2)); // ann idle 6 s: refilled, so forgotten
    assertThat(plugin.heldKeys(0)).isEqualTo(1);
    services.advance(Duration.ofSeconds(5));
    assertThat(plugin.heldKeys(0)).isZero();
  }

  @Test
  void needsEveryRuleAndReportsTheTightest() {
    RateLimitPlugin plugin = new RateLimitPlugin(new RateLimitSettings(List.of(
        new RateLimitSettings.Rule(LimitBy.parse("ip"), 10, 10),
        new RateLimitSettings.Rule(LimitBy.parse("header:x-user"), 1, 2))), services);
    FakeRequest first = user("ann");
    assertThat(admitted(plugin, first)).isTrue();
    assertThat(first.responseHeaders).containsEntry("x-ratelimit-limit-requests", "2")
        .containsEntry("x-ratelimit-remaining-requests", "1");
    assertThat(admitted(plugin, user("ann"))).isTrue();
    assertThat(admitted(plugin, user("ann"))).isFalse();
    // The refused request gave its ip token back: 8 more fit the ip rule's 10.
    for (int i = 0; i < 8; i++) {
      assertThat(admitted(plugin, user("u" + i))).as("user %d", i).isTrue();
    }
    FakeRequest last = user("zed");
    assertThat(admitted(plugin, last)).isFalse();
    assertThat(last.responseHeaders).containsEntry("x-ratelimit-limit-requests", "10")
        .containsEntry("x-ratelimit-remaining-requests", "0");
  }
}
