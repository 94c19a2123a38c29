package io.sluice.plugins.budget;

import static io.sluice.plugins.quota.PluginCalls.chat;
import static io.sluice.plugins.quota.PluginCalls.send;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.PriceConfig;
import io.sluice.plugin.ConfiguredPlugin;
import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginRegistry;
import io.sluice.plugins.quota.PluginCalls.Answer;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import io.sluice.usage.Pricing;
import io.sluice.usage.Usage;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code ai-budget} with local counters, driven by a hand-moved clock (periods are advanced, never slept through). */
class BudgetPluginTest {
  // A Wednesday, 10:00 UTC
  private final FakeServices services = new FakeServices().wallClock(Instant.parse("2026-01-14T10:00:00Z"));

  static BudgetPlugin plugin(String pluginYaml, FakeServices services) throws ConfigException {
    String yaml = "listeners: [ { name: public, port: 8080 } ]\n"
        + "upstreams: [ { name: chat-pool, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]\n"
        + "consumers: [ { name: alice, api-keys: [ 'k-alice-0123456789' ] }, { name: bob, api-keys: [ 'k-bob-0123456789' ] } ]\n"
        + "routes:\n  - name: chat\n    match: { path-prefix: /v1 }\n    upstream: chat-pool\n"
        + "    plugins:\n      ai-budget: " + pluginYaml + "\n";
    var config = new ConfigLoader(k -> null, PluginRegistry.of(List.of(new BudgetFactory()))).parse(yaml, null);
    services.consumers(config.consumers());
    return (BudgetPlugin) ConfiguredPlugin.of(config.routes().get(0).plugins().get(0)).create(services);
  }

  static FakeRequest by(FakeRequest request, String consumer) {
    request.consumer(consumer);
    return request;
  }

  /** Reconciles before the end, as the relay does, then ends the exchange. */
  static void answer(Plugin plugin, FakeRequest request, Usage usage) throws Exception {
    plugin.onUsage(request, usage).toCompletableFuture().get(5, TimeUnit.SECONDS);
    plugin.onComplete(request, new ExchangeSummary(200, "ok", 1, usage));
  }

  @Test
  void aTokensRuleRefusesOnceTheDayIsSpentUntilMidnightUtc() throws Exception {
    var p = plugin("{ rules: [ { limit-by: ip, period: day, tokens: 1000 } ] }", services);
    FakeRequest first = chat("m", 99); // reserves 1 + 99
    Answer a = send(p, first);
    assertThat(a.admitted()).isTrue();
    assertThat(a.header("x-sluice-budget-remaining")).isEqualTo("900");
    answer(p, first, new Usage(400, 600, 0, 0, "m", false)); // really 1,000: the day is spent
    Answer refused = send(p, chat("m", 1));
    var reject = (Decision.Reject) refused.decision();
    assertThat(reject.status()).isEqualTo(429);
    assertThat(reject.type()).isEqualTo("insufficient_quota");
    assertThat(reject.code()).isEqualTo("budget_exceeded");
    assertThat(refused.header("Retry-After")).isEqualTo(Long.toString(14 * 3600)); // 10:00 → midnight
    assertThat(refused.header("x-sluice-budget-remaining")).isEqualTo("0");
    assertThat(services.rateLimitRejections).containsExactly("chat/ai-budget");

    services.advance(Duration.ofHours(14)); // 2026-01-15T00:00Z: a new day
    assertThat(send(p, chat("m", 99)).header("x-sluice-budget-remaining")).isEqualTo("900");
  }

  @Test
  void aWeekStartsOnMondayAndAMonthOnTheFirst() throws Exception {
    var week = plugin("{ rules: [ { limit-by: ip, period: week, tokens: 100 } ] }", services);
    var month = plugin("{ rules: [ { limit-by: ip, period: month, tokens: 100 } ] }", services);
    for (var p : List.of(week, month)) {
      FakeRequest r = chat("m", 99);
      send(p, r);
      answer(p, r, new Usage(50, 50, 0, 0, "m", false));
    }
    Answer w = send(week, chat("m", 1));
    Answer m = send(month, chat("m", 1));
    // Wednesday 14 January 10:00 → Monday 19 January 00:00 = 4 days 14 h; → 1 February = 17 days 14 h
    assertThat(w.header("Retry-After")).isEqualTo(Long.toString(4 * 86400 + 14 * 3600));
    assertThat(m.header("Retry-After")).isEqualTo(Long.toString(17 * 86400 + 14 * 3600));
    services.advance(Duration.ofDays(4).plusHours(14));
    assertThat(send(week, chat("m", 1)).admitted()).as("Monday: a new week").isTrue();
    assertThat(send(month, chat("m", 1)).admitted()).as("still January").isFalse();
    services.advance(Duration.ofDays(13));
    assertThat(send(month, chat("m", 1)).admitted()).as("1 February: a new month").isTrue();
  }

