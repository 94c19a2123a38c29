package io.sluice.upstream;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Last handler of an upstream connection's pipeline: hands what the upstream sends to whoever
 * holds the connection now ({@link Listener}), and closes idle pooled connections.
 *
 * <p>Pipeline: {@code [SslHandler →] ChunkedBodyReader → HttpClientCodec → UpstreamHandler}; the
 * body reader learns here what the codec made of each response head.
 *
 * <p>Memory: the pool's idle limit is one timer armed only while the connection waits in the pool
 * (detached), not an {@code IdleStateHandler} ticking for the whole life of every connection: a
 * held stream's upstream connection then keeps no timer, handler or pipeline slot for it
 * (gateway-server/docs/memory.md).
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
  private ScheduledFuture<?> idleClose; // armed while the connection waits in the pool

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

  /** Called on the channel's loop. */
  void attach(Listener listener) {
    this.listener = listener;
    cancelIdleClose();
  }

  /** Called on the channel's loop; the connection goes back to the pool (or is closed by the caller). */
  void detach() {
    this.listener = null;
    cancelIdleClose();
    if (ctx != null && ctx.channel().isActive()) {
      idleClose = ctx.executor().schedule(this::closeIfStillIdle, pooledIdleNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void closeIfStillIdle() {
    idleClose = null;
    if (listener == null) {
      ctx.close(); // idle in the pool for too long
    }
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
