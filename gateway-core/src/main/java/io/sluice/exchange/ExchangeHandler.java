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
import io.sluice.net.ClientIdentity;
import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.PluginChain;
import io.sluice.relay.ProxyCall;
import io.sluice.route.ModelExtractor;
import io.sluice.route.Route;
import io.sluice.route.Router;
import io.sluice.server.RequestHeaderTimeoutHandler;
import io.sluice.upstream.Upstream;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last handler of the client pipeline: turns each HTTP request into an {@link Exchange}, checks
 * it, routes it, runs the route's plugins, reads its body (capped), and hands it to a
 * {@link ProxyCall}.
 *
 * <p>Pipeline: {@code … → HttpServerCodec → ExchangeHandler}.
 *
 * <p>Order: path checks → route (on the headers, unless the route depends on the body's
 * {@code model}) → plugins (ACCESS → AUTHN → TRAFFIC), while the body keeps arriving → once both
 * the plugins proceeded and the body is complete, the upstream call. A request a plugin refuses
 * never opens an upstream connection; {@code Expect: 100-continue} is only answered once the
 * plugins let the request through.
 *
 * <p>One exchange at a time per connection. The connection keeps reading while a response
 * streams, so a client that goes away is noticed at once and its generation stopped; a pipelined
 * next request is held (and reading paused) until the current response ends.
 */
public final class ExchangeHandler extends ChannelInboundHandlerAdapter implements ProxyCall.ClientLeg {
  private static final Logger log = LoggerFactory.getLogger(ExchangeHandler.class);

  private enum State { IDLE, READING, PROXYING, DISCARDING, CLOSING }

  private final Supplier<GatewayContext> contexts;
  private final String scheme;
  private final ClientIdentity identity;
  private final ArrayDeque<Object> held = new ArrayDeque<>();

  private ChannelHandlerContext ctx;
  private State state = State.IDLE;
  private GatewayContext gateway;
  private Exchange exchange;
  private HttpRequest request;
  private String path;
  private String query;
  private CompositeByteBuf body;
  private boolean bodyComplete;
  private Route route;
  private PluginChain chain = PluginChain.empty();
  private PluginRequest pluginRequest;
  private int pluginsReached;
  private boolean pluginsPassed;
  private ProxyCall call;

