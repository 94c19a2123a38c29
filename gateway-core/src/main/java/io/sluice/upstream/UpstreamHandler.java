package io.sluice.upstream;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.AbstractScheduledEventExecutor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Last handler of an upstream connection's pipeline: hands what the upstream sends to whoever
 * holds the connection now ({@link Listener}), and closes idle pooled connections.
 *
 * <p>Pipeline: {@code [SslHandler →] ChunkedBodyReader → HttpClientCodec → UpstreamHandler}; the
 * body reader learns here what the codec made of each response head.
 *
 * <p>Memory and CPU: the pool's idle limit is one timer armed when the connection goes back to the
 * pool, not an {@code IdleStateHandler} ticking for the whole life of every connection. Taking the
 * connection out of the pool does not cancel it: when it fires it looks at how long the connection
 * has waited since it was last put back, and closes it or re-arms for the rest. A connection reused
 * by request after request then costs one timer per idle limit, not a schedule and a cancel per
 * request (each a sift through the loop's timer queue, ~2 % of a burst's CPU); a held stream's
 * connection keeps no timer once the pending one has fired (gateway-server/docs/memory.md).
 */
public final class UpstreamHandler extends ChannelInboundHandlerAdapter {
  /** The current user of the connection (one exchange at a time). All calls on the channel's loop. */
  public interface Listener {
    void onUpstreamMessage(HttpObject msg);

    void onUpstreamReadComplete();

    void onUpstreamWritabilityChanged(boolean writable);

    /** The connection closed or failed; {@code cause} is null for an orderly close. */
    void onUpstreamClosed(Throwable cause);
  }

  private final long pooledIdleNanos;
  private final ChunkedBodyReader body; // null when the pipeline has none (tests)
  private ChannelHandlerContext ctx;
  private Listener listener;
  private ScheduledFuture<?> idleClose; // the idle check, armed by detach, or null
  private long idleSince; // when the connection was last put back in the pool (the loop's clock)

  /**
   * @param pooledIdleNanos how long a connection may wait in the pool before it is closed
   * @param body the connection's chunked-body reader, told what the codec passes on
   */
  UpstreamHandler(long pooledIdleNanos, ChunkedBodyReader body) {
    this.pooledIdleNanos = pooledIdleNanos;
    this.body = body;
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancelIdleClose(); // a WebSocket upgrade takes the connection out of the pool's hands
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  /** Called on the channel's loop. A pending idle check stays: it finds the connection busy. */
  void attach(Listener listener) {
    this.listener = listener;
  }

  /** Called on the channel's loop; the connection goes back to the pool (or is closed by the caller). */
  void detach() {
    this.listener = null;
    idleSince = now();
    if (idleClose == null && ctx != null && ctx.channel().isActive()) {
      idleClose = ctx.executor().schedule(this::closeIfStillIdle, pooledIdleNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void closeIfStillIdle() {
    idleClose = null;
    if (listener != null) {
      return; // in use: the next detach arms the check again
    }
    long idle = now() - idleSince;
    if (idle >= pooledIdleNanos) {
      ctx.close(); // idle in the pool for too long
    } else {
      idleClose = ctx.executor().schedule(this::closeIfStillIdle, pooledIdleNanos - idle, TimeUnit.NANOSECONDS);
    }
  }

  /** The loop's clock: the one its timers run on (a test's frozen clock included). */
  private long now() {
    return ctx.executor() instanceof AbstractScheduledEventExecutor loop ? loop.ticker().nanoTime() : System.nanoTime();
  }

  private void cancelIdleClose() {
    if (idleClose != null) {
      idleClose.cancel(false);
      idleClose = null;
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    Listener l = listener;
    if (l == null || !(msg instanceof HttpObject http)) {
      // Bytes on an idle pooled connection: the connection is out of step, drop it.
      ReferenceCountUtil.release(msg);
      ctx.close();
      return;
    }
    if (body != null) {
      body.seen(http);
    }
    l.onUpstreamMessage(http);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    Listener l = listener;
    if (l != null) {
      l.onUpstreamReadComplete();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    Listener l = listener;
    if (l != null) {
      l.onUpstreamWritabilityChanged(ctx.channel().isWritable());
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelIdleClose();
    Listener l = listener;
    listener = null;
    if (l != null) {
      l.onUpstreamClosed(null);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Listener l = listener;
    listener = null;
    ctx.close();
    if (l != null) {
      l.onUpstreamClosed(cause);
    }
  }
}
