package io.sluice.plugins.ratelimit;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A token bucket kept as a single number, the "theoretical arrival time" of the generic cell rate
 * algorithm (GCRA): the moment the bucket would be full again. A request costs one
 * {@code interval}; it is admitted while that moment stays within {@code capacity}
 * ({@code burst × interval}) of now. Same admissions as a bucket of {@code burst} tokens refilled
 * one per {@code interval}, but without a second field to keep consistent.
 *
 * <p>Threading: one {@link AtomicLong} updated by compare-and-set, so buckets hit from several
 * event loops at once never lose an update and never block a loop. All times are monotonic
 * nanoseconds compared by difference (they may be negative).
 */
final class TokenBucket {
  /** What one request did to the bucket. */
  record Outcome(boolean admitted, long remaining, long resetNanos, long retryAfterNanos) {}

  private final AtomicLong fullAt;

  /** A full bucket. */
  TokenBucket(long now) {
    this.fullAt = new AtomicLong(now);
  }

  /** Takes one token when there is one. */
  Outcome take(long now, long interval, long capacity) {
    for (;;) {
      long current = fullAt.get();
      long base = current - now > 0 ? current : now;
      long next = base + interval;
      long ahead = next - now;
      if (ahead > capacity) {
        return new Outcome(false, 0, base - now, ahead - capacity);
      }
      if (fullAt.compareAndSet(current, next)) {
        return new Outcome(true, (capacity - ahead) / interval, ahead, 0);
      }
    }
  }

  /** Gives back a token taken by {@link #take} (another rule refused the request). */
  void refund(long interval) {
    fullAt.addAndGet(-interval);
  }
}
