package io.sluice.demo;

import static io.netty.handler.codec.http.HttpVersion.HTTP_1_1;
import static io.sluice.demo.MockModelServer.BURST_HEADER;
import static io.sluice.demo.MockModelServer.JSON;
import static io.sluice.demo.MockModelServer.MAX_TOKEN_INTERVAL_MS;
import static io.sluice.demo.MockModelServer.TOKEN_INTERVAL_HEADER;
import static io.sluice.demo.MockModelServer.UNPACED_BATCH;
import static io.sluice.demo.MockModelServer.toBytes;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.demo.MockModelServer.Options;
import io.sluice.demo.MockModelServer.Tokens;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mock's side of one connection: routes each request by path to the API that answers it
 * ({@link MockChat}, {@link MockMessages}, {@link MockRealtime}, the model list, the health check),
 * reads the control headers ({@value MockModelServer#TOKEN_INTERVAL_HEADER},
 * {@value MockModelServer#BURST_HEADER}) and writes streamed answers paced and with backpressure.
 *
 * <p>Pipeline: Netty's HTTP server codec → an aggregator ({@link MockModelServer#MAX_REQUEST_BODY})
 * → {@code MockConnection}.
 *
 * <p>One per connection (not sharable): it holds the connection's in-progress stream and the
 * pipelined requests waiting behind it. All methods run on the connection's event loop.
 */
final class MockConnection extends SimpleChannelInboundHandler<FullHttpRequest> {
  // The server's logger: a connection's failures are the mock server's to report.
  private static final Logger log = LoggerFactory.getLogger(MockModelServer.class);

  private final Options options;
  private final List<String> replyTokens;
  private final AtomicInteger activeStreams;
  // HTTP/1.1 pipelining: responses must go out in request order, so requests that arrive while a
  // stream is still being written wait here (retained; released when handled or on close).
  private final ArrayDeque<FullHttpRequest> pending = new ArrayDeque<>();
  private Stream stream;
  private boolean closing;

  MockConnection(Options options, List<String> replyTokens, AtomicInteger activeStreams) {
    this.options = options;
    this.replyTokens = replyTokens;
    this.activeStreams = activeStreams;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (closing) {
      return; // a previous response said "Connection: close"; the superclass releases req
    }
    if (stream != null) {
      pending.add(req.retain());
      return;
    }
    dispatch(ctx, req);
  }

  private void dispatch(ChannelHandlerContext ctx, FullHttpRequest req) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    if (!req.decoderResult().isSuccess()) {
      // The codec could not make sense of the request; the connection state is unknown, so close.
      sendError(ctx, HttpResponseStatus.BAD_REQUEST, "Malformed HTTP request.",
          "invalid_request_error", null, "bad_request", false);
      return;
    }
    String path = new QueryStringDecoder(req.uri()).path();
    HttpMethod method = req.method();
    boolean get = HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method);
    switch (path) {
      case "/v1/chat/completions" -> {
        if (HttpMethod.POST.equals(method)) {
          chatCompletion(ctx, req, keepAlive);
        } else {
          methodNotAllowed(ctx, "POST", keepAlive);
        }
      }
      case "/v1/messages" -> {
        if (HttpMethod.POST.equals(method)) {
          messages(ctx, req, keepAlive);
        } else {
          FullHttpResponse res = jsonResponse(HttpResponseStatus.METHOD_NOT_ALLOWED,
              MockMessages.error("invalid_request_error", "Method not allowed; use POST."));
          res.headers().set(HttpHeaderNames.ALLOW, "POST");
          send(ctx, res, keepAlive);
        }
      }
      case "/v1/models" -> {
        if (get) {
          sendJson(ctx, HttpResponseStatus.OK, MockChat.models(), keepAlive);
        } else {
          methodNotAllowed(ctx, "GET, HEAD", keepAlive);
        }
      }
      case "/v1/realtime" -> {
        if (HttpMethod.GET.equals(method) && req.headers().containsValue(
            HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
          MockRealtime.upgrade(ctx, req);
        } else {
          sendError(ctx, HttpResponseStatus.BAD_REQUEST, "Expected a WebSocket upgrade.",
              "invalid_request_error", null, "websocket_required", keepAlive);
        }
      }
      case "/health" -> {
        if (get) {
          sendJson(ctx, HttpResponseStatus.OK, JSON.createObjectNode().put("status", "ok"), keepAlive);
        } else {
          methodNotAllowed(ctx, "GET, HEAD", keepAlive);
        }
      }
      default ->
          sendError(ctx, HttpResponseStatus.NOT_FOUND,
              "Unknown request URL: " + method + " " + path + ".",
              "not_found_error", null, "not_found", keepAlive);
    }
  }

  private void methodNotAllowed(ChannelHandlerContext ctx, String allow, boolean keepAlive) {
    FullHttpResponse res = errorResponse(HttpResponseStatus.METHOD_NOT_ALLOWED,
        "Method not allowed; use " + allow + ".", "invalid_request_error", null,
        "method_not_allowed");
    res.headers().set(HttpHeaderNames.ALLOW, allow);
    send(ctx, res, keepAlive);
  }

  /** {@code POST /v1/chat/completions}: OpenAI's shape ({@link MockChat}). */
  private void chatCompletion(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive) {
    try {
      answer(ctx, req, keepAlive, tokenInterval(req, options), MockChat.answer(req.content()));
    } catch (MockChat.Invalid e) {
      sendError(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage(), "invalid_request_error",
          e.param, e.code, keepAlive);
    }
  }

  /** {@code POST /v1/messages}: Anthropic's shape ({@link MockMessages}), paced like a chat stream. */
  private void messages(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive) {
    try {
      answer(ctx, req, keepAlive, tokenInterval(req, options), MockMessages.answer(req.content()));
    } catch (MockChat.Invalid | MockMessages.Invalid e) {
      sendJson(ctx, HttpResponseStatus.BAD_REQUEST,
          MockMessages.error("invalid_request_error", e.getMessage()), keepAlive);
    }
  }

  /**
   * Answers a parsed request (the control header was read first, so its problem is the one
   * reported): whole, or streamed {@code intervalNanos} apart.
   */
  private void answer(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive, long intervalNanos,
      MockAnswer answer) {
    Tokens tokens = Tokens.of(replyTokens, answer.tokenLimit());
    if (answer.stream()) {
      stream = new Stream(ctx, answer.events().apply(tokens), tokens.count(), intervalNanos, burst(req), keepAlive);
      stream.start();
    } else {
      sendJson(ctx, HttpResponseStatus.OK, answer.whole().apply(tokens), keepAlive);
    }
  }

  /** The request asked for a burst ({@value MockModelServer#BURST_HEADER}): honoured for unpaced streams. */
  private static boolean burst(FullHttpRequest req) {
    return "true".equalsIgnoreCase(req.headers().get(BURST_HEADER));
  }

  /**
   * The pause between two streamed tokens: the server's, or the request's
   * {@value MockModelServer#TOKEN_INTERVAL_HEADER}.
   */
  private static long tokenInterval(FullHttpRequest req, Options options) throws MockChat.Invalid {
    String value = req.headers().get(TOKEN_INTERVAL_HEADER);
    if (value == null) {
      return options.tokenInterval().toNanos();
    }
    long millis;
    try {
      millis = Long.parseLong(value.strip());
    } catch (NumberFormatException e) {
      millis = -1;
    }
    if (millis < 0 || millis > MAX_TOKEN_INTERVAL_MS) {
      throw new MockChat.Invalid("Header '" + TOKEN_INTERVAL_HEADER + "' must be an integer from 0 to "
          + MAX_TOKEN_INTERVAL_MS + " (milliseconds).", null, "invalid_value");
    }
    return TimeUnit.MILLISECONDS.toNanos(millis);
  }

  private void sendJson(ChannelHandlerContext ctx, HttpResponseStatus status, JsonNode body,
      boolean keepAlive) {
    send(ctx, jsonResponse(status, body), keepAlive);
  }

  private void sendError(ChannelHandlerContext ctx, HttpResponseStatus status, String message,
      String type, String param, String code, boolean keepAlive) {
    send(ctx, errorResponse(status, message, type, param, code), keepAlive);
  }

  private static FullHttpResponse errorResponse(HttpResponseStatus status, String message,
      String type, String param, String code) {
    return jsonResponse(status, MockChat.error(message, type, param, code));
  }

  private static FullHttpResponse jsonResponse(HttpResponseStatus status, JsonNode body) {
    // Serialise before allocating, so a (theoretical) serialisation failure cannot leak a buffer.
    byte[] bytes = toBytes(body);
    FullHttpResponse res = new DefaultFullHttpResponse(HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
    res.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
    return res;
  }

  private void send(ChannelHandlerContext ctx, FullHttpResponse res, boolean keepAlive) {
    HttpUtil.setKeepAlive(res, keepAlive);
    ChannelFuture f = ctx.writeAndFlush(res);
    if (keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    } else {
      closing = true;
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** Runs the requests that were pipelined behind a finished stream. */
  private void drainPending(ChannelHandlerContext ctx) {
    FullHttpRequest next;
    while (stream == null && !closing && (next = pending.poll()) != null) {
      try {
        dispatch(ctx, next);
      } finally {
        next.release();
      }
    }
    if (closing) {
      releasePending();
    }
  }

  private void releasePending() {
    FullHttpRequest req;
    while ((req = pending.poll()) != null) {
      req.release();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    // The client went away: stop the pacing timer so nothing keeps running for a dead connection.
    if (stream != null) {
      stream.cancel();
    }
    releasePending();
    super.channelInactive(ctx);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    if (stream != null && ctx.channel().isWritable()) {
      stream.resume();
    }
    super.channelWritabilityChanged(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (stream != null) {
      stream.cancel();
    }
    releasePending();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("mock model server connection {} failed", ctx.channel().remoteAddress(), cause);
    ctx.close();
  }

  /**
   * One streamed answer: the opening events, one event per token on the event loop's timer (or,
   * unpaced, as fast as the connection stays writable), then the closing events; what each event
   * says is the API's ({@link MockEvents}). All methods run on the connection's event loop, so no
   * synchronisation is needed.
   */
  private final class Stream implements Runnable {
    private final ChannelHandlerContext ctx;
    private final MockEvents events;
    private final int count;
    private final long intervalNanos;
    private final boolean burst; // unpaced, flushed per batch
    private final boolean keepAlive;
    private int next;
    private ScheduledFuture<?> timer;
    private boolean done;
    // Unpaced only: the connection was not writable, channelWritabilityChanged resumes.
    private boolean awaitingWritable;

    Stream(ChannelHandlerContext ctx, MockEvents events, int count, long intervalNanos, boolean burst,
        boolean keepAlive) {
      this.ctx = ctx;
      this.events = events;
      this.count = count;
      this.intervalNanos = intervalNanos;
      this.burst = burst && intervalNanos == 0;
      this.keepAlive = keepAlive;
    }

    void start() {
      activeStreams.incrementAndGet();
      HttpResponse head = new DefaultHttpResponse(HTTP_1_1, HttpResponseStatus.OK);
      head.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
          .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
      HttpUtil.setTransferEncodingChunked(head, true);
      HttpUtil.setKeepAlive(head, keepAlive);
      ctx.write(head).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
      for (byte[] event : events.opening()) {
        write(Unpooled.wrappedBuffer(event));
      }
      schedule();
    }

    private void schedule() {
      if (intervalNanos > 0) {
        timer = ctx.executor().schedule(this, intervalNanos, TimeUnit.NANOSECONDS);
      } else if (ctx.channel().isWritable()) {
        ctx.executor().execute(this);
      } else {
        awaitingWritable = true;
      }
    }

    /** The connection is writable again: go on with an unpaced stream that was waiting. */
    void resume() {
      if (awaitingWritable && !done) {
        awaitingWritable = false;
        run();
      }
    }

    @Override
    public void run() {
      if (done) {
        return;
      }
      if (!ctx.channel().isActive()) {
        cancel();
        return;
      }
      if (next < count) {
        // Paced: one token per timer tick. Unpaced: a batch, while the connection takes it.
        int batch = intervalNanos > 0 ? 1 : UNPACED_BATCH;
        do {
          write(events.token(ctx.alloc(), next++));
        } while (--batch > 0 && next < count && ctx.channel().isWritable());
        if (burst) {
          ctx.flush(); // the batch leaves together
        }
        if (next < count) {
          schedule();
          return;
        }
      }
      // The end, right after the last token, as the model servers send it: every closing event
      // flushed but the last, which goes out with the response's end.
      List<byte[]> ends = events.closing();
      for (int i = 0; i < ends.size(); i++) {
        DefaultHttpContent event = new DefaultHttpContent(Unpooled.wrappedBuffer(ends.get(i)));
        if (i < ends.size() - 1) {
          ctx.writeAndFlush(event).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        } else {
          ctx.write(event);
        }
      }
      // Counted as finished before the last write: with "Connection: close" the socket may close
      // inside writeAndFlush, and a client that sees the end must see the stream ended too.
      finish();
      ChannelFuture last = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
      if (keepAlive) {
        last.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
      } else {
        closing = true;
        last.addListener(ChannelFutureListener.CLOSE);
      }
      drainPending(ctx);
    }

    /** Stops the timer (client gone or server closing); the response is simply abandoned. */
    void cancel() {
      if (timer != null) {
        timer.cancel(false);
      }
      finish();
    }

    private void finish() {
      if (!done) {
        done = true;
        activeStreams.decrementAndGet();
        if (stream == this) {
          stream = null;
        }
      }
    }

    /**
     * Writes one SSE event, flushed on its own (each token leaves the server by itself) unless
     * the request asked for a burst. No writability check: a whole reply is a few KiB, so
     * buffering it for a slow reader is harmless.
     */
    private void write(ByteBuf event) {
      DefaultHttpContent content = new DefaultHttpContent(event);
      (burst ? ctx.write(content) : ctx.writeAndFlush(content)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }
  }
}