  @Test
  void aUsdRuleReservesAtTheRequestedModelsPriceAndChargesTheServedUsage() throws Exception {
    services.pricing = Pricing.of(List.of(
        new PriceConfig("gpt-4.1*", new BigDecimal("2.00"), new BigDecimal("0.50"), new BigDecimal("8.00"))));
    var p = plugin("{ rules: [ { limit-by: consumer, period: month, usd: 0.01 } ] }", services);
    FakeRequest r = by(chat("gpt-4.1", 999), "alice");
    Answer a = send(p, r);
    // reserved: 1 × 2.00 + 999 × 8.00 = 7,994 per million = 0.007994 → 0.002006 left
    assertThat(a.header("x-sluice-budget-remaining")).isEqualTo("0.002006");
    // served: 1,536 in (1,408 cached), 8 out → 0.001024 (PricingTest)
    answer(p, r, new Usage(1536, 8, 1408, 0, "gpt-4.1-2025-04-14", false));
    FakeRequest next = by(chat("gpt-4.1", 1), "alice");
    // 0.01 − 0.001024 = 0.008976; this one reserves 1 × 2 + 1 × 8 = 10 per million = 0.00001
    assertThat(send(p, next).header("x-sluice-budget-remaining")).isEqualTo("0.008966");
    assertThat(services.budgets).last().isEqualTo("chat/0:consumer:month/alice/usd=0.01/0.008966");
  }

  @Test
  void overridesGiveNamedKeysTheirOwnBudget() throws Exception {
    services.pricing = Pricing.of(List.of(new PriceConfig("*", BigDecimal.ONE, null, BigDecimal.ONE)));
    var p = plugin("{ rules: [ { limit-by: consumer, period: month, usd: 0.000001, overrides: { alice: 1.5 } } ] }",
        services);
    assertThat(send(p, by(chat("m", 9), "alice")).header("x-sluice-budget-remaining")).isEqualTo("1.499990");
    FakeRequest bob = by(chat("m", 9), "bob");
    assertThat(send(p, bob).admitted()).isTrue(); // admitted although its estimate exceeds the budget
    assertThat(send(p, by(chat("m", 9), "bob")).admitted()).isFalse();
  }

  @Test
  void theMostRestrictiveRuleNamesTheRemainingBudget() throws Exception {
    services.pricing = Pricing.of(List.of(new PriceConfig("*", BigDecimal.ONE, null, BigDecimal.ONE)));
    var p = plugin("{ rules: [ { limit-by: consumer, period: month, usd: 100 },"
        + " { limit-by: 'header:x-team', period: day, tokens: 1000 } ] }", services);
    // USD: 100 − 0.0001 (99.9999 %), tokens: 1000 − 100 (90 %): the tokens rule is tighter
    assertThat(send(p, by(chat("m", 99).header("x-team", "a"), "alice")).header("x-sluice-budget-remaining"))
        .isEqualTo("900");
  }

  @Test
  void anExchangeWithoutAnAnswerIsRefundedAndSettlingTwiceChargesOnce() throws Exception {
    var p = plugin("{ rules: [ { limit-by: ip, period: day, tokens: 1000 } ] }", services);
    FakeRequest failed = chat("m", 499);
    send(p, failed);
    p.onComplete(failed, new ExchangeSummary(502, "upstream_failed", 1, null));
    FakeRequest ok = chat("m", 99);
    assertThat(send(p, ok).header("x-sluice-budget-remaining")).isEqualTo("900");
    Usage used = new Usage(10, 20, 0, 0, "m", false);
    p.onUsage(ok, used).toCompletableFuture().get();
    p.onUsage(ok, used).toCompletableFuture().get();
    p.onComplete(ok, new ExchangeSummary(200, "ok", 1, used));
    assertThat(send(p, chat("m", 1)).header("x-sluice-budget-remaining")).as("30 used, 1 + 1 reserved")
        .isEqualTo("968");
  }

  @Test
  void budgetGaugesOnlyForDeclaredConsumers() throws Exception {
    var p = plugin("{ rules: [ { limit-by: consumer, period: day, tokens: 1000 }, { limit-by: ip, period: day, tokens: 5000 } ] }",
        services);
    send(p, by(chat("m", 99), "alice"));
    send(p, by(chat("m", 99), "mallory"));
    send(p, chat("m", 99));
    assertThat(services.budgets).containsExactly("chat/0:consumer:day/alice/tokens=1000.0/900.0");
  }
}
