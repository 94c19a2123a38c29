package io.sluice.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.sluice.config.HeaderOps;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.http.PathNormalizer;
import io.sluice.http.ProxyHeaders;
import io.sluice.relay.ProxyCall;
import io.sluice.route.ModelExtractor;
import io.sluice.route.Route;
import io.sluice.route.Router;
import io.sluice.server.RequestHeaderTimeoutHandler;
import io.sluice.upstream.Upstream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last handler of the client pipeline: turns each HTTP request into an {@link Exchange}, checks
 * it, reads its body (capped), routes it, and hands it to a {@link ProxyCall}.
 *
 * <p>Pipeline: {@code … → HttpServerCodec → ExchangeHandler}.
 *
 * <p>One exchange at a time per connection. The connection keeps reading while a response
 * streams, so a client that goes away is noticed at once and its generation stopped; a pipelined
 * next request is held (and reading paused) until the current response ends.
 */
public final class ExchangeHandler extends ChannelInboundHandlerAdapter implements ProxyCall.ClientLeg {
  private static final Logger log = LoggerFactory.getLogger(ExchangeHandler.class);

  private enum State { IDLE, READING_BODY, PROXYING, CLOSING }

  private final Supplier<GatewayContext> contexts;
  private final String scheme;
  private final ArrayDeque<Object> held = new ArrayDeque<>();

  private ChannelHandlerContext ctx;
  private State state = State.IDLE;
  private GatewayContext gateway;
  private Exchange exchange;
  private HttpRequest request;
  private String path;
  private String query;
  private CompositeByteBuf body;
  private ProxyCall call;

