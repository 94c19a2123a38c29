package io.sluice.plugins.quota;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Counters in this process: a Caffeine cache of one counter per (route, rule, key, window), each
 * expiring a second after its window (or period) ends, so memory follows the keys in use. They
 * reset when the process restarts (use Redis for a budget that must survive restarts).
 *
 * <p>Threading: called from every event loop; a reservation checks and charges all of its slots
 * under one lock, so concurrent requests never both take the last of a window. The critical
 * section is a few map lookups; adjustments are single atomic adds.
 */
final class LocalCounters implements Counters {
  /** Beyond this many live counters the least recently used are dropped (their budget resets). */
  static final long MAX_COUNTERS = 500_000;

  private record Key(String route, int rule, String key, long start, long end) {}

  private final Cache<Key, AtomicLong> counters;
  private final Object lock = new Object();

  LocalCounters(Clock clock, LongSupplier nanoTime) {
    this.counters = Caffeine.newBuilder()
        .maximumSize(MAX_COUNTERS)
        .ticker(nanoTime::getAsLong)
        .executor(Runnable::run)
        .expireAfter(new Expiry<Key, AtomicLong>() {
          @Override
          public long expireAfterCreate(Key key, AtomicLong value, long currentTime) {
            long left = key.end() - clock.millis() + 1_000;
            return TimeUnit.MILLISECONDS.toNanos(Math.max(left, 1_000));
          }

          @Override
          public long expireAfterUpdate(Key key, AtomicLong value, long currentTime, long currentDuration) {
            return currentDuration;
          }

          @Override
          public long expireAfterRead(Key key, AtomicLong value, long currentTime, long currentDuration) {
            return currentDuration;
          }
        })
        .build();
  }

  private static Key key(String route, Slot s) {
    return new Key(route, s.rule(), s.key(), s.start(), s.end());
  }

  @Override
  public CompletionStage<Reservation> reserve(String route, List<Slot> slots, long[] amounts) {
    long[] remaining = new long[slots.size()];
    boolean admitted = true;
    synchronized (lock) {
      AtomicLong[] c = new AtomicLong[slots.size()];
      for (int i = 0; i < c.length; i++) {
        c[i] = counters.get(key(route, slots.get(i)), k -> new AtomicLong());
        if (c[i].get() >= slots.get(i).limit()) {
          admitted = false;
        }
      }
      for (int i = 0; i < c.length; i++) {
        long used = admitted ? c[i].addAndGet(amounts[i]) : c[i].get();
        remaining[i] = slots.get(i).limit() - used;
      }
    }
    return CompletableFuture.completedFuture(new Reservation(admitted, remaining, true));
  }

  @Override
  public CompletionStage<Void> adjust(String route, List<Slot> slots, long[] deltas) {
    for (int i = 0; i < slots.size(); i++) {
      AtomicLong c = counters.getIfPresent(key(route, slots.get(i)));
      if (c != null && deltas[i] != 0) {
        c.addAndGet(deltas[i]);
      }
    }
    return CompletableFuture.completedFuture(null);
  }
}
