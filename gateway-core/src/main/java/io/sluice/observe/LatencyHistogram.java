package io.sluice.observe;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * One series of a per-token latency histogram (TTFT, inter-token gap), recorded on an event loop
 * for every content event: a bucket search over a dozen bounds and two striped adds, no clock read
 * and no allocation. Read by Prometheus at scrape time ({@link LatencyHistograms}) as the same
 * series a Micrometer timer with these service-level buckets wrote: {@code _bucket{le}},
 * {@code _count}, {@code _sum} and {@code _max}.
 *
 * <p>Why not a Micrometer {@code Timer}: its record also keeps a rotating window of histograms
 * and of maxima (a clock read and a dozen atomic updates per value, ~90 ns on the bench machine),
 * which on a stream of short events is a visible share of the relay's cost.
 *
 * <p>{@code _max} is the largest value of the last two to three {@link #MAX_WINDOW_NANOS} windows,
 * rotated when scraped — the time-window maximum Micrometer exports, without a clock read per value.
 *
 * <p>Threading: {@link #record} from any thread; the scrape reads while events record.
 */
public final class LatencyHistogram {
  /** Each window of the maximum; three are kept (Micrometer's default: 2 minutes over 3 buffers). */
  static final long MAX_WINDOW_NANOS = 40_000_000_000L;

  private final long[] bounds; // upper bounds in nanoseconds, ascending
  private final LongAdder[] counts; // per bucket (not cumulative), the last one +Inf
  private final LongAdder sum = new LongAdder();
  private final AtomicLongArray maxima = new AtomicLongArray(3);
  private volatile int maxSlot;
  private long maxSlotStart;

  LatencyHistogram(long[] boundsNanos, long now) {
    this.bounds = boundsNanos;
    this.counts = new LongAdder[boundsNanos.length + 1];
    for (int i = 0; i < counts.length; i++) {
      counts[i] = new LongAdder();
    }
    this.maxSlotStart = now;
  }

  /** One value, in nanoseconds (negative ones, from a clock step, are not recorded). */
  public void record(long nanos) {
    record(nanos, 1);
  }

  /**
   * The same value {@code times} times (negative values, from a clock step, are not recorded): the
   * events of one read go out together, so their gaps are one value recorded once per read.
   */
  public void record(long nanos, int times) {
    if (nanos < 0 || times <= 0) {
      return;
    }
    long[] b = bounds;
    int i = 0;
    while (i < b.length && nanos > b[i]) {
      i++;
    }
    counts[i].add(times);
    if (nanos > 0) {
      sum.add(nanos * times);
    }
    int slot = maxSlot;
    if (nanos > maxima.get(slot)) {
      maxima.accumulateAndGet(slot, nanos, Math::max);
    }
  }

  /** A copy for one scrape: the count per bucket (not cumulative; +Inf last), sum and max in nanoseconds. */
  Snapshot snapshot(long now) {
    long[] perBucket = new long[counts.length];
    for (int i = 0; i < counts.length; i++) {
      perBucket[i] = counts[i].sum();
    }
    return new Snapshot(perBucket, sum.sum(), max(now));
  }

  private synchronized long max(long now) {
    long windows = (now - maxSlotStart) / MAX_WINDOW_NANOS;
    // At most two rotations: the slot recorded into until now may hold values of this very moment.
    for (long k = 0; k < Math.min(windows, 2); k++) {
      int next = (maxSlot + 1) % 3;
      maxima.set(next, 0);
      maxSlot = next;
    }
    if (windows > 0) {
      maxSlotStart = windows > 2 ? now : maxSlotStart + windows * MAX_WINDOW_NANOS;
    }
    return Math.max(maxima.get(0), Math.max(maxima.get(1), maxima.get(2)));
  }

  record Snapshot(long[] bucketCounts, long sumNanos, long maxNanos) {}
}
