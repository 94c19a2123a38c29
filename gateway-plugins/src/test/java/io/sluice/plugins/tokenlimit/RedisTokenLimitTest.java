package io.sluice.plugins.tokenlimit;

import static io.sluice.plugins.tokenlimit.TokenLimits.chat;
import static io.sluice.plugins.tokenlimit.TokenLimits.plugin;
import static io.sluice.plugins.quota.PluginCalls.send;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.plugin.ExchangeSummary;
import io.sluice.store.RedisStores;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import io.sluice.testing.RedisServer;
import io.sluice.usage.Usage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The plugin with {@code store: redis://…} against a real redis-server: two plugin instances, each
 * with its own {@link RedisStores}, stand for two gateways.
 */
class RedisTokenLimitTest {
  private static final Instant NOW = Instant.parse("2026-01-01T10:00:00Z");
  private RedisServer redis;
  private final List<String> health = new CopyOnWriteArrayList<>();
  private RedisStores storesA;
  private RedisStores storesB;
  private FakeServices gatewayA;
  private FakeServices gatewayB;

  @BeforeEach
  void start() throws Exception {
    redis = RedisServer.start();
    storesA = new RedisStores((store, degraded) -> health.add("A " + (degraded ? "down" : "up")));
    storesB = new RedisStores((store, degraded) -> health.add("B " + (degraded ? "down" : "up")));
    gatewayA = new FakeServices().wallClock(NOW).redis(storesA);
    gatewayB = new FakeServices().wallClock(NOW).redis(storesB);
  }

  @AfterEach
  void stop() throws Exception {
    if (storesA != null) {
      storesA.close();
      storesB.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  private String config(long perMinute) {
    return "{ rules: [ { limit-by: consumer, tokens-per-minute: " + perMinute + " } ], store: '" + redis.uri() + "' }";
  }

  private static FakeRequest as(String consumer, long maxTokens) {
    FakeRequest r = chat(maxTokens);
    r.consumer(consumer);
    return r;
  }

  @Test
  void twoGatewaysShareOneBudget() throws Exception {
    var a = plugin(config(300), gatewayA);
    var b = plugin(config(300), gatewayB);
    assertThat(health).as("each store's gauge starts at 0").containsExactlyInAnyOrder("A up", "B up");
    health.clear();
    assertThat(send(a, as("alice", 99)).admitted()).isTrue();
    assertThat(send(b, as("alice", 99)).header("x-ratelimit-remaining-tokens")).isEqualTo("100");
    assertThat(send(a, as("alice", 99)).header("x-ratelimit-remaining-tokens")).isEqualTo("0");
    var refused = send(b, as("alice", 99));
    assertThat(refused.status()).isEqualTo(429);
    assertThat(refused.header("Retry-After")).isEqualTo("60");
    assertThat(send(a, as("bob", 99)).admitted()).isTrue();
    assertThat(redis.command("GET sluice:tl:{chat}:0:=alice:" + NOW.toEpochMilli())).isEqualTo("300");
    assertThat(Long.parseLong(redis.command("PTTL sluice:tl:{chat}:0:=alice:" + NOW.toEpochMilli()).substring(1)))
        .as("expires a second after its window").isBetween(55_000L, 61_000L);
    assertThat(health).isEmpty();
  }

  @Test
  void fiftyConcurrentExchangesChargeExactlyTheSumOfTheirUsage() throws Exception {
    var a = plugin(config(1_000_000), gatewayA);
    var b = plugin(config(1_000_000), gatewayB);
    send(a, as("warm-up", 0)); // connected and the script loaded before the burst
    send(b, as("warm-up", 0));
    ExecutorService pool = Executors.newFixedThreadPool(50);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      long expected = 0;
      for (int i = 0; i < 50; i++) {
        var p = i % 2 == 0 ? a : b;
        long used = 37 + 13L * i; // above and below the 100-token reservation
        expected += used;
        done.add(pool.submit(() -> {
          go.await();
          FakeRequest r = as("alice", 99);
          assertThat(send(p, r).admitted()).isTrue();
          p.onComplete(r, new ExchangeSummary(200, "ok", 1, new Usage(used / 2, used - used / 2, 0, 0, "m", false)));
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get(20, TimeUnit.SECONDS);
      }
      String key = "GET sluice:tl:{chat}:0:=alice:" + NOW.toEpochMilli();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (!Long.toString(expected).equals(redis.command(key)) && System.nanoTime() < deadline) {
        Thread.sleep(10); // the corrections are sent after onComplete returns
      }
      assertThat(redis.command(key)).isEqualTo(Long.toString(expected));
      assertThat(health).as("every exchange went through Redis").doesNotContain("A down", "B down");
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void twentyConcurrentReservationsOnTwoGatewaysAgainstFiveAdmitAtMostSix() throws Exception {
    var a = plugin(config(500), gatewayA);
    var b = plugin(config(500), gatewayB);
    send(a, as("warm-up", 0));
    send(b, as("warm-up", 0));
    ExecutorService pool = Executors.newFixedThreadPool(20);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        var p = i % 2 == 0 ? a : b;
        results.add(pool.submit(() -> {
          go.await();
          return send(p, as("alice", 99)).admitted();
        }));
      }
      go.countDown();
      int admitted = 0;
      for (Future<Boolean> f : results) {
        admitted += f.get(10, TimeUnit.SECONDS) ? 1 : 0;
      }
      assertThat(admitted).isBetween(5, 6);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void fallsBackToLocalCountingWhileRedisIsDownAndSharesAgainWhenItIsBack() throws Exception {
    var a = plugin(config(1000), gatewayA);
    var b = plugin(config(1000), gatewayB);
    health.clear();
    assertThat(send(a, as("alice", 99)).header("x-ratelimit-remaining-tokens")).isEqualTo("900");
    assertThat(send(b, as("alice", 99)).header("x-ratelimit-remaining-tokens")).isEqualTo("800");

    redis.kill();
    long t0 = System.nanoTime();
    var duringOutage = send(a, as("alice", 99));
    assertThat(duringOutage.admitted()).as("served from local counters").isTrue();
    assertThat(duringOutage.header("x-ratelimit-remaining-tokens")).isEqualTo("900");
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("fails fast").isLessThan(1000);
    assertThat(send(a, as("alice", 99)).header("x-ratelimit-remaining-tokens")).isEqualTo("800");
    assertThat(health).containsExactly("A down");

    redis.restart(); // empty: the outage's window starts over
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!health.contains("A up") && System.nanoTime() < deadline) {
      send(a, as("carol", 0)); // keeps trying Redis; carol's budget is her own
      Thread.sleep(50);
    }
    assertThat(health).containsExactly("A down", "A up");
    assertThat(send(a, as("alice", 99)).header("x-ratelimit-remaining-tokens")).isEqualTo("900");
    assertThat(send(b, as("alice", 99)).header("x-ratelimit-remaining-tokens")).as("shared again").isEqualTo("800");
  }
}
