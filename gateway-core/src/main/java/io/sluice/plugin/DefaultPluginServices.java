package io.sluice.plugin;

import io.sluice.config.ConsumerConfig;
import io.sluice.observe.GatewayMetrics;
import io.sluice.store.RedisStore;
import io.sluice.store.RedisStores;
import io.sluice.usage.Pricing;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The services of a running gateway for its plugins: the system clocks, the declared consumers,
 * the gateway's metrics, an asynchronous HTTP client (the JDK's, on its own threads, so a
 * fetch never blocks an event loop; {@link PluginChain} hops back to the loop when it completes)
 * and the gateway's shared Redis connections (owned by the gateway, which closes them).
 */
public final class DefaultPluginServices implements PluginServices {
  private final List<ConsumerConfig> consumers;
  private final GatewayMetrics metrics;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final RedisStores redis;
  private volatile HttpClient http;
  private final Supplier<Pricing> pricing;

  public DefaultPluginServices(List<ConsumerConfig> consumers, GatewayMetrics metrics, RedisStores redis) {
    this(consumers, metrics, redis, Clock.systemUTC(), System::nanoTime);
  }

  public DefaultPluginServices(List<ConsumerConfig> consumers, GatewayMetrics metrics, RedisStores redis,
      Clock clock, LongSupplier nanoTime) {
    this(consumers, metrics, redis, clock, nanoTime, () -> Pricing.NONE);
  }

  /** @param pricing the current price table (the running config's, read per request) */
  public DefaultPluginServices(List<ConsumerConfig> consumers, GatewayMetrics metrics, RedisStores redis,
      Clock clock, LongSupplier nanoTime, Supplier<Pricing> pricing) {
    this.pricing = pricing;
    this.consumers = List.copyOf(consumers);
    this.metrics = metrics;
    this.redis = redis;
    this.clock = clock;
    this.nanoTime = nanoTime;
  }

  @Override
  public Clock clock() {
    return clock;
  }

  @Override
  public LongSupplier nanoTime() {
    return nanoTime;
  }

  @Override
  public List<ConsumerConfig> consumers() {
    return consumers;
  }

  @Override
  public void authFailure(String route, String plugin, String reason) {
    metrics.authFailure(route, plugin, reason);
  }

  @Override
  public void rateLimitRejection(String route, String plugin) {
    metrics.rateLimitRejection(route, plugin);
  }

  @Override
  public Pricing pricing() {
    return pricing.get();
  }

  @Override
  public void budget(String route, String rule, String key, String unit, double limit, double remaining) {
    metrics.cost().budget(route, rule, key, unit, limit, remaining);
  }

  @Override
  public RedisStore redis(String uri) {
    return redis.get(uri);
  }

  @Override
  public CompletionStage<String> fetch(String url, Duration timeout) {
    HttpRequest request;
    try {
      request = HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build();
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
    return client().sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
      if (r.statusCode() / 100 != 2) {
        throw new IllegalStateException("GET " + url + " answered " + r.statusCode());
      }
      return r.body();
    });
  }

  private HttpClient client() {
    HttpClient c = http;
    if (c == null) {
      synchronized (this) {
        if (http == null) {
          http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
              .followRedirects(HttpClient.Redirect.NORMAL).build();
        }
        c = http;
      }
    }
    return c;
  }
}
