package io.sluice.server;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * {@code limits.idle-timeout}: fires {@link IdleStateEvent#ALL_IDLE_STATE_EVENT} down the
 * pipeline when a connection saw no bytes either way for that long; the exchange's handler closes
 * it. What Netty's {@code IdleStateHandler(0, 0, timeout)} does, for less, because every client
 * connection — a held stream's too — keeps one for its whole life:
 * <ul>
 *   <li>one small object and one pending timer, re-armed lazily (when it fires early it is set for
 *       the rest of the time since the last activity), instead of three clocks' state, a task
 *       object and a lambda (~110 bytes less per connection, gateway-server/docs/memory.md);
 *   <li>a write is noticed when it is flushed, without a listener on its promise: Netty's handler
 *       turns every write's void promise into a real one to hear of its completion, an object and
 *       a callback per SSE event.
 * </ul>
 * A flush counts as activity when it is asked for, not when the bytes left: a client that stops
 * reading stops the relay too (backpressure pauses the upstream), so no further flush comes and
 * the timeout still ends the connection.
 *
 * <p>Threading: everything on the channel's event loop.
 */
public final class IdleTimeoutHandler extends ChannelDuplexHandler implements Runnable {
  private final long timeoutNanos;
  private final LongSupplier clock;
  private ChannelHandlerContext ctx;
  private long lastActivity;
  private ScheduledFuture<?> timer;
  private boolean fired; // the first event of an idle period is FIRST_ALL_IDLE_STATE_EVENT, as Netty's

  public IdleTimeoutHandler(long timeoutNanos) {
    this(timeoutNanos, System::nanoTime);
  }

  /** @param clock nanoseconds, for tests */
  IdleTimeoutHandler(long timeoutNanos, LongSupplier clock) {
    if (timeoutNanos <= 0) {
      throw new IllegalArgumentException("timeout must be positive: " + timeoutNanos);
    }
    this.timeoutNanos = timeoutNanos;
    this.clock = clock;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
      start(); // added to a running connection (channelActive already passed)
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancel();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    start();
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    activity();
    ctx.fireChannelRead(msg);
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    activity();
    ctx.flush();
  }

  private void activity() {
    lastActivity = clock.getAsLong();
    fired = false;
  }

  private void start() {
    if (timer == null) {
      lastActivity = clock.getAsLong();
      arm(timeoutNanos);
    }
  }

  private void arm(long delayNanos) {
    timer = ctx.executor().schedule(this, delayNanos, TimeUnit.NANOSECONDS);
  }

  /** The timer: idle for the whole timeout fires the event; otherwise waits for the rest of it. */
  @Override
  public void run() {
    timer = null;
    if (!ctx.channel().isOpen()) {
      return;
    }
    long idle = clock.getAsLong() - lastActivity;
    if (idle < timeoutNanos) {
      arm(timeoutNanos - idle);
      return;
    }
    arm(timeoutNanos);
    IdleStateEvent event = fired ? IdleStateEvent.ALL_IDLE_STATE_EVENT : IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT;
    fired = true;
    ctx.fireUserEventTriggered(event);
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }
}