  /**
   * @param contexts the current gateway snapshot (read once per request)
   * @param identity how the client's address is found (peer, PROXY protocol, trusted proxies)
   */
  public ExchangeHandler(Supplier<GatewayContext> contexts, String scheme, ClientIdentity identity) {
    this.contexts = contexts;
    this.scheme = scheme;
    this.identity = identity;
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
    if (state == State.CLOSING) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (state == State.PROXYING || !held.isEmpty()
        || (msg instanceof HttpRequest && state != State.IDLE)) {
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

  // ---- request ----------------------------------------------------------------------------------

  private void onRequest(HttpRequest req) {
    RequestHeaderTimeoutHandler headerTimeout = ctx.pipeline().get(RequestHeaderTimeoutHandler.class);
    if (headerTimeout != null) {
      headerTimeout.headersReceived();
    }
    long now = System.nanoTime();
    gateway = contexts.get();
    request = req;
    bodyComplete = false;
    String requestId = ProxyHeaders.validRequestId(req.headers().get(ProxyHeaders.X_REQUEST_ID));
    exchange = new Exchange(requestId != null ? requestId : ProxyHeaders.newRequestId(),
        identity.clientIp(ctx.channel(), req.headers().getAll(ProxyHeaders.X_FORWARDED_FOR)),
        req.method().name(), rawPath(req.uri()), now);
    state = State.READING;

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
      reject(ErrorKind.BAD_PATH, e.getMessage());
      return;
    }
    query = q < 0 ? "" : target.substring(q);
    long declared = HttpUtil.getContentLength(req, -1L);
    if (declared > gateway.limits().maxRequestBody()) {
      rejectAndClose(ErrorKind.BODY_TOO_LARGE, "the request body is larger than "
          + gateway.limits().maxRequestBody() + " bytes");
      return;
    }
    if (gateway.router().noRouteForPath(path)) {
      reject(ErrorKind.ROUTE_NOT_FOUND, "no route for " + path);
      return;
    }
    body = ctx.alloc().compositeBuffer(64);
    if (!gateway.router().needsModel(path)) {
      resolveRoute();
    } else if (HttpUtil.is100ContinueExpected(req)) {
      sendContinue(); // the route depends on the body: it must be read first
    }
  }

  private void onBody(HttpContent content) {
    if (state == State.DISCARDING) {
      boolean last = content instanceof LastHttpContent;
      content.release();
      if (last) {
        nextRequest();
      }
      return;
    }
    if (state != State.READING || body == null) {
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
    if (!last) {
      return;
    }
    bodyComplete = true;
    exchange.mark(Moment.IN_REQ_BODY_RECEIVED, System.nanoTime());
    exchange.addBytesIn(body.readableBytes());
    if (route == null) {
      resolveRoute();
    } else if (pluginsPassed) {
      dispatch();
    }
  }

  /** Matches the route; on the headers when possible, else once the body (its model) is here. */
  private void resolveRoute() {
    HttpHeaders headers = request.headers();
    Router.Match match = gateway.router().match(request.method().name(), path,
        headers::get, () -> ModelExtractor.model(body));
    if (match instanceof Router.Match.MethodNotAllowed m) {
      FullHttpResponse response = GatewayErrors.response(ctx.alloc(), ErrorKind.METHOD_NOT_ALLOWED,
          request.method().name() + " is not allowed on " + path);
      response.headers().set(HttpHeaderNames.ALLOW, String.join(", ", m.allowed()));
      respond(response);
      return;
    }
    if (!(match instanceof Router.Match.Found found)) {
      reject(ErrorKind.ROUTE_NOT_FOUND, "no route for " + path);
      return;
    }
    route = found.route();
    exchange.routeName(route.name());
    chain = gateway.chain(route.name());
    pluginRequest = new PluginRequest(route.name(), request, path, query, exchange.clientIp(), ctx.executor());
    if (bodyComplete) {
      pluginRequest.body(body);
    }
    runPlugins();
  }

  private void runPlugins() {
    if (chain.isEmpty()) {
      onPluginsDecided(Decision.PROCEED);
      return;
    }
    Exchange current = exchange;
    chain.runRequest(pluginRequest, 0, chain.size(), ctx.executor(), i -> pluginsReached = Math.max(pluginsReached, i))
        .whenComplete((decision, error) -> {
          if (exchange != current || state != State.READING) {
            return; // the client went away while a plugin waited
          }
          onPluginsDecided(error != null
              ? new Decision.Reject(500, "server_error", "plugin_failed", "a plugin failed", Map.of())
              : decision);
        });
  }

  private void onPluginsDecided(Decision decision) {
    if (decision instanceof Decision.Reject r) {
      FullHttpResponse response = GatewayErrors.response(ctx.alloc(), r.status(), r.type(), r.code(), r.message());
      r.headers().forEach(response.headers()::set);
      exchange.outcome(r.code());
      respond(response);
      return;
    }
    if (decision instanceof Decision.Respond own) {
      FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
          HttpResponseStatus.valueOf(own.status()), Unpooled.EMPTY_BUFFER);
      own.headers().forEach(response.headers()::set);
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
      respond(response);
      return;
    }
    pluginsPassed = true;
    if (bodyComplete) {
      dispatch();
    } else if (HttpUtil.is100ContinueExpected(request)) {
      sendContinue();
    }
  }

  private void dispatch() {
    Upstream upstream = gateway.upstreams().get(route.upstreamName());
    String forwardQuery = pluginRequest.query();
    ProxyCall.Request forward = new ProxyCall.Request(request.method(), route.rewrite(path) + forwardQuery,
        forwardHeaders(upstream), body, HttpUtil.isKeepAlive(request), request.protocolVersion(),
        route.responseHeaders());
    state = State.PROXYING;
    call = new ProxyCall(this, exchange, upstream, forward, route.timeout(), gateway.metrics());
    call.start();
  }

  private HttpHeaders forwardHeaders(Upstream upstream) {
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

  private void sendContinue() {
    ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
        Unpooled.EMPTY_BUFFER), ctx.voidPromise());
  }

