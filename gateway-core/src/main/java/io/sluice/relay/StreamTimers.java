package io.sluice.relay;

import io.netty.channel.EventLoop;
import io.netty.util.HashedWheelTimer;
import io.netty.util.Timeout;
import io.netty.util.TimerTask;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * One timer wheel for every open stream's silence watch (heartbeats and the stream-idle
 * timeout). Thousands of streams each re-arming a task every few seconds would churn the event
 * loops' scheduled-task heaps; a wheel makes arming and cancelling O(1), at the price of 100 ms
 * granularity, which heartbeats and idle timeouts do not notice.
 *
 * <p>Threading: the wheel runs its own daemon thread; a timeout only hands work back to the
 * stream's event loop and never touches stream state itself.
 */
public final class StreamTimers {
  private static final HashedWheelTimer WHEEL = new HashedWheelTimer(
      new DefaultThreadFactory("sluice-stream-timers", true), 100, TimeUnit.MILLISECONDS, 512);

  private StreamTimers() {}

  /** Runs {@code task} on {@code loop} after {@code delayNanos}. */
  public static Timeout schedule(EventLoop loop, Runnable task, long delayNanos) {
    return schedule(t -> loop.execute(task), delayNanos);
  }

  /**
   * Runs {@code onWheel} on the wheel's thread after {@code delayNanos}: it must only hand work to
   * its stream's loop. For a task that is its own hand-off and keeps no lambda per arming.
   */
  static Timeout schedule(TimerTask onWheel, long delayNanos) {
    return WHEEL.newTimeout(onWheel, Math.max(delayNanos, 1), TimeUnit.NANOSECONDS);
  }
}
