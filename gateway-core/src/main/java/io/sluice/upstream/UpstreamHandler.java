package io.sluice.upstream;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * Last handler of an upstream connection's pipeline: hands what the upstream sends to whoever
 * holds the connection now ({@link Listener}), and closes idle pooled connections.
 *
 * <p>Pipeline: {@code [SslHandler →] HttpClientCodec → IdleTimeout → UpstreamHandler}.
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

  private Listener listener;

  void attach(Listener listener) {
    this.listener = listener;
  }

  void detach() {
    this.listener = null;
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

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent && listener == null) {
      ctx.close(); // idle in the pool for too long
    }
  }
}
