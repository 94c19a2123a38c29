package io.sluice.plugin;

import io.sluice.config.ConsumerConfig;
import io.sluice.store.RedisStore;
import io.sluice.usage.Pricing;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;

/**
 * What core offers plugins: time (injectable in tests), the declared consumers, and counters.
 * Heavier services (an async Redis client, an HTTP fetcher for JWKS) are added here by core so
 * plugins never open their own sockets or threads.
 */
public interface PluginServices {
  /** Wall-clock time (token expiry, aligned rate-limit windows). */
  Clock clock();

  /** Monotonic nanoseconds (token buckets). */
  LongSupplier nanoTime();

  List<ConsumerConfig> consumers();

  /** Counts an authentication failure: {@code sluice_auth_failures_total{route,plugin,reason}}. */
  void authFailure(String route, String plugin, String reason);

  /** Counts a rate-limit rejection: {@code sluice_ratelimit_rejections_total{route,plugin}}. */
  void rateLimitRejection(String route, String plugin);

  /**
   * The gateway's shared connection to a Redis ({@code redis://host:port}, checked with
   * {@link io.sluice.store.RedisStores#problem} when the config is read). Connects on first use;
   * never blocks. Its health is logged and exported by core
   * ({@code sluice_ratelimit_store_degraded{store}}).
   */
  RedisStore redis(String uri);

  /**
   * The current {@code pricing} table (a reload that changes it is seen by the next request):
   * what {@code ai-budget} prices reservations and usage with.
   */
  default Pricing pricing() {
    return Pricing.NONE;
  }

  /**
   * Exports a budget's state after a request ({@code sluice_budget_limit} /
   * {@code sluice_budget_remaining}{route, rule, key, unit}); the caller keeps the labels bounded.
   */
  default void budget(String route, String rule, String key, String unit, double limit, double remaining) {}

  /** Fetches a URL's body asynchronously (JWKS); completes exceptionally on any failure. */
  CompletionStage<String> fetch(String url, Duration timeout);
}
