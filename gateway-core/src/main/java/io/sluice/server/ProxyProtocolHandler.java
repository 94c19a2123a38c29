package io.sluice.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.sluice.net.ClientIdentity;

/**
 * Records the client address from a PROXY protocol v1/v2 header (decoded by Netty's
 * {@code HAProxyMessageDecoder} just before it), then leaves the pipeline.
 *
 * <p>Pipeline: {@code HAProxyMessageDecoder → ProxyProtocolHandler → …}, on listeners with
 * {@code proxy-protocol: true}. A connection without a valid header is closed by the decoder.
 */
final class ProxyProtocolHandler extends ChannelInboundHandlerAdapter {
  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HAProxyMessage proxy) {
      try {
        if (proxy.command() == HAProxyCommand.PROXY && proxy.sourceAddress() != null) {
          ctx.channel().attr(ClientIdentity.PROXIED_SOURCE).set(proxy.sourceAddress());
        }
      } finally {
        proxy.release();
      }
      ctx.pipeline().remove(this);
      return;
    }
    ctx.fireChannelRead(msg);
  }
}
