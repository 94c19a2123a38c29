package io.sluice.plugins.quota;

import io.sluice.store.RedisScript;
import io.sluice.store.RedisStore;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Counters in Redis, shared by every gateway that names the same store: one Lua script per
 * reservation or adjustment, covering all of a request's rules in one atomic round trip (no lost
 * update, no two gateways both taking the last of a window).
 *
 * <p>Keys: {@code <prefix>{route}:rule:key:start}, where the prefix names the plugin
 * ({@code sluice:tl:} for {@code ai-token-ratelimit}, {@code sluice:budget:} for {@code ai-budget}),
 * key is {@code =value} (a SHA-256 when the value is longer than 64 characters) or {@code ~} for
 * requests without a value, and start is the window's or period's start in epoch milliseconds. The
 * route is a Redis Cluster hash tag, so one request's keys always share a slot. Each key expires a
 * second after its window ends.
 */
final class RedisCounters implements Counters {
  /**
   * KEYS[i]: rule i's counter. ARGV[i]: its amount; ARGV[n+i]: its limit; ARGV[2n+i]: its TTL in
   * ms. Returns {admitted (0|1), remaining_1, …, remaining_n}.
   */
  static final RedisScript RESERVE = RedisScript.of("""
      local n = #KEYS
      local used = {}
      local admit = 1
      for i = 1, n do
        used[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
        if used[i] >= tonumber(ARGV[n + i]) then admit = 0 end
      end
      local out = {admit}
      for i = 1, n do
        if admit == 1 then
          used[i] = redis.call('INCRBY', KEYS[i], ARGV[i])
          redis.call('PEXPIRE', KEYS[i], ARGV[2 * n + i])
        end
        out[i + 1] = tonumber(ARGV[n + i]) - used[i]
      end
      return out
      """);

  /** KEYS: the counters; ARGV[i]: the delta of counter i, added only when its window still exists. */
  static final RedisScript ADJUST = RedisScript.of("""
      local changed = 0
      for i = 1, #KEYS do
        if redis.call('EXISTS', KEYS[i]) == 1 then
          redis.call('INCRBY', KEYS[i], ARGV[i])
          changed = changed + 1
        end
      end
      return {changed}
      """);

  private final RedisStore redis;
  private final Clock clock;
  private final String prefix;

  /** @param prefix the plugin's key prefix, e.g. {@code sluice:tl:} (part of the stored format: never change it) */
  RedisCounters(RedisStore redis, Clock clock, String prefix) {
    this.redis = redis;
    this.clock = clock;
    this.prefix = prefix;
  }

  @Override
  public CompletionStage<Reservation> reserve(String route, List<Slot> slots, long[] amounts) {
    long now = clock.millis();
    List<String> keys = new ArrayList<>(slots.size());
    List<String> args = new ArrayList<>(3 * slots.size());
    for (int i = 0; i < slots.size(); i++) {
      keys.add(key(route, slots.get(i)));
      args.add(Long.toString(amounts[i]));
    }
    for (Slot s : slots) {
      args.add(Long.toString(s.limit()));
    }
    for (Slot s : slots) {
      args.add(Long.toString(Math.max(s.end() - now, 0) + 1_000));
    }
    return redis.eval(RESERVE, keys, args).thenApply(reply -> {
      long[] remaining = new long[slots.size()];
      for (int i = 0; i < remaining.length; i++) {
        remaining[i] = reply.get(i + 1);
      }
      return new Reservation(reply.get(0) == 1L, remaining, false);
    });
  }

  @Override
  public CompletionStage<Void> adjust(String route, List<Slot> slots, long[] deltas) {
    List<String> keys = new ArrayList<>(slots.size());
    List<String> args = new ArrayList<>(slots.size());
    for (int i = 0; i < slots.size(); i++) {
      keys.add(key(route, slots.get(i)));
      args.add(Long.toString(deltas[i]));
    }
    return redis.eval(ADJUST, keys, args).thenApply(r -> null);
  }

  String key(String route, Slot s) {
    String k;
    if (s.key() == null) {
      k = "~";
    } else if (s.key().length() > 64) {
      k = "#" + sha256(s.key());
    } else {
      k = "=" + s.key();
    }
    return prefix + "{" + route + "}:" + s.rule() + ":" + k + ":" + s.start();
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
