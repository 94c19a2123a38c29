package io.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.http.ProxyHeaders;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Answers 408 and closes when a request's headers are not complete within
 * {@code request-header-timeout} (slowloris). The clock starts when the connection opens and, on
 * a kept-alive connection, at the first byte of the next request; an idle kept-alive connection
 * is left to {@code idle-timeout}.
 *
 * <p>Pipeline: sits before the HTTP codec so it sees raw bytes; the request handler tells it,
 * by {@link RequestCycle} user events fired from the pipeline's head, when headers were decoded
 * and when a response ended.
 */
public final class RequestHeaderTimeoutHandler extends ChannelInboundHandlerAdapter {
  private final long timeoutNanos;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> timer;
  private boolean waitingForFirstByte;
  private boolean inExchange;

  public RequestHeaderTimeoutHandler(Duration timeout) {
    this.timeoutNanos = timeout.toNanos();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    arm();
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (waitingForFirstByte && !inExchange && msg instanceof ByteBuf buf && buf.isReadable()) {
      waitingForFirstByte = false;
      arm();
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt == RequestCycle.HEADERS_RECEIVED) {
      headersReceived();
    } else if (evt == RequestCycle.RESPONSE_ENDED) {
      awaitNextRequest();
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** A request's headers were decoded in time. */
  private void headersReceived() {
    inExchange = true;
    cancel();
  }

  /** The response ended; the next request's clock starts at its first byte. */
  private void awaitNextRequest() {
    inExchange = false;
    waitingForFirstByte = true;
  }

  private void arm() {
    cancel();
    if (timeoutNanos > 0) {
      timer = ctx.executor().schedule(this::expire, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void expire() {
    if (inExchange || !ctx.channel().isActive()) {
      return;
    }
    FullHttpResponse response = GatewayErrors.response(ctx.alloc(), ErrorKind.REQUEST_TIMEOUT,
        "the request headers were not received within " + timeoutNanos / 1_000_000 + "ms");
    // No request id was read: every gateway answer still carries one.
    response.headers().set(ProxyHeaders.X_REQUEST_ID, ProxyHeaders.newRequestId());
    HttpUtil.setKeepAlive(response, false);
    // Written from the tail so it passes through the HTTP encoder.
    ctx.channel().writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /** Removed when a connection turns out to speak HTTP/2 (its streams have no header phase here). */
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
