package io.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * RFC 8441 WebSocket over one HTTP/2 stream: presents an extended CONNECT to the exchange as the
 * bodyless {@code GET} upgrade it already knows, then, once the session is open, carries the
 * stream's DATA frames as the plain bytes the WebSocket frame codec reads and writes.
 *
 * <p>Pipeline (each stream's child channel): {@code ExtendedConnectHandler →
 * Http2StreamFrameToHttpObjectCodec → request handler}; after {@link #streamBytes}: {@code
 * ExtendedConnectHandler → WebSocket08FrameEncoder → WebSocket08FrameDecoder → FrameRelayHandler
 * → request handler}. A stream whose first HEADERS frame is anything else removes this handler at
 * once: other requests pay nothing.
 *
 * <p>Why rewrite the request: Netty's HTTP/2 → HTTP/1.1 conversion takes a CONNECT's target from
 * {@code :authority} and drops {@code :protocol}, and the stream stays open after the HEADERS
 * frame, so the exchange would wait for a request body that never ends. As a {@code GET} of
 * {@code :path} with END_STREAM, the request takes the route, plugins and checks an HTTP/1.1
 * upgrade takes; {@link #isWebSocket} tells the exchange it is one.
 *
 * <p>Early data: DATA frames that arrive before the session is open (a client may send frames
 * before it sees the {@code 200}) are held, at most {@link #EARLY_DATA_LIMIT} bytes, and handed to
 * the frame decoder when it is in place; beyond that, the stream is reset (ENHANCE_YOUR_CALM).
 *
 * <p>Closing: END_STREAM from the client is its TCP FIN: the stream channel closes, as an HTTP/1.1
 * connection does on FIN. When the gateway closes the stream, everything written so far is
 * followed by an empty DATA frame with END_STREAM, and the stream channel is closed once that is
 * written (at most {@link #END_STREAM_GRACE_SECONDS} later, when the client's flow-control window
 * holds it back) — so a close frame queued behind flow control is not cut off by a reset.
 */
public final class ExtendedConnectHandler extends ChannelDuplexHandler {
  /** Set on a stream channel whose request is a WebSocket extended CONNECT. */
  private static final AttributeKey<Boolean> WEBSOCKET = AttributeKey.valueOf("sluice.h2.websocket");
  /** What a client may send on the stream before it is told {@code 200}. */
  static final int EARLY_DATA_LIMIT = 64 * 1024;
  static final long END_STREAM_GRACE_SECONDS = 5;

  private enum State { HEADERS, HOLDING, STREAMING, ENDING }

  private State state = State.HEADERS;
  private final ArrayDeque<Http2DataFrame> early = new ArrayDeque<>();
  private int earlyBytes;

  /** Whether this channel is an HTTP/2 stream carrying an RFC 8441 WebSocket request. */
  public static boolean isWebSocket(Channel channel) {
    // hasAttr first: attr() would add the attribute to every connection asked (memory per stream)
    return channel.hasAttr(WEBSOCKET) && Boolean.TRUE.equals(channel.attr(WEBSOCKET).get());
  }

  /**
   * The WebSocket session is open: the HTTP message codec leaves the stream's pipeline, and this
   * handler carries DATA frames as bytes from now on.
   *
   * @return the name of this handler, for the frame codec to be added after it
   */
  public static String streamBytes(ChannelPipeline pipeline) {
    ExtendedConnectHandler handler = pipeline.get(ExtendedConnectHandler.class);
    if (pipeline.get(PipelineNames.H2_STREAM_TO_HTTP) != null) {
      pipeline.remove(PipelineNames.H2_STREAM_TO_HTTP);
    }
    handler.state = State.STREAMING;
    return pipeline.context(handler).name();
  }

  /** Hands the DATA that arrived before the session opened to the frame decoder now in place. */
  public static void releaseEarlyData(ChannelPipeline pipeline) {
    ExtendedConnectHandler handler = pipeline.get(ExtendedConnectHandler.class);
    ChannelHandlerContext ctx = pipeline.context(handler);
    boolean any = !handler.early.isEmpty();
    while (!handler.early.isEmpty() && handler.state == State.STREAMING) {
      handler.onData(ctx, handler.early.poll());
    }
    if (any) {
      ctx.fireChannelReadComplete();
    }
  }

  // ---- inbound ----------------------------------------------------------------------------------

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    switch (state) {
      case HEADERS -> onHeaders(ctx, msg);
      case HOLDING -> hold(ctx, msg);
      case STREAMING -> {
        if (msg instanceof Http2DataFrame data) {
          onData(ctx, data);
        } else if (msg instanceof Http2HeadersFrame trailers) {
          ReferenceCountUtil.release(trailers); // trailers mean nothing to a WebSocket
          if (trailers.isEndStream()) {
            ctx.close();
          }
        } else {
          ctx.fireChannelRead(msg);
        }
      }
      case ENDING -> ReferenceCountUtil.release(msg);
    }
  }

  private void onHeaders(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Http2HeadersFrame frame) || !isWebSocketConnect(frame.headers())) {
      ctx.pipeline().remove(this);
      ctx.fireChannelRead(msg);
      return;
    }
    Http2Headers get = new DefaultHttp2Headers(false);
    for (var header : frame.headers()) {
      CharSequence name = header.getKey();
      if (!Http2Headers.PseudoHeaderName.PROTOCOL.value().contentEquals(name)) {
        get.add(name, header.getValue());
      }
    }
    get.method(HttpMethod.GET.asciiName());
    ctx.channel().attr(WEBSOCKET).set(Boolean.TRUE);
    state = State.HOLDING;
    DefaultHttp2HeadersFrame request = new DefaultHttp2HeadersFrame(get, true);
    request.stream(frame.stream());
    ctx.fireChannelRead(request);
  }

  /** {@code :method CONNECT} with {@code :protocol websocket} and a {@code :path} (RFC 8441 §4). */
  private static boolean isWebSocketConnect(Http2Headers headers) {
    CharSequence protocol = headers.get(Http2Headers.PseudoHeaderName.PROTOCOL.value());
    return headers.method() != null && HttpMethod.CONNECT.asciiName().contentEquals(headers.method())
        && protocol != null && "websocket".contentEquals(protocol.toString().toLowerCase(Locale.ROOT))
        && headers.path() != null && headers.path().length() > 0;
  }

  private void hold(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Http2DataFrame data)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    earlyBytes += data.content().readableBytes();
    early.add(data);
    if (earlyBytes > EARLY_DATA_LIMIT) {
      releaseEarly();
      state = State.ENDING;
      ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.ENHANCE_YOUR_CALM))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }

  private void onData(ChannelHandlerContext ctx, Http2DataFrame data) {
    boolean end = data.isEndStream();
    ByteBuf bytes = data.content();
    if (bytes.isReadable()) {
      ctx.fireChannelRead(bytes);
    } else {
      bytes.release();
    }
    if (end) {
      ctx.close(); // the client's FIN
    }
  }

  // ---- outbound ---------------------------------------------------------------------------------

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (state != State.STREAMING && state != State.ENDING || !(msg instanceof ByteBuf bytes)) {
      ctx.write(msg, promise);
      return;
    }
    if (!bytes.isReadable()) {
      bytes.release();
      promise.setSuccess();
      return;
    }
    ctx.write(new DefaultHttp2DataFrame(bytes, false), promise);
  }

  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
    if (state != State.STREAMING || !ctx.channel().isActive()) {
      ctx.close(promise);
      return;
    }
    state = State.ENDING;
    Runnable closeOnce = new Runnable() {
      private boolean ran;

      @Override
      public void run() {
        if (!ran) {
          ran = true;
          ctx.close(promise);
        }
      }
    };
    ScheduledFuture<?> grace = ctx.executor().schedule(closeOnce, END_STREAM_GRACE_SECONDS, TimeUnit.SECONDS);
    ctx.writeAndFlush(new DefaultHttp2DataFrame(true)).addListener(f -> {
      grace.cancel(false);
      closeOnce.run();
    });
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    releaseEarly();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    releaseEarly();
  }

  private void releaseEarly() {
    early.forEach(ReferenceCountUtil::release);
    early.clear();
    earlyBytes = 0;
  }
}
