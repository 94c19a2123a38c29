package io.sluice.plugins.tokenlimit;

import static io.sluice.plugins.tokenlimit.TokenLimits.chat;
import static io.sluice.plugins.tokenlimit.TokenLimits.plugin;
import static io.sluice.plugins.quota.PluginCalls.send;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugins.quota.PluginCalls.Answer;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import io.sluice.usage.Usage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The plugin with local counters, driven by a hand-moved clock (windows are advanced, never slept through). */
class TokenRateLimitPluginTest {
  private final FakeServices services = new FakeServices().wallClock(Instant.parse("2026-01-01T10:00:00Z"));

  private static ExchangeSummary ok(Usage usage) {
    return new ExchangeSummary(200, "ok", 1, usage);
  }

  private static Usage usage(long in, long out) {
    return new Usage(in, out, 0, 0, "m", false);
  }

  @Test
  void refusesOnceTheWindowIsSpentAndAdmitsAgainInTheNextAlignedWindow() throws Exception {
    var p = plugin("{ rules: [ { limit-by: consumer, tokens-per-minute: 300 } ], default-max-tokens: 100 }", services);
    services.advance(Duration.ofSeconds(42)); // 10:00:42, 18 s left in the minute
    for (int i = 0; i < 3; i++) {
      FakeRequest r = chat(99);
      Answer a = send(p, r);
      assertThat(a.admitted()).isTrue();
      assertThat(a.header("x-ratelimit-remaining-tokens")).isEqualTo(Long.toString(300 - 100L * (i + 1)));
      p.onComplete(r, ok(null)); // no usage reported: the reservation stands
    }
    Answer refused = send(p, chat(99));
    assertThat(refused.status()).isEqualTo(429);
    var reject = (Decision.Reject) refused.decision();
    assertThat(reject.type()).isEqualTo("rate_limit_error");
    assertThat(reject.code()).isEqualTo("token_rate_limited");
    assertThat(refused.header("Retry-After")).isEqualTo("18");
    assertThat(refused.header("x-ratelimit-limit-tokens")).isEqualTo("300");
    assertThat(refused.header("x-ratelimit-remaining-tokens")).isEqualTo("0");
    assertThat(refused.header("x-ratelimit-reset-tokens")).isEqualTo("18");
    assertThat(services.rateLimitRejections).containsExactly("chat/ai-token-ratelimit");

    services.advance(Duration.ofSeconds(18)); // 10:01:00: a new window, not 60 s after the first request
    assertThat(send(p, chat(99)).admitted()).isTrue();
  }

  @Test
  void aRequestWithoutMaxTokensReservesThePluginsDefaultElseTheRoutesElse1024() throws Exception {
    var own = plugin("{ rules: [ { limit-by: ip, tokens-per-day: 100000 } ], default-max-tokens: 50 }", services);
    var none = plugin("{ rules: [ { limit-by: ip, tokens-per-day: 100000 } ] }", services);
    String noMax = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi!\"}]}";
    // one prompt token ("hi!") + the output default
    assertThat(send(own, new FakeRequest().body(noMax).defaultMaxTokens(300)).header("x-ratelimit-remaining-tokens"))
        .as("the plugin's own wins").isEqualTo(Long.toString(100000 - 51));
    assertThat(send(none, new FakeRequest().body(noMax).clientIp("10.0.0.2").defaultMaxTokens(300))
        .header("x-ratelimit-remaining-tokens")).as("the route's").isEqualTo(Long.toString(100000 - 301));
    assertThat(send(none, new FakeRequest().body(noMax).clientIp("10.0.0.3")).header("x-ratelimit-remaining-tokens"))
        .as("neither: 1024").isEqualTo(Long.toString(100000 - 1025));
  }

  @Test
  void resetIsWholeSecondsRoundedUpAndAtLeastOne() throws Exception {
    var p = plugin("{ rules: [ { limit-by: ip, tokens-per-second: 1000 } ] }", services);
    services.advance(Duration.ofMillis(499)); // 10:00:00.499
    assertThat(send(p, chat(10)).header("x-ratelimit-reset-tokens")).isEqualTo("1");
    services.advance(Duration.ofMillis(500)); // 10:00:00.999
    assertThat(send(p, chat(10)).header("x-ratelimit-reset-tokens")).isEqualTo("1");
  }

  @Test
  void overridesGiveNamedKeysTheirOwnLimit() throws Exception {
    var p = plugin("{ rules: [ { limit-by: 'header:x-user', tokens-per-hour: 100, overrides: { alice: 1000 } } ] }", services);
    Answer alice = send(p, chat(200).header("x-user", "alice"));
    assertThat(alice.header("x-ratelimit-limit-tokens")).isEqualTo("1000");
    assertThat(alice.header("x-ratelimit-remaining-tokens")).isEqualTo("799");
    assertThat(send(p, chat(200).header("x-user", "alice")).admitted()).isTrue();
    Answer bob = send(p, chat(200).header("x-user", "bob"));
    assertThat(bob.admitted()).isTrue(); // admitted although its own estimate exceeds the limit
    assertThat(bob.header("x-ratelimit-limit-tokens")).isEqualTo("100");
    assertThat(bob.header("x-ratelimit-remaining-tokens")).isEqualTo("0");
    assertThat(send(p, chat(1).header("x-user", "bob")).status()).isEqualTo(429);
    assertThat(send(p, chat(1).header("x-user", "alice")).admitted()).isTrue();
    assertThat(alice.header("x-ratelimit-reset-tokens")).isEqualTo("3600");
  }