  // ---- ProxyCall.ClientLeg ----------------------------------------------------------------------

  @Override
  public void prepareResponseHeaders(int status, HttpHeaders headers) {
    if (pluginRequest != null) {
      pluginRequest.applyResponseHeaders(headers);
      chain.runResponseHeaders(pluginRequest, pluginsReached, status, pluginRequest.responseView(headers));
    }
  }

  @Override
  public void sendError(ErrorKind kind, String message) {
    respond(GatewayErrors.response(ctx.alloc(), kind, message));
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
    }
    if (exchange != null) {
      if (exchange.status() == 0) {
        exchange.status(499);
        exchange.outcome("client_closed");
      }
      endExchange();
    }
    releaseBody();
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

  // ---- answers ----------------------------------------------------------------------------------

  /** An error about a request that may still be kept alive if it has no body to skip. */
  private void reject(ErrorKind kind, String message) {
    respond(GatewayErrors.response(ctx.alloc(), kind, message));
  }

  /** An error after which the connection cannot be trusted or reused. */
  private void rejectAndClose(ErrorKind kind, String message) {
    send(GatewayErrors.response(ctx.alloc(), kind, message), false);
  }

  /**
   * Answers the request from the gateway itself. The connection stays open when the client wants
   * it and no unread body stands in the way (a bodyless request's end is skipped when it comes).
   */
  private void respond(FullHttpResponse response) {
    boolean reusable = HttpUtil.isKeepAlive(request) && (bodyComplete || !hasBody(request));
    send(response, reusable);
  }

  private void send(FullHttpResponse response, boolean keepAlive) {
    response.headers().set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
    prepareResponseHeaders(response.status().code(), response.headers());
    HttpUtil.setKeepAlive(response, keepAlive);
    exchange.status(response.status().code());
    exchange.addBytesOut(response.content().readableBytes());
    if (exchange.outcome().equals("ok") && response.status().code() >= 400) {
      exchange.outcome("rejected"); // answered by the gateway itself
    }
    if (keepAlive) {
      ctx.writeAndFlush(response, ctx.voidPromise());
      boolean skipBody = !bodyComplete;
      endExchange();
      if (skipBody) {
        state = State.DISCARDING;
      } else {
        nextRequest();
      }
    } else {
      state = State.CLOSING;
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
      endExchange();
    }
  }

  private static boolean hasBody(HttpRequest request) {
    return HttpUtil.getContentLength(request, 0L) > 0 || HttpUtil.isTransferEncodingChunked(request);
  }

  private void endExchange() {
    if (exchange != null) {
      long duration = System.nanoTime() - exchange.startNanos();
      gateway.metrics().requestCompleted(exchange.routeName(), exchange.status(), duration);
      if (pluginRequest != null && pluginsReached > 0) {
        chain.runComplete(pluginRequest, pluginsReached,
            new ExchangeSummary(exchange.status(), exchange.outcome(), duration));
      }
    }
    exchange = null;
    call = null;
    route = null;
    chain = PluginChain.empty();
    pluginRequest = null;
    pluginsReached = 0;
    pluginsPassed = false;
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
    request = null;
    RequestHeaderTimeoutHandler headerTimeout = ctx.pipeline().get(RequestHeaderTimeoutHandler.class);
    if (headerTimeout != null) {
      headerTimeout.awaitNextRequest();
    }
    while (!held.isEmpty() && state == State.IDLE) {
      channelRead(ctx, held.poll());
    }
    while (!held.isEmpty() && state == State.READING && !(held.peek() instanceof HttpRequest)) {
      channelRead(ctx, held.poll()); // the rest of the replayed request's body
    }
    if (held.isEmpty() && state != State.CLOSING) {
      ctx.channel().config().setAutoRead(true);
    }
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
