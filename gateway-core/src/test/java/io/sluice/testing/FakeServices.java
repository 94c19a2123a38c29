package io.sluice.testing;

import io.sluice.config.ConsumerConfig;
import io.sluice.plugin.PluginServices;
import io.sluice.store.RedisStore;
import io.sluice.store.RedisStores;
import io.sluice.usage.Pricing;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;

/**
 * {@link PluginServices} for plugin unit tests: a clock the test moves by hand (wall and
 * monotonic time move together), recorded metrics, canned fetch answers, and — when a test
 * gives it one — real Redis connections ({@link #redis(RedisStores)}).
 */
public final class FakeServices implements PluginServices {
  private long nanos = 1_000_000_000L;
  private final MovableClock wall = new MovableClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final List<ConsumerConfig> consumers = new ArrayList<>();
  public final List<String> authFailures = new ArrayList<>();
  public final List<String> rateLimitRejections = new ArrayList<>();
  public final Map<String, CompletionStage<String>> fetchAnswers = new HashMap<>();
  public final List<String> fetched = new ArrayList<>();
  /** What {@link #pricing()} answers (tests set it). */
  public volatile Pricing pricing = Pricing.NONE;
  /** Budget gauges set: {@code route/rule/key/unit=limit/remaining}. */
  public final List<String> budgets = new ArrayList<>();
  private RedisStores redis;

  /** Lets plugins reach Redis through these (the test closes them). */
  public FakeServices redis(RedisStores stores) {
    this.redis = stores;
    return this;
  }

  @Override
  public RedisStore redis(String uri) {
    if (redis == null) {
      throw new IllegalStateException("this test gave FakeServices no RedisStores");
    }
    return redis.get(uri);
  }

  public FakeServices consumers(List<ConsumerConfig> list) {
    consumers.clear();
    consumers.addAll(list);
    return this;
  }

  /** Moves both clocks forward. */
  public void advance(Duration d) {
    nanos += d.toNanos();
    wall.advance(d);
  }

  public FakeServices wallClock(Instant now) {
    wall.set(now);
    return this;
  }

  @Override
  public Clock clock() {
    return wall;
  }

  @Override
  public LongSupplier nanoTime() {
    return () -> nanos;
  }

  @Override
  public List<ConsumerConfig> consumers() {
    return consumers;
  }

  @Override
  public void authFailure(String route, String plugin, String reason) {
    authFailures.add(route + "/" + plugin + "/" + reason);
  }

  @Override
  public void rateLimitRejection(String route, String plugin) {
    rateLimitRejections.add(route + "/" + plugin);
  }

  @Override
  public Pricing pricing() {
    return pricing;
  }

  @Override
  public synchronized void budget(String route, String rule, String key, String unit, double limit, double remaining) {
    budgets.add(route + "/" + rule + "/" + key + "/" + unit + "=" + limit + "/" + remaining);
  }

  @Override
  public CompletionStage<String> fetch(String url, Duration timeout) {
    fetched.add(url);
    CompletionStage<String> answer = fetchAnswers.get(url);
    return answer != null ? answer : CompletableFuture.failedFuture(new IllegalStateException("no answer for " + url));
  }
}