  /** @param contexts the current gateway snapshot (read once per request) */
  public ExchangeHandler(Supplier<GatewayContext> contexts, String scheme) {
    this.contexts = contexts;
    this.scheme = scheme;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public ChannelHandlerContext context() {
    return ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (state == State.PROXYING || state == State.CLOSING || !held.isEmpty()) {
      if (state == State.CLOSING) {
        ReferenceCountUtil.release(msg);
        return;
      }
      held.add(msg); // pipelined: answered after the current response
      ctx.channel().config().setAutoRead(false);
      return;
    }
    if (msg instanceof HttpRequest req) {
      onRequest(req);
    }
    if (msg instanceof HttpContent content) {
      onBody(content);
    } else if (!(msg instanceof HttpRequest)) {
      ReferenceCountUtil.release(msg);
    }
  }

  private void onRequest(HttpRequest req) {
    RequestHeaderTimeoutHandler headerTimeout = ctx.pipeline().get(RequestHeaderTimeoutHandler.class);
    if (headerTimeout != null) {
      headerTimeout.headersReceived();
    }
    long now = System.nanoTime();
    gateway = contexts.get();
    request = req;
    String requestId = ProxyHeaders.validRequestId(req.headers().get(ProxyHeaders.X_REQUEST_ID));
    exchange = new Exchange(requestId != null ? requestId : ProxyHeaders.newRequestId(), clientIp(),
        req.method().name(), rawPath(req.uri()), now);

    DecoderResult result = req.decoderResult();
    if (result.isFailure()) {
      Throwable cause = result.cause();
      if (cause instanceof TooLongHttpLineException) {
        rejectAndClose(ErrorKind.URI_TOO_LONG, "the request line is longer than the limit");
      } else if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
        rejectAndClose(ErrorKind.HEADERS_TOO_LARGE, "the request headers are larger than the limit");
      } else {
        rejectAndClose(ErrorKind.MALFORMED_REQUEST, "malformed HTTP request");
      }
      return;
    }
    if (req.uri().length() > gateway.limits().maxUriLength()) {
      rejectAndClose(ErrorKind.URI_TOO_LONG, "the URI is longer than " + gateway.limits().maxUriLength() + " bytes");
      return;
    }
    String target = originForm(req.uri());
    if (target == null) {
      rejectAndClose(ErrorKind.BAD_PATH, "the request target must be a path");
      return;
    }
    int q = target.indexOf('?');
    try {
      path = PathNormalizer.normalize(q < 0 ? target : target.substring(0, q));
    } catch (PathNormalizer.BadPathException e) {
      rejectAndClose(ErrorKind.BAD_PATH, e.getMessage());
      return;
    }
    query = q < 0 ? "" : target.substring(q);
    if (gateway.router().noRouteForPath(path)) {
      rejectAndClose(ErrorKind.ROUTE_NOT_FOUND, "no route for " + path);
      return;
    }
    long declared = HttpUtil.getContentLength(req, -1L);
    if (declared > gateway.limits().maxRequestBody()) {
      rejectAndClose(ErrorKind.BODY_TOO_LARGE, "the request body is larger than "
          + gateway.limits().maxRequestBody() + " bytes");
      return;
    }
    if (HttpUtil.is100ContinueExpected(req)) {
      ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
          Unpooled.EMPTY_BUFFER), ctx.voidPromise());
    }
    body = ctx.alloc().compositeBuffer(64);
    state = State.READING_BODY;
  }

  private void onBody(HttpContent content) {
    if (state != State.READING_BODY) {
      content.release();
      return;
    }
    if (content.decoderResult().isFailure()) {
      content.release();
      rejectAndClose(ErrorKind.MALFORMED_REQUEST, "malformed request body");
      return;
    }
    ByteBuf bytes = content.content();
    if (body.readableBytes() + (long) bytes.readableBytes() > gateway.limits().maxRequestBody()) {
      content.release();
      rejectAndClose(ErrorKind.BODY_TOO_LARGE, "the request body is larger than "
          + gateway.limits().maxRequestBody() + " bytes");
      return;
    }
    if (bytes.isReadable()) {
      body.addComponent(true, bytes.retain());
    }
    boolean last = content instanceof LastHttpContent;
    content.release();
    if (last) {
      exchange.mark(Moment.IN_REQ_BODY_RECEIVED, System.nanoTime());
      exchange.addBytesIn(body.readableBytes());
      dispatch();
    }
  }

  private void dispatch() {
    HttpHeaders headers = request.headers();
    Router.Match match = gateway.router().match(request.method().name(), path,
        name -> headers.get(name), () -> ModelExtractor.model(body));
    if (match instanceof Router.Match.MethodNotAllowed m) {
      FullHttpResponse response = GatewayErrors.response(ctx.alloc(), ErrorKind.METHOD_NOT_ALLOWED,
          request.method().name() + " is not allowed on " + path);
      response.headers().set(HttpHeaderNames.ALLOW, String.join(", ", m.allowed()));
      respond(response, false);
      return;
    }
    if (!(match instanceof Router.Match.Found found)) {
      respond(GatewayErrors.response(ctx.alloc(), ErrorKind.ROUTE_NOT_FOUND, "no route for " + path), false);
      return;
    }
    Route route = found.route();
    exchange.routeName(route.name());
    Upstream upstream = gateway.upstreams().get(route.upstreamName());
    ProxyCall.Request forward = new ProxyCall.Request(request.method(), route.rewrite(path) + query,
        forwardHeaders(route, upstream), body, HttpUtil.isKeepAlive(request), request.protocolVersion(),
        route.responseHeaders());
    state = State.PROXYING;
    call = new ProxyCall(this, exchange, upstream, forward, route.timeout(), gateway.metrics());
    call.start();
  }

  private HttpHeaders forwardHeaders(Route route, Upstream upstream) {
    HttpHeaders h = request.headers().copy();
    String clientHost = h.get(HttpHeaderNames.HOST);
    ProxyHeaders.removeHopByHop(h);
    h.remove(HttpHeaderNames.EXPECT);
    h.remove(HttpHeaderNames.HOST);
    ProxyHeaders.addForwarded(h, exchange.clientIp(), scheme, clientHost);
    h.set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
    HeaderOps ops = route.requestHeaders();
    ops.remove().forEach(h::remove);
    for (Map.Entry<String, String> e : ops.set().entrySet()) {
      h.set(e.getKey(), e.getValue());
    }
    upstream.config().headers().forEach((name, value) -> h.set(name, value.reveal()));
    h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    if (body.readableBytes() == 0 && !request.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
        && !HttpUtil.isTransferEncodingChunked(request)) {
      h.remove(HttpHeaderNames.CONTENT_LENGTH);
    }
    return h;
  }

  // ---- ProxyCall.ClientLeg ----------------------------------------------------------------------

  @Override
  public void sendError(ErrorKind kind, String message) {
    respond(GatewayErrors.response(ctx.alloc(), kind, message), false);
  }

  @Override
  public void responseComplete(boolean keepAlive) {
    endExchange();
    if (!keepAlive) {
      state = State.CLOSING;
      // Close only once everything written so far has reached the socket.
      ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    nextRequest();
  }

  @Override
  public void responseAborted() {
    endExchange();
    state = State.CLOSING;
    ctx.close();
  }

  // ---- connection events ------------------------------------------------------------------------

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (call != null) {
      call.clientWritabilityChanged(ctx.channel().isWritable());
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (call != null) {
      call.clientClosed();
      endExchange();
    } else {
      releaseBody();
    }
    state = State.CLOSING;
    held.forEach(ReferenceCountUtil::release);
    held.clear();
    ctx.fireChannelInactive();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent) {
      log.debug("closing {} after idle-timeout", ctx.channel());
      ctx.close();
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("client connection {} failed: {}", ctx.channel(), cause.toString());
    ctx.close();
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /** Answers a request whose body will not be read; the connection cannot be reused. */
  private void rejectAndClose(ErrorKind kind, String message) {
    respond(GatewayErrors.response(ctx.alloc(), kind, message), true);
  }

  private void respond(FullHttpResponse response, boolean close) {
    boolean keepAlive = !close && request != null && HttpUtil.isKeepAlive(request);
    response.headers().set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
    HttpUtil.setKeepAlive(response, keepAlive);
    exchange.status(response.status().code());
    exchange.addBytesOut(response.content().readableBytes());
    if (exchange.outcome().equals("ok")) {
      exchange.outcome("rejected"); // answered by the gateway itself
    }
    if (keepAlive) {
      ctx.writeAndFlush(response, ctx.voidPromise());
      endExchange();
      nextRequest();
    } else {
      state = State.CLOSING;
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
      endExchange();
    }
  }

  private void endExchange() {
    if (exchange != null) {
      gateway.metrics().requestCompleted(exchange.routeName(), exchange.status(),
          System.nanoTime() - exchange.startNanos());
    }
    exchange = null;
    call = null;
    request = null;
    releaseBody();
  }

  private void releaseBody() {
    if (body != null) {
      body.release();
      body = null;
    }
  }

  /** Back to waiting for a request; replays one that was pipelined meanwhile. */
  private void nextRequest() {
    state = State.IDLE;
    RequestHeaderTimeoutHandler headerTimeout = ctx.pipeline().get(RequestHeaderTimeoutHandler.class);
    if (headerTimeout != null) {
      headerTimeout.awaitNextRequest();
    }
    while (!held.isEmpty() && state != State.PROXYING && state != State.CLOSING) {
      Object msg = held.poll();
      channelRead(ctx, msg);
    }
    if (held.isEmpty() && state != State.CLOSING) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  private String clientIp() {
    SocketAddress remote = ctx.channel().remoteAddress();
    if (remote instanceof InetSocketAddress inet && inet.getAddress() != null) {
      return inet.getAddress().getHostAddress();
    }
    return "unknown";
  }

  /** The path-and-query of an origin-form or absolute-form target, or null for anything else. */
  private static String originForm(String uri) {
    if (uri.startsWith("/")) {
      return uri;
    }
    int scheme = uri.indexOf("://");
    if (scheme > 0 && (uri.startsWith("http://") || uri.startsWith("https://"))) {
      int slash = uri.indexOf('/', scheme + 3);
      return slash < 0 ? "/" : uri.substring(slash);
    }
    return null;
  }

  private static String rawPath(String uri) {
    int q = uri.indexOf('?');
    return q < 0 ? uri : uri.substring(0, q);
  }
}
