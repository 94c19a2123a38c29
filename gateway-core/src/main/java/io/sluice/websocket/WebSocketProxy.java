package io.sluice.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;
import io.sluice.config.HeaderOps;
import io.sluice.config.WebSocketConfig;
import io.sluice.exchange.ClientLeg;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.http.ErrorKind;
import io.sluice.observe.GatewayMetrics;
import io.sluice.relay.ResponseHead;
import io.sluice.relay.UpstreamAttempt;
import io.sluice.server.ExtendedConnectHandler;
import io.sluice.server.PipelineNames;
import io.sluice.upstream.Upstream;
import io.sluice.upstream.UpstreamHandler;
import io.sluice.usage.Usage;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WebSocket leg of an exchange: the upgrade handshake with the upstream, then a
 * {@link WebSocketSession} that relays frames until one side closes.
 *
 * <pre>
 *   plugins passed → choose endpoint → new connection → GET + Upgrade ─┬─ 101 → 101 to the client → relay
 *                       ↑                                              ├─ other status → relayed as is
 *                       └──── retry (connect failure) ──┘              └─ garbage → 502
 * </pre>
 *
 * <p>The handshake: the client's {@code Sec-WebSocket-Key}, {@code Sec-WebSocket-Version},
 * {@code Sec-WebSocket-Protocol} and {@code Sec-WebSocket-Extensions} go upstream unchanged, so
 * the upstream's {@code Sec-WebSocket-Accept} is valid for the client too and the subprotocol and
 * extensions (such as {@code permessage-deflate}) are agreed between the two ends; the gateway
 * checks that the upstream chose only what the client offered, and never inflates anything.
 *
 * <p>HTTP/2 (RFC 8441): an extended CONNECT on an HTTP/2 stream (see {@link ExtendedConnectHandler})
 * opens the upstream exactly the same way — an HTTP/1.1 upgrade, with a {@code Sec-WebSocket-Key}
 * of the gateway's own, since an HTTP/2 client sends none — and the upstream's {@code 101} becomes
 * a {@code 200} on the stream; frames then travel in the stream's DATA frames.
 *
 * <p>Threading: runs on the client channel's event loop; the upstream connection is opened on the
 * same loop. Upstream connections of sessions are never pooled: they count toward
 * {@code max-connections-per-endpoint} while the session lasts and are closed with it.
 *
 * <p>Failure: before the 101, every failure is an HTTP answer (502 JSON error for a connect
 * failure or a broken handshake, 504 when the upstream does not answer within
 * {@code first-byte-timeout}, the upstream's own status when it refuses). After it, close codes
 * (see {@link WebSocketSession}).
 */
public final class WebSocketProxy implements UpstreamHandler.Listener, WebSocketSession.Ending {
  private static final Logger log = LoggerFactory.getLogger(WebSocketProxy.class);
  /** How much of an upstream's refusal body is relayed to the client. */
  private static final int MAX_REFUSAL_BODY = 64 * 1024;
  static final String ENCODER = "ws-encoder";
  static final String DECODER = "ws-decoder";
  static final String RELAY = "ws-relay";

  /** What to open upstream and how to run the session, fixed when the plugins passed. */
  public record Target(String pathAndQuery, HttpHeaders headers, HeaderOps responseHeaders,
      WebSocketConfig config, Duration idleTimeout, Duration routeTimeout, String model) {}

  private final ClientLeg client;
  private final ChannelHandlerContext clientCtx;
  private final EventLoop loop;
  private final Exchange exchange;
  private final Upstream upstream;
  private final HttpRequest request;
  private final Target target;
  private final GatewayMetrics metrics;
  private final RealtimeUsage usage;
  /** The client is an HTTP/2 stream (RFC 8441), not an HTTP/1.1 connection. */
  private final boolean overHttp2;

  private String upstreamKey; // the Sec-WebSocket-Key sent upstream
  private final UpstreamAttempt attempt;
  private HttpResponse refusal;
  private CompositeByteBuf refusalBody;
  private WebSocketSession session;
  private AtomicInteger activeStreams;
  private boolean done;

  public WebSocketProxy(ClientLeg client, Exchange exchange, Upstream upstream, HttpRequest request,
      Target target, GatewayMetrics metrics) {
    this.client = client;
    this.clientCtx = client.context();
    this.loop = clientCtx.channel().eventLoop();
    this.exchange = exchange;
    this.upstream = upstream;
    this.request = request;
    this.target = target;
    this.metrics = metrics;
    this.usage = new RealtimeUsage(target.model());
    // Always a new connection: a session owns it to the end, so it never goes back to the pool.
    this.attempt = new UpstreamAttempt(upstream, exchange, loop, this, true, metrics, new UpstreamAttempt.Owner() {
      @Override
      public void connected(Channel channel) {
        sendHandshake(channel);
      }

      @Override
      public void failed(ErrorKind kind, String message) {
        fail(kind, message);
      }

      @Override
      public void firstByteTimeout() {
        fail(ErrorKind.UPSTREAM_TIMEOUT, attempt.firstByteTimeoutMessage("the WebSocket upgrade "));
      }
    });
    this.overHttp2 = ExtendedConnectHandler.isWebSocket(clientCtx.channel());
  }

  /**
   * Whether this request opens a WebSocket session: an HTTP/1.1 upgrade on a route that relays
   * WebSocket, or any RFC 8441 extended CONNECT — on a route without {@code websocket} that one is
   * refused by {@link #start}, as it cannot be proxied as a plain request (its client would take
   * an ordinary {@code 200} for an open session).
   */
  public static boolean isUpgrade(WebSocketConfig config, HttpRequest request, ChannelHandlerContext ctx) {
    if (ExtendedConnectHandler.isWebSocket(ctx.channel())) {
      return true;
    }
    return config.enabled()
        && request.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)
        && ctx.pipeline().get(HttpServerCodec.class) != null;
  }

  /** Checks the client's handshake, then opens the upstream leg. */
  public void start() {
    String problem = Handshake.clientProblem(request, overHttp2, target.config().enabled(), exchange.routeName());
    if (problem != null) {
      done = true;
      exchange.outcome(ErrorKind.MALFORMED_REQUEST.code());
      client.sendError(ErrorKind.MALFORMED_REQUEST, problem);
      return;
    }
    // Over HTTP/2 the client sends no key (RFC 8441 §5): the upstream's handshake gets one of ours.
    upstreamKey = overHttp2 ? Handshake.newKey() : request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_KEY);
    attempt.start();
  }

  private void sendHandshake(Channel channel) {
    HttpHeaders headers = target.headers().copy();
    headers.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
    headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
    headers.set(HttpHeaderNames.SEC_WEBSOCKET_KEY, upstreamKey);
    headers.remove(HttpHeaderNames.CONTENT_LENGTH);
    attempt.send(HttpMethod.GET, target.pathAndQuery(), headers, Unpooled.EMPTY_BUFFER);
  }

  // ---- the upstream's answer ------------------------------------------------------------------

  @Override
  public void onUpstreamMessage(HttpObject msg) {
    if (done || session != null) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg.decoderResult().isFailure()) {
      ReferenceCountUtil.release(msg);
      brokenHandshake("sent an invalid HTTP response");
      return;
    }
    if (msg instanceof HttpResponse response) {
      int status = response.status().code();
      if (status == 101) {
        attempt.answered();
        String problem = Handshake.answerProblem(request.headers(), response.headers(), upstreamKey);
        if (problem != null) {
          brokenHandshake(problem);
        } else {
          open(response);
        }
        return; // the rest of this read is frames, handled by the new pipeline
      }
      if (status < 200) {
        return; // an interim answer (100): the real one follows
      }
      attempt.answered();
      refusal = response;
      refusalBody = clientCtx.alloc().compositeBuffer();
    }
    if (msg instanceof HttpContent content) {
      if (refusal != null && refusalBody.readableBytes() < MAX_REFUSAL_BODY && content.content().isReadable()) {
        int take = Math.min(content.content().readableBytes(), MAX_REFUSAL_BODY - refusalBody.readableBytes());
        refusalBody.addComponent(true, content.content().retainedSlice(content.content().readerIndex(), take));
      }
      boolean last = msg instanceof LastHttpContent;
      content.release();
      if (last && refusal != null) {
        relayRefusal();
      }
    }
  }

  /**
   * Both handshakes are done: the upstream connection switches to frames, the 101 (over HTTP/2:
   * the 200) goes to the client, and its connection (stream) switches too. Called inside the upstream codec's read; the codec
   * is removed only after it (Netty's own client handshaker does the same), so frames that came in
   * the same read as the 101 reach the frame decoder placed after it.
   */
  private void open(HttpResponse response) {
    long now = System.nanoTime();
    attempt.recordStatus(101);
    Channel upstreamChannel = attempt.channel();
    exchange.mark(Moment.UPSTREAM_RESP_HEADERS_RECEIVED, now);
    int maxFrame = (int) target.config().maxFrameSize();
    session = new WebSocketSession(clientCtx.channel(), upstreamChannel, exchange, maxFrame,
        target.config().pingInterval().toNanos(), target.idleTimeout().toNanos(), target.routeTimeout().toNanos(),
        usage, this);

    ChannelPipeline up = upstreamChannel.pipeline();
    HttpClientCodec upstreamCodec = up.get(HttpClientCodec.class);
    String codecName = up.context(upstreamCodec).name();
    up.remove(UpstreamHandler.class); // and with it the pool's idle timer
    upstreamCodec.removeOutboundHandler();
    up.addAfter(codecName, DECODER, new WebSocket08FrameDecoder(Handshake.decoderConfig(maxFrame, false)));
    up.addAfter(DECODER, ENCODER, new WebSocket08FrameEncoder(true)); // toward a server: masked
    up.addLast(RELAY, new FrameRelayHandler(session, WebSocketSession.Side.UPSTREAM));
    loop.execute(() -> up.remove(upstreamCodec));

    HttpHeaders h = response.headers().copy();
    ResponseHead.passOn(h, target.responseHeaders(), exchange.requestId());
    h.remove(HttpHeaderNames.CONTENT_LENGTH);
    exchange.streaming(true);
    activeStreams = metrics.activeStreams(exchange.routeName(), "websocket");
    activeStreams.incrementAndGet(); // before the answer leaves: a client that sees it sees the gauge
    if (overHttp2) {
      openStream(h, maxFrame);
    } else {
      openConnection(h, maxFrame);
    }
    exchange.mark(Moment.OUT_RESP_HEADERS_SENT, now);
    session.start();
    if (overHttp2) {
      ExtendedConnectHandler.releaseEarlyData(clientCtx.pipeline());
    }
  }

  /** HTTP/1.1: the client gets the 101 and its connection switches to frames. */
  private void openConnection(HttpHeaders h, int maxFrame) {
    h.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
    h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
    FullHttpResponse switching = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.SWITCHING_PROTOCOLS, Unpooled.EMPTY_BUFFER, h, EmptyHttpHeaders.INSTANCE);
    client.prepareResponseHeaders(101, h);
    exchange.status(101);

    ChannelPipeline cp = clientCtx.pipeline();
    HttpServerCodec clientCodec = cp.get(HttpServerCodec.class);
    String clientCodecName = cp.context(clientCodec).name();
    // Before the HTTP codec, as Netty's server handshaker places them: from now on the codec sees
    // only frames, which it lets through, until it is removed once the 101 is on the wire.
    cp.addBefore(clientCodecName, ENCODER, new WebSocket08FrameEncoder(false));
    cp.addBefore(clientCodecName, DECODER, new WebSocket08FrameDecoder(Handshake.decoderConfig(maxFrame, true)));
    cp.addBefore(clientCtx.name(), RELAY, new FrameRelayHandler(session, WebSocketSession.Side.CLIENT));
    // The session's own timer replaces the connection's timeouts (idle, header; an upgrade has no body).
    removeIfPresent(cp, PipelineNames.TIMEOUTS);
    clientCtx.writeAndFlush(switching).addListener((ChannelFutureListener) f -> {
      if (cp.get(HttpServerCodec.class) != null) {
        cp.remove(HttpServerCodec.class);
      }
    });
  }

  /**
   * HTTP/2 (RFC 8441 §5): the client gets {@code :status 200} with the upstream's choices
   * (subprotocol, extensions) and the stream stays open; its DATA frames carry the frames from
   * now on. {@code Sec-WebSocket-Accept} belongs to the upstream's HTTP/1.1 handshake and is not
   * passed on.
   */
  private void openStream(HttpHeaders h, int maxFrame) {
    h.remove(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT);
    h.remove(HttpHeaderNames.UPGRADE);
    h.remove(HttpHeaderNames.CONNECTION);
    client.prepareResponseHeaders(200, h);
    exchange.status(200);
    Http2Headers answer = HttpConversionUtil.toHttp2Headers(h, true);
    answer.status(HttpResponseStatus.OK.codeAsText());

    ChannelPipeline cp = clientCtx.pipeline();
    String stream = ExtendedConnectHandler.streamBytes(cp);
    cp.addAfter(stream, ENCODER, new WebSocket08FrameEncoder(false));
    cp.addAfter(ENCODER, DECODER, new WebSocket08FrameDecoder(Handshake.decoderConfig(maxFrame, true)));
    cp.addBefore(clientCtx.name(), RELAY, new FrameRelayHandler(session, WebSocketSession.Side.CLIENT));
    clientCtx.writeAndFlush(new DefaultHttp2HeadersFrame(answer, false), clientCtx.voidPromise());
  }

  private static void removeIfPresent(ChannelPipeline p, String name) {
    if (p.get(name) != null) {
      p.remove(name);
    }
  }

  /** The upstream answered the upgrade with something else than 101: the client gets it as is. */
  private void relayRefusal() {
    int status = refusal.status().code();
    attempt.recordStatus(status);
    HttpHeaders h = refusal.headers().copy();
    ResponseHead.passOn(h, target.responseHeaders(), exchange.requestId());
    ByteBuf body = refusalBody;
    refusalBody = null;
    h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    FullHttpResponse out = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, refusal.status(), body, h,
        EmptyHttpHeaders.INSTANCE);
    HttpUtil.setKeepAlive(out, false);
    client.prepareResponseHeaders(status, h);
    exchange.status(status);
    exchange.outcome("upstream_refused");
    exchange.addBytesOut(body.readableBytes());
    attempt.drop();
    attempt.end(null);
    attempt.close();
    done = true;
    clientCtx.writeAndFlush(out, clientCtx.voidPromise());
    client.responseComplete(false);
  }

  private void brokenHandshake(String problem) {
    fail(ErrorKind.UPSTREAM_FAILED, attempt.protocolError(problem, "websocket handshake: " + problem));
  }

  @Override
  public void onUpstreamReadComplete() {}

  @Override
  public void onUpstreamWritabilityChanged(boolean writable) {}

  @Override
  public void onUpstreamClosed(Throwable cause) {
    if (done || session != null) {
      return;
    }
    // Nothing was upgraded yet: like a connect failure, another endpoint may take it.
    attempt.retry(cause == null ? "connection closed" : cause.toString());
  }

  // ---- client events and endings --------------------------------------------------------------

  /** The client connection closed (before the 101 or during the session). */
  public void clientClosed() {
    if (session != null) {
      session.onInactive(WebSocketSession.Side.CLIENT);
      return;
    }
    if (done) {
      return;
    }
    done = true;
    attempt.cancel();
    releaseRefusal();
  }

  /** The drain timeout is over: an open session gets close 1001 both ways; a handshake a 503. */
  public void drainNow() {
    if (session != null) {
      session.drain();
      return;
    }
    if (done) {
      return;
    }
    attempt.cancel();
    fail(ErrorKind.DRAINING, "the gateway is shutting down");
  }

  @Override
  public void sessionEnded(String outcome) {
    done = true;
    if (!"ok".equals(outcome)) {
      exchange.outcome(outcome);
    }
    exchange.mark(Moment.OUT_RESP_COMPLETE, System.nanoTime());
    attempt.forget(); // the session closes it
    attempt.end(null);
    if (activeStreams != null) {
      activeStreams.decrementAndGet();
      activeStreams = null; // counted down once, whatever path ends it again
    }
    client.responseComplete(false);
  }

  /** The tokens the session's model responses reported, or null when none did. */
  public Usage usage() {
    return usage.usage();
  }

  private void fail(ErrorKind kind, String message) {
    done = true;
    attempt.close();
    releaseRefusal();
    exchange.outcome(kind.code());
    client.sendError(kind, message);
  }

  private void releaseRefusal() {
    if (refusalBody != null) {
      refusalBody.release();
      refusalBody = null;
    }
  }
}
