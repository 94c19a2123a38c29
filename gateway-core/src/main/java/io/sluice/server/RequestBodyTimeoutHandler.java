package io.sluice.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Slow POST: a request's whole body must arrive within {@code limits.request-body-timeout} after
 * its headers, or the exchange is told ({@link Expired}) and answers 408 and closes. A deadline
 * for the whole body, not a gap between reads, so a client trickling one byte now and then cannot
 * hold a connection and its buffers forever.
 *
 * <p>The clock only blames the client for time the gateway spent reading: when the connection is
 * not being read (a pipelined request waits for the current response), the deadline is pushed on.
 *
 * <p>Pipeline: after the HTTP codec (sees decoded requests and their last content), before the
 * exchange. HTTP/1 only: HTTP/2 streams have their own flow control.
 */
public final class RequestBodyTimeoutHandler extends ChannelInboundHandlerAdapter {
  /** Fired down the pipeline when a body did not arrive in time. */
  public record Expired(Duration timeout) {}

  private final Duration timeout;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> timer;

  public RequestBodyTimeoutHandler(Duration timeout) {
    this.timeout = timeout;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest request) {
      cancel();
      // A request that failed to decode is answered and closed by the exchange: no body to wait for.
      if (!(msg instanceof LastHttpContent) && request.decoderResult().isSuccess() && hasBody(request)) {
        arm();
      }
    }
    if (msg instanceof LastHttpContent) {
      cancel();
    }
    ctx.fireChannelRead(msg);
  }

  private static boolean hasBody(HttpRequest request) {
    return HttpUtil.getContentLength(request, 0L) > 0 || HttpUtil.isTransferEncodingChunked(request);
  }

  private void arm() {
    timer = ctx.executor().schedule(this::expire, timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private void expire() {
    timer = null;
    if (!ctx.channel().isActive()) {
      return;
    }
    if (!ctx.channel().config().isAutoRead()) {
      arm(); // we are not reading: the wait is ours, not the client's
      return;
    }
    ctx.fireUserEventTriggered(new Expired(timeout));
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancel();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }
}
