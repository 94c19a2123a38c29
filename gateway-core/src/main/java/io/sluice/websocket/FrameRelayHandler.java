package io.sluice.websocket;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Hands one leg's WebSocket frames and connection events to its {@link WebSocketSession}.
 *
 * <p>Pipeline, client leg: {@code … → WebSocket08FrameEncoder → WebSocket08FrameDecoder →
 * FrameRelayHandler → ConnectionHandler} (the connection handler stays to end the exchange: metrics,
 * access log, plugins). Upstream leg: {@code [SslHandler →] WebSocket08FrameDecoder →
 * WebSocket08FrameEncoder (masking) → FrameRelayHandler}. Frames stop here; connection events go
 * on.
 */
final class FrameRelayHandler extends ChannelInboundHandlerAdapter {
  private final WebSocketSession session;
  private final WebSocketSession.Side side;

  FrameRelayHandler(WebSocketSession session, WebSocketSession.Side side) {
    this.session = session;
    this.side = side;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof WebSocketFrame frame) {
      session.onFrame(side, frame);
    } else {
      ReferenceCountUtil.release(msg); // the end of the 101 response, as the HTTP codec left
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    session.onReadComplete(side);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    session.onWritabilityChanged(side, ctx.channel().isWritable());
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    session.onInactive(side);
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    session.onError(side, cause);
  }
}
