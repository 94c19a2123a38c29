package io.sluice.server;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs failed TLS handshakes (old protocol, no shared cipher, plain HTTP on a TLS port) at debug
 * and closes the connection; nothing else of it reaches the exchange handler.
 *
 * <p>Pipeline: right after the {@code SslHandler}.
 */
@Sharable
final class TlsHandshakeLogger extends ChannelInboundHandlerAdapter {
  static final TlsHandshakeLogger INSTANCE = new TlsHandshakeLogger();
  private static final Logger log = LoggerFactory.getLogger(TlsHandshakeLogger.class);

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof SslHandshakeCompletionEvent done) {
      if (!done.isSuccess()) {
        log.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), done.cause().toString());
        ctx.close();
      } else {
        ctx.pipeline().remove(this);
      }
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
    if (cause instanceof DecoderException && cause.getCause() instanceof SSLException) {
      ctx.close(); // reported by the handshake event above
      return;
    }
    super.exceptionCaught(ctx, cause);
  }
}
