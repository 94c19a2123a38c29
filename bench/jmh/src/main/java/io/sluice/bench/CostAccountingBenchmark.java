package io.sluice.bench;

import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.config.PriceConfig;
import io.sluice.observe.CostMetrics;
import io.sluice.observe.GatewayMetrics;
import io.sluice.plugin.ConfiguredPlugin;
import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginRegistry;
import io.sluice.usage.Pricing;
import io.sluice.usage.Usage;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What cost and budget accounting add per exchange (gateway-core/docs/usage.md, "Cost";
 * gateway-plugins/docs/ai-budget.md):
 *
 * <ul>
 *   <li>{@link #costAtEnd}: what the end of every exchange adds with a {@code pricing} table — the
 *       served model looked up (a three-entry table, matched by the last glob), the exact
 *       {@code BigDecimal} cost with cached and reasoning tokens, its nano-dollars, and
 *       {@code sluice_cost_usd_total} incremented;
 *   <li>{@link #budgetCycle}: {@code ai-budget} with one USD rule per consumer and the local store,
 *       through the plugin SPI as the gateway calls it — {@code onRequest} (key, period, the
 *       estimate from the JSON body priced at the requested model, the reservation),
 *       {@code onResponseHeaders} ({@code x-sluice-budget-remaining}), {@code onUsage} (the
 *       reconciliation before the last byte) and {@code onComplete}.
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CostAccountingBenchmark {
  private Pricing pricing;
  private CostMetrics metrics;
  private Usage usage;
  private Plugin budget;
  private TokenLimitBenchmark.Request request;
  private TokenLimitBenchmark.Headers headers;
  private ExchangeSummary summary;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    pricing = Pricing.of(List.of(
        new PriceConfig("gpt-4.1*", new BigDecimal("2.00"), new BigDecimal("0.50"), new BigDecimal("8.00")),
        new PriceConfig("claude-sonnet-4*", new BigDecimal("3.00"), new BigDecimal("0.30"), new BigDecimal("15.00")),
        new PriceConfig("sluice-mock-*", new BigDecimal("0.15"), new BigDecimal("0.075"), new BigDecimal("0.60"))));
    metrics = new GatewayMetrics("bench").cost();
    usage = new Usage(1536, 100, 1024, 20, "sluice-mock-1", false);
    summary = new ExchangeSummary(200, "ok", 1_000_000, usage);
    String yaml = "listeners: [ { name: public, port: 8080 } ]\n"
        + "upstreams: [ { name: chat-pool, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]\n"
        + "consumers: [ { name: bench, jwt-claim-value: bench } ]\n"
        + "routes:\n  - name: chat\n    match: { path-prefix: /v1/chat/completions }\n    upstream: chat-pool\n"
        + "    plugins:\n      ai-budget: { rules: [ { limit-by: consumer, period: month, usd: 1000000 } ] }\n";
    GatewayConfig config = new ConfigLoader(k -> null, PluginRegistry.load()).parse(yaml, null);
    budget = ConfiguredPlugin.of(config.routes().get(0).plugins().get(0))
        .create(new TokenLimitBenchmark.Services(config.consumers(), pricing));
    request = new TokenLimitBenchmark.Request(TokenLimitBenchmark.shortBody().getBytes(StandardCharsets.UTF_8));
    headers = new TokenLimitBenchmark.Headers();
  }

  @Benchmark
  public long costAtEnd() {
    long nanos = Pricing.nanos(pricing.cost(usage));
    metrics.cost("chat", "bench", "sluice-mock-1", nanos);
    return nanos;
  }

  @Benchmark
  public Object budgetCycle() {
    Decision d = budget.onRequest(request).toCompletableFuture().join();
    budget.onResponseHeaders(request, 200, headers);
    budget.onUsage(request, usage).toCompletableFuture().join();
    budget.onComplete(request, summary);
    return d;
  }
}