  @Test
  void requestsWithoutTheKeyShareOneBucket() throws Exception {
    var p = plugin("{ rules: [ { limit-by: 'query:user', tokens-per-minute: 150 } ] }", services);
    assertThat(send(p, chat(99)).admitted()).isTrue(); // no ?user=
    assertThat(send(p, chat(99).header("x-other", "1")).admitted()).isTrue();
    assertThat(send(p, chat(99)).status()).as("omitting the key does not escape the limit").isEqualTo(429);
    assertThat(send(p, chat(99).query("user", "u1")).admitted()).isTrue();
  }

  @Test
  void everyRuleIsChargedAndTheMostRestrictiveIsReported() throws Exception {
    var p = plugin("{ rules: [ { limit-by: consumer, tokens-per-minute: 1000 },"
        + " { limit-by: ip, tokens-per-day: 500 } ] }", services);
    FakeRequest r = chat(99);
    r.consumer("alice");
    Answer a = send(p, r);
    assertThat(a.header("x-ratelimit-limit-tokens")).isEqualTo("500");
    assertThat(a.header("x-ratelimit-remaining-tokens")).isEqualTo("400");
    assertThat(a.header("x-ratelimit-reset-tokens")).isEqualTo(Long.toString(14 * 3600));
    for (int i = 0; i < 4; i++) {
      FakeRequest other = chat(99);
      other.consumer("bob");
      send(p, other);
    }
    FakeRequest refused = chat(99);
    refused.consumer("alice");
    Answer no = send(p, refused);
    assertThat(no.status()).as("the ip's day is spent, alice's minute is not").isEqualTo(429);
    assertThat(no.header("Retry-After")).isEqualTo(Long.toString(14 * 3600));
  }

  @Test
  void reconcilesUpAndDownWithTheReportedUsage() throws Exception {
    var p = plugin("{ rules: [ { limit-by: consumer, tokens-per-minute: 1000 } ] }", services);
    FakeRequest r1 = chat(99); // reserves 100
    send(p, r1);
    p.onComplete(r1, ok(usage(30, 20))); // used 50: 50 back
    Answer a = send(p, chat(99));
    assertThat(a.header("x-ratelimit-remaining-tokens")).isEqualTo(Long.toString(1000 - 50 - 100));
    FakeRequest r3 = chat(99);
    send(p, r3);
    p.onComplete(r3, ok(usage(100, 500))); // used 600: 500 more
    assertThat(send(p, chat(9)).header("x-ratelimit-remaining-tokens")).isEqualTo(Long.toString(1000 - 50 - 100 - 600 - 10));
  }

  @Test
  void refundsExchangesThatProducedNoAnswer() throws Exception {
    var p = plugin("{ rules: [ { limit-by: consumer, tokens-per-minute: 1000 } ] }", services);
    FakeRequest failed = chat(99);
    send(p, failed);
    p.onComplete(failed, new ExchangeSummary(502, "upstream_failed", 1));
    FakeRequest gone = chat(99);
    send(p, gone);
    p.onComplete(gone, new ExchangeSummary(499, "client_closed", 1));
    FakeRequest midStream = chat(99);
    send(p, midStream);
    p.onComplete(midStream, new ExchangeSummary(200, "client_closed", 1)); // the answer had started: kept
    assertThat(send(p, chat(99)).header("x-ratelimit-remaining-tokens")).isEqualTo("800");
  }

  @Test
  void aRefusedRequestChargesNothingAndIsNotRefunded() throws Exception {
    var p = plugin("{ rules: [ { limit-by: consumer, tokens-per-minute: 100 } ] }", services);
    send(p, chat(99));
    FakeRequest refused = chat(99);
    assertThat(send(p, refused).status()).isEqualTo(429);
    p.onComplete(refused, new ExchangeSummary(429, "token_rate_limited", 1));
    assertThat(send(p, chat(99)).status()).isEqualTo(429);
  }

  @Test
  void estimatesThePromptFromTheBodyAndTheDefaultWithoutMaxTokens() throws Exception {
    var p = plugin("{ rules: [ { limit-by: consumer, tokens-per-minute: 10000 } ], default-max-tokens: 100 }", services);
    String text = "x".repeat(401); // 401 bytes -> 101 tokens
    Answer a = send(p, new FakeRequest().body("{\"messages\":[{\"role\":\"system\",\"content\":\"" + text
        + "\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"abcd\"}]}]}"));
    assertThat(a.header("x-ratelimit-remaining-tokens")).isEqualTo(Long.toString(10000 - 102 - 100));
    Answer b = send(p, new FakeRequest().body("{\"input\":\"abcdefgh\",\"max_output_tokens\":7}"));
    assertThat(b.header("x-ratelimit-remaining-tokens")).isEqualTo(Long.toString(10000 - 202 - 9));
    Answer c = send(p, new FakeRequest().body("{\"messages\":[],\"max_completion_tokens\":5}"));
    assertThat(c.header("x-ratelimit-remaining-tokens")).isEqualTo(Long.toString(10000 - 211 - 5));
  }

  @Test
  void twentyConcurrentReservationsAgainstAWindowHoldingFiveAdmitAtMostSix() throws Exception {
    var p = plugin("{ rules: [ { limit-by: consumer, tokens-per-minute: 500 } ] }", services);
    assertThat(concurrentAdmissions(p, 20)).isBetween(5, 6);
  }

  /** Sends {@code n} reservations of 100 tokens at once from {@code n} threads; returns how many passed. */
  static int concurrentAdmissions(TokenRateLimitPlugin p, int n) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        results.add(pool.submit(() -> {
          start.await();
          return send(p, chat(99)).admitted();
        }));
      }
      start.countDown();
      int admitted = 0;
      for (Future<Boolean> f : results) {
        admitted += f.get(10, TimeUnit.SECONDS) ? 1 : 0;
      }
      return admitted;
    } finally {
      pool.shutdownNow();
    }
  }
}
