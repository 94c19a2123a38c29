package io.sluice.net;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Tells the pipeline ({@link IdleStateEvent#ALL_IDLE_STATE_EVENT}) that a connection had no read
 * and no write for its idle time; the handlers behind it close it.
 *
 * <p>Why not Netty's {@code IdleStateHandler}: to learn when a write completes it turns every
 * write's void promise into a real one with a listener, and an HTTP chunk is three writes (size
 * line, bytes, CRLF) — a promise allocated and notified for each, a fifth of the relay's CPU in a
 * profile of many short streams. This handler notes activity with a flag (no clock read, no
 * promise) when a read arrives or a write is handed down, and looks at the flag every quarter of the
 * idle time: a connection is idle after between 1 and 1.25 idle times without either. A write
 * that never completes (a client that stopped reading) leaves no activity after it, so such a
 * connection is idle too — the relay stops writing to a client that does not read.
 *
 * <p>Threading: on the channel's event loop.
 */
public final class IdleTimeout extends ChannelDuplexHandler {
  private static final int CHECKS = 4;

  private final long checkNanos;
  private boolean active; // read or written since the last check
  private int quietChecks;
  private ScheduledFuture<?> timer;

  public IdleTimeout(long idleTime, TimeUnit unit) {
    this.checkNanos = Math.max(1, unit.toNanos(idleTime) / CHECKS);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
      start(ctx);
    }
  }

  @Override
  public void channelRegistered(ChannelHandlerContext ctx) throws Exception {
    if (ctx.channel().isActive()) {
      start(ctx);
    }
    super.channelRegistered(ctx);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    start(ctx);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    stop();
    super.channelInactive(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    stop();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    active = true;
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    active = true;
    ctx.write(msg, promise);
  }

  private void start(ChannelHandlerContext ctx) {
    if (timer == null) {
      timer = ctx.executor().scheduleAtFixedRate(() -> check(ctx), checkNanos, checkNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void stop() {
    if (timer != null) {
      timer.cancel(false);
    }
  }

  private void check(ChannelHandlerContext ctx) {
    if (active) {
      active = false;
      quietChecks = 0;
    } else if (++quietChecks == CHECKS) {
      quietChecks = 0;
      ctx.fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
    }
  }
}
